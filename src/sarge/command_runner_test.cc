#include "sarge/command_runner.h"

#include <gtest/gtest.h>

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

TEST(CommandRunnerTest, AMissingProgramIsReported) {
  CommandResult r = RealCommandRunner().Run({"/nonexistent/program"}, 1s);
  EXPECT_EQ(r.exit_code, -1);
  EXPECT_EQ(r.errors, "cannot start /nonexistent/program: No such file or directory");
}

}  // namespace
}  // namespace sarge
