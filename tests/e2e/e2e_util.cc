#include "e2e_util.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <thread>

extern char** environ;

namespace e2e {
namespace {

using Clock = std::chrono::steady_clock;

// Writing to a pipe whose reader has gone must be an error, not a signal.
const bool kSigpipeIgnored = [] {
  ::signal(SIGPIPE, SIG_IGN);
  return true;
}();

// Closes a file descriptor when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept {
    reset(other.release());
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

std::string Hash(const std::string& data) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::vector<std::string> Environment(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  auto key_of = [](const std::string& entry) { return entry.substr(0, entry.find('=')); };
  for (char** e = environ; *e; ++e) {
    std::string entry = *e;
    bool replaced = false;
    for (const auto& x : extra) replaced = replaced || key_of(x) == key_of(entry);
    if (!replaced) env.push_back(entry);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Reads what is available from `fd` into `out`; resets `fd` at end of file.
void Drain(Fd& fd, std::string& out) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) fd.reset();
    return;
  }
}

void SetNonBlocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

int ExitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

std::string Describe(const Result& r) {
  return "exit " + std::to_string(r.exit_code) + "\n--- stdout:\n" + r.out + "\n--- stderr:\n" +
         r.err + "\n---";
}

namespace {

// The parent's ends of a running program's stdin, stdout and stderr.
struct ParentEnds {
  Fd in_w, out_r, err_r;
};

// Spawns argv with stdin, stdout and stderr on `in`, `out` and `err`, SIGPIPE
// at its default and no signal blocked; posix_spawn's result.
int SpawnWithStdio(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env,
                   int in, int out, int err, pid_t* pid) {
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_adddup2(&actions, in, 0);
  ::posix_spawn_file_actions_adddup2(&actions, out, 1);
  ::posix_spawn_file_actions_adddup2(&actions, err, 2);
  posix_spawnattr_t attr;
  ::posix_spawnattr_init(&attr);
  sigset_t defaults, empty;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigemptyset(&empty);
  ::posix_spawnattr_setsigdefault(&attr, &defaults);
  ::posix_spawnattr_setsigmask(&attr, &empty);
  ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<std::string> args = argv, env = Environment(extra_env);
  auto c_args = CStrings(args), c_env = CStrings(env);
  int rc = ::posix_spawn(pid, c_args[0], &actions, &attr, c_args.data(), c_env.data());
  ::posix_spawn_file_actions_destroy(&actions);
  ::posix_spawnattr_destroy(&attr);
  return rc;
}

// Waits up to 20 ms for the pipes, then collects what the program wrote into
// `r` and feeds it more of `input` from `written` on.
void Exchange(ParentEnds& ends, const std::string& input, size_t& written, Result& r) {
  std::vector<pollfd> fds;
  if (ends.out_r.valid()) fds.push_back({ends.out_r.get(), POLLIN, 0});
  if (ends.err_r.valid()) fds.push_back({ends.err_r.get(), POLLIN, 0});
  if (ends.in_w.valid()) fds.push_back({ends.in_w.get(), POLLOUT, 0});
  ::poll(fds.data(), fds.size(), 20);
  if (ends.out_r.valid()) Drain(ends.out_r, r.out);
  if (ends.err_r.valid()) Drain(ends.err_r, r.err);
  if (ends.in_w.valid()) {
    ssize_t n = ::write(ends.in_w.get(), input.data() + written, input.size() - written);
    if (n > 0) written += static_cast<size_t>(n);
    if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == input.size()) ends.in_w.reset();
  }
}

// Feeds `input` to the spawned program and collects its output into `r`
// until it exited and its output closed (or 500 ms passed); kills it after
// `timeout`. Returns its wait status.
int Pump(pid_t pid, ParentEnds& ends, const std::string& input, std::chrono::milliseconds timeout,
         Result& r) {
  SetNonBlocking(ends.in_w.get());
  SetNonBlocking(ends.out_r.get());
  SetNonBlocking(ends.err_r.get());
  size_t written = 0;
  if (input.empty()) ends.in_w.reset();
  auto deadline = Clock::now() + timeout;
  std::optional<Clock::time_point> exited_at;
  int status = 0;
  for (;;) {
    Exchange(ends, input, written, r);
    if (!exited_at && ::waitpid(pid, &status, WNOHANG) == pid) exited_at = Clock::now();
    bool closed = !ends.out_r.valid() && !ends.err_r.valid();
    // A daemon the program started may hold its output open: do not wait for it.
    if (exited_at && (closed || Clock::now() - *exited_at > 500ms)) break;
    if (!exited_at && Clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      r.err += "\n[e2e: killed after " + std::to_string(timeout.count()) + " ms]";
      break;
    }
  }
  return status;
}

}  // namespace

