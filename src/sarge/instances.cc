#include "sarge/instances.h"

#include <sys/stat.h>

#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "sarge/check.h"
#include "sarge/deploy.h"
#include "sarge/error.h"
#include "sarge/exec.h"
#include "sarge/instance_config.h"
#include "sarge/interrupt.h"
#include "sarge/lifecycle.h"
#include "sarge/listing.h"
#include "sarge/names.h"
#include "sarge/orphans.h"
#include "sarge/progress.h"
#include "sarge/records.h"
#include "sarge/rpc_supervisor.h"
#include "sarge/runtime_config.h"
#include "sarge/supervisor_config.h"

namespace sarge {
namespace {

using nlohmann::json;

// Everything a command says goes through the one progress display.
void Say(const std::string& line) { StderrProgress().Say(line); }

// Runs `body` as one step of the display: on a terminal, a live line with a
// spinner while it waits.
template <typename Body>
void AsStep(const std::string& what, Body&& body) {
  RunStep(StderrProgress(), Step{what}, std::forward<Body>(body));
}

FileLock LockHome(const Home& home) {
  return FileLock(home.LockFile(),
                  [&] { Say("waiting for another sarge command on this home to finish"); });
}

RpcSupervisor Connect(const Home& home) {
  return RpcSupervisor(
      home.Socket(),
      fmt::format("supervisord is not running for {}{}; start it with {}", home.root.string(),
                  home.SupervisordDied(), home.StartSupervisordHint()));
}

}  // namespace

Settings LoadSettings(const Home& home) {
  auto text = ReadFileIfExists(home.SettingsFile());
  return text ? ParseSettings(*text, home.SettingsFile().string()) : Settings{};
}

std::string NewInstance(const Home& home, std::string_view config_json) {
  ParseInstanceConfig(config_json);  // bad input fails before the lock is taken
  FileLock lock = LockHome(home);
  std::string id = CreateInstance(home, config_json, LoadSettings(home), RealCommandRunner()).id;
  LogAction(home, "new " + id);
  return id;
}

namespace {

// Sends getAllProcessInfo; false if supervisord is not running.
bool SendGetAllProcessInfo(RpcSupervisor& supervisor) {
  try {
    if (!supervisor.TryConnect()) return false;
    supervisor.SendGetAllProcessInfo();
    return true;
  } catch (const SupervisorUnavailable&) {
    return false;
  }
}

// The live state of every loaded program, by name; nullopt if supervisord
// is not running after all.
std::optional<std::map<std::string, ProcessInfo>> ReceiveAllProcessInfo(RpcSupervisor& supervisor) {
  std::map<std::string, ProcessInfo> live;
  try {
    for (auto& info : supervisor.ReceiveAllProcessInfo()) live[info.name] = std::move(info);
  } catch (const SupervisorUnavailable&) {
    return std::nullopt;
  }
  return live;
}

const ProcessInfo* Find(const std::map<std::string, ProcessInfo>& live, const std::string& id) {
  auto it = live.find(id);
  return it == live.end() ? nullptr : &it->second;
}

// Every record, made into a T by `make` (LoadAllRecordsAs), and the live
// state of every loaded program (nullopt if supervisord is not running).
template <typename T>
struct Snapshot {
  std::vector<T> records;
  std::optional<std::map<std::string, ProcessInfo>> live;
};

// The records are read while supervisord answers: with thousands of
// programs loaded its answer takes about a second, most of it sending the
// reply, which is decoded as it arrives. A core is left to supervisord
// while it works on it.
template <typename T, typename Make>
Snapshot<T> TakeSnapshot(const Home& home, Make make) {
  RpcSupervisor supervisor = Connect(home);
  bool up = SendGetAllProcessInfo(supervisor);
  Snapshot<T> snapshot{LoadAllRecordsAs<T>(home, make, up ? 1 : 0), std::nullopt};
  if (up) snapshot.live = ReceiveAllProcessInfo(supervisor);
  return snapshot;
}

}  // namespace

json ListInstances(const Home& home) {
  auto snapshot = TakeSnapshot<Record>(home, [](Record&& record) { return std::move(record); });
  const auto& live = snapshot.live;
  json instances = json::array();
  for (auto& record : snapshot.records) {
    const ProcessInfo* info = live ? Find(*live, record.id) : nullptr;
    instances.push_back(Describe(std::move(record), info, live.has_value()));
  }
  json out = {{"instances", std::move(instances)}};
  if (!live) out["supervisord"] = "not running";
  return out;
}

void WriteListing(const Home& home, std::ostream& out) {
  // The same text as ListInstances(home).dump(2). Every record is rendered
  // while supervisord answers; after that only the live states are merged
  // in, and the text goes out 64 KiB at a time (stdout's own buffer is
  // 4 KiB when it is a pipe or a file: a system call per 8 instances).
  constexpr size_t kChunk = 64 * 1024;
  auto snapshot = TakeSnapshot<ListedInstance>(
      home, [](Record&& record) { return ListedInstance(std::move(record)); });
  const auto& [listed, live] = snapshot;
  out << "{\n  \"instances\": [";
  std::string text;
  text.reserve(kChunk + 4096);
  for (size_t i = 0; i < listed.size(); ++i) {
    text += i ? ",\n    " : "\n    ";
    listed[i].AppendTo(text, live ? Find(*live, listed[i].id()) : nullptr, live.has_value());
    if (text.size() < kChunk) continue;
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    text.clear();
  }
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out << (listed.empty() ? "]" : "\n  ]");
  if (!live) out << ",\n  \"supervisord\": \"not running\"";
  out << "\n}\n";
}

json ConfigureInstance(const Home& home, const std::string& id) {
  CheckSafeName("instance id", id);
  FileLock lock = LockHome(home);
  Record record = LoadRecord(home, id);
  return Configure(home, record, LoadSettings(home));
}

namespace {

// Runs `body` on the instance's record with the home locked and supervisord's
// seam ready. Commands that cannot work without supervisord check it first,
// so they fail before changing anything; destroy goes on without it.
FrontEndEnv MakeFrontEnd(const LifecycleEnv& env) {
  FrontEndEnv front{env.home, env.settings};
  front.say = Say;
  return front;
}

enum class Needs { kSupervisord, kNothing };
template <typename Body>
void WithInstance(const Home& home, const std::string& id, Needs needs, Body&& body) {
  CheckSafeName("instance id", id);
  FileLock lock = LockHome(home);
  Record record = LoadRecord(home, id);
  WriteSupervisordConf(home);  // in case a killed command left it narrowed
  RpcSupervisor supervisor = Connect(home);
  if (needs == Needs::kSupervisord) supervisor.Connect();
  LifecycleEnv env{home, LoadSettings(home), supervisor};
  env.say = Say;
  body(env, record);
}

}  // namespace

void StartInstanceCommand(const Home& home, const std::string& id,
                          std::optional<std::chrono::seconds> timeout,
                          std::optional<std::chrono::milliseconds> min_uptime) {
  WithInstance(home, id, Needs::kSupervisord, [&](LifecycleEnv& env, Record& record) {
    CatchInterrupts();  // Ctrl-C stops what it started
    auto wait = timeout.value_or(std::chrono::seconds(env.settings.start_timeout));
    auto uptime = min_uptime.value_or(env.settings.min_uptime);
    Started started;
    AsStep("start " + id, [&] { started = StartInstance(env, record, wait, uptime); });
    if (!started.already) LogAction(home, fmt::format("start {} (pid {})", id, started.pid));
  });
}

namespace {

// Stopping or destroying the instance nginx routes its application to takes
// the application down: that needs --force.
void RefuseIfServing(const Home& home, const Record& record, const char* command, bool force) {
  auto site = ReadActiveSite(home, record.application_name);
  if (force || !site || site->id != record.id) return;
  throw Error(fmt::format(
      "{} serves {} (nginx routes to it); {} it would take {} down. Deploy or activate another "
      "instance, or roll back (sarge {} rollback {}), first; --force {}s it anyway",
      record.id, record.application_name,
      command == std::string("stop") ? "stopping" : "destroying", record.application_name,
      home.root.string(), record.application_name, command));
}

}  // namespace

void StopInstanceCommand(const Home& home, const std::string& id, bool force) {
  WithInstance(home, id, Needs::kSupervisord, [&](LifecycleEnv& env, Record& record) {
    RefuseIfServing(home, record, "stop", force);
    bool was_running = false;
    AsStep("stop " + id, [&] { was_running = StopInstance(env, id); });
    Say(was_running ? fmt::format("stopped {}", id) : fmt::format("{} was not running", id));
    if (was_running) LogAction(home, "stop " + id);
    auto site = ReadActiveSite(home, record.application_name);
    if (was_running && site && site->id == id)
      Say(
          fmt::format("warning: nginx still routes {} to {}, which is stopped now; start it "
                      "again, or deploy or activate another instance",
                      record.application_name, id));
  });
}

void DestroyInstanceCommand(const Home& home, const std::string& id, bool force) {
  WithInstance(home, id, Needs::kNothing, [&](LifecycleEnv& env, Record& record) {
    RefuseIfServing(home, record, "destroy", force);
    // Its application's route goes first, so nginx never points at nothing.
    FrontEndEnv front = MakeFrontEnd(env);
    AsStep("destroy " + id, [&] {
      std::set<int> old_workers = RemoveSite(front, record);
      // nginx workers from before the reload may still send it requests.
      auto drain = std::chrono::seconds(env.settings.nginx_drain_timeout);
      if (!WaitForExit(env.clock, old_workers, drain))
        Say(fmt::format("old nginx workers still busy after {} s; going on", drain.count()));
      DestroyInstance(env, record);
    });
    Say(fmt::format("destroyed {}", id));
    LogAction(home, "destroy " + id);
  });
}

namespace {

// Like WithInstance, for commands that are about an application.
template <typename Body>
void WithHome(const Home& home, Body&& body) {
  FileLock lock = LockHome(home);
  WriteSupervisordConf(home);  // in case a killed command left it narrowed
  RpcSupervisor supervisor = Connect(home);
  supervisor.Connect();
  LifecycleEnv env{home, LoadSettings(home), supervisor};
  env.say = Say;
  FrontEndEnv front = MakeFrontEnd(env);
  body(env, front);
}

}  // namespace

void ActivateCommand(const Home& home, const std::string& id) {
  WithInstance(home, id, Needs::kSupervisord, [&](LifecycleEnv& env, Record& record) {
    FrontEndEnv front = MakeFrontEnd(env);
    AsStep("activate " + id, [&] { ActivateInstance(env, front, record); });
    LogAction(home, fmt::format("activate {} for {}", record.id, record.application_name));
    Say(fmt::format("{} now serves {}", record.id, record.application_name));
  });
}

std::string DeployCommand(const Home& home, const DeployOptions& options) {
  CheckDeployInput(home, options);  // bad input fails before the lock and the action log
  std::string id;
  WithHome(home, [&](LifecycleEnv& env, FrontEndEnv& front) {
    CatchInterrupts();  // Ctrl-C undoes the deploy as a failure would
    try {
      id = Deploy(env, front, options, StderrProgress());
    } catch (const Error& e) {
      LogAction(home, fmt::format("deploy from {} failed: {}", options.source.string(), e.what()));
      throw;
    }
  });
  LogAction(home, fmt::format("deploy {} from {}", id, options.source.string()));
  return id;
}

int ResumeCommand(const Home& home) {
  FileLock lock = LockHome(home);
  WriteSupervisordConf(home);
  RpcSupervisor supervisor = Connect(home);
  // Run right after bin/supervisord daemonizes: give its socket a moment.
  for (int attempt = 0;; ++attempt) {
    try {
      supervisor.Connect();
      break;
    } catch (const SupervisorUnavailable&) {
      if (attempt >= 100) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  LifecycleEnv env{home, LoadSettings(home), supervisor};
  env.say = Say;
  int failed = 0;
  AsStep("resume",
         [&] { failed = ResumeInstances(env, std::chrono::seconds(env.settings.start_timeout)); });
  LogAction(home, fmt::format("resume ({} failed)", failed));
  return failed;
}

int CheckCommand(const Home& home, bool repair) {
  FileLock lock = LockHome(home);
  RpcSupervisor supervisor = Connect(home);
  LifecycleEnv env{home, LoadSettings(home), supervisor};
  env.say = Say;
  FrontEndEnv front = MakeFrontEnd(env);
  int left = 0;
  for (const Finding& f : CheckHome(env, front, repair)) {
    // Findings name files and programs the home holds: whatever bytes
    // their names have stay on one line.
    if (f.repair.empty()) {
      ++left;
      std::cout << "problem: " << Printable(f.problem) << "\n";
    } else {
      std::cout << "repaired: " << Printable(f.problem) << ": " << Printable(f.repair) << "\n";
      LogAction(home, "check --repair: " + f.repair);
    }
  }
  std::cout.flush();
  if (left == 0) {
    Say(fmt::format("{} is consistent", home.root.string()));
    return 0;
  }
  throw Error(fmt::format(
      "{} {} found in {}; {}", left, left == 1 ? "problem" : "problems", home.root.string(),
      repair ? "the lines above say what to do"
             : fmt::format("`sarge {} check --repair` fixes what it can", home.root.string())));
}

std::string RollbackCommand(const Home& home, const RollbackOptions& options) {
  CheckSafeName("application name", options.app);
  if (!options.to.empty()) CheckSafeName("instance id", options.to);
  std::string id;
  WithHome(home, [&](LifecycleEnv& env, FrontEndEnv& front) {
    CatchInterrupts();  // Ctrl-C undoes the rollback as a failure would
    id = Rollback(env, front, options, StderrProgress());
  });
  LogAction(home, fmt::format("rollback {} to {}", options.app, id));
  return id;
}

namespace {

// The runtime configuration as last written, computing it again if it never
// was or cannot be read (appcfg.json is not fsynced: a power loss can leave
// it empty).
json RuntimeConfigFor(const Home& home, Record& record) {
  if (auto text = ReadFileIfExists(home.AppCfgFile(record.id))) {
    try {
      return json::parse(*text);
    } catch (const json::exception&) {
      // Rewritten below.
    }
  }
  FileLock lock = LockHome(home);
  record = LoadRecord(home, record.id);
  return Configure(home, record, LoadSettings(home));
}

}  // namespace

void RunInInstance(const Home& home, const std::string& id, const std::vector<std::string>& command,
                   bool stdin_is_tty) {
  Record record = LoadRecord(home, id);
  json appcfg = RuntimeConfigFor(home, record);
  ExecInInstance(home, id, RunArgv(home, record, command, stdin_is_tty),
                 InstanceEnvironment(home, record, appcfg));
}

void LaunchServer(const Home& home, const std::string& id) {
  Record record = LoadRecord(home, id);
  json appcfg = RuntimeConfigFor(home, record);
  RememberServer(home, id);  // the pid stays the server's across exec
  ExecInInstance(home, id, ServerArgv(home, record), InstanceEnvironment(home, record, appcfg));
}

}  // namespace sarge
