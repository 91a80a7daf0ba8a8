#include "sarge/rpc_supervisor.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sarge/test_util.h"

namespace sarge {
namespace {

using ::testing::HasSubstr;

std::string Reply(const std::string& value_xml, bool close) {
  std::string body = "<?xml version='1.0'?><methodResponse><params><param><value>" + value_xml +
                     "</value></param></params></methodResponse>";
  return "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: " +
         std::to_string(body.size()) + (close ? "\r\nConnection: close" : "") + "\r\n\r\n" + body;
}

// A unix socket server answering each request with the next canned reply;
// after a reply marked to close, it closes that connection.
class CannedServer {
 public:
  // With `piece`, each reply goes out that many bytes at a time, with a
  // pause between, so that the client receives it in pieces.
  CannedServer(const fs::path& path, std::vector<std::pair<std::string, bool>> replies,
               size_t piece = 0)
      : replies_(std::move(replies)), piece_(piece) {
    listener_ = Fd(::socket(AF_UNIX, SOCK_STREAM, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, path.c_str());
    ::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(listener_.get(), 4);
    thread_ = std::thread([this] { Serve(); });
  }
  ~CannedServer() { thread_.join(); }
  int Connections() {
    std::lock_guard lock(mu_);
    return connections_;
  }
  std::string Request(size_t i) {
    std::lock_guard lock(mu_);
    return requests_.at(i);
  }

 private:
  void Serve() {
    size_t next = 0;
    while (next < replies_.size()) {
      Fd conn(::accept(listener_.get(), nullptr, nullptr));
      std::unique_lock lock(mu_);
      ++connections_;
      lock.unlock();
      while (next < replies_.size()) {
        std::string request = ReadRequest(conn.get());
        if (request.empty()) break;
        lock.lock();
        requests_.push_back(request);
        lock.unlock();
        auto& [reply, close] = replies_[next++];
        size_t step = piece_ ? piece_ : reply.size();
        for (size_t at = 0; at < reply.size(); at += step) {
          if (at) std::this_thread::sleep_for(std::chrono::microseconds(200));
          ::send(conn.get(), reply.data() + at, std::min(step, reply.size() - at), MSG_NOSIGNAL);
        }
        if (close) break;
      }
    }
  }
  static std::string ReadRequest(int fd) {
    std::string buf;
    char c[4096];
    for (;;) {
      auto end = buf.find("\r\n\r\n");
      if (end != std::string::npos) {
        auto at = buf.find("Content-Length: ");
        size_t length = std::stoul(buf.substr(at + 16));
        if (buf.size() >= end + 4 + length) return buf;
      }
      ssize_t n = ::recv(fd, c, sizeof c, 0);
      if (n <= 0) return {};
      buf.append(c, static_cast<size_t>(n));
    }
  }
  std::mutex mu_;
  int connections_ = 0;
  std::vector<std::string> requests_;
  Fd listener_;
  std::vector<std::pair<std::string, bool>> replies_;
  size_t piece_;
  std::thread thread_;
};

TEST(RpcSupervisorTest, KeepsOneConnectionForSeveralCalls) {
  testing::ScopedTempDir dir;
  fs::path sock = dir.path() / "s.sock";
  CannedServer server(sock, {{Reply("<string>RUNNING</string>", false), false},
                             {Reply("<boolean>1</boolean>", false), false}});
  RpcSupervisor rpc(sock, "not running");
  EXPECT_EQ(rpc.Call("supervisor.getState", nlohmann::json::array()), "RUNNING");
  EXPECT_EQ(rpc.Call("supervisor.startProcess", {"web-a", false}), true);
  EXPECT_EQ(server.Connections(), 1);
  EXPECT_THAT(server.Request(1), HasSubstr("POST /RPC2 HTTP/1.1\r\n"));
  EXPECT_THAT(server.Request(1), HasSubstr("<string>web-a</string>"));
}

TEST(RpcSupervisorTest, ReconnectsWhenTheServerClosedTheConnection) {
  testing::ScopedTempDir dir;
  fs::path sock = dir.path() / "s.sock";
  CannedServer server(sock,
                      {{Reply("<int>1</int>", true), true}, {Reply("<int>2</int>", false), false}});
  RpcSupervisor rpc(sock, "not running");
  EXPECT_EQ(rpc.Call("a", nlohmann::json::array()), 1);
  EXPECT_EQ(rpc.Call("b", nlohmann::json::array()), 2);
  EXPECT_EQ(server.Connections(), 2);
}

TEST(RpcSupervisorTest, AReplyOfMegabytesArrivesWhole) {
  testing::ScopedTempDir dir;
  fs::path sock = dir.path() / "s.sock";
  // Many receives: the body is read straight into its place, sized once.
  std::string big(3 * 1024 * 1024 + 7, 'x');
  big.back() = 'y';
  CannedServer server(sock, {{Reply("<string>" + big + "</string>", false), false},
                             {Reply("<int>2</int>", false), false}});
  RpcSupervisor rpc(sock, "not running");
  EXPECT_EQ(rpc.Call("a", nlohmann::json::array()), big);
  EXPECT_EQ(rpc.Call("b", nlohmann::json::array()), 2);  // nothing left over from the first
  EXPECT_EQ(server.Connections(), 1);
}

TEST(RpcSupervisorTest, GetAllProcessInfoOnOneConnectionUntilTheServerClosesIt) {
  testing::ScopedTempDir dir;
  fs::path sock = dir.path() / "s.sock";
  auto process = [](const std::string& name, const std::string& state) {
    return "<value><struct><member><name>name</name><value><string>" + name +
           "</string></value></member><member><name>statename</name><value><string>" + state +
           "</string></value></member></struct></value>";
  };
  CannedServer server(
      sock,
      {{Reply("<array><data>" + process("web-a", "RUNNING") + process("web-b", "STOPPED") +
                  "</data></array>",
              true),
        true},
       {Reply("<array><data>" + process("web-c", "FATAL") + "</data></array>", false), false}});
  RpcSupervisor rpc(sock, "not running");
  auto all = rpc.GetAllProcessInfo();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "web-a");
  EXPECT_EQ(all[1].state, "STOPPED");
  // The server closed the connection after its reply: the next call opens another.
  all = rpc.GetAllProcessInfo();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].state, "FATAL");
  EXPECT_EQ(server.Connections(), 2);
}