Result RunProgram(const std::vector<std::string>& argv, const std::string& input,
                  std::chrono::milliseconds timeout, const std::vector<std::string>& extra_env) {
  (void)kSigpipeIgnored;
  Result r;
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    r.err = std::string("e2e: pipe2: ") + std::strerror(errno);
    return r;
  }
  ParentEnds ends{Fd(in[1]), Fd(out[0]), Fd(err[0])};
  Fd in_r(in[0]), out_w(out[1]), err_w(err[1]);

  pid_t pid = 0;
  int rc = SpawnWithStdio(argv, extra_env, in_r.get(), out_w.get(), err_w.get(), &pid);
  in_r.reset();
  out_w.reset();
  err_w.reset();
  if (rc != 0) {
    r.err = "e2e: cannot run " + argv[0] + ": " + std::strerror(rc);
    return r;
  }
  r.exit_code = ExitCode(Pump(pid, ends, input, timeout, r));
  return r;
}

Result RunSarge(const std::vector<std::string>& args, const std::string& input) {
  std::vector<std::string> argv = {SARGE_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProgram(argv, input);
}

bool WaitFor(const std::function<bool()>& predicate, std::chrono::milliseconds timeout,
             std::chrono::milliseconds interval) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    if (predicate()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(interval);
  }
}

std::string FindOnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    fs::path candidate = fs::path(dir) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return {};
}

bool PidAlive(pid_t pid) {
  if (pid <= 0) return false;
  if (::kill(pid, 0) != 0 && errno != EPERM) return false;
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  auto paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat.size()) return false;
  char state = stat[paren + 2];
  return state != 'Z' && state != 'X';
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const fs::path& path, const std::string& content, mode_t mode) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out.good()) ADD_FAILURE() << "cannot write " << path;
  }
  if (::chmod(path.c_str(), mode) != 0) ADD_FAILURE() << "cannot chmod " << path;
}

long ReadNumber(const fs::path& path) {
  std::string text = ReadFile(path);
  char* end = nullptr;
  long n = std::strtol(text.c_str(), &end, 10);
  return end == text.c_str() ? 0 : n;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream s(text);
  std::string line;
  while (std::getline(s, line)) lines.push_back(line);
  return lines;
}

// --- Network -------------------------------------------------------------

namespace {

Fd ConnectTcp(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | AI_NUMERICHOST;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) return Fd();
  Fd fd;
  for (addrinfo* a = found; a && !fd.valid(); a = a->ai_next) {
    fd.reset(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
    if (fd.valid() && ::connect(fd.get(), a->ai_addr, a->ai_addrlen) != 0) fd.reset();
  }
  ::freeaddrinfo(found);
  return fd;
}

bool SendAll(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

std::string ReceiveAll(int fd) {
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::string out;
  char buf[16384];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::optional<HttpReply> ParseHttp(const std::string& reply) {
  auto end = reply.find("\r\n\r\n");
  HttpReply r;
  if (end == std::string::npos || std::sscanf(reply.c_str(), "HTTP/%*d.%*d %d", &r.status) != 1)
    return std::nullopt;
  r.body = reply.substr(end + 4);
  return r;
}

Fd BoundSocket(int port) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) fd.reset();
  return fd;
}

}  // namespace

std::optional<HttpReply> HttpGet(const std::string& host, int port, const std::string& path) {
  Fd fd = ConnectTcp(host, port);
  if (!fd.valid()) return std::nullopt;
  if (!SendAll(fd.get(), "GET " + path + " HTTP/1.0\r\nHost: " + host + "\r\n\r\n"))
    return std::nullopt;
  return ParseHttp(ReceiveAll(fd.get()));
}

bool Accepts(const std::string& host, int port) { return ConnectTcp(host, port).valid(); }

int FreePort() {
  Fd fd = BoundSocket(0);
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  if (!fd.valid() || ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    return 0;
  return ntohs(addr.sin_port);
}

bool PortsFree(int first, int count) {
  for (int p = first; p < first + count; ++p)
    if (!BoundSocket(p).valid()) return false;
  return true;
}

int FreePortRange(int count) {
  std::random_device device;
  // Below the kernel's ephemeral ports (32768+) and above sarge's default range.
  std::uniform_int_distribution<int> pick(30000, 32700 - count);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    int first = pick(device);
    if (PortsFree(first, count)) return first;
  }
  ADD_FAILURE() << "no run of " << count << " free ports found";
  return 0;
}

