// The one seam between sarge and the world outside the home's files: an
// Env holds the home, its settings and every outside thing a command acts
// through. Only main wires the real ones (World); tests wire fakes
// (test_util.h's FakeWorld), so nothing here has a real default.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "sarge/clock.h"
#include "sarge/command_runner.h"
#include "sarge/home.h"
#include "sarge/http_probe.h"
#include "sarge/process.h"
#include "sarge/progress.h"
#include "sarge/settings.h"
#include "sarge/supervisor.h"

namespace sarge {

// What sarge asks of the machine besides files and child programs: HTTP,
// ports, processes and signals.
class System {
 public:
  virtual ~System() = default;
  // GETs `url` on a fresh connection with `host` as its Host (empty: the
  // URL's); nullopt if nothing answered within `timeout`.
  virtual std::optional<HttpAnswer> Get(const Url& url, const std::string& host,
                                        std::chrono::milliseconds timeout) = 0;
  // Whether a server could listen on host:port (a bind would succeed).
  virtual bool PortIsFree(const std::string& host, int port) = 0;
  // Whether something accepts TCP connections on host:port right now.
  virtual bool Accepts(const std::string& host, int port) = 0;
  virtual ProcessState Process(int pid) = 0;
  // Sends `signal` to `pid` (a negative pid: its process group).
  virtual void Signal(int pid, int signal) = 0;
  // The workers of the nginx master whose pid is in `pid_file`.
  virtual std::set<int> NginxWorkers(const fs::path& pid_file) = 0;
};

// Everything a command acts through.
struct Env {
  Home home;
  Settings settings;
  Supervisor& supervisor;
  Clock& clock;
  CommandRunner& runner;  // hooks, nginx's commands, tar
  System& system;
  Progress& progress;

  void Say(const std::string& line) { progress.Say(line); }
};

// The real outside world, as main wires it; a command opens its Env from it.
struct World {
  Clock& clock;
  CommandRunner& runner;
  System& system;
  Progress& progress;
  // A connection to the supervisord of `home` (not yet made).
  std::function<std::unique_ptr<Supervisor>(const Home& home)> supervisor;
};

// The machine this process runs on.
System& RealSystem();

// Takes the home's lock, saying so on env.progress if another command holds
// it meanwhile.
FileLock LockHome(Env& env);

}  // namespace sarge
