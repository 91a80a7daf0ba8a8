#include "sarge/deploy.h"

#include "sarge/check.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "sarge/check.h"
#include "sarge/error.h"
#include "sarge/hooks.h"
#include "sarge/instance_config.h"
#include "sarge/names.h"
#include "sarge/runtime_config.h"

namespace sarge {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr auto kUnpackTimeout = 600s;
constexpr auto kCheckInterval = 100ms;
constexpr int kLogTailLines = 20;

// Numbers the steps of a deploy or rollback on the progress display, so an
// operator watching sees where it is and where time goes.
class Steps {
 public:
  Steps(Progress& progress, std::string what, int count)
      : progress_(progress), what_(std::move(what)), count_(count) {}
  template <typename F>
  auto Run(const std::string& name, F&& step) {
    return RunStep(progress_, Step{what_, name, ++index_, count_}, std::forward<F>(step));
  }

 private:
  Progress& progress_;
  std::string what_;
  int count_;
  int index_ = 0;
};

bool IsTarball(const fs::path& p) {
  std::string name = p.filename().string();
  return name.ends_with(".tar.gz") || name.ends_with(".tgz");
}

// Checks SOURCE and --check-url before anything is created.
void ValidateDeployInput(const DeployOptions& options, const InstanceConfig& config) {
  std::error_code ec;
  if (!fs::exists(options.source, ec))
    throw Error(fmt::format("source {} does not exist; give a folder or a .tar.gz",
                            Quoted(options.source.string())));
  if (!fs::is_directory(options.source, ec) && !IsTarball(options.source))
    throw Error(fmt::format("source {} is neither a folder nor a .tar.gz file",
                            Quoted(options.source.string())));
  if (options.check_url.empty()) return;
  json sample = json::object();
  for (const auto& name : RuntimeNames(config.services))
    sample[name] = name.ends_with("_PORT") ? "1" : "x";
  std::string url = Interpolate(options.check_url, sample, "--check-url");
  if (!ParseHttpUrl(url))
    throw Error(fmt::format("--check-url {} is not an http://HOST[:PORT]/PATH URL",
                            Quoted(options.check_url)));
}

void InstallSource(LifecycleEnv& env, CommandRunner& runner, const fs::path& source,
                   const std::string& id) {
  fs::path dir = env.home.InstanceDir(id);
  if (IsTarball(source)) {
    CommandResult r = runner.Run(
        {"tar", "-xzf", fs::absolute(source).string(), "-C", dir.string(), "--no-same-owner"},
        kUnpackTimeout);
    if (r.exit_code != 0)
      throw Error(fmt::format("cannot unpack {}: tar exited with status {}",
                              Quoted(source.string()), r.exit_code),
                  r.Both());
    return;
  }
  std::error_code ec;
  if (FsFault("copy", dir)) ec = std::error_code(errno, std::generic_category());
  if (!ec)
    fs::copy(source, dir,
             fs::copy_options::recursive | fs::copy_options::copy_symlinks |
                 fs::copy_options::overwrite_existing,
             ec);
  if (ec)
    throw Error(fmt::format("cannot copy {} into {}: {}", Quoted(source.string()), dir.string(),
                            ec.message()));
}

void CheckHealth(LifecycleEnv& env, const Record& record, const json& appcfg,
                 std::chrono::steady_clock::time_point deadline) {
  if (record.check_url.empty()) return;  // start already waited for its ports
  std::string text = Interpolate(record.check_url, appcfg, "--check-url");
  auto url = ParseHttpUrl(text);
  if (!url) throw Error(fmt::format("check URL {} is not an http:// URL", Quoted(text)));
  std::string last = "no answer";
  while (env.clock.Now() < deadline) {
    if (auto answer = HttpGet(*url, "", 2s)) {
      if (answer->status == 200) return;
      last = fmt::format("HTTP {}", answer->status);
    }
    env.clock.Sleep(kCheckInterval);
  }
  throw Error(fmt::format("health check {} gave {} until the deadline", Quoted(text), last));
}

void Drain(LifecycleEnv& env, FrontEndEnv& front, const std::set<int>& workers) {
  if (workers.empty()) return;
  auto timeout = std::chrono::seconds(front.settings.nginx_drain_timeout);
  if (!WaitForExit(env.clock, workers, timeout))
    env.say(fmt::format("old nginx workers still busy after {} s; going on", timeout.count()));
}

std::vector<Record> InstancesOf(const Home& home, const std::string& app) {
  std::vector<Record> out;
  for (auto& r : LoadAllRecords(home))
    if (r.application_name == app) out.push_back(std::move(r));
  return out;  // oldest first
}

// The names of the applications that have instances, each once.
std::vector<std::string> ApplicationNames(const Home& home) {
  std::vector<std::string> names;
  for (const auto& r : LoadAllRecords(home))
    if (std::find(names.begin(), names.end(), r.application_name) == names.end())
      names.push_back(r.application_name);
  return names;
}

}  // namespace

