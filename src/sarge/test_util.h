// Helpers for unit tests only: a temporary folder, a fake supervisord and a
// fake clock. Header-only so the library does not carry them.
#pragma once

#include <stdlib.h>

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "sarge/clock.h"
#include "sarge/command_runner.h"
#include "sarge/deploy.h"
#include "sarge/env.h"
#include "sarge/front_end.h"
#include "sarge/fs.h"
#include "sarge/home.h"
#include "sarge/lifecycle.h"
#include "sarge/processes.h"
#include "sarge/progress.h"
#include "sarge/records.h"
#include "sarge/supervisor.h"

namespace sarge::testing {

// A fresh folder under /tmp, removed with everything in it on destruction.
class ScopedTempDir {
 public:
  ScopedTempDir() {
    char pattern[] = "/tmp/sarge-test-XXXXXX";
    path_ = ::mkdtemp(pattern);
  }
  ~ScopedTempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// A home laid out by InitHome in a temporary folder.
struct TempHome {
  ScopedTempDir dir;
  Home home{dir.path().string()};
  TempHome() { InitHome(home, "/usr/bin/true"); }
};

// One count of the calls a command makes through every seam (filesystem
// changes, supervisord calls, commands run, HTTP requests), for fault
// injection: the fakes below, and the filesystem hook Install() sets, ask
// Fails() before each call, and the `fail_at`th (1-based) fails.
struct FaultPlan {
  int fail_at = 0;  // 0: none fails
  std::vector<std::string> calls;

  bool Fails(const std::string& call) {
    calls.push_back(call);
    return fail_at > 0 && static_cast<int>(calls.size()) == fail_at;
  }
  // Routes sarge's filesystem changes through this plan until destroyed.
  struct Installed {
    ~Installed() { SetFsFaultHook(nullptr); }
  };
  [[nodiscard]] Installed Install() {
    SetFsFaultHook([this](std::string_view step, const fs::path& path) {
      return Fails(std::string("fs ") + std::string(step) + " " + path.filename().string());
    });
    return {};
  }
};

// A clock that only moves when slept on.
class FakeClock : public Clock {
 public:
  TimePoint Now() override { return now_; }
  void Sleep(std::chrono::milliseconds d) override { now_ += d; }

 private:
  TimePoint now_{};
};

// An in-memory supervisord. Programs "on disk" are the files in the home's
// etc/supervisor.d (their [program:] sections); ReloadConfig compares them with the loaded ones.
// Every call is recorded in `calls` ("startProcess web-abc"), and `fail_at` makes the Nth call
// (1-based) throw, for fault injection.
class FakeSupervisor : public Supervisor {
 public:
  explicit FakeSupervisor(Home home) : home_(std::move(home)) {}

  // What a started process does: reach RUNNING, or exit at once (BACKOFF).
  enum class Outcome { kRuns, kExitsAtOnce };
  Outcome outcome = Outcome::kRuns;
  std::vector<std::string> calls;
  int fail_at = 0;
  FaultPlan* plan = nullptr;  // when set, also asked before each call
  bool unavailable = false;
  std::map<std::string, ProcessInfo> loaded;
  // Requests sent: a call alone, or a whole batch (one system.multicall).
  int round_trips = 0;

  std::vector<BatchResult> Batch(const std::vector<BatchCall>& batch) override {
    if (!unavailable) ++round_trips;
    in_batch_ = true;
    auto results = Supervisor::Batch(batch);
    in_batch_ = false;
    return results;
  }
  // Whether one of its processes has this pid: what ProbeProcess would say
  // of a supervisord that reaps at once.
  ProcessState Probe(int pid) const {
    for (const auto& [name, info] : loaded)
      if (info.pid == pid && pid > 0) return ProcessState::kRunning;
    return ProcessState::kGone;
  }

