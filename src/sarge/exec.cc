#include "sarge/exec.h"

#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include <fmt/format.h>

#include "sarge/error.h"
#include "sarge/instance_config.h"
#include "sarge/names.h"
#include "sarge/orphans.h"
#include "sarge/processes.h"
#include "sarge/procfile.h"
#include "sarge/runtime_config.h"
#include "sarge/settings.h"

extern char** environ;

namespace sarge {
namespace {

constexpr const char* kBash = "/bin/bash";

std::string PrerunPath(const Home& home, const Record& record) {
  std::string prerun = InstanceConfigFromJson(record.config).prerun;
  return prerun.empty() ? std::string() : (home.InstanceDir(record.id) / prerun).string();
}

}  // namespace

std::vector<std::string> ServerArgv(const Home& home, const Record& record,
                                    const std::string& type) {
  std::string prerun = PrerunPath(home, record);
  if (auto procfile = ReadProcfile(home, record.id)) {
    const ProcessType* process = procfile->Find(type);
    if (!process || type == "release")
      throw Error(
          fmt::format("the Procfile of {} has no process type {}", record.id, Quoted(type)));
    // bash -c runs a command line's last simple command in its own
    // process, so supervisord's pid stays the server's.
    const std::string& command = process->command;
    if (prerun.empty()) return {kBash, "-c", command};
    return {kBash,          "-c",   R"(__sarge_prerun=$1 __sarge_web=$2; set --
source "$__sarge_prerun" || exit
exec /bin/bash -c "$__sarge_web")",
            "sarge-launch", prerun, command};
  }
  if (type != "web")
    throw Error(fmt::format("{} has no Procfile, so no process type {}", record.id, Quoted(type)));
  std::string server = home.ServerFile(record.id).string();
  if (prerun.empty()) return {server};
  return {kBash,          "-c",   R"(__sarge_prerun=$1 __sarge_server=$2; set --
source "$__sarge_prerun" || exit
exec "$__sarge_server")",
          "sarge-launch", prerun, server};
}

std::vector<std::string> RunArgv(const Home& home, const Record& record,
                                 const std::vector<std::string>& command, bool stdin_is_tty) {
  std::string prerun = PrerunPath(home, record);
  if (command.empty() && stdin_is_tty) {
    if (prerun.empty()) return {kBash, "-i"};
    return {kBash, "--rcfile", prerun, "-i"};
  }
  std::string joined;
  for (const auto& word : command) joined += (joined.empty() ? "" : " ") + word;
  // With no command, the commands come from stdin.
  const char* body = command.empty() ? "source /dev/stdin" : "eval \"$__sarge_command\"";
  return {kBash,
          "-c",
          fmt::format(R"(__sarge_prerun=$1 __sarge_command=$2; set --
if [ -n "$__sarge_prerun" ]; then source "$__sarge_prerun" || exit; fi
{})",
                      body),
          "sarge-run",
          prerun,
          joined};
}

void ExecInInstance(const Home& home, const std::string& id, const std::vector<std::string>& argv,
                    const std::map<std::string, std::string>& extra) {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string_view entry = *e;
    auto key = entry.substr(0, entry.find('='));
    if (!extra.contains(std::string(key))) env_strings.emplace_back(entry);
  }
  for (const auto& [key, value] : extra) env_strings.push_back(key + "=" + value);
  std::vector<char*> envp, args;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_copy = argv;
  for (auto& s : argv_copy) args.push_back(s.data());
  args.push_back(nullptr);

  fs::path dir = home.InstanceDir(id);
  if (::chdir(dir.c_str()) != 0)
    throw Error(fmt::format("cannot enter {}: {}", dir.string(), std::strerror(errno)));
  std::signal(SIGPIPE, SIG_DFL);  // main() ignores it; the server must not inherit that
  ::execve(args[0], args.data(), envp.data());
  throw Error(fmt::format("cannot run {}: {}", argv[0], std::strerror(errno)));
}

namespace {

// The runtime configuration as last written, computing it again if it never
// was or cannot be read (appcfg.json is not fsynced: a power loss can leave
// it empty).
nlohmann::json RuntimeConfigFor(Env& env, Record& record, const std::string& program) {
  if (auto text = ReadFileIfExists(env.home.AppCfgFile(program))) {
    try {
      return nlohmann::json::parse(*text);
    } catch (const nlohmann::json::exception&) {
      // Rewritten below.
    }
  }
  FileLock lock = LockHome(env);
  record = LoadRecord(env.home, record.id);
  env.settings = LoadSettings(env.home);
  nlohmann::json first = Configure(env, record);
  return program == record.id ? first : ReadRuntimeConfig(env.home, program);
}

}  // namespace

void RunInInstance(Env& env, const std::string& id, const std::vector<std::string>& command,
                   bool stdin_is_tty) {
  Record record = LoadRecord(env.home, id);
  nlohmann::json appcfg = RuntimeConfigFor(env, record, id);
  ExecInInstance(env.home, id, RunArgv(env.home, record, command, stdin_is_tty),
                 InstanceEnvironment(env.home, record, appcfg));
}

void LaunchServer(Env& env, const std::string& program) {
  // Checked before any path is made of it.
  std::optional<Process> parsed = ParseProgram(program);
  if (!parsed)
    throw Error(fmt::format("{} names no process: give ID or ID.TYPE.N", Quoted(program)));
  const std::string id = InstanceOfProgram(program);
  Record record = LoadRecord(env.home, id);
  const std::string process = parsed->Label();
  // A web process has its own runtime configuration (its ports); another
  // type's is the first web process's.
  const std::string& type = parsed->type;
  const std::string config = type == "web" ? program : id;
  nlohmann::json appcfg = RuntimeConfigFor(env, record, config);
  RememberServer(env.home, program);  // the pid stays the server's across exec
  auto environment = InstanceEnvironment(env.home, record, appcfg);
  environment["SARGEAPP_CFG"] = env.home.AppCfgFile(config).string();
  environment["SARGE_PROCESS"] = process;
  ExecInInstance(env.home, id, ServerArgv(env.home, record, type), environment);
}

}  // namespace sarge