void RetirePrevious(LifecycleEnv& env, const Record& current, int keep) {
  auto others = InstancesOf(env.home, current.application_name);
  std::erase_if(others, [&](const Record& r) { return r.id == current.id; });
  for (const auto& r : others)
    if (StopInstance(env, r.id)) env.say(fmt::format("stopped {}", r.id));
  std::reverse(others.begin(), others.end());
  for (size_t i = static_cast<size_t>(std::max(keep, 0)); i < others.size(); ++i) {
    DestroyInstance(env, others[i]);
    env.say(fmt::format("destroyed {} (keeping {} previous)", others[i].id, keep));
  }
}

namespace {

// While a deploy runs, var/run/deploys/ID says so: a deploy that is killed
// or fails part-way leaves it, and `check --repair` finishes or undoes what
// it began. Once the front end has switched it says "switched".
void MarkDeploy(const Home& home, const std::string& id, std::string_view phase = "") {
  fs::path marker = DeployMarker(home, id);
  MakeDirs(marker.parent_path());
  WriteFileAtomic(marker, phase);
}

void UnmarkDeploy(const Home& home, const std::string& id) {
  if (Unlink(DeployMarker(home, id)) != 0 && errno != ENOENT)
    throw Error(
        fmt::format("cannot remove {}: {}", DeployMarker(home, id).string(), std::strerror(errno)));
}

// Forgets the switched deploys of `app` other than `keep_id`: the front end
// has moved on since (a later deploy, a rollback, an activate), so what they
// left to tidy no longer applies.
void ForgetSwitchedDeploys(const Home& home, const std::string& app, const std::string& keep_id) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(home.RunDir() / "deploys", ec)) {
    std::string id = entry.path().filename().string();
    if (id == keep_id || IsTempFileName(id) || !IsDeploySwitched(home, id)) continue;
    std::string owner;
    try {
      owner = LoadRecord(home, id).application_name;
    } catch (const Error&) {
      continue;  // gone or unreadable: `check` reports it
    }
    if (owner == app) UnmarkDeploy(home, id);
  }
}

// Undoes a deploy that failed before the switch, and explains why.
[[noreturn]] void Abandon(LifecycleEnv& env, const Record& record, const std::string& step,
                          const Error& cause) {
  try {
    StopInstance(env, record.id);
  } catch (const Error&) {
  }
  std::string tail = TailFile(env.home.InstanceLog(record.id), kLogTailLines);
  try {
    DestroyInstance(env, record);
    UnmarkDeploy(env.home, record.id);
  } catch (const Error& e) {
    env.say(fmt::format("could not remove {}: {}", record.id, e.what()));
  }
  std::string detail = cause.detail();
  if (detail.empty() && !tail.empty())
    detail = fmt::format("last lines of {}:\n{}", env.home.InstanceLog(record.id).string(), tail);
  throw Error(
      fmt::format("deploy failed at '{}': {}; {} was removed and the front end is unchanged", step,
                  cause.what(), record.id),
      detail);
}

}  // namespace

void CheckDeployInput(const DeployOptions& options) {
  ValidateDeployInput(options, ParseInstanceConfig(options.config_json));
}

Record CreateInstance(const Home& home, std::string_view config_json, const Settings& settings,
                      CommandRunner& runner) {
  InstanceConfig config = ParseInstanceConfig(config_json);
  std::string id;
  do {
    id = NewInstanceId(config.application_name);
  } while (fs::exists(home.RecordFile(id)) || fs::exists(home.InstanceDir(id)));
  Record record{id, config.application_name, UtcNow(), config.ToJson(), {}, {}};
  RunHooks(home, settings, runner, hook::kInitializing, record);
  // The folder first, the record last: a record always has its folder.
  if (MakeDir(home.InstanceDir(id), 0755) != 0)
    throw Error(
        fmt::format("cannot create {}: {}", home.InstanceDir(id).string(), std::strerror(errno)));
  try {
    SaveRecord(home, record);
  } catch (...) {
    fs::remove(home.InstanceDir(id));
    throw;
  }
  return record;
}

