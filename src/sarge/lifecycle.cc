#include "sarge/lifecycle.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <set>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sarge/config_vars.h"
#include "sarge/duration.h"
#include "sarge/error.h"
#include "sarge/front_end.h"
#include "sarge/hooks.h"
#include "sarge/interrupt.h"
#include "sarge/names.h"
#include "sarge/orphans.h"
#include "sarge/process.h"
#include "sarge/processes.h"
#include "sarge/procfile.h"
#include "sarge/supervisor_config.h"

namespace sarge {
namespace {

using namespace std::chrono_literals;

constexpr auto kPollInterval = 10ms;
// A stop waits at most supervisord's stopwaitsecs (10 s) and then some.
constexpr auto kStopTimeout = 30s;

// Poll intervals of 1, 2, 4, 8, then 10 ms: a server that is up (or gone)
// at once is seen at once, and a slow one costs supervisord few calls. A
// check that costs only sarge (a connect to a local port, kill(pid, 0)) is
// made every 1 ms for `fast` first, so sarge sees a server that takes tens
// of milliseconds to come up within a millisecond, not within ten.
class Backoff {
 public:
  explicit Backoff(Clock& clock, std::chrono::milliseconds fast = {})
      : clock_(clock), fast_until_(clock.Now() + fast) {}
  void Sleep() {
    clock_.Sleep(next_);
    if (clock_.Now() >= fast_until_)
      next_ = std::min<std::chrono::milliseconds>(next_ * 2, kPollInterval);
  }

 private:
  Clock& clock_;
  Clock::TimePoint fast_until_;
  std::chrono::milliseconds next_{1};
};
// How long the 1 ms polls of a cheap check last: supervisord's spawn and
// `sarge launch` take ~60 ms here before a server can listen.
constexpr auto kFastPolls = 250ms;
constexpr int kLogTailLines = 20;

struct Endpoint {
  std::string host;
  int port;
};

std::vector<Endpoint> ListenEndpoints(const nlohmann::json& appcfg, const Record& record) {
  std::vector<Endpoint> out;
  for (const auto& service : InstanceConfigFromJson(record.config).services) {
    if (service.type != ServiceType::kListen) continue;
    std::string name = EnvName(service.name);
    out.push_back({appcfg[name + "_HOST"].get<std::string>(), appcfg[name + "_PORT"].get<int>()});
  }
  return out;
}

bool IsFault(const SupervisorFault& f, int code) { return f.code() == code; }

using Op = BatchCall::Op;

[[noreturn]] void FailStart(Env& env, const std::string& id, const std::string& reason);

// supervisord's description of `id`, or nullopt if it has no such program
// loaded.
std::optional<ProcessInfo> Describe(Supervisor& supervisor, const std::string& id) {
  try {
    return supervisor.GetProcessInfo(id);
  } catch (const SupervisorFault& f) {
    if (!IsFault(f, fault::kBadName)) throw;
    return std::nullopt;
  }
}

// For its lifetime, supervisord.conf includes `id`'s program file alone.
// reloadConfig re-reads the whole configuration, at a cost that grows with
// the square of the number of included files (~4 s for 2000), and one
// unreadable file makes it fail for all. With the include narrowed,
// reloadConfig reads one file, addProcessGroup uses what it read, and the
// programs it reports "removed" are ignored (reloadConfig applies nothing).
// The full include is back on disk when this ends (and every locked command
// rewrites it, should sarge have been killed in between).
class NarrowedInclude {
 public:
  NarrowedInclude(const Home& home, const std::string& id) : home_(home) {
    WriteSupervisordConf(home_, id);
  }
  ~NarrowedInclude() {
    try {
      WriteSupervisordConf(home_);
    } catch (const Error&) {
      // The next locked command rewrites it.
    }
  }
  NarrowedInclude(const NarrowedInclude&) = delete;
  NarrowedInclude& operator=(const NarrowedInclude&) = delete;

