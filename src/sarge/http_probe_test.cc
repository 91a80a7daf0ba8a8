#include "sarge/http_probe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include "sarge/fs.h"

namespace sarge {
namespace {

// A socket bound to a free loopback port, listening when `listen` is set.
struct BoundPort {
  explicit BoundPort(bool listen) : fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    if (listen) {
      EXPECT_EQ(::listen(fd.get(), 1), 0);
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
  }
  Fd fd;
  int port = 0;
};

TEST(PortProbeTest, SeesABoundPortAndOneThatAccepts) {
  BoundPort listening(true);
  EXPECT_FALSE(PortIsFree("127.0.0.1", listening.port));
  EXPECT_TRUE(AcceptsConnections("127.0.0.1", listening.port));
  int port = listening.port;
  listening.fd = Fd();  // closed: free again, and nobody accepts
  EXPECT_TRUE(PortIsFree("127.0.0.1", port));
  EXPECT_FALSE(AcceptsConnections("127.0.0.1", port));
}

TEST(PortProbeTest, AHostThatDoesNotResolveIsFreeAndAcceptsNothing) {
  EXPECT_TRUE(PortIsFree("no-such-host.invalid", 8080));
  EXPECT_FALSE(AcceptsConnections("no-such-host.invalid", 8080));
}

}  // namespace
}  // namespace sarge
