// The seam to supervisord: the XML-RPC calls sarge uses, as an interface with
// one real implementation (RpcSupervisor) and a fake for unit tests.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sarge/error.h"
#include "sarge/names.h"

namespace sarge {

// supervisord's fault codes (supervisor/xmlrpc.py, class Faults).
namespace fault {
inline constexpr int kShutdownState = 6;
inline constexpr int kBadName = 10;
inline constexpr int kSpawnError = 50;
inline constexpr int kAlreadyStarted = 60;
inline constexpr int kNotRunning = 70;
inline constexpr int kAlreadyAdded = 90;
inline constexpr int kStillRunning = 91;
inline constexpr int kCantReread = 92;
}  // namespace fault

// A <fault> answered by supervisord.
class SupervisorFault : public Error {
 public:
  // The message stays one short line whatever supervisord's text holds (a
  // CANT_REREAD fault quotes configuration lines).
  SupervisorFault(int code, const std::string& text)
      : Error("supervisord answered: " + Excerpt(text, 500)), code_(code) {}
  int code() const { return code_; }

 private:
  int code_;
};

// supervisord could not be reached at all.
class SupervisorUnavailable : public Error {
 public:
  using Error::Error;
};

// One process as getProcessInfo describes it.
struct ProcessInfo {
  std::string name;
  std::string group;
  std::string state;  // STOPPED, STARTING, RUNNING, BACKOFF, STOPPING, EXITED, FATAL, UNKNOWN
  int pid = 0;
  int exitstatus = 0;
  std::string spawnerr;
  std::string description;
  int64_t start = 0;  // unix time it was started, 0 if never
  int64_t now = 0;    // supervisord's clock when it answered
};

struct ReloadResult {
  std::vector<std::string> added, changed, removed;
};

// One call of a batch (see Supervisor::Batch).
struct BatchCall {
  enum class Op {
    kGetProcessInfo,
    kReloadConfig,
    kAddProcessGroup,
    kRemoveProcessGroup,
    kStartProcess,  // wait=false
    kStopProcess,   // wait=false
  };
  Op op;
  std::string name;  // the program; unused by kReloadConfig
};

// What one call of a batch gave: a fault, or its value (`info` for
// kGetProcessInfo, `reload` for kReloadConfig).
struct BatchResult {
  std::optional<SupervisorFault> fault;
  ProcessInfo info;
  ReloadResult reload;
  bool Is(int code) const { return fault && fault->code() == code; }
};

class Supervisor {
 public:
  virtual ~Supervisor() = default;

  // Runs the calls in order, each whatever the ones before it answered, and
  // returns one result per call. Every supervisord call costs at least one
  // pass of its main loop, whose length grows with the number of programs
  // it has loaded; RpcSupervisor sends the whole batch as one
  // system.multicall. This default makes the calls one at a time.
  virtual std::vector<BatchResult> Batch(const std::vector<BatchCall>& calls);

  // Throws SupervisorUnavailable (saying how to start supervisord) unless
  // supervisord answers.
  virtual void Connect() {}
  // Connect, but false when supervisord is not running.
  virtual bool TryConnect() { return true; }

  virtual std::vector<ProcessInfo> GetAllProcessInfo() = 0;
  // Throws SupervisorFault(kBadName) for a name supervisord does not know.
  virtual ProcessInfo GetProcessInfo(const std::string& name) = 0;
  // Re-reads the configuration files; applies nothing.
  virtual ReloadResult ReloadConfig() = 0;
  virtual void AddProcessGroup(const std::string& name) = 0;
  virtual void RemoveProcessGroup(const std::string& name) = 0;
  // With wait=false returns once the process is spawned (STARTING).
  virtual void StartProcess(const std::string& name, bool wait) = 0;
  virtual void StopProcess(const std::string& name, bool wait) = 0;
};

}  // namespace sarge