  std::vector<ProcessInfo> GetAllProcessInfo() override {
    Record("getAllProcessInfo");
    std::vector<ProcessInfo> out;
    for (const auto& [name, info] : loaded) out.push_back(info);
    for (auto& [name, info] : loaded) Reap(info);
    return out;
  }
  ProcessInfo GetProcessInfo(const std::string& name) override {
    Record("getProcessInfo " + name);
    ProcessInfo out = Find(name);
    Reap(Find(name));
    return out;
  }
  // The include line of supervisord.conf when each reloadConfig came.
  std::vector<std::string> includes_at_reload;

  ReloadResult ReloadConfig() override {
    Record("reloadConfig");
    std::string conf = ReadFile(home_.SupervisordConf());
    includes_at_reload.push_back(conf.substr(conf.find("files = ")));
    ReloadResult r;
    for (const auto& name : OnDisk())
      if (!loaded.contains(name)) r.added.push_back(name);
    for (const auto& [name, info] : loaded)
      if (!OnDisk().contains(name)) r.removed.push_back(name);
    return r;
  }
  void AddProcessGroup(const std::string& name) override {
    Record("addProcessGroup " + name);
    if (!OnDisk().contains(name)) throw SupervisorFault(fault::kBadName, "BAD_NAME: " + name);
    if (loaded.contains(name))
      throw SupervisorFault(fault::kAlreadyAdded, "ALREADY_ADDED: " + name);
    ProcessInfo info;
    info.name = info.group = name;
    info.state = "STOPPED";
    loaded[name] = info;
  }
  void RemoveProcessGroup(const std::string& name) override {
    Record("removeProcessGroup " + name);
    // supervisord's STOPPED_STATES: a program in any other may not go.
    static const std::set<std::string> stopped = {"STOPPED", "EXITED", "FATAL", "UNKNOWN"};
    if (!stopped.contains(Find(name).state))
      throw SupervisorFault(fault::kStillRunning, "STILL_RUNNING");
    loaded.erase(name);
  }
  void StartProcess(const std::string& name, bool) override {
    Record("startProcess " + name);
    ProcessInfo& p = Find(name);
    if (p.state == "RUNNING") throw SupervisorFault(fault::kAlreadyStarted, "ALREADY_STARTED");
    p.state = outcome == Outcome::kRuns ? "RUNNING" : "BACKOFF";
    p.pid = outcome == Outcome::kRuns ? next_pid_++ : 0;
    if (outcome == Outcome::kExitsAtOnce)
      p.spawnerr = "Exited too quickly (process log may have details)";
  }
  void StopProcess(const std::string& name, bool) override {
    Record("stopProcess " + name);
    ProcessInfo& p = Find(name);
    if (p.state != "RUNNING" && p.state != "STARTING" && p.state != "BACKOFF")
      throw SupervisorFault(fault::kNotRunning, "NOT_RUNNING");
    p.state = "STOPPED";
    p.pid = 0;
  }

  // How many recorded calls start with `prefix`.
  int Count(const std::string& prefix) const {
    return static_cast<int>(std::count_if(
        calls.begin(), calls.end(), [&](const std::string& c) { return c.rfind(prefix, 0) == 0; }));
  }