std::string Process(const std::string& name, const std::string& state,
                    const std::string& description = "") {
  return "<value><struct><member><name>name</name><value><string>" + name +
         "</string></value></member><member><name>statename</name><value><string>" + state +
         "</string></value></member><member><name>description</name><value><string>" + description +
         "</string></value></member></struct></value>";
}

TEST(RpcSupervisorTest, GetAllProcessInfoIsDecodedAsItArrivesInPieces) {
  testing::ScopedTempDir dir;
  fs::path sock = dir.path() / "s.sock";
  // Five bytes at a time: cuts fall inside tags, names and the characters
  // of "✓" (3 bytes).
  std::string reply = Reply("<array><data>" + Process("web-a", "RUNNING", "up \xe2\x9c\x93") +
                                Process("web-b", "STOPPED", "a\xff") + "</data></array>",
                            false);
  std::string unframed = reply;
  size_t header = unframed.find("Content-Length");
  unframed.erase(header, unframed.find("\r\n", header) + 2 - header);
  CannedServer server(sock, {{reply, false}, {unframed, true}}, 5);
  RpcSupervisor rpc(sock, "not running");
  for (int framed = 1; framed >= 0; --framed) {
    auto all = rpc.GetAllProcessInfo();
    ASSERT_EQ(all.size(), 2u) << framed;
    EXPECT_EQ(all[0].name, "web-a");
    EXPECT_EQ(all[0].description, "up \xe2\x9c\x93");
    EXPECT_EQ(all[1].state, "STOPPED");
    EXPECT_EQ(all[1].description, "a\xef\xbf\xbd");
  }
}

