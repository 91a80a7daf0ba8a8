// The real Supervisor: XML-RPC over supervisord's unix control socket.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "sarge/fs.h"
#include "sarge/supervisor.h"

namespace sarge {

// Keeps one connection (HTTP/1.1 keep-alive) for all calls of a command:
// supervisord 4.2.5 misbehaves after many short connections (issue #807).
class RpcSupervisor : public Supervisor {
 public:
  // `socket` is the unix socket path; `not_running` the message of the
  // SupervisorUnavailable thrown when nobody listens there (it should say
  // how to start supervisord). Connects lazily.
  RpcSupervisor(fs::path socket, std::string not_running);

  // Throws SupervisorUnavailable unless supervisord answers on the socket.
  void Connect() override;
  // Connect, but false when nothing listens on the socket: `list` runs
  // without supervisord, and a thrown exception costs it more than the
  // rest of its start-up work (unwinding looks up every frame's tables).
  bool TryConnect() override;

  std::vector<ProcessInfo> GetAllProcessInfo() override;
  ProcessInfo GetProcessInfo(const std::string& name) override;
  ReloadResult ReloadConfig() override;
  void AddProcessGroup(const std::string& name) override;
  void RemoveProcessGroup(const std::string& name) override;
  void StartProcess(const std::string& name, bool wait) override;
  void StopProcess(const std::string& name, bool wait) override;
  std::vector<BatchResult> Batch(const std::vector<BatchCall>& calls) override;

  // One XML-RPC call; returns its value or throws SupervisorFault.
  nlohmann::json Call(std::string_view method, const nlohmann::json& params);

 private:
  // A call in two halves: Send() writes the request, Receive() reads the
  // reply body; on a kept-alive connection supervisord has closed meanwhile,
  // Receive() reconnects once and resends.
  void Send(std::string_view method, const nlohmann::json& params);
  std::string Receive();

  fs::path socket_;
  std::string not_running_;
  Fd fd_;
  std::string pending_;         // the request last sent
  bool pending_fresh_ = false;  // sent on a connection opened for it
};

// Parses one getProcessInfo struct.
ProcessInfo ParseProcessInfo(const nlohmann::json& value);

}  // namespace sarge
