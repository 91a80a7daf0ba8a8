#include "sarge/rpc_supervisor.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

#include <fmt/format.h>

#include "sarge/xmlrpc.h"

namespace sarge {
namespace {

using nlohmann::json;

// Long enough for stopProcess(wait) of a server that ignores SIGTERM
// (supervisord's stopwaitsecs), short enough not to hang for ever.
constexpr int kReplyTimeoutSeconds = 120;

struct HttpReply {
  int status = 0;
  bool close = false;
  std::string body;
};

bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// The status and Connection: close of `headers` into `reply`; returns the
// Content-Length, or -1 without one.
long ParseHeaders(std::string headers, HttpReply& reply) {
  for (auto& c : headers) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (std::sscanf(headers.c_str(), "http/%*d.%*d %d", &reply.status) != 1)
    throw Error("supervisord sent a reply that is not HTTP");
  reply.close = headers.find("\r\nconnection: close") != std::string::npos;
  auto at = headers.find("\r\ncontent-length:");
  return at == std::string::npos
             ? -1
             : std::max(0L, std::strtol(headers.c_str() + at + 17, nullptr, 10));
}

// One recv into `into`: the bytes received, 0 when the peer closed, -1 when
// it reset the connection (a stale keep-alive). Throws on other errors.
ssize_t ReceiveSome(int fd, char* into, size_t room) {
  for (;;) {
    ssize_t n = ::recv(fd, into, room, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == ECONNRESET || errno == EPIPE)) return -1;
    if (n < 0) throw Error(fmt::format("no reply from supervisord: {}", std::strerror(errno)));
    return n;
  }
}

[[noreturn]] void ClosedMidReply() {
  throw Error("supervisord closed the connection in the middle of a reply");
}

// Receives up to the end of a reply's headers; returns what came, the
// start of the body included, and where the body starts. nullopt if the
// peer closed or reset before sending anything.
std::optional<std::pair<std::string, size_t>> ReadHead(int fd, char (&chunk)[65536]) {
  std::string head;
  for (;;) {
    ssize_t n = ReceiveSome(fd, chunk, sizeof chunk);
    if (n < 0 || (n == 0 && head.empty())) return std::nullopt;
    if (n == 0) ClosedMidReply();
    head.append(chunk, static_cast<size_t>(n));
    if (size_t end = head.find("\r\n\r\n"); end != std::string::npos)
      return std::pair(std::move(head), end + 4);
  }
}

// Receives a body of `length` bytes, `rest` of which came with the
// headers, into `body`, sized once. False if the peer reset the connection.
bool ReceiveBody(int fd, std::string_view rest, size_t length, std::string& body) {
  body.resize(length);
  size_t got = rest.copy(body.data(), rest.size());
  while (got < length) {
    ssize_t n = ReceiveSome(fd, body.data() + got, length - got);
    if (n < 0) return false;
    if (n == 0) ClosedMidReply();
    got += static_cast<size_t>(n);
  }
  return true;
}

// Reads one HTTP response (Content-Length framed, or until close). Returns
// nullopt if the peer closed before sending anything (a stale keep-alive).
std::optional<HttpReply> ReadReply(int fd) {
  char chunk[65536];
  auto head = ReadHead(fd, chunk);
  if (!head) return std::nullopt;
  HttpReply reply;
  long length = ParseHeaders(head->first.substr(0, head->second), reply);
  std::string_view rest = std::string_view(head->first).substr(head->second);
  if (length >= 0) {
    if (!ReceiveBody(fd, rest.substr(0, static_cast<size_t>(length)), static_cast<size_t>(length),
                     reply.body))
      return std::nullopt;
    return reply;
  }
  // Without a length, the body ends when the peer closes.
  reply.body.assign(rest);
  for (;;) {
    ssize_t n = ReceiveSome(fd, chunk, sizeof chunk);
    if (n < 0) return std::nullopt;
    if (n == 0) break;
    reply.body.append(chunk, static_cast<size_t>(n));
  }
  reply.close = true;
  return reply;
}

}  // namespace

RpcSupervisor::RpcSupervisor(fs::path socket, std::string not_running)
    : socket_(std::move(socket)), not_running_(std::move(not_running)) {}

void RpcSupervisor::Connect() {
  if (!TryConnect()) throw SupervisorUnavailable(not_running_);
}

bool RpcSupervisor::TryConnect() {
  if (fd_.valid()) return true;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string& path = socket_.native();
  if (path.size() >= sizeof addr.sun_path)
    throw Error(fmt::format("socket path {} is too long for a unix socket", path));
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) throw Error(fmt::format("cannot create a socket: {}", std::strerror(errno)));
  timeval timeout{kReplyTimeoutSeconds, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno == ENOENT || errno == ECONNREFUSED) return false;
    throw SupervisorUnavailable(
        fmt::format("cannot connect to supervisord at {}: {}", path, std::strerror(errno)));
  }
  fd_ = std::move(fd);
  return true;
}

void RpcSupervisor::Send(std::string_view method, const json& params) {
  std::string body = xmlrpc::EncodeCall(method, params);
  pending_ = fmt::format(
      "POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\n"
      "Content-Length: {}\r\n\r\n{}",
      body.size(), body);
  pending_fresh_ = !fd_.valid();
  Connect();
  if (SendAll(fd_.get(), pending_)) return;
  // A kept-alive connection may have been closed by supervisord since the
  // last call: Receive() reconnects once and resends.
  fd_ = Fd();
}

