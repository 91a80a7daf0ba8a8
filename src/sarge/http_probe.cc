#include "sarge/http_probe.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <regex>

#include <fmt/format.h>

#include "sarge/fs.h"

namespace sarge {
namespace {

using Clock = std::chrono::steady_clock;

int MillisLeft(Clock::time_point deadline) {
  auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

Fd ConnectBefore(const Url& url, Clock::time_point deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (::getaddrinfo(url.host.c_str(), std::to_string(url.port).c_str(), &hints, &found) != 0)
    return {};
  Fd fd;
  for (addrinfo* a = found; a && !fd.valid(); a = a->ai_next) {
    Fd s(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol));
    if (!s.valid()) continue;
    if (::connect(s.get(), a->ai_addr, a->ai_addrlen) != 0) {
      if (errno != EINPROGRESS) continue;
      pollfd p{s.get(), POLLOUT, 0};
      int err = 0;
      socklen_t len = sizeof err;
      if (::poll(&p, 1, MillisLeft(deadline)) != 1 ||
          ::getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0)
        continue;
    }
    fd = std::move(s);
  }
  ::freeaddrinfo(found);
  return fd;
}

}  // namespace

std::optional<Url> ParseHttpUrl(const std::string& text) {
  static const std::regex pattern(
      R"(http://(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:([0-9]{1,5}))?(/[^\s]*)?)");
  std::smatch m;
  if (!std::regex_match(text, m, pattern)) return std::nullopt;
  Url url;
  url.host = m[1].str();
  if (url.host.front() == '[') url.host = url.host.substr(1, url.host.size() - 2);
  if (m[3].matched) url.port = std::stoi(m[3].str());
  if (url.port < 1 || url.port > 65535) return std::nullopt;
  if (m[4].matched) url.path = m[4].str();
  return url;
}

std::optional<HttpAnswer> HttpGet(const Url& url, const std::string& host_header,
                                  std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  Fd fd = ConnectBefore(url, deadline);
  if (!fd.valid()) return std::nullopt;
  std::string request =
      fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: sarge\r\nConnection: close\r\n\r\n",
                  url.path, host_header.empty() ? url.host : host_header);
  if (::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size()))
    return std::nullopt;
  std::string reply;
  char buf[8192];
  while (reply.size() < 65536) {
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, MillisLeft(deadline)) != 1) break;
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    reply.append(buf, static_cast<size_t>(n));
  }
  HttpAnswer answer;
  if (std::sscanf(reply.c_str(), "HTTP/%*d.%*d %d", &answer.status) != 1) return std::nullopt;
  auto body = reply.find("\r\n\r\n");
  if (body != std::string::npos) answer.body = reply.substr(body + 4);
  return answer;
}

namespace {

// Calls `attempt` with a fresh TCP socket for each address of host:port
// until it returns true; whether one did (false for a host that does not
// resolve). `passive` resolves addresses to bind rather than to reach.
bool AnyAddress(const std::string& host, int port, bool passive,
                const std::function<bool(int, const addrinfo&)>& attempt) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) return false;
  bool done = false;
  for (addrinfo* a = found; a && !done; a = a->ai_next) {
    Fd fd(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
    done = fd.valid() && attempt(fd.get(), *a);
  }
  ::freeaddrinfo(found);
  return done;
}

}  // namespace

bool AcceptsConnections(const std::string& host, int port) {
  return AnyAddress(host, port, false, [](int fd, const addrinfo& a) {
    return ::connect(fd, a.ai_addr, a.ai_addrlen) == 0;
  });
}

bool PortIsFree(const std::string& host, int port) {
  bool taken = AnyAddress(host, port, true, [](int fd, const addrinfo& a) {
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    return ::bind(fd, a.ai_addr, a.ai_addrlen) != 0 && errno == EADDRINUSE;
  });
  return !taken;
}

}  // namespace sarge
