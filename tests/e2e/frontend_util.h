// Helpers for the front-end and deploy end-to-end tests: a private nginx on
// loopback that includes a home's sarge_sites.conf, the sarge.yaml settings
// that let sarge test and reload it, and HTTP requests through it.
#pragma once

#include <sys/types.h>

#include <optional>
#include <set>
#include <string>

#include "e2e_util.h"

namespace e2e {

// The nginx executable: found on PATH, else /usr/sbin/nginx; empty if
// neither exists (tests then fail: they never skip).
std::string NginxBinary();

// A private nginx: a prefix folder under /tmp holding nginx.conf, its pid
// file, logs and temp folders, listening on a free loopback port with a
// default server (404) and including HOME/etc/nginx/sarge_sites.conf. The
// destructor stops it by the master pid in its pid file (SIGQUIT, bounded
// wait, SIGKILL of master and workers) and removes the folder.
class TempNginx {
 public:
  TempNginx();
  ~TempNginx();
  TempNginx(const TempNginx&) = delete;
  TempNginx& operator=(const TempNginx&) = delete;

  // Writes nginx.conf for `home` (already initialised) and starts nginx on
  // `port` (0: a free one); returns once its pid file names a live master
  // and the port accepts.
  ::testing::AssertionResult Start(const TempHome& home, int port = 0);
  // Graceful stop (SIGQUIT), then SIGKILL after a bounded wait; true if it
  // went away on SIGQUIT (or was not running).
  bool Stop();

  int port() const { return port_; }
  const fs::path& prefix() const { return prefix_; }
  fs::path conf() const { return prefix_ / "nginx.conf"; }
  fs::path pid_file() const { return prefix_ / "nginx.pid"; }
  pid_t master_pid() const { return master_; }
  // The master's current children (its workers).
  std::set<pid_t> Workers() const;
  std::string ErrorLog() const { return ReadFile(prefix_ / "error.log"); }

  // The command lines for sarge.yaml's nginx: section.
  std::string TestCommand() const;
  std::string ReloadCommand() const;

 private:
  fs::path prefix_;
  int port_ = 0;
  pid_t master_ = 0;
};

// Appends an nginx: section (test_command, reload_command, pid_file,
// drain_timeout) for `nginx` to HOME/etc/sarge.yaml.
void AppendNginxSettings(const TempHome& home, const TempNginx& nginx, int drain_timeout = 30);

// Sets ports.first/last in HOME/etc/sarge.yaml (as `init` wrote it), so
// tests running at the same time do not compete for the same ports.
void SetPortRange(const TempHome& home, int first, int last);

// What one request through nginx gave.
struct Fetched {
  int status = 0;     // 0: no complete HTTP answer (see error)
  std::string body;   // the body, when the answer was complete
  std::string error;  // why it failed: connect refused, reset, truncated, …
  bool ok() const { return status == 200; }
};

// GET `path` from 127.0.0.1:port on a new TCP connection (HTTP/1.0) with
// `Host: host`. An answer whose body is shorter than its Content-Length is
// an error. Times out after `timeout_ms`. Thread-safe.
Fetched GetWithHost(int port, const std::string& host, const std::string& path = "/",
                    int timeout_ms = 5000);

// python3: serves HTTP on $WEB_HOST:$WEB_PORT from its instance folder.
// GET / answers the content of the file VERSION; GET /health answers the
// status in the file HEALTH (default 200). Threaded, large backlog. With a
// file DIE_AFTER (seconds), exits with status 1 that long after it listens.
// With a file DIE_ON_CHECK (N), the Nth GET /health gets no answer, and the
// server closes its socket and exits with status 1 0.2 s later.
extern const char* const kVersionServer;

// python3: a server on $WEB_HOST:$WEB_PORT that answers every GET with
// `body` (bytes), which the Python `prelude` computes at start (and may
// exit in).
std::string BodyServer(const std::string& prelude);

// python3, stdlib only: a FastCGI responder on the unix socket
// $FCGI_PATH/sock that answers every request "fcgi ok" (Status: 200).
extern const char* const kFcgiServer;

}  // namespace e2e
