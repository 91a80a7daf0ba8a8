#include "sarge/deploy.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "sarge/activations.h"
#include "sarge/app_config.h"
#include "sarge/config_vars.h"
#include "sarge/deploy_marker.h"
#include "sarge/duration.h"
#include "sarge/error.h"
#include "sarge/hooks.h"
#include "sarge/instance_config.h"
#include "sarge/interrupt.h"
#include "sarge/names.h"
#include "sarge/procfile.h"
#include "sarge/release.h"
#include "sarge/releases.h"
#include "sarge/runtime_config.h"

namespace sarge {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr auto kCheckInterval = 100ms;
// How long a failed check waits to see whether the server is exiting.
constexpr auto kExitGrace = 500ms;
constexpr int kLogTailLines = 20;

// The steps of a deploy or rollback, named once in the list given here:
// the progress display numbers them from it ("deploy web [3/8] start"), so
// an operator watching sees where it is and where time goes.
class Steps {
 public:
  Steps(Progress& progress, std::string what, std::vector<std::string> names)
      : progress_(progress), what_(std::move(what)), names_(std::move(names)) {}
  // Runs `step`, which must be the next in the list.
  template <typename F>
  auto Run(const std::string& name, F&& step) {
    if (index_ >= names_.size() || names_[index_] != name)
      throw std::logic_error(fmt::format("{}: step '{}' is not in its list", what_, name));
    ++index_;
    return RunStep(progress_, Step{what_, name, static_cast<int>(index_), Count()},
                   std::forward<F>(step));
  }
  // The name of the step running now (or last run), for error messages.
  const std::string& current() const { return names_.at(index_ == 0 ? 0 : index_ - 1); }

