#include "frontend_util.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace e2e {
namespace {

// Closes a socket when it goes out of scope.
class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string Errno(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

// The children of `parent`, from /proc.
std::set<pid_t> ChildrenOf(pid_t parent) {
  std::set<pid_t> children;
  if (parent <= 0) return children;
  std::error_code ec;
  for (fs::directory_iterator it("/proc", ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string stat = ReadFile(it->path() / "stat");
    auto paren = stat.rfind(')');
    int ppid = 0;
    if (paren != std::string::npos &&
        std::sscanf(stat.c_str() + paren + 1, " %*c %d", &ppid) == 1 && ppid == parent)
      children.insert(static_cast<pid_t>(std::stoi(name)));
  }
  return children;
}

void ReplaceAll(std::string& text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
}

// The main nginx.conf for a test nginx: run as root (temporary folders are
// 0700), everything under `prefix`, a default server on 127.0.0.1:port that
// answers 404, and sarge's sites included.
std::string MainConf(const std::string& prefix, int port, const fs::path& sites) {
  std::string text = R"(user root;
worker_processes 1;
pid @P@/nginx.pid;
error_log @P@/error.log;
worker_shutdown_timeout 10s;
events { worker_connections 512; }
http {
    access_log @P@/access.log;
    client_body_temp_path @P@/client_temp;
    proxy_temp_path @P@/proxy_temp;
    fastcgi_temp_path @P@/fastcgi_temp;
    uwsgi_temp_path @P@/uwsgi_temp;
    scgi_temp_path @P@/scgi_temp;
    server {
        listen 127.0.0.1:@PORT@ default_server;
        server_name _;
        return 404;
    }
    include @SITES@;
}
)";
  ReplaceAll(text, "@P@", prefix);
  ReplaceAll(text, "@PORT@", std::to_string(port));
  ReplaceAll(text, "@SITES@", sites.string());
  return text;
}

}  // namespace

std::string NginxBinary() {
  std::string found = FindOnPath("nginx");
  if (!found.empty()) return found;
  if (::access("/usr/sbin/nginx", X_OK) == 0) return "/usr/sbin/nginx";
  return {};
}

// --- TempNginx -------------------------------------------------------------

TempNginx::TempNginx() {
  char tmpl[] = "/tmp/sgngx-XXXXXX";
  if (!::mkdtemp(tmpl)) {
    ADD_FAILURE() << "mkdtemp: " << std::strerror(errno);
    return;
  }
  prefix_ = tmpl;
}

TempNginx::~TempNginx() {
  Stop();
  std::error_code ec;
  if (!prefix_.empty()) fs::remove_all(prefix_, ec);
}

std::string TempNginx::TestCommand() const {
  return NginxBinary() + " -t -q -p " + prefix_.string() + " -c " + conf().string();
}

std::string TempNginx::ReloadCommand() const {
  return NginxBinary() + " -p " + prefix_.string() + " -c " + conf().string() + " -s reload";
}

::testing::AssertionResult TempNginx::Start(const TempHome& home, int port) {
  const std::string nginx = NginxBinary();
  if (nginx.empty())
    return ::testing::AssertionFailure()
           << "nginx is neither on PATH nor /usr/sbin/nginx: install Debian's nginx-light "
              "package (these tests never skip)";
  if (prefix_.empty()) return ::testing::AssertionFailure() << "no prefix folder";
  if (master_ > 0) return ::testing::AssertionFailure() << "nginx already started";
  const fs::path sites = home / "etc/nginx/sarge_sites.conf";
  if (!fs::exists(sites))
    return ::testing::AssertionFailure() << sites << " does not exist: run `sarge HOME init` first";
  port_ = port != 0 ? port : FreePort();
  if (port_ == 0) return ::testing::AssertionFailure() << "no free port for nginx";

  const std::string p = prefix_.string();
  WriteFile(conf(), MainConf(p, port_, sites));

  Result r = RunProgram({nginx, "-e", p + "/error.log", "-p", p, "-c", conf().string()}, "", 20s);
  if (r.exit_code != 0)
    return ::testing::AssertionFailure()
           << "nginx did not start: " << Describe(r) << "\nerror.log:\n"
           << ErrorLog();
  bool up = WaitFor(
      [&] {
        master_ = static_cast<pid_t>(ReadNumber(pid_file()));
        return PidAlive(master_) && Accepts("127.0.0.1", port_);
      },
      10s);
  if (!up)
    return ::testing::AssertionFailure()
           << "nginx did not write a live pid to " << pid_file()
           << " and accept on 127.0.0.1:" << port_ << " within 10 s; error.log:\n"
           << ErrorLog();
  return ::testing::AssertionSuccess();
}

std::set<pid_t> TempNginx::Workers() const { return ChildrenOf(master_); }

bool TempNginx::Stop() {
  // The master may have been replaced only by us; its pid file is the truth.
  pid_t pid = static_cast<pid_t>(ReadNumber(pid_file()));
  if (pid <= 0) pid = master_;
  master_ = 0;
  if (pid <= 0 || !PidAlive(pid)) return true;
  std::set<pid_t> workers = ChildrenOf(pid);
  ::kill(pid, SIGQUIT);
  auto gone = [&] {
    if (PidAlive(pid)) return false;
    for (pid_t w : workers)
      if (PidAlive(w)) return false;
    return true;
  };
  if (WaitFor(gone, 15s)) return true;
  for (pid_t w : ChildrenOf(pid)) workers.insert(w);
  ::kill(pid, SIGKILL);
  for (pid_t w : workers) ::kill(w, SIGKILL);
  WaitFor(gone, 5s);
  ADD_FAILURE() << "nginx " << pid << " did not stop on SIGQUIT within 15 s and was killed";
  return false;
}

// --- Settings ----------------------------------------------------------------

void AppendNginxSettings(const TempHome& home, const TempNginx& nginx, int drain_timeout) {
  const fs::path settings = home / "etc/sarge.yaml";
  std::ofstream out(settings, std::ios::app);
  out << "\nnginx:\n"
      << "  test_command: " << nginx.TestCommand() << "\n"
      << "  reload_command: " << nginx.ReloadCommand() << "\n"
      << "  pid_file: " << nginx.pid_file().string() << "\n"
      << "  drain_timeout: " << drain_timeout << "\n";
  if (!out.good()) ADD_FAILURE() << "cannot append to " << settings;
}

void SetPortRange(const TempHome& home, int first, int last) {
  const fs::path settings = home / "etc/sarge.yaml";
  std::string text = ReadFile(settings);
  const std::string old_range = "ports:\n  first: 20000\n  last: 29999\n";
  auto at = text.find(old_range);
  if (at == std::string::npos) {
    ADD_FAILURE() << settings << " lacks the default ports: section:\n" << text;
    return;
  }
  text.replace(
      at, old_range.size(),
      "ports:\n  first: " + std::to_string(first) + "\n  last: " + std::to_string(last) + "\n");
  WriteFile(settings, text);
}

// --- HTTP through nginx ------------------------------------------------------

namespace {

// Connects `fd` to 127.0.0.1:port with sends and receives that time out
// after `timeout_ms`; the error, or empty.
std::string ConnectLoopback(int fd, int port, int timeout_ms) {
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return Errno("connect");
  return "";
}

// Sends all of `data`; the error, or empty.
std::string SendAll(int fd, const std::string& data) {
  for (size_t sent = 0; sent < data.size();) {
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Errno("send");
    sent += static_cast<size_t>(n);
  }
  return "";
}

// Receives into `reply` until the peer closes; the error, or empty.
std::string ReceiveAll(int fd, std::string& reply) {
  char buf[16384];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("recv") + " after " + std::to_string(reply.size()) + " bytes";
    if (n == 0) return "";
    reply.append(buf, static_cast<size_t>(n));
  }
}

// Parses a whole HTTP reply into `f`: its status and body, or an error if
// the header is incomplete or the body shorter than its Content-Length.
void ParseReply(const std::string& reply, Fetched& f) {
  auto end = reply.find("\r\n\r\n");
  int status = 0;
  if (end == std::string::npos || std::sscanf(reply.c_str(), "HTTP/%*d.%*d %d", &status) != 1) {
    f.error = "no complete HTTP header in " + std::to_string(reply.size()) + " bytes";
    return;
  }
  std::string body = reply.substr(end + 4);
  // Content-Length, if given, must match: a cut-off answer is a failure.
  std::string head = reply.substr(0, end + 2);
  for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto cl = head.find("\r\ncontent-length:");
  if (cl != std::string::npos) {
    size_t expected = std::strtoul(head.c_str() + cl + 17, nullptr, 10);
    if (body.size() != expected) {
      f.error = "truncated body: " + std::to_string(body.size()) + " of " +
                std::to_string(expected) + " bytes";
      return;
    }
  }
  f.status = status;
  f.body = std::move(body);
}

}  // namespace

