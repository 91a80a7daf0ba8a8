#include "sarge/command_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "sarge/fs.h"
#include "sarge/interrupt.h"

extern char** environ;

namespace sarge {
namespace {

// Reads what is in `fd` now, without waiting; false once it is closed.
bool Drain(const Fd& fd, std::string& sink) {
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n > 0) {
      sink.append(buf, static_cast<size_t>(n));
      continue;
    }
    return n < 0 && (errno == EAGAIN || errno == EINTR);
  }
}

// Feeds `input` to fds[0] (the child's stdin) and collects fds[1] (stdout)
// and fds[2] (stderr) until the child exits (`exited`, a pidfd, becomes
// readable; without one, until both outputs close), or the deadline passes. Output the child
// left in the pipes is read once it has exited; a background process it
// started and that holds the pipes open is not waited for. A noted
// interrupt (interrupt.h) throws Interrupted.
bool Pump(Fd fds[3], const Fd& exited, const std::string& input, CommandResult& result,
          std::chrono::steady_clock::time_point deadline) {
  size_t written = 0;
  if (input.empty()) fds[0] = Fd();
  std::string* sinks[3] = {nullptr, &result.output, &result.errors};
  while (fds[1].valid() || fds[2].valid() || exited.valid()) {
    ThrowIfInterrupted();  // noted before poll was entered
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p[4];
    for (int i = 0; i < 3; ++i)
      p[i] = {fds[i].valid() ? fds[i].get() : -1, static_cast<short>(i ? POLLIN : POLLOUT), 0};
    p[3] = {exited.get(), POLLIN, 0};
    if (::poll(p, 4, static_cast<int>(left.count())) < 0) {
      if (errno != EINTR) return false;
      ThrowIfInterrupted();
      continue;
    }
    if (p[0].revents) {
      ssize_t n = ::write(fds[0].get(), input.data() + written, input.size() - written);
      if (n > 0) written += static_cast<size_t>(n);
      if (n < 0 || written == input.size()) fds[0] = Fd();  // EOF for the child (or EPIPE)
    }
    for (int i = 1; i < 3; ++i)
      if (p[i].revents && !Drain(fds[i], *sinks[i])) fds[i] = Fd();
    if (p[3].revents) {
      for (int i = 1; i < 3; ++i)
        if (fds[i].valid()) Drain(fds[i], *sinks[i]);
      return true;
    }
  }
  return true;
}

class SpawningRunner : public CommandRunner {
 public:
  CommandResult Run(const std::vector<std::string>& argv, std::chrono::seconds timeout,
                    const std::string& input) override {
    CommandResult result;
    Fd ours[3], theirs[3];
    for (int i = 0; i < 3; ++i) {
      int p[2];
      if (::pipe2(p, O_CLOEXEC) != 0) return Failed(argv, "pipe");
      // stdin: the child reads p[0]; stdout/stderr: the child writes p[1].
      ours[i] = Fd(i == 0 ? p[1] : p[0]);
      theirs[i] = Fd(i == 0 ? p[0] : p[1]);
      ::fcntl(ours[i].get(), F_SETFL, O_NONBLOCK);
    }
    // Its own process group, so that a timeout ends what it started too;
    // not on a terminal, where a group of its own would be a background one
    // (a `sudo` there could not ask for its password).
    bool own_group = ::isatty(STDIN_FILENO) == 0;
    pid_t pid;
    int rc = Spawn(argv, theirs, own_group, pid);
    for (auto& fd : theirs) fd = Fd();
    if (rc != 0) {
      errno = rc;
      return Failed(argv, "start");
    }
    Fd exited(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    bool finished = false;
    try {
      finished = Pump(ours, exited, input, result, std::chrono::steady_clock::now() + timeout);
    } catch (const Interrupted&) {
      Reap(pid, own_group ? -pid : pid);
      throw;
    }
    result.timed_out = !finished;
    int status = Reap(pid, finished ? 0 : own_group ? -pid : pid);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return result;
  }

 private:
  // Spawns argv (looked up in PATH) with `theirs` as its stdin, stdout and
  // stderr, the signals sarge handles or ignores back to their defaults, in
  // a process group of its own if `own_group`. Returns posix_spawnp's error.
  static int Spawn(const std::vector<std::string>& argv, const Fd (&theirs)[3], bool own_group,
                   pid_t& pid) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    for (int i = 0; i < 3; ++i) posix_spawn_file_actions_adddup2(&actions, theirs[i].get(), i);
    std::vector<std::string> copy = argv;
    std::vector<char*> args;
    for (auto& a : copy) args.push_back(a.data());
    args.push_back(nullptr);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);  // main() ignores it; the child should not
    for (int signal : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&defaults, signal);  // interrupt.h
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr,
                             POSIX_SPAWN_SETSIGDEF | (own_group ? POSIX_SPAWN_SETPGROUP : 0));
    int rc = ::posix_spawnp(&pid, args[0], &actions, &attr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    return rc;
  }

  // Waits for the child `pid`, after killing `kill` (its process group, or
  // itself) unless 0; returns its wait status.
  static int Reap(pid_t pid, pid_t kill) {
    if (kill != 0) ::kill(kill, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
  }

  static CommandResult Failed(const std::vector<std::string>& argv, const char* what) {
    CommandResult r;
    r.exit_code = -1;
    r.errors = fmt::format("cannot {} {}: {}", what, argv[0], std::strerror(errno));
    return r;
  }
};

}  // namespace

std::string CommandResult::Both() const {
  std::string out = errors;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  std::string rest = output;
  while (!rest.empty() && rest.back() == '\n') rest.pop_back();
  if (!out.empty() && !rest.empty()) out += '\n';
  return out + rest;
}

CommandRunner& RealCommandRunner() {
  static SpawningRunner runner;
  return runner;
}

}  // namespace sarge