 private:
  void Record(const std::string& call) {
    if (unavailable) throw SupervisorUnavailable("supervisord is not running");
    if (!in_batch_) ++round_trips;
    calls.push_back(call);
    if ((fail_at > 0 && static_cast<int>(calls.size()) == fail_at) ||
        (plan && plan->Fails("supervisord " + call)))
      throw SupervisorFault(1, "injected failure at " + call);
  }
  ProcessInfo& Find(const std::string& name) {
    auto it = loaded.find(name);
    if (it == loaded.end()) throw SupervisorFault(fault::kBadName, "BAD_NAME: " + name);
    return it->second;
  }
  // A program seen STOPPING is STOPPED once asked about: supervisord reaps
  // the process on a later tick.
  static void Reap(ProcessInfo& info) {
    if (info.state != "STOPPING") return;
    info.state = "STOPPED";
    info.pid = 0;
  }
  bool in_batch_ = false;
  int next_pid_ = 4242;  // each spawn a new pid, as a system gives
  std::set<std::string> OnDisk() const {
    std::set<std::string> names;
    for (const auto& entry : fs::directory_iterator(home_.ProgramsDir())) {
      auto file = entry.path().filename().string();
      // Every [program:NAME] of the file, as supervisord reads it.
      if (file.ends_with(".conf"))
        for (auto& name : ProgramsInFile(home_, file.substr(0, file.size() - 5)))
          names.insert(std::move(name));
    }
    return names;
  }
  Home home_;
};

}  // namespace sarge::testing

namespace sarge::testing {

// Records command lines; answers each with `result` (or `results` in turn).
class FakeCommandRunner : public CommandRunner {
 public:
  std::vector<std::string> commands;
  std::vector<CommandResult> results;  // consumed front to back; then `result`
  CommandResult result;

  std::vector<std::string> inputs;
  FaultPlan* plan = nullptr;  // when set, a failing call exits with status 1

  CommandResult Run(const std::vector<std::string>& argv, std::chrono::seconds,
                    const std::string& input) override {
    inputs.push_back(input);
    std::string line;
    for (const auto& a : argv) line += (line.empty() ? "" : " ") + a;
    commands.push_back(line);
    if (plan && plan->Fails("run " + line))
      return CommandResult{1, "", "injected failure of " + line, false};
    if (results.empty()) return result;
    CommandResult r = results.front();
    results.erase(results.begin());
    return r;
  }
};

}  // namespace sarge::testing

namespace sarge::testing {

// The instance configuration of the deploy-level unit tests: application
// "web", one listen service, proxied by nginx on 127.0.0.1:8080.
inline constexpr const char* kWebConfig =
    R"({"application_name": "web", "services": {"web": {"type": "listen"}},
    "urlmap": [{"type": "proxy", "url": "/", "upstream_url": "http://127.0.0.1:$WEB_PORT"}],
    "nginx_options": {"listen": "127.0.0.1:8080"}})";

// Whether a RUNNING instance of the fake supervisord holds `port`: what a
// connection to it would find.
inline bool RunningOn(const Home& home, const FakeSupervisor& supervisor, int port) {
  for (const auto& [name, info] : supervisor.loaded) {
    if (info.state != "RUNNING") continue;
    // The first web process holds the ports recorded by service name; web
    // process K those recorded as NAME.K; the others none.
    auto process = ParseProgram(name);
    if (!process || process->type != "web") continue;
    std::string suffix = process->index == 1 ? "" : "." + std::to_string(process->index);
    for (const auto& [key, held] : LoadRecord(home, InstanceOfProgram(name)).ports)
      if (held == port && key.ends_with(suffix) &&
          (!suffix.empty() || key.find('.') == std::string::npos))
        return true;
  }
  return false;
}

// The machine as the fakes see it; each answer is a member a test may
// replace. By default no process lives, every port is free and none
// accepts, nothing answers HTTP; FakeWorld wires them to its supervisord.
class FakeSystem : public System {
 public:
  using Answer = std::function<std::optional<HttpAnswer>(const Url&, const std::string& host)>;
  Answer get = [](const Url&, const std::string&) { return std::nullopt; };
  std::function<bool(const std::string& host, int port)> port_free = [](const std::string&, int) {
    return true;
  };
  std::function<bool(const std::string& host, int port)> accepts = [](const std::string&, int) {
    return false;
  };
  std::function<ProcessState(int pid)> process = [](int) { return ProcessState::kGone; };
  std::set<int> workers;                     // nginx's, before each reload
  std::vector<std::pair<int, int>> signals;  // (pid, signal) sent
  FaultPlan* plan = nullptr;                 // when set, asked before each GET