Fetched GetWithHost(int port, const std::string& host, const std::string& path, int timeout_ms) {
  Fetched f;
  Socket fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) {
    f.error = Errno("socket");
    return f;
  }
  f.error = ConnectLoopback(fd.get(), port, timeout_ms);
  if (f.error.empty())
    f.error = SendAll(fd.get(), "GET " + path + " HTTP/1.0\r\nHost: " + host + "\r\n\r\n");
  std::string reply;
  if (f.error.empty()) f.error = ReceiveAll(fd.get(), reply);
  if (f.error.empty()) ParseReply(reply, f);
  return f;
}

// --- Servers -----------------------------------------------------------------

std::string BodyServer(const std::string& prelude) {
  return "#!/usr/bin/python3 -u\nimport http.server, os\n" + prelude + R"PY(
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, format, *args):
        pass
http.server.HTTPServer((os.environ["WEB_HOST"], int(os.environ["WEB_PORT"])), Handler).serve_forever()
)PY";
}

const char* const kVersionServer = R"PY(#!/usr/bin/python3 -u
# deploy test server: GET / answers the file VERSION, GET /health the status
# in the file HEALTH (default 200). With a file DIE_AFTER (seconds), it exits
# with status 1 that long after it starts serving. With a file DIE_ON_CHECK
# (N), the Nth GET /health gets no answer: the server closes its socket and
# exits with status 1 0.2 s later, as a server whose exit takes a while.
import http.server, os, threading, time