TEST(RpcSupervisorTest, GetAllProcessInfoSaysWhatWentWrong) {
  testing::ScopedTempDir dir;
  fs::path sock = dir.path() / "s.sock";
  std::string shutting_down =
      "<?xml version='1.0'?><methodResponse><fault><value><struct><member><name>faultCode</name>"
      "<value><int>6</int></value></member><member><name>faultString</name><value><string>"
      "SHUTDOWN_STATE</string></value></member></struct></value></fault></methodResponse>";
  CannedServer server(
      sock,
      {{"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 9\r\n\r\nit broke\n", false},
       {"HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(shutting_down.size()) + "\r\n\r\n" +
            shutting_down,
        false},
       {Reply("<array><data>" + Process("web-a", "RUN", "") + "</data>", false), false},
       {Reply("<array><data>" + Process("web-b", "RUNNING", "") + "</data></array>", false),
        false}},
      64);
  RpcSupervisor rpc(sock, "supervisord is not running");
  auto message = [&] {
    try {
      rpc.GetAllProcessInfo();
      return std::string("no error");
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
  };
  EXPECT_EQ(message(), "supervisord answered HTTP 500 to an XML-RPC call");
  EXPECT_EQ(message(), "supervisord is not running (it is shutting down)");
  EXPECT_EQ(message(),
            "supervisord sent a malformed XML-RPC reply: Start-end tags mismatch at byte 331");
  // That reply was read whole before it was decoded: the next call reads
  // its own reply on the same connection.
  auto all = rpc.GetAllProcessInfo();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].name, "web-b");
  EXPECT_EQ(server.Connections(), 1);
}

TEST(RpcSupervisorTest, AReplyWithoutContentLengthEndsAtClose) {
  testing::ScopedTempDir dir;
  fs::path sock = dir.path() / "s.sock";
  std::string reply = Reply("<string>STOPPED</string>", false);
  size_t header = reply.find("Content-Length");
  reply.erase(header, reply.find("\r\n", header) + 2 - header);
  CannedServer server(sock, {{reply, true}});
  RpcSupervisor rpc(sock, "not running");
  EXPECT_EQ(rpc.Call("a", nlohmann::json::array()), "STOPPED");
}

TEST(RpcSupervisorTest, NobodyListeningIsSupervisorUnavailable) {
  testing::ScopedTempDir dir;
  RpcSupervisor rpc(dir.path() / "missing.sock", "supervisord is not running; start it");
  try {
    rpc.GetAllProcessInfo();
    FAIL();
  } catch (const SupervisorUnavailable& e) {
    EXPECT_STREQ(e.what(), "supervisord is not running; start it");
  }
}

// TryConnect answers without throwing when nothing listens (a missing
// socket file, or one nobody accepts on), and keeps the connection it makes.
TEST(RpcSupervisorTest, TryConnectSaysWhetherAnyoneListens) {
  testing::ScopedTempDir dir;
  RpcSupervisor missing(dir.path() / "missing.sock", "not running");
  EXPECT_FALSE(missing.TryConnect());

  fs::path stale = dir.path() / "stale.sock";
  { CannedServer gone(stale, {}); }
  RpcSupervisor refused(stale, "not running");
  EXPECT_FALSE(refused.TryConnect());
  EXPECT_THROW(refused.Connect(), SupervisorUnavailable);

  fs::path sock = dir.path() / "s.sock";
  CannedServer server(sock, {{Reply("<string>RUNNING</string>", false), false}});
  RpcSupervisor rpc(sock, "not running");
  EXPECT_TRUE(rpc.TryConnect());
  EXPECT_TRUE(rpc.TryConnect());
  EXPECT_EQ(rpc.Call("supervisor.getState", nlohmann::json::array()), "RUNNING");
  EXPECT_EQ(server.Connections(), 1);
}

TEST(RpcSupervisorTest, ParsesProcessInfo) {
  auto info = ParseProcessInfo(nlohmann::json::parse(
      R"({"name": "web-a", "group": "web-a", "statename": "RUNNING", "pid": 12, "exitstatus": 0,
          "spawnerr": "", "description": "pid 12, uptime 0:00:01", "start": 100, "now": 101})"));
  EXPECT_EQ(info.name, "web-a");
  EXPECT_EQ(info.state, "RUNNING");
  EXPECT_EQ(info.pid, 12);
  EXPECT_EQ(info.start, 100);
  EXPECT_THROW(ParseProcessInfo(nlohmann::json::array()), Error);
}

}  // namespace
}  // namespace sarge