Listener::Listener(int port) {
  Fd fd = BoundSocket(port);
  if (fd.valid() && ::listen(fd.get(), 16) == 0) fd_ = fd.release();
}

Listener::~Listener() {
  if (fd_ >= 0) ::close(fd_);
}

// --- The home ------------------------------------------------------------

TempHome::TempHome() {
  // These tests need the real supervisord: without it they fail, never skip.
  for (const char* program : {"supervisord", "supervisorctl"})
    if (FindOnPath(program).empty())
      ADD_FAILURE() << program
                    << " is not on PATH: install Debian's supervisor package (these tests never "
                       "skip)";
  char tmpl[] = "/tmp/sge2e-XXXXXX";
  if (!::mkdtemp(tmpl)) {
    ADD_FAILURE() << "mkdtemp: " << std::strerror(errno);
    return;
  }
  root_ = tmpl;
}

TempHome::~TempHome() {
  StopSupervisord();
  std::error_code ec;
  if (!root_.empty()) fs::remove_all(root_, ec);
}

::testing::AssertionResult TempHome::Init() {
  for (const char* program : {"supervisord", "supervisorctl"})
    if (FindOnPath(program).empty())
      return ::testing::AssertionFailure()
             << program
             << " is not on PATH: install Debian's supervisor package (these tests never skip)";
  Result r = Sarge({"init"});
  if (r.exit_code != 0)
    return ::testing::AssertionFailure() << "sarge init failed: " << Describe(r);
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult TempHome::StartSupervisord() {
  if (FindOnPath("supervisord").empty())
    return ::testing::AssertionFailure()
           << "supervisord is not on PATH: install Debian's supervisor package";
  Result r = RunProgram({(root_ / "bin/supervisord").string()}, "", 20s);
  if (r.exit_code != 0)
    return ::testing::AssertionFailure() << "bin/supervisord failed: " << Describe(r);
  bool up = WaitFor(
      [&] {
        auto reply = Rpc("supervisor.getState");
        return reply && reply->find("RUNNING") != std::string::npos;
      },
      10s, 50ms);
  supervisord_pid_ = static_cast<pid_t>(ReadNumber(root_ / "var/run/supervisord.pid"));
  if (!up)
    return ::testing::AssertionFailure()
           << "supervisord did not answer on its socket within 10 s; its log:\n"
           << ReadFile(root_ / "var/log/supervisord.log");
  if (!PidAlive(supervisord_pid_))
    return ::testing::AssertionFailure() << "no live supervisord pid in var/run/supervisord.pid";
  return ::testing::AssertionSuccess();
}

bool TempHome::StopSupervisord() {
  pid_t pid = supervisord_pid_;
  supervisord_pid_ = 0;
  if (pid <= 0 || !PidAlive(pid)) return true;
  ::kill(pid, SIGTERM);
  // supervisord stops its programs first; one that ignores SIGTERM takes
  // stopwaitsecs (10 s) before it is killed.
  if (WaitFor([&] { return !PidAlive(pid); }, 20s, 20ms)) return true;
  ::kill(pid, SIGKILL);
  WaitFor([&] { return !PidAlive(pid); }, 5s);
  ADD_FAILURE() << "supervisord " << pid << " ignored SIGTERM for 20 s and was killed";
  return false;
}

Result TempHome::Sarge(const std::vector<std::string>& args, const std::string& input) const {
  std::vector<std::string> all = {root_.string()};
  all.insert(all.end(), args.begin(), args.end());
  return RunSarge(all, input);
}

std::string TempHome::New(const json& config) const {
  Result r = Sarge({"new", config.dump()});
  if (r.exit_code != 0 || r.out.empty() || r.out.back() != '\n' ||
      r.out.find('\n') != r.out.size() - 1) {
    ADD_FAILURE() << "sarge new " << config.dump() << ": " << Describe(r);
    return {};
  }
  return r.out.substr(0, r.out.size() - 1);
}

json TempHome::List() const {
  Result r = Sarge({"list"});
  if (r.exit_code != 0) {
    ADD_FAILURE() << "sarge list: " << Describe(r);
    return nullptr;
  }
  try {
    return json::parse(r.out);
  } catch (const json::exception& e) {
    ADD_FAILURE() << "sarge list printed invalid JSON (" << e.what() << "): " << r.out;
    return nullptr;
  }
}

json TempHome::ListEntry(const std::string& id) const {
  json list = List();
  if (!list.is_object() || !list.contains("instances")) return nullptr;
  for (const auto& entry : list["instances"])
    if (entry.value("id", "") == id) return entry;
  return nullptr;
}

json TempHome::AppCfg(const std::string& id) const {
  json value = json::parse(ReadFile(root_ / "var/run" / id / "appcfg.json"), nullptr, false);
  return value.is_discarded() ? json(nullptr) : value;
}

void TempHome::WriteServer(const std::string& id, const std::string& script, mode_t mode) const {
  WriteFile(root_ / id / "server", script, mode);
}

std::optional<std::string> TempHome::Rpc(const std::string& method,
                                         const std::string& params_xml) const {
  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string path = (root_ / "var/run/supervisor.sock").string();
  if (path.size() >= sizeof addr.sun_path) return std::nullopt;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return std::nullopt;
  std::string body = "<?xml version=\"1.0\"?><methodCall><methodName>" + method +
                     "</methodName><params>" + params_xml + "</params></methodCall>";
  std::string request = "POST /RPC2 HTTP/1.0\r\nContent-Type: text/xml\r\nContent-Length: " +
                        std::to_string(body.size()) + "\r\n\r\n" + body;
  if (!SendAll(fd.get(), request)) return std::nullopt;
  auto reply = ParseHttp(ReceiveAll(fd.get()));
  if (!reply || reply->status != 200) return std::nullopt;
  return reply->body;
}

std::optional<std::vector<std::string>> TempHome::ProgramNames() const {
  auto reply = Rpc("supervisor.getAllProcessInfo");
  if (!reply || reply->find("<fault>") != std::string::npos) return std::nullopt;
  static const std::regex kName(R"(<name>name</name>\s*<value>(?:<string>)?([^<]*))");
  std::vector<std::string> names;
  for (std::sregex_iterator it(reply->begin(), reply->end(), kName), end; it != end; ++it)
    names.push_back((*it)[1]);
  std::sort(names.begin(), names.end());
  return names;
}

std::string TempHome::ProgramState(const std::string& name) const {
  auto reply = Rpc("supervisor.getProcessInfo",
                   "<param><value><string>" + name + "</string></value></param>");
  if (!reply) return "(no answer)";
  if (reply->find("<fault>") != std::string::npos) return "(fault)";
  static const std::regex kState(R"(<name>statename</name>\s*<value>(?:<string>)?([^<]*))");
  std::smatch m;
  return std::regex_search(*reply, m, kState) ? m[1].str() : "(no statename)";
}

Snapshot TempHome::Snap() const {
  static const std::vector<std::string> kIgnored = {"var/log/supervisord.log", "var/run/sarge.lock",
                                                    "var/run/supervisord.pid",
                                                    "var/run/supervisor.sock"};
  Snapshot snap;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root_, ec), end; !ec && it != end; it.increment(ec)) {
    // Lexically: fs::relative resolves symlinks, which would name a port
    // claim by its target, and throws on a symlink loop.
    std::string rel = it->path().lexically_relative(root_).string();
    if (std::find(kIgnored.begin(), kIgnored.end(), rel) != kIgnored.end()) continue;
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0) continue;
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    std::string entry;
    if (S_ISDIR(st.st_mode)) {
      entry = std::string("dir ") + mode;
    } else if (S_ISREG(st.st_mode)) {
      entry = std::string("file ") + mode + " " + std::to_string(st.st_size) + " " +
              Hash(ReadFile(it->path()));
    } else if (S_ISLNK(st.st_mode)) {
      entry = "link -> " + fs::read_symlink(it->path(), ec).string();
    } else {
      entry = std::string("other ") + mode;
    }
    snap[rel] = entry;
  }
  if (ec) ADD_FAILURE() << "cannot walk " << root_ << ": " << ec.message();
  return snap;
}