std::string RpcSupervisor::Receive() {
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (attempt > 0 || !fd_.valid()) {
      if (pending_fresh_) break;  // a fresh connection that did not answer
      pending_fresh_ = true;
      Connect();
      if (!SendAll(fd_.get(), pending_)) {
        fd_ = Fd();
        break;
      }
    }
    std::optional<HttpReply> reply;
    try {
      reply = ReadReply(fd_.get());
    } catch (...) {
      // The rest of this reply may still be on its way: the connection is
      // no good for the next call.
      fd_ = Fd();
      throw;
    }
    if (reply) {
      if (reply->close) fd_ = Fd();
      if (reply->status != 200)
        throw Error(fmt::format("supervisord answered HTTP {} to an XML-RPC call", reply->status));
      return std::move(reply->body);
    }
    fd_ = Fd();
  }
  throw SupervisorUnavailable(not_running_ + " (it closed the connection without answering)");
}

json RpcSupervisor::Call(std::string_view method, const json& params) {
  Send(method, params);
  try {
    return xmlrpc::DecodeResponse(Receive());
  } catch (const SupervisorFault& f) {
    if (f.code() != fault::kShutdownState) throw;
    throw SupervisorUnavailable(not_running_ + " (it is shutting down)");
  }
}

ProcessInfo ParseProcessInfo(const json& v) {
  if (!v.is_object()) throw Error("supervisord sent a process description that is not a struct");
  ProcessInfo p;
  p.name = v.value("name", "");
  p.group = v.value("group", "");
  p.state = v.value("statename", "UNKNOWN");
  p.pid = v.value("pid", 0);
  p.exitstatus = v.value("exitstatus", 0);
  p.spawnerr = v.value("spawnerr", "");
  p.description = v.value("description", "");
  p.start = v.value("start", int64_t{0});
  p.now = v.value("now", int64_t{0});
  return p;
}

std::vector<ProcessInfo> RpcSupervisor::GetAllProcessInfo() {
  json all = Call("supervisor.getAllProcessInfo", json::array());
  if (!all.is_array()) throw Error("supervisord sent a process list that is not an array");
  std::vector<ProcessInfo> out;
  out.reserve(all.size());
  for (const auto& v : all) out.push_back(ParseProcessInfo(v));
  return out;
}

ProcessInfo RpcSupervisor::GetProcessInfo(const std::string& name) {
  return ParseProcessInfo(Call("supervisor.getProcessInfo", {name}));
}

namespace {

ReloadResult ParseReload(const json& v) {
  ReloadResult r;
  try {
    const auto& lists = v.at(0);
    r.added = lists.at(0).get<std::vector<std::string>>();
    r.changed = lists.at(1).get<std::vector<std::string>>();
    r.removed = lists.at(2).get<std::vector<std::string>>();
  } catch (const json::exception&) {
    throw Error("supervisord sent an unexpected reply to reloadConfig");
  }
  return r;
}

const char* MethodName(BatchCall::Op op) {
  using Op = BatchCall::Op;
  switch (op) {
    case Op::kGetProcessInfo:
      return "supervisor.getProcessInfo";
    case Op::kReloadConfig:
      return "supervisor.reloadConfig";
    case Op::kAddProcessGroup:
      return "supervisor.addProcessGroup";
    case Op::kRemoveProcessGroup:
      return "supervisor.removeProcessGroup";
    case Op::kStartProcess:
      return "supervisor.startProcess";
    case Op::kStopProcess:
      return "supervisor.stopProcess";
  }
  return "";
}

}  // namespace

ReloadResult RpcSupervisor::ReloadConfig() {
  return ParseReload(Call("supervisor.reloadConfig", json::array()));
}

// supervisord's system.multicall answers each call's bare value, or a
// struct {faultCode, faultString} for a call that failed.
std::vector<BatchResult> RpcSupervisor::Batch(const std::vector<BatchCall>& calls) {
  using Op = BatchCall::Op;
  json list = json::array();
  for (const auto& call : calls) {
    json params = json::array();
    if (call.op != Op::kReloadConfig) params.push_back(call.name);
    if (call.op == Op::kStartProcess || call.op == Op::kStopProcess) params.push_back(false);
    list.push_back({{"methodName", MethodName(call.op)}, {"params", std::move(params)}});
  }
  json values = Call("system.multicall", json::array({std::move(list)}));
  if (!values.is_array() || values.size() != calls.size())
    throw Error("supervisord sent an unexpected reply to system.multicall");
  std::vector<BatchResult> results(calls.size());
  for (size_t i = 0; i < calls.size(); ++i) {
    const json& v = values[i];
    if (v.is_object() && v.contains("faultCode")) {
      int code = v["faultCode"].is_number_integer() ? v["faultCode"].get<int>() : 0;
      std::string text = v.value("faultString", "");
      if (code == fault::kShutdownState)
        throw SupervisorUnavailable(not_running_ + " (it is shutting down)");
      results[i].fault = SupervisorFault(code, text);
    } else if (calls[i].op == Op::kGetProcessInfo) {
      results[i].info = ParseProcessInfo(v);
    } else if (calls[i].op == Op::kReloadConfig) {
      results[i].reload = ParseReload(v);
    }
  }
  return results;
}

void RpcSupervisor::AddProcessGroup(const std::string& name) {
  Call("supervisor.addProcessGroup", {name});
}

void RpcSupervisor::RemoveProcessGroup(const std::string& name) {
  Call("supervisor.removeProcessGroup", {name});
}

void RpcSupervisor::StartProcess(const std::string& name, bool wait) {
  Call("supervisor.startProcess", {name, wait});
}

void RpcSupervisor::StopProcess(const std::string& name, bool wait) {
  Call("supervisor.stopProcess", {name, wait});
}

}  // namespace sarge