  std::optional<HttpAnswer> Get(const Url& url, const std::string& host,
                                std::chrono::milliseconds) override {
    if (plan && plan->Fails("http GET")) return std::nullopt;
    return get(url, host);
  }
  bool PortIsFree(const std::string& host, int port) override { return port_free(host, port); }
  bool Accepts(const std::string& host, int port) override { return accepts(host, port); }
  ProcessState Process(int pid) override { return process(pid); }
  void Signal(int pid, int signal) override { signals.emplace_back(pid, signal); }
  std::set<int> NginxWorkers(const fs::path&) override { return workers; }
};

// nginx as it answers sarge's confirmation request once it serves the site
// files on disk: "ID GENERATION" of the application the Host names.
inline std::optional<HttpAnswer> NginxFollowingTheSites(const Home& home, const std::string& host) {
  std::string app = host.substr(0, host.find(".sarge.invalid"));
  auto site = ReadActiveSite(home, app);
  return HttpAnswer{200, site ? fmt::format("{} {}\n", site->id, site->generation) : ""};
}

// A home with a fake at every seam of its Env, all counting into one
// FaultPlan: a pid lives while the fake supervisord has it, every port is
// free to take, a port accepts while a running instance holds it, nginx
// follows the site files, and a check URL answers 200.
struct FakeWorld {
  explicit FakeWorld(Settings settings = {})
      : env{temp.home, std::move(settings), supervisor, clock, runner, system, progress} {
    system.process = [this](int pid) { return supervisor.Probe(pid); };
    system.accepts = [this](const std::string&, int port) {
      return RunningOn(temp.home, supervisor, port);
    };
    system.get = [this](const Url& url, const std::string& host) -> std::optional<HttpAnswer> {
      if (url.path == kGenerationPath) return NginxFollowingTheSites(temp.home, host);
      return HttpAnswer{200, "ok\n"};
    };
  }
  FakeWorld(const FakeWorld&) = delete;
  const Home& home() const { return temp.home; }
  // What was said on the progress display, a line each, without "sarge: ".
  std::vector<std::string> SaidLines() const {
    std::vector<std::string> lines;
    std::istringstream in(said.str());
    for (std::string line; std::getline(in, line);)
      lines.push_back(line.starts_with("sarge: ") ? line.substr(7) : line);
    return lines;
  }
  // Routes every call of every fake, and sarge's filesystem changes, through
  // `plan` (see FaultPlan::Install).
  void CountInto(FaultPlan& counted) {
    supervisor.plan = &counted;
    runner.plan = &counted;
    system.plan = &counted;
  }

  TempHome temp;
  FakeSupervisor supervisor{temp.home};
  FakeClock clock;
  FakeCommandRunner runner;
  FakeSystem system;
  std::ostringstream said;
  PlainProgress progress{said, clock};
  Env env;
};

// Settings with an nginx reload command (which the fake runner answers).
inline Settings NginxReloading() {
  Settings s;
  s.nginx_reload_command = "reload";
  return s;
}

// A FakeWorld with a release to deploy: a folder holding an executable
// `server`.
struct DeployWorld : FakeWorld {
  explicit DeployWorld(Settings settings = NginxReloading()) : FakeWorld(std::move(settings)) {
    source = temp.dir.path() / "src";
    fs::create_directory(source);
    WriteFileAtomic(source / "server", "#!/bin/sh\n", 0755);
  }
  // Deploys kWebConfig from `source`, keeping `keep` previous instances
  // (default: the settings').
  std::string Deploy1(std::optional<int> keep = std::nullopt) {
    return Deploy(env,
                  DeployOptions{kWebConfig, source, "", std::chrono::seconds(5), keep, {}, {}});
  }
  // The instance the front end of "web" routes to, if any.
  std::optional<std::string> Active() const {
    auto site = ReadActiveSite(home(), "web");
    return site ? std::optional(site->id) : std::nullopt;
  }

  fs::path source;
};

}  // namespace sarge::testing