std::string DiffSnapshots(const Snapshot& before, const Snapshot& after) {
  std::string diff;
  for (const auto& [path, entry] : before) {
    auto it = after.find(path);
    if (it == after.end())
      diff += "removed " + path + " (" + entry + ")\n";
    else if (it->second != entry)
      diff += "changed " + path + ": " + entry + " -> " + it->second + "\n";
  }
  for (const auto& [path, entry] : after)
    if (!before.contains(path)) diff += "added " + path + " (" + entry + ")\n";
  return diff;
}

// --- Instance servers ------------------------------------------------------

const char* const kHttpServer = R"PY(#!/usr/bin/python3 -u
# e2e test server: answers GET with its id, folder and environment as JSON.
import http.server, json, os, sys

with open("server.pid", "w") as f:
    f.write(str(os.getpid()))
with open("env.bin", "wb") as f:
    f.write(b"\0".join(k + b"=" + v for k, v in os.environb.items()))

service = os.environ.get("SERVER_SERVICE", "WEB")
host, port = os.environ[service + "_HOST"], int(os.environ[service + "_PORT"])


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"id": os.environ.get("SARGE_INSTANCE_ID"), "cwd": os.getcwd(),
                           "path": self.path, "env": dict(os.environ)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        print("request " + self.path, file=sys.stderr, flush=True)


