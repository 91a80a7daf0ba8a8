// sarge on a terminal: the real binary under a pseudo-terminal. `start`
// shows a live step line that ends as "✓ start ID (N ms)"; colour only on a
// terminal that wants it (NO_COLOR, TERM=dumb); `status` colours its states.
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <regex>

#include "e2e_util.h"

extern char** environ;

namespace e2e {
namespace {

// Runs sarge with its stdin, stdout and stderr on a new pseudo-terminal, 100
// columns wide, with `env` ("KEY=value") replacing or adding to this
// process's environment (an empty value: removed). Returns what the
// terminal showed, with the terminal's "\r\n" turned back into "\n".
Result RunOnTerminal(const std::vector<std::string>& args, const std::vector<std::string>& env) {
  std::vector<std::string> argv = {SARGE_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<std::string> envp;
  auto key = [](const std::string& e) { return e.substr(0, e.find('=')); };
  for (char** e = environ; *e; ++e) {
    bool replaced = false;
    for (const auto& x : env) replaced = replaced || key(x) == key(*e);
    if (!replaced) envp.push_back(*e);
  }
  for (const auto& x : env)
    if (x.back() != '=') envp.push_back(x);
  std::vector<char*> c_argv, c_envp;
  for (auto& a : argv) c_argv.push_back(a.data());
  for (auto& e : envp) c_envp.push_back(e.data());
  c_argv.push_back(nullptr);
  c_envp.push_back(nullptr);

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
  // Read until the terminal closes (EIO once the child and its children
  // have let go of it), with a bound.
  auto deadline = std::chrono::steady_clock::now() + 60s;
  char buf[4096];
  for (;;) {
    pollfd p{master, POLLIN, 0};
    if (::poll(&p, 1, 100) > 0) {
      ssize_t n = ::read(master, buf, sizeof buf);
      if (n <= 0) break;
      r.out.append(buf, static_cast<size_t>(n));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      break;
    }
  }
  ::close(master);
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = std::regex_replace(r.out, std::regex("\r\n"), "\n");
  return r;
}

std::string Escaped(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\033') {
      out += "\\e";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      out += c;
    }
  }
  return out;
}

class Terminal : public HomeTest {
 protected:
  void SetUp() override {
    HomeTest::SetUp();
    ASSERT_TRUE(home_.StartSupervisord());
    id_ = home_.New({{"application_name", "web"},
                     {"services", {{"web", {{"type", "listen"}, {"host", "127.0.0.1"}}}}}});
    ASSERT_FALSE(id_.empty());
    home_.WriteServer(id_, kHttpServer);
  }
  std::string id_;
};

const std::vector<std::string> kColourTerminal = {"TERM=xterm-256color", "LANG=C.UTF-8",
                                                  "LC_ALL=", "NO_COLOR="};

TEST_F(Terminal, StartShowsALiveStepThatEndsWithATick) {
  Result r = RunOnTerminal({home_.str(), "start", id_}, kColourTerminal);
  ASSERT_EQ(r.exit_code, 0) << Escaped(r.out);
  const std::string pid = std::to_string(ReadNumber(home_ / id_ / "server.pid"));
  // The live line first (spinner, label, time so far), then the note above
  // it, then the live line replaced by the result.
  const std::string live = "\033\\[36m(⠋|⠙|⠹|⠸|⠼|⠴|⠦|⠧|⠇|⠏)\033\\[0m start " + id_ +
                           "  \033\\[2m[0-9]+\\.[0-9]s\033\\[0m";
  EXPECT_TRUE(std::regex_match(
      r.out, std::regex(live + "(\r\033\\[K" + live + ")*" + "\r\033\\[Ksarge: started " + id_ +
                        " \\(pid " + pid + "\\)\n" + live + "(\r\033\\[K" + live + ")*" +
                        "\r\033\\[K\033\\[32m✓\033\\[0m start " + id_ +
                        " \033\\[2m\\([0-9]+ ms\\)\033\\[0m\n")))
      << Escaped(r.out);
}

TEST_F(Terminal, NoColourWithNoColorAndNoLiveLineOnADumbTerminal) {
  Result r = RunOnTerminal({home_.str(), "start", id_},
                           {"TERM=xterm", "LANG=C.UTF-8", "LC_ALL=", "NO_COLOR=1"});
  ASSERT_EQ(r.exit_code, 0) << Escaped(r.out);
  EXPECT_EQ(r.out.find("\033["), r.out.find("\033[K")) << "colour despite NO_COLOR\n"
                                                       << Escaped(r.out);
  EXPECT_TRUE(
      std::regex_search(r.out, std::regex("\r\033\\[K✓ start " + id_ + " \\([0-9]+ ms\\)\n$")))
      << Escaped(r.out);
  ASSERT_EQ(home_.Sarge({"stop", id_}).exit_code, 0);

  r = RunOnTerminal({home_.str(), "start", id_}, {"TERM=dumb", "LANG=C.UTF-8", "LC_ALL="});
  ASSERT_EQ(r.exit_code, 0) << Escaped(r.out);
  const std::string pid = std::to_string(ReadNumber(home_ / id_ / "server.pid"));
  EXPECT_EQ(r.out, "sarge: started " + id_ + " (pid " + pid + ")\n");
}

TEST_F(Terminal, AsciiMarksOutsideAUtf8Locale) {
  Result r = RunOnTerminal({home_.str(), "start", id_},
                           {"TERM=xterm", "LANG=C", "LC_ALL=", "LC_CTYPE=", "NO_COLOR=1"});
  ASSERT_EQ(r.exit_code, 0) << Escaped(r.out);
  EXPECT_TRUE(
      std::regex_search(r.out, std::regex("\r\033\\[Kok start " + id_ + " \\([0-9]+ ms\\)\n$")))
      << Escaped(r.out);
  EXPECT_EQ(r.out.find("\xe2"), std::string::npos) << Escaped(r.out);
}

TEST_F(Terminal, AFailedStartIsMarkedBeforeTheError) {
  home_.WriteServer(id_, kExitAtOnceServer);
  Result r = RunOnTerminal({home_.str(), "start", id_}, kColourTerminal);
  EXPECT_EQ(r.exit_code, 1) << Escaped(r.out);
  EXPECT_TRUE(std::regex_search(r.out, std::regex("\r\033\\[K\033\\[31m✗\033\\[0m start " + id_ +
                                                  " \033\\[2m\\([0-9]+ ms\\)\033\\[0m\nsarge: "
                                                  "error: " +
                                                  id_ + " did not start: ")))
      << Escaped(r.out);
}

TEST_F(Terminal, StatusColoursTheStateOnlyOnATerminal) {
  ASSERT_EQ(home_.Sarge({"start", id_}).exit_code, 0);
  ASSERT_TRUE(WaitFor([&] { return home_.ProgramState(id_) == "RUNNING"; }, 5s));
  Result r = RunOnTerminal({home_.str(), "status"}, kColourTerminal);
  ASSERT_EQ(r.exit_code, 0) << Escaped(r.out);
  EXPECT_NE(r.out.find("\033[1mID"), std::string::npos) << Escaped(r.out);
  EXPECT_NE(r.out.find("\033[32mRUNNING"), std::string::npos) << Escaped(r.out);
  r = RunOnTerminal({home_.str(), "status"}, {"TERM=xterm", "NO_COLOR=1"});
  EXPECT_EQ(r.out.find('\033'), std::string::npos) << Escaped(r.out);
  EXPECT_NE(r.out.find("RUNNING"), std::string::npos) << Escaped(r.out);
}

}  // namespace
}  // namespace e2e
