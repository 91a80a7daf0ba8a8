#include "sarge/command_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "sarge/fs.h"

extern char** environ;

namespace sarge {
namespace {

// Feeds `input` to fds[0] (the child's stdin) and collects fds[1] (stdout)
// and fds[2] (stderr) until both close or the deadline passes.
bool Pump(Fd fds[3], const std::string& input, CommandResult& result,
          std::chrono::steady_clock::time_point deadline) {
  size_t written = 0;
  if (input.empty()) fds[0] = Fd();
  std::string* sinks[3] = {nullptr, &result.output, &result.errors};
  char buf[4096];
  while (fds[1].valid() || fds[2].valid()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p[3];
    for (int i = 0; i < 3; ++i)
      p[i] = {fds[i].valid() ? fds[i].get() : -1, static_cast<short>(i ? POLLIN : POLLOUT), 0};
    if (::poll(p, 3, static_cast<int>(left.count())) < 0 && errno != EINTR) return false;
    if (p[0].revents) {
      ssize_t n = ::write(fds[0].get(), input.data() + written, input.size() - written);
      if (n > 0) written += static_cast<size_t>(n);
      if (n < 0 || written == input.size()) fds[0] = Fd();  // EOF for the child (or EPIPE)
    }
    for (int i = 1; i < 3; ++i) {
      if (!p[i].revents) continue;
      ssize_t n = ::read(fds[i].get(), buf, sizeof buf);
      if (n > 0)
        sinks[i]->append(buf, static_cast<size_t>(n));
      else if (n == 0 || errno != EINTR)
        fds[i] = Fd();
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
    }
    ::fcntl(ours[0].get(), F_SETFL, O_NONBLOCK);
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
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
    pid_t pid;
    int rc = ::posix_spawnp(&pid, args[0], &actions, &attr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    for (auto& fd : theirs) fd = Fd();
    if (rc != 0) {
      errno = rc;
      return Failed(argv, "start");
    }
    if (!Pump(ours, input, result, std::chrono::steady_clock::now() + timeout)) {
      ::kill(pid, SIGKILL);
      result.timed_out = true;
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return result;
  }

 private:
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
