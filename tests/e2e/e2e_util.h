// Helpers for the end-to-end tests: they drive the built `sarge` binary
// against the real supervisord in temporary homes, on loopback, and stop
// everything they started by pid.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace e2e {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

// What a finished program did.
struct Result {
  int exit_code = -1;  // 128 + signal if it was killed; -1 if it never ran
  std::string out;
  std::string err;
};

// For assertion messages: the exit code and both outputs.
std::string Describe(const Result& r);

// Runs argv[0] (a path) with `input` on stdin and returns what it did.
// Reads both outputs without deadlock. Kills the program after `timeout`.
// `extra_env` entries ("KEY=value") replace or add to this process's
// environment. Thread-safe (posix_spawn).
Result RunProgram(const std::vector<std::string>& argv, const std::string& input = "",
                  std::chrono::milliseconds timeout = 60s,
                  const std::vector<std::string>& extra_env = {});

// Called with what the terminal showed so far, the program's pid and the
// terminal's master side, each time more arrives and every 100 ms: to send a
// signal, or type Ctrl-C ("\x03"), at a point of the program's progress.
using TerminalWatch = std::function<void(const std::string& shown, pid_t pid, int master)>;

// Runs sarge (SARGE_BINARY) with `args` and its stdin, stdout and stderr on
// a new pseudo-terminal, 100 columns wide, with `env` ("KEY=value")
// replacing or adding to this process's environment (an empty value:
// removed). Returns what the terminal showed, with the terminal's "\r\n"
// turned back into "\n". Bounded: killed after 60 s.
Result RunOnTerminal(const std::vector<std::string>& args, const std::vector<std::string>& env,
                     const TerminalWatch& watch = {});

// Runs the built sarge (SARGE_BINARY) with `args`.
Result RunSarge(const std::vector<std::string>& args, const std::string& input = "");

// Polls `predicate` every `interval` until it is true or `timeout` passed.
bool WaitFor(const std::function<bool()>& predicate, std::chrono::milliseconds timeout,
             std::chrono::milliseconds interval = 20ms);

// The absolute path of `name` found on PATH, or empty.
std::string FindOnPath(const std::string& name);

// True if the process exists and is not a zombie.
bool PidAlive(pid_t pid);

// The file's content; empty if it cannot be read.
std::string ReadFile(const fs::path& path);
// Writes `content` to `path` with `mode`; fails the test on error.
void WriteFile(const fs::path& path, const std::string& content, mode_t mode = 0644);
// The integer in a file such as a pid file; 0 if absent or not a number.
long ReadNumber(const fs::path& path);

// Lines of `text` without their "\n".
std::vector<std::string> Lines(const std::string& text);

// --- Network -------------------------------------------------------------

struct HttpReply {
  int status = 0;
  std::string body;
};

// GET `path` from host:port over a fresh TCP connection (HTTP/1.0). nullopt
// if the connection is refused or the reply is not HTTP.
std::optional<HttpReply> HttpGet(const std::string& host, int port, const std::string& path = "/");

// True if something accepts TCP connections on host:port.
bool Accepts(const std::string& host, int port);

// A TCP port on 127.0.0.1 that is free right now (bind to port 0).
int FreePort();

// True if `count` consecutive ports from `first` can be bound on 127.0.0.1.
bool PortsFree(int first, int count);

// A run of `count` consecutive ports, free right now, in [30000, 32700).
int FreePortRange(int count);

// A listening socket on 127.0.0.1:port, closed when this goes away.
class Listener {
 public:
  explicit Listener(int port);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// --- The home ------------------------------------------------------------

// One entry of a Snapshot: "dir 0755", "file 0644 12 <hash>", "link -> target".
using Snapshot = std::map<std::string, std::string>;

// A temporary sarge home under /tmp (short, so the socket path fits). The
// destructor stops the supervisord started with StartSupervisord (SIGTERM,
// bounded wait, SIGKILL) and removes the folder.
class TempHome {
 public:
  TempHome();
  ~TempHome();
  TempHome(const TempHome&) = delete;
  TempHome& operator=(const TempHome&) = delete;

  const fs::path& root() const { return root_; }
  std::string str() const { return root_.string(); }
  fs::path operator/(const std::string& rel) const { return root_ / rel; }

  // `sarge HOME init`; fails unless supervisord and supervisorctl are on PATH.
  ::testing::AssertionResult Init();
  // HOME/bin/supervisord, then waits until its socket answers getState.
  ::testing::AssertionResult StartSupervisord();
  // SIGTERM to supervisord, bounded wait, SIGKILL; true if it is gone.
  bool StopSupervisord();
  pid_t supervisord_pid() const { return supervisord_pid_; }

  // `sarge HOME args…`
  Result Sarge(const std::vector<std::string>& args, const std::string& input = "") const;

  // `sarge HOME new CONFIG`: the id, or empty (with a test failure).
  std::string New(const json& config) const;
  // `sarge HOME list` parsed; null (with a test failure) if it fails.
  json List() const;
  // The instance's entry in `list`; null if absent.
  json ListEntry(const std::string& id) const;
  // var/run/ID/appcfg.json parsed; null if absent or invalid.
  json AppCfg(const std::string& id) const;
  // Writes HOME/ID/server (mode 0755 unless given).
  void WriteServer(const std::string& id, const std::string& script, mode_t mode = 0755) const;

  // An XML-RPC call on supervisord's socket; the response body, or nullopt.
  std::optional<std::string> Rpc(const std::string& method,
                                 const std::string& params_xml = "") const;
  // The names of all programs supervisord has loaded (getAllProcessInfo);
  // nullopt if it does not answer.
  std::optional<std::vector<std::string>> ProgramNames() const;
  // supervisord's statename of program `name` (getProcessInfo), or
  // "(fault)" if it has no such program, "(no answer)" if it does not answer.
  std::string ProgramState(const std::string& name) const;

  // Every path under the home with type, mode, size and content hash;
  // leaves out what supervisord and the lock change on their own.
  Snapshot Snap() const;

 private:
  fs::path root_;
  pid_t supervisord_pid_ = 0;
};

// The differences between two snapshots, one per line; empty if equal.
std::string DiffSnapshots(const Snapshot& before, const Snapshot& after);

// A GoogleTest fixture with an initialised home.
class HomeTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(home_.Init()); }
  TempHome home_;
};

// --- Instance servers ------------------------------------------------------

// python3: serves HTTP on $WEB_HOST:$WEB_PORT (the service named by
// $SERVER_SERVICE, default WEB). On start writes server.pid and env.bin
// (os.environb as KEY=VALUE\0…) in its folder, prints "serving ID on H:P";
// logs "request PATH" on stderr for each request; GET answers JSON
// {"id", "cwd", "path", "env"}.
extern const char* const kHttpServer;

// Prints a line on stdout and two on stderr, then exits 3.
extern const char* const kExitAtOnceServer;

// Writes server.pid and sleeps without listening anywhere.
extern const char* const kSilentServer;

// bash: starts `sleep 1000` in the background, writes its pid to child.pid
// and its own to server.pid, then waits.
extern const char* const kSpawningServer;

// Like kSpawningServer, but ignores SIGTERM (and so does the child).
extern const char* const kDeafServer;

// Parses env.bin written by kHttpServer.
std::map<std::string, std::string> ParseEnvBin(const std::string& data);

}  // namespace e2e