std::string Deploy(LifecycleEnv& env, FrontEndEnv& front, const DeployOptions& options,
                   Progress& progress) {
  InstanceConfig config = ParseInstanceConfig(options.config_json);
  ValidateDeployInput(options, config);
  auto timeout = options.timeout.value_or(std::chrono::seconds(env.settings.deploy_timeout));
  int keep = options.keep.value_or(env.settings.deploy_keep);
  Steps steps(progress, "deploy " + config.application_name, 7);

  Record record = steps.Run("create instance", [&] {
    return CreateInstance(env.home, options.config_json, env.settings, env.runner);
  });
  std::string step = "create instance";
  std::set<int> old_workers;
  try {
    MarkDeploy(env.home, record.id);
    record.check_url = options.check_url;
    SaveRecord(env.home, record);
    env.say(fmt::format("new instance {}", record.id));
    step = "install source";
    steps.Run(step, [&] { InstallSource(env, front.runner, options.source, record.id); });
    auto deadline = env.clock.Now() + timeout;
    step = "start";
    json appcfg = steps.Run(step, [&] { return StartInstance(env, record, timeout).appcfg; });
    step = "wait until healthy";
    steps.Run(step, [&] { CheckHealth(env, record, appcfg, deadline); });
    step = "switch front end";
    old_workers = steps.Run(step, [&] { return Activate(front, record, appcfg); });
  } catch (const Error& e) {
    Abandon(env, record, step, e);
  }
  // From here the new instance serves: what is left only tidies up.
  try {
    try {
      MarkDeploy(env.home, record.id, kSwitched);
    } catch (const Error&) {
      // An unswitched marker would have `check --repair` destroy the
      // instance that now serves: better no marker at all.
      UnmarkDeploy(env.home, record.id);
    }
    steps.Run("let old nginx workers finish", [&] { Drain(env, front, old_workers); });
    steps.Run("stop previous instances", [&] { RetirePrevious(env, record, keep); });
    ForgetSwitchedDeploys(env.home, record.application_name, record.id);
    UnmarkDeploy(env.home, record.id);
  } catch (const Error& e) {
    throw Error(fmt::format("{} now serves {}, but finishing the deploy failed: {}; `sarge {} "
                            "check --repair` finishes it",
                            record.id, record.application_name, e.what(), env.home.root.string()),
                e.detail());
  }
  return record.id;
}

void ActivateInstance(LifecycleEnv& env, FrontEndEnv& front, Record& record) {
  std::string state = "STOPPED";  // what supervisord has not loaded is stopped
  try {
    state = env.supervisor.GetProcessInfo(record.id).state;
  } catch (const SupervisorFault& f) {
    if (f.code() != fault::kBadName) throw;
  }
  if (state != "RUNNING" && state != "STARTING")
    throw Error(fmt::format("{} is {}, not running; start it first: sarge {} start {}", record.id,
                            state, env.home.root.string(), record.id));
  Drain(env, front, Activate(front, record, ReadRuntimeConfig(env.home, record.id)));
  ForgetSwitchedDeploys(env.home, record.application_name, record.id);
}

std::string Rollback(LifecycleEnv& env, FrontEndEnv& front, const std::string& app,
                     std::optional<std::chrono::seconds> timeout, Progress& progress) {
  CheckSafeName("application name", app);
  auto active = ReadActiveSite(env.home, app);
  auto all = InstancesOf(env.home, app);
  if (!active) {
    std::string hint = all.empty() ? ClosestMatch(app, ApplicationNames(env.home)) : "";
    throw Error(fmt::format("application {} has no active instance to roll back from{}",
                            Quoted(app),
                            hint.empty() ? "" : fmt::format("; did you mean '{}'?", hint)));
  }
  auto current =
      std::find_if(all.begin(), all.end(), [&](const Record& r) { return r.id == active->id; });
  if (current == all.end())
    throw Error(fmt::format("{}'s active instance {} no longer exists; deploy or activate one", app,
                            active->id));
  if (current == all.begin())
    throw Error(fmt::format(
        "no previous instance of {} to roll back to; deploy keeps deploy.keep of them", app));
  Record target = *std::prev(current);
  auto wait = timeout.value_or(std::chrono::seconds(env.settings.deploy_timeout));
  Steps steps(progress, "rollback " + app, 4);
  std::set<int> old_workers;
  try {
    auto deadline = env.clock.Now() + wait;
    json appcfg =
        steps.Run("start " + target.id, [&] { return StartInstance(env, target, wait).appcfg; });
    steps.Run("wait until healthy", [&] { CheckHealth(env, target, appcfg, deadline); });
    old_workers = steps.Run("switch front end", [&] { return Activate(front, target, appcfg); });
  } catch (const Error& e) {
    try {
      StopInstance(env, target.id);
    } catch (const Error&) {
    }
    throw Error(
        fmt::format("rollback to {} failed: {}; {} still serves", target.id, e.what(), active->id),
        e.detail());
  }
  try {
    steps.Run("stop " + active->id, [&] {
      Drain(env, front, old_workers);
      StopInstance(env, active->id);
    });
    ForgetSwitchedDeploys(env.home, app, target.id);
  } catch (const Error& e) {
    throw Error(
        fmt::format("{} now serves {}, but stopping {} failed: {}; stop it: sarge {} stop {}",
                    target.id, app, active->id, e.what(), env.home.root.string(), active->id),
        e.detail());
  }
  return target.id;
}

}  // namespace sarge