server = http.server.HTTPServer((host, port), Handler)
print("serving %s on %s:%d" % (os.environ.get("SARGE_INSTANCE_ID"), host, port), flush=True)
server.serve_forever()
)PY";

const char* const kExitAtOnceServer = R"SH(#!/bin/sh
echo "starting up"
echo "fatal: cannot open the database" >&2
echo "giving up with status 3" >&2
exit 3
)SH";

const char* const kSilentServer = R"SH(#!/bin/sh
echo $$ > server.pid
exec sleep 1000
)SH";

const char* const kSpawningServer = R"SH(#!/bin/bash
sleep 1000 &
echo $! > child.pid
echo $$ > server.pid
echo "spawned $(cat child.pid)"
wait
)SH";

const char* const kDeafServer = R"SH(#!/bin/bash
trap '' TERM
sleep 1000 &
echo $! > child.pid
echo $$ > server.pid
echo "ignoring SIGTERM"
while true; do wait; done
)SH";

std::map<std::string, std::string> ParseEnvBin(const std::string& data) {
  std::map<std::string, std::string> env;
  size_t start = 0;
  while (start < data.size()) {
    size_t end = data.find('\0', start);
    if (end == std::string::npos) end = data.size();
    std::string entry = data.substr(start, end - start);
    size_t eq = entry.find('=');
    if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
    start = end + 1;
  }
  return env;
}

namespace {

// This process's environment with `env` ("KEY=value") replacing or adding
// to it; an entry with an empty value removes its key.
std::vector<std::string> TerminalEnvironment(const std::vector<std::string>& env) {
  std::vector<std::string> envp;
  auto key = [](const std::string& e) { return e.substr(0, e.find('=')); };
  for (char** e = environ; *e; ++e) {
    bool replaced = false;
    for (const auto& x : env) replaced = replaced || key(x) == key(*e);
    if (!replaced) envp.push_back(*e);
  }
  for (const auto& x : env)
    if (x.back() != '=') envp.push_back(x);
  return envp;
}

// Reads the terminal into `out` until it closes (EIO once the child and its
// children have let go of it), calling `watch` as it goes; kills `pid`
// after 60 s.
void ReadTerminal(int master, pid_t pid, const TerminalWatch& watch, std::string& out) {
  auto deadline = std::chrono::steady_clock::now() + 60s;
  char buf[4096];
  for (;;) {
    pollfd p{master, POLLIN, 0};
    if (::poll(&p, 1, 100) > 0) {
      ssize_t n = ::read(master, buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    if (watch) watch(out, pid, master);
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      break;
    }
  }
}

}  // namespace

Result RunOnTerminal(const std::vector<std::string>& args, const std::vector<std::string>& env,
                     const TerminalWatch& watch) {
  std::vector<std::string> argv = {SARGE_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<std::string> envp = TerminalEnvironment(env);
  // Made before forking: the child only calls execve.
  auto c_argv = CStrings(argv), c_envp = CStrings(envp);

  Result r;
  winsize size{};
  size.ws_row = 40;
  size.ws_col = 100;
  int master = -1;
  pid_t pid = ::forkpty(&master, nullptr, nullptr, &size);
  if (pid < 0) {
    r.err = "forkpty failed";
    return r;
  }
  if (pid == 0) {
    ::execve(c_argv[0], c_argv.data(), c_envp.data());
    ::_exit(127);
  }
  ReadTerminal(master, pid, watch, r.out);
  ::close(master);
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = std::regex_replace(r.out, std::regex("\r\n"), "\n");
  return r;
}

}  // namespace e2e
