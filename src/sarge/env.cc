#include "sarge/env.h"

#include <signal.h>

#include "sarge/front_end.h"
#include "sarge/runtime_config.h"

namespace sarge {
namespace {

class RealSystemImpl : public System {
 public:
  std::optional<HttpAnswer> Get(const Url& url, const std::string& host,
                                std::chrono::milliseconds timeout) override {
    return HttpGet(url, host, timeout);
  }
  bool PortIsFree(const std::string& host, int port) override {
    return sarge::PortIsFree(host, port);
  }
  bool Accepts(const std::string& host, int port) override {
    return AcceptsConnections(host, port);
  }
  ProcessState Process(int pid) override { return ProbeProcess(pid); }
  void Signal(int pid, int signal) override { ::kill(pid, signal); }
  std::set<int> NginxWorkers(const fs::path& pid_file) override {
    return sarge::NginxWorkers(pid_file);
  }
};

}  // namespace

System& RealSystem() {
  static RealSystemImpl system;
  return system;
}

FileLock LockHome(Env& env) {
  return FileLock(env.home.LockFile(),
                  [&] { env.Say("waiting for another sarge command on this home to finish"); });
}

}  // namespace sarge