version = open("VERSION").read().strip()
health = int(open("HEALTH").read()) if os.path.exists("HEALTH") else 200
die_on_check = int(open("DIE_ON_CHECK").read()) if os.path.exists("DIE_ON_CHECK") else 0
checks = 0
host, port = os.environ["WEB_HOST"], int(os.environ["WEB_PORT"])


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        global checks
        if self.path == "/health":
            checks += 1
            if checks == die_on_check:
                print("dying on purpose", flush=True)
                threading.Thread(target=server.shutdown).start()
                self.close_connection = True
                return
            status, body = health, "health %d\n" % health
        else:
            status, body = 200, version + "\n"
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512


server = Server((host, port), Handler)
print("serving %s on %s:%d" % (version, host, port), flush=True)
if os.path.exists("DIE_AFTER"):
    def die():
        print("dying on purpose", flush=True)
        os._exit(1)
    threading.Timer(float(open("DIE_AFTER").read()), die).start()
server.serve_forever(poll_interval=0.05 if die_on_check else 0.5)
server.server_close()
time.sleep(0.2)
os._exit(1)
)PY";

const char* const kFcgiServer = R"PY(#!/usr/bin/python3 -u
# A FastCGI responder on $FCGI_PATH/sock answering every request "fcgi ok".
import os, socket, struct

BEGIN_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT = 1, 3, 4, 5, 6


def read_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def record(kind, request_id, content):
    padding = (8 - len(content) % 8) % 8
    return (struct.pack("!BBHHBB", 1, kind, request_id, len(content), padding, 0) + content +
            b"\0" * padding)


def serve(conn):
    params_done = stdin_done = False
    request_id = 0
    while not (params_done and stdin_done):
        version, kind, rid, length, padding, _ = struct.unpack("!BBHHBB", read_exact(conn, 8))
        read_exact(conn, length + padding)
        if kind == BEGIN_REQUEST:
            request_id = rid
        elif kind == PARAMS and length == 0:
            params_done = True
        elif kind == STDIN and length == 0:
            stdin_done = True
    body = b"Status: 200\r\nContent-Type: text/plain\r\n\r\nfcgi ok"
    conn.sendall(record(STDOUT, request_id, body) + record(STDOUT, request_id, b"") +
                 record(END_REQUEST, request_id, struct.pack("!IB3x", 0, 0)))


path = os.path.join(os.environ["FCGI_PATH"], "sock")
if os.path.exists(path):
    os.unlink(path)
listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
listener.bind(path)
listener.listen(64)
print("fcgi on " + path, flush=True)
while True:
    conn, _ = listener.accept()
    try:
        serve(conn)
    except (EOFError, OSError):
        pass
    finally:
        conn.close()
)PY";

}  // namespace e2e