 private:
  int Count() const { return static_cast<int>(names_.size()); }
  Progress& progress_;
  std::string what_;
  std::vector<std::string> names_;
  size_t index_ = 0;
};

// The names of the steps.
constexpr const char* kCreate = "create instance";
constexpr const char* kInstall = "install source";
constexpr const char* kRelease = "release command";
// A release command (migrations) may take a while; the home stays locked.
constexpr std::chrono::seconds kReleaseTimeout{15 * 60};
constexpr const char* kStart = "start";
constexpr const char* kWaitHealthy = "wait until healthy";
constexpr const char* kSwitch = "switch front end";
constexpr const char* kDrain = "let old nginx workers finish";
constexpr const char* kRetire = "stop previous instances";
std::string WatchStep(std::chrono::milliseconds watch) {
  return "watch for " + FormatDuration(watch);
}

// Checks SOURCE and --check-url before anything is created.
void ValidateDeployInput(const DeployOptions& options, const InstanceConfig& config) {
  CheckSource(options.source);
  constexpr size_t kMaxLabel = 200;
  if (options.label.size() > kMaxLabel ||
      std::any_of(options.label.begin(), options.label.end(),
                  [](unsigned char c) { return c < 0x20 || c == 0x7f; }))
    throw Error(fmt::format("--label {} must be one line of at most {} bytes",
                            Quoted(options.label), kMaxLabel));
  if (options.check_url.empty()) return;
  json sample = json::object();
  for (const auto& name : RuntimeNames(config.services))
    sample[name] = name.ends_with("_PORT") ? "1" : "x";
  std::string url = Interpolate(options.check_url, sample, "--check-url");
  if (!ParseHttpUrl(url))
    throw Error(fmt::format("--check-url {} is not an http://HOST[:PORT]/PATH URL",
                            Quoted(options.check_url)));
}

// The record's check URL with its $NAMEs filled in, and the URL parsed.
struct CheckUrl {
  std::string text;
  Url url;
};
std::optional<CheckUrl> CheckUrlOf(const Record& record, const json& appcfg) {
  if (record.check_url.empty()) return std::nullopt;
  std::string text = Interpolate(record.check_url, appcfg, "--check-url");
  auto url = ParseHttpUrl(text);
  if (!url) throw Error(fmt::format("check URL {} is not an http:// URL", Quoted(text)));
  return CheckUrl{text, *url};
}

// One request to the check URL: empty if it answered 2xx or 3xx, else what
// it gave.
std::string AskCheck(Env& env, const CheckUrl& check) {
  auto answer = env.system.Get(check.url, "", 2s);
  if (!answer) return "no answer";
  if (answer->status >= 200 && answer->status < 400) return {};
  return fmt::format("HTTP {}", answer->status);
}

void CheckHealth(Env& env, const Record& record, const json& appcfg,
                 std::chrono::steady_clock::time_point deadline) {
  auto check = CheckUrlOf(record, appcfg);
  if (!check) return;  // start already waited for its ports
  std::string last;
  while (env.clock.Now() < deadline) {
    last = AskCheck(env, *check);
    if (last.empty()) return;
    env.clock.Sleep(kCheckInterval);
  }
  throw Error(fmt::format("health check {} gave {} until the deadline", Quoted(check->text), last));
}

// How long a new instance has to be ready, and how long it must stay up.
struct Readiness {
  std::chrono::seconds timeout;
  std::chrono::milliseconds min_uptime;
};

// An instance started, ready, and switched to.
struct Switched {
  Started started;
  std::set<int> old_workers;  // nginx's, from before the switch
  // The singletons (deploy.singletons) of the instance that served before,
  // stopped before the start: started again if nginx is switched back.
  std::vector<std::string> singletons;
};

// The processes of a singleton type (sarge.yaml's deploy.singletons) of the
// instance that serves `record`'s application, stopped: they must not run
// beside the new instance's. `stopped` lists their programs before the stop
// begins, so that a stop cut short is undone too.
void StopSingletons(Env& env, const Record& record, std::vector<std::string>& stopped) {
  if (env.settings.singletons.empty()) return;
  auto site = ReadActiveSite(env.home, record.application_name);
  if (!site || site->id == record.id || !fs::exists(env.home.RecordFile(site->id))) return;
  Record serving = LoadRecord(env.home, site->id);
  stopped = ProgramsOfTypes(serving, env.settings.singletons);
  StopTypes(env, serving, env.settings.singletons);
}

bool IsServing(const Home& home, const Record& record) {
  auto site = ReadActiveSite(home, record.application_name);
  return site && site->id == record.id;
}

// The part deploy and rollback share: start `record` (the step `start`),
// wait until it is ready (its check URL answers and it stays up for
// min_uptime after that), run `before_switch`, and switch the front end to
// it (noted as made by `by`).
template <typename BeforeSwitch>
Switched StartCheckSwitch(Env& env, Steps& steps, const std::string& start, Record& record,
                          const Readiness& ready, const std::string& by,
                          BeforeSwitch&& before_switch) {
  auto deadline = env.clock.Now() + ready.timeout;
  Switched switched;
  std::vector<std::string>& singletons = switched.singletons;
  try {
    switched.started = steps.Run(start, [&] {
      StopSingletons(env, record, singletons);
      return StartInstance(env, record, ready.timeout);
    });
    const Started& started = switched.started;
    steps.Run(kWaitHealthy, [&] {
      // Every web process answers its check (each on its own port).
      for (const auto& appcfg : WebRuntimeConfigs(env.home, record, started.appcfg))
        CheckHealth(env, record, appcfg, deadline);
      WaitStaysUp(env, started.processes, ready.min_uptime, ready.timeout);
    });
    before_switch();
    switched.old_workers =
        steps.Run(kSwitch, [&] { return Activate(env, record, started.appcfg, by); });
  } catch (...) {
    UndoScope undo;
    if (!singletons.empty() && !IsServing(env.home, record)) {
      // The new instance's singletons stop before the old ones start again
      // (a failed check leaves it running until the deploy removes it).
      try {
        StopInstance(env, record.id);
      } catch (const Error& e) {
        env.Say(fmt::format("could not stop {}: {}", record.id, e.what()));
      }
      StartAgain(env, singletons);
    }
    throw;
  }
  return switched;
}

void Drain(Env& env, const std::set<int>& workers) {
  if (workers.empty()) return;
  auto timeout = std::chrono::seconds(env.settings.nginx_drain_timeout);
  if (!WaitForExit(env, workers, timeout))
    env.Say(fmt::format("old nginx workers still busy after {} s; going on", timeout.count()));
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

namespace {

// `records` ordered as rollback would go back to them: those that served
// `app` most recently first (activations.h), then the others, newest first.
void OrderForRollback(const Home& home, const std::string& app, std::vector<Record>& records) {
  std::vector<std::string> served = ServedBefore(LoadActivations(home, app), "");
  auto rank = [&](const Record& r) {
    auto it = std::find(served.begin(), served.end(), r.id);
    return static_cast<size_t>(it - served.begin());
  };
  std::reverse(records.begin(), records.end());  // newest first
  std::stable_sort(records.begin(), records.end(),
                   [&](const Record& a, const Record& b) { return rank(a) < rank(b); });
}

}  // namespace

void RetirePrevious(Env& env, const Record& current, int keep) {
  auto others = InstancesOf(env.home, current.application_name);
  std::erase_if(others, [&](const Record& r) { return r.id == current.id; });
  for (const auto& r : others)
    if (StopInstance(env, r.id)) env.Say(fmt::format("stopped {}", r.id));
  OrderForRollback(env.home, current.application_name, others);
  for (size_t i = static_cast<size_t>(std::max(keep, 0)); i < others.size(); ++i) {
    DestroyInstance(env, others[i]);
    env.Say(fmt::format("destroyed {} (keeping {} previous)", others[i].id, keep));
    LogAction(env.home, fmt::format("destroy {} (keeping {} previous of {})", others[i].id, keep,
                                    current.application_name));
  }
}

namespace {

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

// Removes the new instance of a deploy that is undone, and its marker;
// says, rather than throws, what fails. Returns the last lines of its log
// ("last lines of PATH:\n…"), or "" if it wrote none.
std::string RemoveNewInstance(Env& env, const Record& record) {
  try {
    StopInstance(env, record.id);
  } catch (const Error&) {
    // DestroyInstance stops it again, and says what fails.
  }
  fs::path log = env.home.InstanceLog(record.id);
  std::string tail = TailFile(log, kLogTailLines);
  try {
    DestroyInstance(env, record);
    UnmarkDeploy(env.home, record.id);
  } catch (const Error& e) {
    env.Say(fmt::format("could not remove {}: {}", record.id, e.what()));
  }
  return tail.empty() ? "" : fmt::format("last lines of {}:\n{}", log.string(), tail);
}

// Undoes a deploy that failed before the switch, and explains why.
[[noreturn]] void Abandon(Env& env, const std::string& what, const Record& record,
                          const std::string& step, const Error& cause) {
  UndoScope undo;
  std::string tail = RemoveNewInstance(env, record);
  std::string detail = cause.detail().empty() ? tail : cause.detail();
  throw Error(fmt::format("{} failed at '{}': {}; {} was removed and the front end is unchanged",
                          what, step, cause.what(), record.id),
              detail);
}

}  // namespace

void CheckDeployInput(const Home& home, const DeployOptions& options) {
  InstanceConfig config = ParseInstanceConfig(options.config_json);
  ValidateDeployInput(options, config);
  CheckServerNamesFree(home, config.application_name, config.nginx_options);
  std::vector<std::string> defined = RuntimeNames(config.services);
  for (const auto& [name, value] : LoadAppVars(home, config.application_name))
    if (std::find(defined.begin(), defined.end(), name) != defined.end())
      throw Error(fmt::format(
          "the variable {} of {} (config set) is a name one of this configuration's services "
          "defines; remove it first: sarge {} config unset {} {}",
          name, config.application_name, home.root.string(), config.application_name, name));
}

Record CreateInstance(Env& env, std::string_view config_json, const std::string& label) {
  const Home& home = env.home;
  InstanceConfig config = ParseInstanceConfig(config_json);
  std::string id;
  do {
    id = NewInstanceId(config.application_name);
  } while (fs::exists(home.RecordFile(id)) || fs::exists(home.InstanceDir(id)));
  Record record{id, config.application_name, UtcNow(), config.ToJson(), {}, {}};
  record.label = label;
  Vars vars = LoadAppVars(home, config.application_name);
  RunHooks(home, env.settings, env.runner, hook::kInitializing, record);
  // The folder first, the record last: a record always has its folder.
  if (MakeDir(home.InstanceDir(id), 0755) != 0)
    throw Error(
        fmt::format("cannot create {}: {}", home.InstanceDir(id).string(), std::strerror(errno)));
  try {
    SaveInstanceVars(home, id, vars);  // the values it keeps (config_vars.h)
    SaveRecord(home, record);
  } catch (...) {
    std::error_code ec;
    fs::remove(home.VarsFile(id), ec);
    fs::remove(home.InstanceDir(id), ec);
    throw;
  }
  return record;
}

namespace {

// The instance that serves `app` now, if it runs: what a deploy watching
// its new instance switches back to.
std::optional<Record> RunningActive(Env& env, const std::string& app) {
  auto site = ReadActiveSite(env.home, app);
  if (!site) return std::nullopt;
  try {
    if (env.supervisor.GetProcessInfo(site->id).state == "RUNNING")
      return LoadRecord(env.home, site->id);
  } catch (const Error&) {
    // Not loaded, or gone: nothing to switch back to.
  }
  return std::nullopt;
}

// What a watch found wrong with the new instance, and when.
struct WatchFailure {
  std::string problem;
  std::chrono::milliseconds after;  // since the switch
};

// After the switch, with the previous instance still running: watches the
// new instance's server for `duration`, and asks its check URL about once
// a second.
std::optional<WatchFailure> Watch(Env& env, const Record& record, const Started& started,
                                  std::chrono::milliseconds duration) {
  auto check = CheckUrlOf(record, started.appcfg);
  auto begin = env.clock.Now();
  auto next_check = begin;
  auto failure = [&](std::string problem) {
    return WatchFailure{std::move(problem), std::chrono::duration_cast<std::chrono::milliseconds>(
                                                env.clock.Now() - begin)};
  };
  for (auto now = begin; now < begin + duration; now = env.clock.Now()) {
    if (env.system.Process(started.pid) != ProcessState::kRunning)
      return failure(WhyItExited(env, record.id, started.pid));
    if (check && now >= next_check) {
      if (std::string problem = AskCheck(env, *check); !problem.empty()) {
        // A server that dies closes its sockets before /proc shows it
        // exited: given a moment, its exit is the cause to tell.
        for (auto until = env.clock.Now() + kExitGrace; env.clock.Now() < until;
             env.clock.Sleep(kCheckInterval)) {
          if (env.system.Process(started.pid) != ProcessState::kRunning)
            return failure(WhyItExited(env, record.id, started.pid));
        }
        return failure(fmt::format("its check {} gave {}", Quoted(check->text), problem));
      }
      next_check = now + 1s;
    }
    env.clock.Sleep(kCheckInterval);
  }
  return std::nullopt;
}

// A watched deploy whose new instance failed after the switch: switches
// back to `previous`, destroys the new instance and says why.
[[noreturn]] void SwitchBack(Env& env, const Record& record, const std::optional<Record>& previous,
                             const WatchFailure& failed,
                             const std::vector<std::string>& singletons) {
  UndoScope undo;
  std::string why = fmt::format("{} failed {} after the switch (--watch): {}", record.id,
                                FormatDuration(failed.after), failed.problem);
  if (!previous)
    throw Error(
        fmt::format("{}; no previous instance of {} runs to switch back to, so {} still "
                    "serves",
                    why, record.application_name, record.id));
  try {
    Drain(env, Activate(env, *previous, ReadRuntimeConfig(env.home, previous->id),
                        "deploy --watch (switched back)"));
  } catch (const Error& e) {
    throw Error(fmt::format("{}; switching back to {} failed: {}; {} still serves", why,
                            previous->id, e.what(), record.id),
                e.detail());
  }
  std::string tail = RemoveNewInstance(env, record);
  StartAgain(env, singletons);  // once the new instance's are stopped
  throw Error(fmt::format("{}; switched back: {} serves {} again, and {} was removed", why,
                          previous->id, record.application_name, record.id),
              tail);
}

}  // namespace

namespace {

// The Procfile's `release:` command, run once in the new instance with its
// environment (as `run` does), before any of its processes starts.
void RunReleaseCommand(Env& env, Record& record) {
  auto procfile = ReadProcfile(env.home, record.id);
  const ProcessType* release = procfile ? procfile->Find("release") : nullptr;
  if (!release) throw Error("the source's Procfile changed during the deploy; deploy it again");
  Configure(env, record);  // the ports and folders its environment names
  CommandResult r = env.runner.Run(
      {env.home.Bin("sarge").string(), "run", record.id, release->command}, kReleaseTimeout);
  if (r.timed_out)
    throw Error(fmt::format("the release command {} did not finish within {} minutes",
                            Quoted(release->command), kReleaseTimeout.count() / 60),
                r.Both());
  if (r.exit_code != 0)
    throw Error(fmt::format("the release command {} exited with status {}",
                            Quoted(release->command), r.exit_code),
                r.Both());
}

// A deploy's new instance, started and serving.
struct Deployed {
  Switched switched;
  std::optional<Record> previous;  // what served before and still runs (for --watch)
};

// The steps up to the switch: install the source, start, wait until ready,
// switch nginx. Any failure undoes them all (Abandon).
Deployed InstallStartSwitch(Env& env, Steps& steps, const DeployOptions& options,
                            const Readiness& ready, bool watched, Record& record) {
  Deployed deployed;
  try {
    MarkDeploy(env.home, record.id);
    record.check_url = options.check_url;
    SaveRecord(env.home, record);
    env.Say(fmt::format("new instance {}", record.id));
    steps.Run(kInstall, [&] {
      InstallSource(env.home, env.runner, options.source, record.id);
      ReadProcfile(env.home, record.id);  // as the source's was checked
    });
    if (options.release_command) steps.Run(kRelease, [&] { RunReleaseCommand(env, record); });
    deployed.switched = StartCheckSwitch(env, steps, kStart, record, ready, options.by, [&] {
      if (watched) deployed.previous = RunningActive(env, record.application_name);
      // Cut off from here on, whether it switched is asked of nginx.
      MarkDeploy(env.home, record.id, kSwitching);
    });
  } catch (const Error& e) {
    Abandon(env, options.by, record, steps.current(), e);
  }
  return deployed;
}

// With --watch: the new instance serves while the previous one still runs;
// if it fails (or an interrupt comes) in that time, nginx switches back.
void WatchOrSwitchBack(Env& env, Steps& steps, const Record& record, const Deployed& deployed,
                       std::chrono::milliseconds watch) {
  auto begun = env.clock.Now();
  std::optional<WatchFailure> failed;
  try {
    failed = steps.Run(WatchStep(watch),
                       [&] { return Watch(env, record, deployed.switched.started, watch); });
  } catch (const Interrupted& e) {
    failed = WatchFailure{
        e.what(), std::chrono::duration_cast<std::chrono::milliseconds>(env.clock.Now() - begun)};
  }
  if (failed) SwitchBack(env, record, deployed.previous, *failed, deployed.switched.singletons);
}

// The new instance serves for good: the old nginx workers finish, the
// previous instances stop. An interrupt no longer undoes the deploy.
void Finish(Env& env, Steps& steps, const Record& record, const Switched& switched, int keep) {
  UndoScope finishing;
  try {
    steps.Run(kDrain, [&] { Drain(env, switched.old_workers); });
    steps.Run(kRetire, [&] { RetirePrevious(env, record, keep); });
    ForgetSwitchedDeploys(env.home, record.application_name, record.id);
    UnmarkDeploy(env.home, record.id);
  } catch (const Error& e) {
    throw Error(fmt::format("{} now serves {}, but finishing the deploy failed: {}; `sarge {} "
                            "check --repair` finishes it",
                            record.id, record.application_name, e.what(), env.home.root.string()),
                e.detail());
  }
}

}  // namespace

std::string Deploy(Env& env, const DeployOptions& options) {
  InstanceConfig config = ParseInstanceConfig(options.config_json);
  ValidateDeployInput(options, config);
  Readiness ready{options.timeout.value_or(std::chrono::seconds(env.settings.deploy_timeout)),
                  options.min_uptime.value_or(env.settings.min_uptime)};
  auto watch = options.watch.value_or(env.settings.deploy_watch);
  std::vector<std::string> names = {kCreate, kInstall};
  if (options.release_command) names.push_back(kRelease);
  names.insert(names.end(), {kStart, kWaitHealthy, kSwitch});
  if (watch.count() > 0) names.push_back(WatchStep(watch));
  names.insert(names.end(), {kDrain, kRetire});
  Steps steps(env.progress, options.by + " " + config.application_name, std::move(names));

  Record record =
      steps.Run(kCreate, [&] { return CreateInstance(env, options.config_json, options.label); });
  Deployed deployed = InstallStartSwitch(env, steps, options, ready, watch.count() > 0, record);
  try {
    MarkDeploy(env.home, record.id, kSwitched);
  } catch (const Error&) {
    // An unswitched marker would have `check --repair` destroy the
    // instance that now serves: better no marker at all.
    UnmarkDeploy(env.home, record.id);
  }
  if (watch.count() > 0) WatchOrSwitchBack(env, steps, record, deployed, watch);
  Finish(env, steps, record, deployed.switched, options.keep.value_or(env.settings.deploy_keep));
  try {
    RememberConfig(env.home, record);  // what `deploy APP SOURCE` uses next
  } catch (const Error& e) {
    // The deploy is done: only a later deploy by name misses what it used.
    env.Say(
        fmt::format("warning: {} serves {}, but its configuration was not kept for the "
                    "next `deploy {} SOURCE`: {}",
                    record.id, record.application_name, record.application_name, e.what()));
  }
  return record.id;
}

namespace {

bool HasRoutes(const Record& record) {
  return !InstanceConfigFromJson(record.config).urlmap.empty();
}

// An instance without routes would leave an application that has some
// answering 404 to everything.
void CheckRoutesKept(const Home& home, const Record& record) {
  if (HasRoutes(record)) return;
  auto site = ReadActiveSite(home, record.application_name);
  if (!site || site->id == record.id) return;
  Record active;
  try {
    active = LoadRecord(home, site->id);
  } catch (const Error&) {
    return;  // what it routes to is gone: nothing to keep
  }
  if (HasRoutes(active))
    throw Error(
        fmt::format("{} has no urlmap routes, and {} serves {} with routes; routing {} "
                    "to it would answer 404 to everything. Deploy a configuration with "
                    "the application's urlmap instead",
                    record.id, active.id, record.application_name, record.application_name));
}

}  // namespace

void ActivateInstance(Env& env, Record& record) {
  std::string state = "STOPPED";  // what supervisord has not loaded is stopped
  try {
    state = env.supervisor.GetProcessInfo(record.id).state;
  } catch (const SupervisorFault& f) {
    if (f.code() != fault::kBadName) throw;
  }
  if (state != "RUNNING" && state != "STARTING")
    throw Error(fmt::format("{} is {}, not running; start it first: sarge {} start {}", record.id,
                            state, env.home.root.string(), record.id));
  CheckRoutesKept(env.home, record);
  Drain(env, Activate(env, record, ReadRuntimeConfig(env.home, record.id), "activate"));
  ForgetSwitchedDeploys(env.home, record.application_name, record.id);
}

namespace {

// The instance `rollback` goes to: `to` if given, else the one that served
// `app` before `active` and still exists. A home whose history is empty
// (kept since this version of sarge) falls back to the newest instance
// created before the active one that has routes if it has.
Record RollbackTarget(const Home& home, const std::string& app, const Record& active,
                      const std::vector<Record>& all, const std::string& to) {
  auto find = [&](const std::string& id) {
    return std::find_if(all.begin(), all.end(), [&](const Record& r) { return r.id == id; });
  };
  if (!to.empty()) {
    CheckSafeName("instance id", to);
    if (to == active.id) throw Error(fmt::format("{} already serves {}", to, app));
    if (auto it = find(to); it != all.end()) return *it;
    Record other = LoadRecord(home, to);  // "no instance …" if there is none
    throw Error(fmt::format("{} is an instance of {}, not of {}", to, other.application_name, app));
  }
  auto history = LoadActivations(home, app);
  std::vector<std::string> before = ServedBefore(history, active.id);
  for (const auto& id : before)
    if (auto it = find(id); it != all.end()) return *it;
  std::vector<std::string> kept;
  for (const auto& r : all)
    if (r.id != active.id && (HasRoutes(r) || !HasRoutes(active))) kept.push_back(r.id);
  if (history.empty()) {
    auto current = find(active.id);
    for (auto it = current; it != all.begin();)
      if (--it, HasRoutes(*it) || !HasRoutes(active)) return *it;
  }
  std::string options = kept.empty() ? "deploy keeps deploy.keep of them"
                                     : fmt::format("pick one with --to: {}", fmt::join(kept, ", "));
  if (!before.empty())
    throw Error(fmt::format("the instances that served {} before {} are gone ({}); {}", app,
                            active.id, fmt::join(before, ", "), options));
  throw Error(fmt::format("no instance served {} before {}; {}", app, active.id, options));
}

}  // namespace

namespace {

// The instance that serves `app`, among `all` of its instances; `what`
// says what needs it ("roll back from").
Record ActiveInstance(const Home& home, const std::string& app, const std::vector<Record>& all,
                      const std::string& what) {
  auto site = ReadActiveSite(home, app);
  if (!site) {
    std::string hint = all.empty() ? ClosestMatch(app, ApplicationNames(home)) : "";
    throw Error(fmt::format("application {} has no active instance to {}{}", Quoted(app), what,
                            hint.empty() ? "" : fmt::format("; did you mean '{}'?", hint)));
  }
  auto it = std::find_if(all.begin(), all.end(), [&](const Record& r) { return r.id == site->id; });
  if (it == all.end())
    throw Error(fmt::format("{}'s active instance {} no longer exists; deploy or activate one", app,
                            site->id));
  return *it;
}

// After the switch to `target`: the nginx workers from before it finish,
// and `active` stops (the step `stop ACTIVE`).
void FinishRollback(Env& env, Steps& steps, const Record& target, const Record& active,
                    const std::set<int>& old_workers) {
  UndoScope finishing;  // switched: what is left finishes
  try {
    steps.Run("stop " + active.id, [&] {
      Drain(env, old_workers);
      StopInstance(env, active.id);
    });
    ForgetSwitchedDeploys(env.home, target.application_name, target.id);
  } catch (const Error& e) {
    throw Error(
        fmt::format("{} now serves {}, but stopping {} failed: {}; stop it: sarge {} stop {}",
                    target.id, target.application_name, active.id, e.what(), env.home.root.string(),
                    active.id),
        e.detail());
  }
}

}  // namespace

namespace {

// Rollback's --to: an instance id as given, or the instance of release vN.
std::string InstanceOfRelease(const Home& home, const std::string& app, const std::string& to) {
  if (!IsReleaseNumber(to)) return to;
  Release release = FindRelease(home, app, to);
  if (!fs::exists(home.RecordFile(release.instance)))
    throw Error(
        fmt::format("the instance of {}, {}, is gone: deploy keeps deploy.keep instances; "
                    "`sarge {} releases {}` lists the releases",
                    to, release.instance, home.root.string(), app));
  return release.instance;
}

}  // namespace

RollbackPlan PlanRollback(const Home& home, const RollbackOptions& options) {
  const std::string& app = options.app;
  CheckSafeName("application name", app);
  auto all = InstancesOf(home, app);
  Record active = ActiveInstance(home, app, all, "roll back from");
  Record target = RollbackTarget(home, app, active, all, InstanceOfRelease(home, app, options.to));
  return {std::move(active), std::move(target)};
}

std::string Rollback(Env& env, const RollbackOptions& options) {
  return Rollback(env, options, PlanRollback(env.home, options));
}

std::string Rollback(Env& env, const RollbackOptions& options, const RollbackPlan& plan) {
  const std::string& app = options.app;
  const Record& active = plan.active;
  Record target = plan.target;  // configured again on its start
  Readiness ready{options.timeout.value_or(std::chrono::seconds(env.settings.deploy_timeout)),
                  options.min_uptime.value_or(env.settings.min_uptime)};
  const std::string start = "start " + target.id;
  Steps steps(env.progress, "rollback " + app, {start, kWaitHealthy, kSwitch, "stop " + active.id});
  Switched switched;
  try {
    switched = StartCheckSwitch(env, steps, start, target, ready, "rollback", [] {});
  } catch (const Error& e) {
    UndoScope undo;
    try {
      StopInstance(env, target.id);
    } catch (const Error&) {
    }
    throw Error(
        fmt::format("rollback to {} failed: {}; {} still serves", target.id, e.what(), active.id),
        e.detail());
  }
  FinishRollback(env, steps, target, active, switched.old_workers);
  return target.id;
}

std::string NewCommand(Env& env, std::string_view config_json) {
  std::string id = CreateInstance(env, config_json).id;
  LogAction(env.home, "new " + id);
  return id;
}

namespace {

// Notes `release` of `app`: a command that did its work is not failed
// because its release could not be noted, only warned.
void NoteReleaseOrWarn(Env& env, const std::string& app, const Release& release) {
  try {
    NoteRelease(env.home, app, release);
  } catch (const Error& e) {
    env.Say(fmt::format("warning: the {} of {} was not noted in its releases: {}", release.by, app,
                        e.what()));
  }
}

// Where the files of `instance` came from: the source of the release that
// made it; empty if none says (or the history is unreadable: that must not
// stop a rollback).
std::string SourceOf(const Home& home, const std::string& app, const std::string& instance) {
  std::vector<Release> releases;
  try {
    releases = LoadReleases(home, app);
  } catch (const Error&) {
    return "";
  }
  for (auto it = releases.rbegin(); it != releases.rend(); ++it)
    if (it->instance == instance && !it->source.empty()) return it->source;
  return "";
}

}  // namespace

namespace {

// Deploys along `options` and notes `release` of `app` with its outcome
// and instance; `done` is what the action log says after the new id.
std::string DeployNoted(Env& env, const DeployOptions& options, const std::string& app,
                        Release release, const std::string& done) {
  std::string id;
  try {
    id = Deploy(env, options);
  } catch (const Error& e) {
    LogAction(env.home, fmt::format("{} of {} from {} failed: {}", options.by, app,
                                    options.source.string(), e.what()));
    release.outcome = fmt::format("failed: {}", e.what());
    NoteReleaseOrWarn(env, app, release);
    throw;
  }
  LogAction(env.home, fmt::format("{} {} {}", options.by, id, done));
  release.instance = id;
  release.outcome = "succeeded";
  NoteReleaseOrWarn(env, app, release);
  return id;
}

}  // namespace

std::string DeployCommand(Env& env, const DeployOptions& options) {
  CatchInterrupts();  // Ctrl-C undoes the deploy as a failure would
  const std::string app = ParseInstanceConfig(options.config_json).application_name;
  Release release{
      0,  UtcNow(), WhoActs(), "deploy", options.label, fs::absolute(options.source).string(),
      "", ""};
  return DeployNoted(env, options, app, std::move(release),
                     fmt::format("from {}", options.source.string()));
}

std::string RestartCommand(Env& env, const RestartOptions& options) {
  CatchInterrupts();  // Ctrl-C undoes the restart as a failure would
  const std::string& app = options.app;
  CheckSafeName("application name", app);
  Record active = ActiveInstance(env.home, app, InstancesOf(env.home, app), "restart");
  DeployOptions deploy;
  deploy.config_json = active.config.dump();
  deploy.source = env.home.InstanceDir(active.id);
  deploy.check_url = active.check_url;
  deploy.timeout = options.timeout;
  deploy.min_uptime = options.min_uptime;
  deploy.label = active.label;
  deploy.by = "restart";
  CheckDeployInput(env.home, deploy);
  Release release{
      0, UtcNow(), WhoActs(), options.by, active.label, SourceOf(env.home, app, active.id), "", ""};
  // "restart web-NEW of web-OLD", or "… (config set KEY)" for a config change.
  std::string done = "of " + active.id;
  if (options.by != "restart") done += " (" + options.by + ")";
  return DeployNoted(env, deploy, app, std::move(release), done);
}

void RestartTypeInPlace(Env& env, const RestartOptions& options, const std::string& type) {
  const std::string& app = options.app;
  if (type == "web")
    throw Error(fmt::format(
        "restarting web in place would drop requests; `sarge {} restart {}` restarts it with no "
        "downtime",
        env.home.root.string(), app));
  CatchInterrupts();
  Record active = ActiveInstance(env.home, app, InstancesOf(env.home, app), "restart");
  auto timeout = options.timeout.value_or(std::chrono::seconds(env.settings.deploy_timeout));
  auto min_uptime = options.min_uptime.value_or(env.settings.min_uptime);
  std::vector<Up> restarted;
  Release release{0,
                  UtcNow(),
                  WhoActs(),
                  "restart " + type,
                  active.label,
                  SourceOf(env.home, app, active.id),
                  active.id,
                  "succeeded"};
  try {
    RunStep(env.progress, Step{fmt::format("restart {} of {}", type, active.id)},
            [&] { restarted = RestartInPlace(env, active, type, timeout, min_uptime); });
  } catch (const Error& e) {
    release.outcome = fmt::format("failed: {}", e.what());
    NoteReleaseOrWarn(env, app, release);
    throw;
  }
  for (const Up& up : restarted) env.Say(fmt::format("restarted {} (pid {})", up.program, up.pid));
  LogAction(env.home, fmt::format("restart {} of {} ({})", type, app, active.id));
  NoteReleaseOrWarn(env, app, release);
}

std::string RollbackCommand(Env& env, const RollbackOptions& options) {
  CatchInterrupts();  // Ctrl-C undoes the rollback as a failure would
  // A rollback that cannot choose where to go (a mistyped name, an
  // unknown --to) is bad input, not a release.
  RollbackPlan plan = PlanRollback(env.home, options);
  const Record& target = plan.target;
  Release release{0,
                  UtcNow(),
                  WhoActs(),
                  "rollback",
                  target.label,
                  SourceOf(env.home, options.app, target.id),
                  target.id,
                  ""};
  std::string id;
  try {
    id = Rollback(env, options, plan);
  } catch (const Error& e) {
    release.outcome = fmt::format("failed: {}", e.what());
    NoteReleaseOrWarn(env, options.app, release);
    throw;
  }
  LogAction(env.home, fmt::format("rollback {} to {}", options.app, id));
  release.outcome = "succeeded";
  NoteReleaseOrWarn(env, options.app, release);
  return id;
}

void ActivateCommand(Env& env, const std::string& id) {
  Record record = LoadRecord(env.home, id);
  RunStep(env.progress, Step{"activate " + id}, [&] { ActivateInstance(env, record); });
  LogAction(env.home, fmt::format("activate {} for {}", record.id, record.application_name));
  env.Say(fmt::format("{} now serves {}", record.id, record.application_name));
}

}  // namespace sarge