 private:
  const Home& home_;
};

[[noreturn]] void CannotReread(Env& env, const std::string& id, const SupervisorFault& f) {
  throw Error(fmt::format("supervisord cannot read {} ({})",
                          env.home.ProgramFile(InstanceOfProgram(id)).string(), f.what()));
}

// supervisord has `id` loaded from an older program file (sarge.yaml's log
// settings changed, or the processes it had were others): has it re-read
// the file and, if its program changed or the programs it had (`before`)
// are not those of the file now, stops and unloads them. Returns what is
// loaded after that.
std::optional<ProcessInfo> ReloadChanged(Env& env, const std::string& id, const ProcessInfo& loaded,
                                         const std::vector<std::string>& before) {
  ReloadResult reload;
  try {
    NarrowedInclude narrowed(env.home, id);
    reload = env.supervisor.ReloadConfig();
  } catch (const SupervisorFault& f) {
    if (!IsFault(f, fault::kCantReread)) throw;
    CannotReread(env, id, f);
  }
  if (std::find(reload.changed.begin(), reload.changed.end(), id) == reload.changed.end() &&
      before == ProgramsInFile(env.home, id))
    return loaded;
  StopPrograms(env, id, before, Unloading::kUnload);
  return Describe(env.supervisor, id);
}

// Starts `id` without waiting: loads its program first if supervisord does
// not have it (`load`). One round trip to supervisord; returns the
// description it gave right after the spawn.
ProcessInfo Spawn(Env& env, const std::string& id, bool load) {
  std::vector<BatchCall> calls;
  if (load) calls = {{Op::kReloadConfig, ""}, {Op::kAddProcessGroup, id}};
  calls.push_back({Op::kStartProcess, id});
  calls.push_back({Op::kGetProcessInfo, id});
  std::vector<BatchResult> results;
  if (load) {
    NarrowedInclude narrowed(env.home, InstanceOfProgram(id));
    results = env.supervisor.Batch(calls);
    if (results[0].Is(fault::kCantReread)) CannotReread(env, id, *results[0].fault);
    if (results[0].fault) throw *results[0].fault;
    if (results[1].fault && !results[1].Is(fault::kAlreadyAdded)) throw *results[1].fault;
  } else {
    results = env.supervisor.Batch(calls);
  }
  const BatchResult& started = results[results.size() - 2];
  if (started.fault && !started.Is(fault::kAlreadyStarted))
    FailStart(env, id, started.fault->what());
  if (results.back().fault) throw *results.back().fault;
  return results.back().info;
}

// Stops `id` after a failed start and makes sure supervisord does not retry it.
void StopAfterFailure(Env& env, const std::string& id) {
  try {
    StopInstance(env, id, Unloading::kKeepLoaded);  // its state tells why it failed
  } catch (const Error&) {
    // The start failure is what the user needs to see; a stop that fails
    // here shows up in `sarge list`.
  }
}

std::string FailureReason(const ProcessInfo& info) {
  // supervisord records the exit status only for a process that ran past
  // startsecs; one that exits sooner is BACKOFF with a spawnerr.
  if (info.state == "EXITED") return fmt::format("it exited with status {}", info.exitstatus);
  if (!info.spawnerr.empty()) return info.spawnerr;
  if (info.state == "FATAL") return "supervisord gave up starting it";
  return fmt::format("it is {}", info.state);
}

// The ports the instance's listen services were given (appcfg.json).
std::set<int> ListenPorts(const Home& home, const std::string& id) {
  std::set<int> ports;
  try {
    nlohmann::json appcfg = ReadRuntimeConfig(home, id);
    for (const auto& item : appcfg.items())
      if (item.key().ends_with("_PORT") && item.value().is_number_integer())
        ports.insert(item.value().get<int>());
  } catch (const Error&) {
    // Not configured: it listens nowhere of its own.
  }
  return ports;
}

// After a failed start: processes started from the instance's folder that
// still listen on its ports, outside supervisord, mean the server
// daemonized (its process exited, a child it forked went on): supervisord
// can neither stop nor restart those. Stops them; returns what to say
// about it, or "".
std::string StopWhatDaemonized(Env& env, const std::string& id) {
  std::set<int> ports = ListenPorts(env.home, id);
  if (ports.empty()) return {};
  int supervisor = std::atoi(ReadFileIfExists(env.home.PidFile()).value_or("0").c_str());
  const fs::path dir = env.home.InstanceDir(id);
  std::vector<int> left = StrayListeners(dir, supervisor, ports);
  // The child a daemon forks may bind its port only later (after loading
  // its application): while one started by this command runs, wait for it.
  // Only a start that already failed, with such a process left, waits; 3 s
  // proved too short on a loaded CI machine (a child that slept 1 s bound
  // its port after the wait ended).
  auto self = ReadProcStat(static_cast<int>(::getpid()));
  const auto deadline = env.clock.Now() + 10s;
  while (left.empty() && self && env.clock.Now() < deadline &&
         !StraysStartedSince(dir, supervisor, self->start_ticks).empty()) {
    env.clock.Sleep(50ms);
    left = StrayListeners(dir, supervisor, ports);
  }
  if (left.empty()) return {};
  for (int pid : left) {
    try {
      StopOrphan(env, pid, 5s);
    } catch (const Error&) {
      // Said below; the pid is in the message.
    }
  }
  return fmt::format(
      "; what it started went on listening outside supervisord (pid {}), and was stopped: a "
      "server must stay in the foreground (no `&`, no daemon mode) so that supervisord runs it",
      fmt::join(left, ", "));
}

// `id` is the program that failed: the whole instance is stopped.
[[noreturn]] void FailStart(Env& env, const std::string& id, const std::string& reason) {
  UndoScope undo;  // an interrupted start is stopped too
  StopAfterFailure(env, InstanceOfProgram(id));
  std::string daemonized = StopWhatDaemonized(env, InstanceOfProgram(id));
  // supervisord drains the pipe of an exited process on its next loop.
  env.clock.Sleep(50ms);
  std::string tail = TailFile(env.home.InstanceLog(id), kLogTailLines);
  std::string detail =
      tail.empty() ? fmt::format("({} is empty)", env.home.InstanceLog(id).string())
                   : fmt::format("last lines of {}:\n{}", env.home.InstanceLog(id).string(), tail);
  std::string stopped = id == InstanceOfProgram(id) ? "it" : InstanceOfProgram(id) + " as a whole";
  throw Error(fmt::format("{} did not start: {}; {} is stopped{}", id, reason, stopped, daemonized),
              detail);
}

// How supervisord's log last described an exit of `id`: "exit status 3",
// "terminated by SIGKILL"; empty if it has none in its last lines. The
// answer to getProcessInfo forgets the exit status once supervisord has
// started the program again, which it does at once for a process that ran
// past startsecs.
std::string LastExitInLog(const Home& home, const std::string& id) {
  std::string tail = TailFile(home.SupervisordLog(), 200);
  std::string marker = "exited: " + id + " (";
  size_t at = tail.rfind(marker);
  if (at == std::string::npos) return {};
  size_t from = at + marker.size();
  size_t end = tail.find_first_of(";)\n", from);
  return tail.substr(from, end == std::string::npos ? std::string::npos : end - from);
}

// Why the process `pid` that supervisord started for `id` is gone, as
// supervisord tells it (`info`, asked after the process went).
std::string ExitReason(Env& env, const std::string& id, const ProcessInfo& info) {
  if (info.state == "EXITED") return FailureReason(info);
  std::string exit = LastExitInLog(env.home, id);
  std::string what = exit.starts_with("exit status ") ? "it exited with status " + exit.substr(12)
                     : exit.starts_with("terminated by ") ? "it was " + exit
                                                          : "it exited";
  // supervisord's "Exited too quickly" says nothing more than a known exit.
  if (info.state == "BACKOFF" || info.state == "FATAL")
    return !exit.empty() || info.spawnerr.empty() ? what
                                                  : fmt::format("{}: {}", what, info.spawnerr);
  return fmt::format("{}, and supervisord started it again", what);
}

// supervisord's description of `id` once the process `pid` it started has
// exited: a zombie is reaped on supervisord's next pass, which a request
// starts, so it is asked until it has noticed (or started it again).
ProcessInfo AfterExit(Env& env, const std::string& id, int pid) {
  auto deadline = env.clock.Now() + 2s;
  for (;;) {
    ProcessInfo info = env.supervisor.GetProcessInfo(id);
    bool noticed = info.pid != pid || (info.state != "RUNNING" && info.state != "STARTING");
    if (noticed || env.clock.Now() >= deadline) return info;
    env.clock.Sleep(kPollInterval);
  }
}

bool AllAccept(Env& env, const std::vector<Endpoint>& endpoints) {
  return std::all_of(endpoints.begin(), endpoints.end(),
                     [&](const Endpoint& e) { return env.system.Accepts(e.host, e.port); });
}

// Polls until the instance is up, it fails, or the timeout passes. `info`
// is supervisord's description right after the spawn. With listen services
// "up" is every port accepting connections, judged here without asking
// supervisord (each of its answers costs a pass of its main loop) for as
// long as the spawned process runs; without them, supervisord's RUNNING
// (with `spawned_is_up`, a spawned process: its caller watches it next).
int WaitUntilUp(Env& env, const std::string& id, ProcessInfo info,
                const std::vector<Endpoint>& endpoints, std::chrono::seconds timeout,
                bool spawned_is_up = false) {
  auto deadline = env.clock.Now() + timeout;
  const int spawned = info.pid;
  // Without listen services every poll asks supervisord.
  Backoff backoff(env.clock, endpoints.empty() ? 0ms : kFastPolls);
  for (;;) {
    // A process that exits before startsecs is BACKOFF; supervisord's log
    // has its exit status.
    if (info.state == "BACKOFF" && !LastExitInLog(env.home, id).empty())
      FailStart(env, id, ExitReason(env, id, info));
    if (info.state != "STARTING" && info.state != "RUNNING")
      FailStart(env, id, FailureReason(info));
    // supervisord starts again at once a process that outlived startsecs.
    if (spawned > 0 && info.pid != spawned) FailStart(env, id, ExitReason(env, id, info));
    bool up = !endpoints.empty()        ? AllAccept(env, endpoints)
              : info.state == "RUNNING" ? true
                                        : spawned_is_up && info.pid > 0;
    if (up) return info.pid;
    if (env.clock.Now() >= deadline) {
      std::string what = endpoints.empty() ? std::string("supervisord still reports it STARTING")
                                           : fmt::format("nothing accepts connections on {}:{}",
                                                         endpoints[0].host, endpoints[0].port);
      FailStart(env, id, fmt::format("{} after {} s", what, timeout.count()));
    }
    backoff.Sleep();
    if (endpoints.empty())
      info = env.supervisor.GetProcessInfo(id);
    else if (env.system.Process(info.pid) != ProcessState::kRunning)
      info = AfterExit(env, id, info.pid);
  }
}

// Watches the processes `up` for `min_uptime`: a server that answers and
// then dies (a crash after its first request, a failed connection to its
// database) is not ready. Only /proc is read meanwhile; supervisord is
// asked once at the end, and until it says RUNNING (its startsecs may be
// longer than a --min-uptime given for this start).
void WatchStaysUp(Env& env, const std::vector<Up>& up, std::chrono::milliseconds min_uptime,
                  std::chrono::seconds timeout) {
  auto up_since = env.clock.Now();
  auto until = up_since + min_uptime;
  auto deadline = until + timeout;
  auto fail = [&](const Up& process, const ProcessInfo& info) {
    auto lasted = std::chrono::duration_cast<std::chrono::milliseconds>(env.clock.Now() - up_since);
    FailStart(env, process.program,
              fmt::format("{}, {} after it was up (it must stay up for {}: deploy.min_uptime, "
                          "--min-uptime)",
                          ExitReason(env, process.program, info), FormatDuration(lasted),
                          FormatDuration(min_uptime)));
  };
  while (env.clock.Now() < until) {
    for (const Up& process : up)
      if (env.system.Process(process.pid) != ProcessState::kRunning)
        fail(process, AfterExit(env, process.program, process.pid));
    env.clock.Sleep(std::min<std::chrono::milliseconds>(
        kPollInterval,
        std::chrono::duration_cast<std::chrono::milliseconds>(until - env.clock.Now()) + 1ms));
  }
  for (const Up& process : up) {
    for (Backoff backoff(env.clock);; backoff.Sleep()) {
      ProcessInfo info = env.supervisor.GetProcessInfo(process.program);
      if (info.pid != process.pid || (info.state != "RUNNING" && info.state != "STARTING"))
        fail(process, info);
      if (info.state == "RUNNING") break;
      if (env.clock.Now() >= deadline) {
        // Its startsecs (from deploy.min_uptime) is longer than this start's
        // --min-uptime, which the server has met.
        env.Say(
            fmt::format("{} has stayed up for {}; supervisord still calls it STARTING (its "
                        "startsecs follows deploy.min_uptime)",
                        process.program, FormatDuration(min_uptime)));
        return;
      }
    }
  }
}

}  // namespace

void WaitStaysUp(Env& env, const std::vector<Up>& up, std::chrono::milliseconds min_uptime,
                 std::chrono::seconds timeout) {
  try {
    WatchStaysUp(env, up, min_uptime, timeout);
  } catch (const Interrupted& e) {
    FailStart(env, up.front().program, e.what());  // stops what the start began
  }
}

namespace {

void CheckServer(const Home& home, const std::string& id) {
  if (ReadProcfile(home, id)) return;  // its web command is the server
  fs::path server = home.ServerFile(id);
  if (::access(server.c_str(), F_OK) != 0)
    throw Error(
        fmt::format("{} does not exist; put the application's executable there", server.string()));
  if (::access(server.c_str(), X_OK) != 0)
    throw Error(
        fmt::format("{} is not executable; run: chmod +x {}", server.string(), server.string()));
}

void CheckPortsFree(Env& env, const std::string& id, const std::vector<Endpoint>& endpoints) {
  for (const auto& e : endpoints)
    if (env.system.Accepts(e.host, e.port))
      throw Error(
          fmt::format("cannot start {}: port {} on {} is already in use by another process; "
                      "stop it, or leave the port out of the configuration so sarge picks one",
                      id, e.port, e.host));
}

}  // namespace

std::string WhyItExited(Env& env, const std::string& id, int pid) {
  return ExitReason(env, id, AfterExit(env, id, pid));
}

namespace {

bool IsStoppedState(const std::string& state) {
  return state == "STOPPED" || state == "EXITED" || state == "FATAL" || state == "UNKNOWN";
}

// Stops the server a dead supervisord left running for `id`, if any.
// Returns whether there was one.
bool StopOrphanOf(Env& env, const std::string& id) {
  auto orphan = LiveServer(env.home, id);
  if (!orphan) return false;
  env.Say(fmt::format("stopping {}'s server (pid {}), left running by a supervisord that died", id,
                      *orphan));
  StopOrphan(env, *orphan, kStopTimeout);
  return true;
}

}  // namespace

namespace {

// The listen endpoints of `process` of `record`: a web process's own
// (each has its runtime configuration), none for another type's.
std::vector<Endpoint> EndpointsOf(const Home& home, const Record& record, const Process& process) {
  if (process.type != "web") return {};
  return ListenEndpoints(ReadRuntimeConfig(home, process.program), record);
}

struct Spawned {
  Process process;
  ProcessInfo info;  // what supervisord said of it right after the spawn
};

// The processes of `record` besides the first web one, spawned (those not
// running already) without waiting.
std::vector<Spawned> SpawnOthers(Env& env, const Record& record) {
  std::vector<Spawned> out;
  for (const Process& process : ProcessesOf(record)) {
    if (process.program == record.id) continue;
    std::optional<ProcessInfo> loaded = Describe(env.supervisor, process.program);
    bool started = loaded && (loaded->state == "RUNNING" || loaded->state == "STARTING" ||
                              loaded->state == "BACKOFF");
    out.push_back({process, started ? *loaded : Spawn(env, process.program, !loaded)});
  }
  return out;
}

// Waits until the first web process (spawned as `info` says) and the others
// are up; returns each with its pid.
std::vector<Up> WaitAllUp(Env& env, const Record& record, const ProcessInfo& info,
                          const std::vector<Endpoint>& endpoints, std::chrono::seconds timeout) {
  std::vector<Up> up;
  try {
    auto others = SpawnOthers(env, record);
    up.push_back({record.id, WaitUntilUp(env, record.id, info, endpoints, timeout)});
    // A process with no port is up once spawned: WaitStaysUp, which always
    // follows, watches it stay up (waiting here for supervisord's RUNNING
    // would wait out startsecs twice).
    for (const auto& [process, spawned] : others)
      up.push_back(
          {process.program, WaitUntilUp(env, process.program, spawned,
                                        EndpointsOf(env.home, record, process), timeout, true)});
  } catch (const Interrupted& e) {
    FailStart(env, record.id, e.what());  // stops what the start began
  }
  return up;
}

// Unless the instance runs (`loaded` RUNNING: its processes stay as they
// are), records the processes it starts with now (CountsToStart).
void DecideProcesses(Env& env, Record& record, const std::optional<ProcessInfo>& loaded) {
  if (loaded && loaded->state == "RUNNING") return;
  ProcessCounts counts = CountsToStart(env.home, record);
  if (counts == ProcessCounts{{"web", 1}}) counts.clear();  // as a record before Procfiles
  record.processes = std::move(counts);                     // saved with the program file
}

// The instance's processes written to its program file. Returns what
// supervisord has loaded of it after that (`loaded` before).
std::optional<ProcessInfo> WriteProgramFile(Env& env, const Record& record,
                                            std::optional<ProcessInfo> loaded) {
  const std::string& id = record.id;
  std::vector<std::string> before = ProgramsInFile(env.home, id);
  bool changed = WriteFileAtomicIfChanged(
      env.home.ProgramFile(id), ProgramConf(env.home, id, env.settings, record.processes));
  if (loaded && changed) loaded = ReloadChanged(env, id, *loaded, before);
  if (!loaded || IsStoppedState(loaded->state))
    for (const auto& program : ProgramsInFile(env.home, id)) StopOrphanOf(env, program);
  return loaded;
}

// What a start does before any process starts: the processes decided, the
// instance configured, its program file written (and supervisord's copy
// reloaded if it changed), the record saved. Returns the runtime
// configuration; `loaded` is what supervisord has loaded after that.
nlohmann::json Prepare(Env& env, Record& record, std::optional<ProcessInfo>& loaded) {
  const ProcessCounts counts_before = record.processes;
  DecideProcesses(env, record, loaded);
  try {
    nlohmann::json appcfg = Configure(env, record);
    loaded = WriteProgramFile(env, record, loaded);
    if (record.processes != counts_before) SaveRecord(env.home, record);
    return appcfg;
  } catch (...) {
    // The record keeps the processes of its program file (Configure may
    // have saved it with the new ones).
    UndoScope undo;
    record.processes = counts_before;
    try {
      if (LoadRecord(env.home, record.id).processes != counts_before) SaveRecord(env.home, record);
    } catch (const Error&) {
      // The failure above is the one to tell; `check` reads the record.
    }
    throw;
  }
}

}  // namespace

Started StartInstance(Env& env, Record& record, std::chrono::seconds timeout,
                      std::optional<std::chrono::milliseconds> min_uptime) {
  const std::string& id = record.id;
  // A start cut short, or whose restore failed, can leave the include
  // narrowed (NarrowedInclude): each start puts it back first.
  WriteSupervisordConf(env.home);
  CheckServer(env.home, id);
  std::optional<ProcessInfo> loaded = Describe(env.supervisor, id);
  nlohmann::json appcfg = Prepare(env, record, loaded);
  if (loaded && loaded->state == "RUNNING") {
    SetAutostart(env.home, id, true);
    env.Say(fmt::format("{} is already running (pid {})", id, loaded->pid));
    return {loaded->pid, appcfg, true, {{id, loaded->pid}}};
  }
  auto endpoints = ListenEndpoints(appcfg, record);
  ProcessInfo info;
  if (loaded && (loaded->state == "STARTING" || loaded->state == "BACKOFF")) {
    info = *loaded;  // being started already
  } else {
    for (const Process& process : ProcessesOf(record))
      CheckPortsFree(env, process.program, EndpointsOf(env.home, record, process));
    RunHooks(env.home, env.settings, env.runner, hook::kWillStart, record);
    info = Spawn(env, id, !loaded);
  }
  std::vector<Up> up = WaitAllUp(env, record, info, endpoints, timeout);
  if (min_uptime) WaitStaysUp(env, up, *min_uptime, timeout);
  SetAutostart(env.home, id, true);
  record.autostart = true;
  env.Say(up.size() == 1 ? fmt::format("started {} (pid {})", id, up[0].pid)
                         : fmt::format("started {} (pid {}) and {} more processes", id, up[0].pid,
                                       up.size() - 1));
  return {up[0].pid, appcfg, false, up};
}

// The has-stopped hooks run after the fact: a failure there is reported,
// and cannot undo the stop.
void AfterStop(Env& env, const std::string& id) {
  if (!env.settings.hooks.contains(hook::kHasStopped)) return;
  try {
    RunHooks(env.home, env.settings, env.runner, hook::kHasStopped, LoadRecord(env.home, id));
  } catch (const Error& e) {
    env.Say(fmt::format("warning: {}", e.what()));
  }
}

namespace {

// Polls supervisord until `id` is neither STOPPING nor running.
void WaitUntilStopped(Env& env, const std::string& id) {
  auto deadline = env.clock.Now() + kStopTimeout;
  Backoff backoff(env.clock);
  for (;;) {
    std::string state = env.supervisor.GetProcessInfo(id).state;
    if (state != "STOPPING" && state != "RUNNING" && state != "STARTING") return;
    if (env.clock.Now() >= deadline)
      throw Error(fmt::format("{} is still {} after {} s; see {}", id, state, kStopTimeout.count(),
                              env.home.SupervisordLog().string()));
    backoff.Sleep();
  }
}

// Waits until supervisord has reaped `pid` after a stop: until then the
// program is STOPPING. supervisord is asked only once the process has exited
// and waits to be reaped: supervisord reaps on a pass of its main loop, and
// when the server's pipes closed before it exited nothing starts another
// pass for up to its 1 s poll timeout; a request does.
void WaitUntilGone(Env& env, const std::string& id, int pid) {
  auto deadline = env.clock.Now() + kStopTimeout;
  Backoff backoff(env.clock, kFastPolls);
  for (;;) {
    ProcessState state = env.system.Process(pid);
    if (state == ProcessState::kGone) return;
    if (state == ProcessState::kExited) return WaitUntilStopped(env, id);
    if (env.clock.Now() >= deadline)
      throw Error(fmt::format("{} (pid {}) is still running after {} s; see {}", id, pid,
                              kStopTimeout.count(), env.home.SupervisordLog().string()));
    backoff.Sleep();
  }
}

// Has supervisord forget the stopped program `id`: a program it keeps loaded
// costs every pass of its main loop, so only running (or failed) instances
// stay loaded. The next start loads it again from its file.
void Unload(Env& env, const std::string& id) {
  auto results = env.supervisor.Batch({{Op::kRemoveProcessGroup, id}});
  if (results[0].Is(fault::kStillRunning)) {
    WaitUntilStopped(env, id);
    results = env.supervisor.Batch({{Op::kRemoveProcessGroup, id}});
  }
  if (results[0].fault && !results[0].Is(fault::kBadName)) throw *results[0].fault;
}

}  // namespace

namespace {

// Stops `program` given supervisord's answers to getProcessInfo and
// stopProcess (sent at once for every program of the instance), waits until
// it is gone and unloads it. Returns whether supervisord had it running (a
// process left by a supervisord that died is stopped too, and counts).
bool Stopped(Env& env, const std::string& program, const BatchResult& described,
             const BatchResult& stop, Unloading unloading) {
  // Not loaded: a supervisord that died may still have left its process.
  if (described.Is(fault::kBadName)) return StopOrphanOf(env, program);
  if (described.fault) throw *described.fault;
  if (stop.fault && !stop.Is(fault::kNotRunning)) throw *stop.fault;
  // NOT_RUNNING is also the answer while a process is STOPPING.
  bool stopping = !stop.fault || described.info.state == "STOPPING";
  if (stopping) {
    if (described.info.pid > 0)
      WaitUntilGone(env, program, described.info.pid);
    else
      WaitUntilStopped(env, program);
  }
  if (unloading == Unloading::kUnload) Unload(env, program);
  return !stop.fault || StopOrphanOf(env, program);
}

}  // namespace

bool StopPrograms(Env& env, const std::string& id, const std::vector<std::string>& programs,
                  Unloading unloading) {
  // Not stopProcess(wait=true): supervisord 4.2.5 busy-loops at 100% CPU
  // for as long as such a call waits (up to stopwaitsecs). It sends the
  // signals at once; sarge waits for the processes to be gone instead.
  std::vector<BatchCall> calls;
  for (const auto& program : programs) {
    calls.push_back({Op::kGetProcessInfo, program});
    calls.push_back({Op::kStopProcess, program});
  }
  auto results = env.supervisor.Batch(calls);
  bool was_running = false, stopped_by_supervisord = false;
  for (size_t i = 0; i < programs.size(); ++i) {
    // Any process of the instance that ran (a web that failed may have left
    // its workers running) makes it an instance that was running.
    was_running |= Stopped(env, programs[i], results[2 * i], results[2 * i + 1], unloading);
    if (programs[i] == id)
      stopped_by_supervisord = !results[2 * i + 1].fault && !results[2 * i].fault;
  }
  if (stopped_by_supervisord) AfterStop(env, id);
  return was_running;
}

bool StopInstance(Env& env, const std::string& id, Unloading unloading) {
  // First: a stop that is cut short must not be undone by the next resume.
  SetAutostart(env.home, id, false);
  return StopPrograms(env, id, ProgramsInFile(env.home, id), unloading);
}

namespace {

// Starts the loaded, stopped `program` again and watches it for
// `min_uptime`. On a failure supervisord goes on restarting it, as after a
// crash; the Error says why it failed, with the tail of its log.
int StartInPlace(Env& env, const std::string& program, std::chrono::seconds timeout,
                 std::chrono::milliseconds min_uptime) {
  // Not Spawn: its failure stops the whole instance, which serves. The
  // program is loaded: it was just stopped, and kept loaded.
  auto results =
      env.supervisor.Batch({{Op::kStartProcess, program}, {Op::kGetProcessInfo, program}});
  if (results[1].fault) throw *results[1].fault;
  ProcessInfo info = results[1].info;
  auto fail = [&](const std::string& reason) {
    std::string tail = TailFile(env.home.InstanceLog(program), kLogTailLines);
    ProcessInfo now = env.supervisor.GetProcessInfo(program);
    throw Error(fmt::format("{} did not stay up: {}; {}", program, reason,
                            now.state == "FATAL" ? "supervisord gave up on it (FATAL)"
                                                 : "supervisord goes on restarting it"),
                fmt::format("last lines of {}:\n{}", env.home.InstanceLog(program).string(), tail));
  };
  if (results[0].fault && !results[0].Is(fault::kAlreadyStarted)) fail(results[0].fault->what());
  auto deadline = env.clock.Now() + timeout;
  for (Backoff backoff(env.clock); info.state == "STARTING" && info.pid <= 0; backoff.Sleep()) {
    if (env.clock.Now() >= deadline) fail("it did not start");
    info = env.supervisor.GetProcessInfo(program);
  }
  if (info.state != "STARTING" && info.state != "RUNNING") fail(FailureReason(info));
  const int pid = info.pid;
  for (auto until = env.clock.Now() + min_uptime; env.clock.Now() < until;
       env.clock.Sleep(kPollInterval))
    if (env.system.Process(pid) != ProcessState::kRunning)
      fail(ExitReason(env, program, AfterExit(env, program, pid)));
  return pid;
}

}  // namespace

std::vector<Up> RestartInPlace(Env& env, const Record& record, const std::string& type,
                               std::chrono::seconds timeout, std::chrono::milliseconds min_uptime) {
  std::optional<ProcessInfo> web = Describe(env.supervisor, record.id);
  if (!web || web->state != "RUNNING")
    throw Error(fmt::format("{} is not running ({}); start it, or restart {} as a whole", record.id,
                            web ? web->state : "STOPPED", record.application_name));
  std::vector<Up> restarted;
  std::vector<std::string> labels;
  for (const Process& process : ProcessesOf(record)) {
    labels.push_back(process.Label());
    if (process.type != type) continue;
    StopPrograms(env, record.id, {process.program}, Unloading::kKeepLoaded);
    UndoScope starting;  // an interrupt does not leave it stopped
    restarted.push_back({process.program, StartInPlace(env, process.program, timeout, min_uptime)});
  }
  if (restarted.empty())
    throw Error(fmt::format("{} runs no {} process (it runs {}){}", record.id, Quoted(type),
                            fmt::join(labels, ", "),
                            CountsToStart(env.home, record).contains(type)
                                ? fmt::format("; `sarge {} scale {} {}=1` adds one",
                                              env.home.root.string(), record.application_name, type)
                                : ""));
  return restarted;
}

std::vector<std::string> ProgramsOfTypes(const Record& record,
                                         const std::vector<std::string>& types) {
  std::vector<std::string> programs;
  for (const Process& process : ProcessesOf(record))
    if (std::find(types.begin(), types.end(), process.type) != types.end())
      programs.push_back(process.program);
  return programs;
}

std::vector<std::string> StopTypes(Env& env, const Record& record,
                                   const std::vector<std::string>& types) {
  std::vector<std::string> programs = ProgramsOfTypes(record, types);
  if (!programs.empty()) StopPrograms(env, record.id, programs, Unloading::kKeepLoaded);
  return programs;
}

void StartAgain(Env& env, const std::vector<std::string>& programs) {
  if (programs.empty()) return;
  std::vector<BatchCall> calls;
  for (const auto& program : programs) calls.push_back({Op::kStartProcess, program});
  try {
    auto results = env.supervisor.Batch(calls);
    for (size_t i = 0; i < results.size(); ++i)
      if (results[i].fault && !results[i].Is(fault::kAlreadyStarted))
        env.Say(fmt::format("could not start {} again: {}", programs[i], results[i].fault->what()));
  } catch (const Error& e) {
    env.Say(fmt::format("could not start {} again: {}", fmt::join(programs, ", "), e.what()));
  }
}

int ResumeInstances(Env& env, std::chrono::seconds timeout) {
  int failed = 0;
  std::set<std::string> resumed;
  for (Record& record : LoadAllRecords(env.home)) {
    if (!record.autostart) continue;
    resumed.insert(record.id);
    try {
      StartInstance(env, record, timeout, env.settings.min_uptime);
    } catch (const Error& e) {
      ++failed;
      env.Say(fmt::format("could not start {}: {}", record.id, e.what()));
    }
  }
  // supervisord loads every program file when it starts; it need keep only
  // the running ones.
  std::vector<BatchCall> unload;
  for (const auto& info : env.supervisor.GetAllProcessInfo())
    if (info.state == "STOPPED" && !resumed.contains(InstanceOfProgram(info.name)))
      unload.push_back({Op::kRemoveProcessGroup, info.name});
  if (!unload.empty()) env.supervisor.Batch(unload);
  return failed;
}

void DestroyInstance(Env& env, const Record& record) {
  const std::string& id = record.id;
  RunHooks(env.home, env.settings, env.runner, hook::kWillBeDestroyed, record);
  try {
    StopInstance(env, id);
  } catch (const SupervisorUnavailable&) {
    // Its processes may still run, left by the supervisord that died.
    bool any = false;
    for (const auto& program : ProgramsInFile(env.home, id)) any |= StopOrphanOf(env, program);
    if (!any) env.Say("supervisord is not running; removing the instance's files only");
  }
  RemoveFile(env.home.ProgramFile(id));
  ReleasePorts(env.home, record);
  RemoveAll(env.home.RuntimeDir(id));
  RemoveAll(env.home.TmpDir() / id);
  RemoveAll(env.home.InstanceDir(id));
  RemoveInstanceVars(env.home, id);
  RemoveRecord(env.home, id);
}

std::string TailFile(const fs::path& path, int lines) {
  // Only the end of the file matters; logs can be large.
  constexpr off_t kWindow = 64 * 1024;
  Fd fd;
  try {
    fd = OpenOwnFile(path);
  } catch (const Error& e) {
    return fmt::format("({})", e.what());
  }
  if (!fd.valid()) return {};
  off_t size = ::lseek(fd.get(), 0, SEEK_END);
  off_t from = std::max<off_t>(0, size - kWindow);
  std::string text(static_cast<size_t>(size - from), '\0');
  ssize_t n = ::pread(fd.get(), text.data(), text.size(), from);
  text.resize(n > 0 ? static_cast<size_t>(n) : 0);
  size_t end = text.size();
  if (end > 0 && text[end - 1] == '\n') --end;
  size_t start = end;
  int found = 0;
  while (start > 0 && !(text[start - 1] == '\n' && ++found == lines)) --start;
  return text.substr(start, end - start);
}

namespace {

// Runs `body` as the one step of a command: on a terminal, a live line with
// a spinner while it waits.
template <typename Body>
void AsStep(Env& env, const std::string& what, Body&& body) {
  RunStep(env.progress, Step{what}, std::forward<Body>(body));
}

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

void StartCommand(Env& env, const std::string& id, std::optional<std::chrono::seconds> timeout,
                  std::optional<std::chrono::milliseconds> min_uptime) {
  Record record = LoadRecord(env.home, id);
  CatchInterrupts();  // Ctrl-C stops what it started
  auto wait = timeout.value_or(std::chrono::seconds(env.settings.start_timeout));
  auto uptime = min_uptime.value_or(env.settings.min_uptime);
  Started started;
  AsStep(env, "start " + id, [&] { started = StartInstance(env, record, wait, uptime); });
  if (!started.already) LogAction(env.home, fmt::format("start {} (pid {})", id, started.pid));
}

void StopCommand(Env& env, const std::string& id, bool force) {
  Record record = LoadRecord(env.home, id);
  RefuseIfServing(env.home, record, "stop", force);
  bool was_running = false;
  AsStep(env, "stop " + id, [&] { was_running = StopInstance(env, id); });
  env.Say(was_running ? fmt::format("stopped {}", id) : fmt::format("{} was not running", id));
  if (was_running) LogAction(env.home, "stop " + id);
  auto site = ReadActiveSite(env.home, record.application_name);
  if (was_running && site && site->id == id)
    env.Say(
        fmt::format("warning: nginx still routes {} to {}, which is stopped now; start it "
                    "again, or deploy or activate another instance",
                    record.application_name, id));
}

void DestroyCommand(Env& env, const std::string& id, bool force) {
  Record record = LoadRecord(env.home, id);
  RefuseIfServing(env.home, record, "destroy", force);
  // Its application's route goes first, so nginx never points at nothing.
  AsStep(env, "destroy " + id, [&] {
    std::set<int> old_workers = RemoveSite(env, record);
    // nginx workers from before the reload may still send it requests.
    auto drain = std::chrono::seconds(env.settings.nginx_drain_timeout);
    if (!WaitForExit(env, old_workers, drain))
      env.Say(fmt::format("old nginx workers still busy after {} s; going on", drain.count()));
    DestroyInstance(env, record);
  });
  env.Say(fmt::format("destroyed {}", id));
  LogAction(env.home, "destroy " + id);
}

int ResumeCommand(Env& env) {
  // Run right after bin/supervisord daemonizes: give its socket a moment.
  for (int attempt = 0;; ++attempt) {
    try {
      env.supervisor.Connect();
      break;
    } catch (const SupervisorUnavailable&) {
      if (attempt >= 100) throw;
      env.clock.Sleep(std::chrono::milliseconds(50));
    }
  }
  int failed = 0;
  AsStep(env, "resume",
         [&] { failed = ResumeInstances(env, std::chrono::seconds(env.settings.start_timeout)); });
  LogAction(env.home, fmt::format("resume ({} failed)", failed));
  return failed;
}

}  // namespace sarge
