#include "sarge/command_runner.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "sarge/lifecycle.h"

namespace sarge {
namespace {

using namespace std::chrono_literals;

TEST(CommandRunnerTest, FeedsStdinAndKeepsStdoutAndStderrApart) {
  CommandResult r = RealCommandRunner().Run({"/bin/sh", "-c", "tr a-z A-Z; echo oops >&2; exit 3"},
                                            5s, "hello\n");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.output, "HELLO\n");
  EXPECT_EQ(r.errors, "oops\n");
  EXPECT_EQ(r.Both(), "oops\nHELLO");
  EXPECT_FALSE(r.timed_out);
}

TEST(CommandRunnerTest, LargeInputAndOutputDoNotDeadlock) {
  std::string big(1 << 20, 'x');
  CommandResult r = RealCommandRunner().Run({"cat"}, 10s, big);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.output.size(), big.size());
}

TEST(CommandRunnerTest, KillsACommandThatOutlivesItsTimeout) {
  auto started = std::chrono::steady_clock::now();
  CommandResult r = RealCommandRunner().Shell("exec sleep 30", 1s);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.exit_code, 128 + 9);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
}

// A hook that starts a background process and exits 0 has finished: the
// background process holding its output open is not waited for.
TEST(CommandRunnerTest, ACommandThatLeavesABackgroundChildFinishesWhenItExits) {
  auto started = std::chrono::steady_clock::now();
  CommandResult r = RealCommandRunner().Shell("sleep 4 & echo started; echo note >&2", 10s);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.output, "started\n");
  EXPECT_EQ(r.errors, "note\n");
}

// On a timeout the command's whole process group is killed, not only the
// command: nothing it started outlives it.
// stdin from /dev/null while it lives: the runner gives a command a
// process group of its own only off a terminal.
class StdinNotATerminal {
 public:
  StdinNotATerminal() : saved_(::dup(STDIN_FILENO)) {
    int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    ::dup2(null, STDIN_FILENO);
    ::close(null);
  }
  ~StdinNotATerminal() {
    ::dup2(saved_, STDIN_FILENO);
    ::close(saved_);
  }

 private:
  int saved_;
};

TEST(CommandRunnerTest, ATimeoutKillsWhatTheCommandStartedToo) {
  StdinNotATerminal off_a_terminal;
  char dir[] = "/tmp/sarge-runner-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  std::string pid_file = std::string(dir) + "/child.pid";
  CommandResult r =
      RealCommandRunner().Shell("sleep 30 & echo $! > " + pid_file + "; sleep 30", 1s);
  EXPECT_TRUE(r.timed_out);
  std::ifstream in(pid_file);
  int child = 0;
  in >> child;
  ASSERT_GT(child, 0);
  auto deadline = std::chrono::steady_clock::now() + 5s;
  // (Killed, it may stay a zombie until its new parent reaps it.)
  while (ProbeProcess(child) == ProcessState::kRunning &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  EXPECT_NE(ProbeProcess(child), ProcessState::kRunning)
      << "the background child " << child << " still runs";
  std::filesystem::remove_all(dir);
}

TEST(CommandRunnerTest, AMissingProgramIsReported) {
  CommandResult r = RealCommandRunner().Run({"/nonexistent/program"}, 1s);
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_EQ(r.errors, "cannot start /nonexistent/program: No such file or directory");
}

}  // namespace
}  // namespace sarge
