#include "sarge/process.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "sarge/fs.h"

namespace sarge {
namespace {

TEST(ProcStatTest, FieldsAreCountedFromTheLastParenthesis) {
  auto stat = ParseProcStat(
      "77 (a) Z (b) S 12 77 77 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 100 "
      "18446744073709551615\n");
  ASSERT_TRUE(stat);
  EXPECT_EQ(stat->state, 'S');
  EXPECT_EQ(stat->parent, 12);
  EXPECT_EQ(stat->start_ticks, 987654u);
  EXPECT_FALSE(ParseProcStat("77 (a) S 12"));
  EXPECT_FALSE(ParseProcStat("77 (a S 12 77 77 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654"));
  EXPECT_FALSE(ParseProcStat(""));
}

TEST(ProcStatTest, ReadsThisProcessAndItsChildren) {
  auto self = ReadProcStat(::getpid());
  ASSERT_TRUE(self);
  EXPECT_EQ(self->parent, ::getppid());
  EXPECT_GT(self->start_ticks, 0u);
  EXPECT_FALSE(ReadProcStat(0));
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::alarm(30);  // whatever becomes of the test
    ::pause();
    ::_exit(0);
  }
  EXPECT_EQ(ChildrenOf(::getpid()), std::set<int>{child});
  EXPECT_TRUE(PidExists(child));
  ::kill(child, SIGKILL);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
  EXPECT_FALSE(PidExists(child));
  EXPECT_TRUE(ChildrenOf(::getpid()).empty());
}

TEST(ProcessProbeTest, AnExitedChildIsAZombieUntilReaped) {
  EXPECT_EQ(ProbeProcess(::getpid()), ProcessState::kRunning);
  EXPECT_EQ(ProbeProcess(0), ProcessState::kGone);
  EXPECT_EQ(ProbeProcess(-1), ProcessState::kGone);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) ::_exit(0);
  // Waits for the child to exit without reaping it.
  siginfo_t info{};
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT), 0);
  EXPECT_EQ(ProbeProcess(child), ProcessState::kExited);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
  EXPECT_EQ(ProbeProcess(child), ProcessState::kGone);
}

// A command name with spaces and parentheses does not fool the parse.
TEST(ProcessProbeTest, ACommandNameWithParenthesesIsParsed) {
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::alarm(30);  // whatever becomes of the test
    ::prctl(PR_SET_NAME, "a) Z (b");
    (void)!::write(ready[1], "!", 1);
    ::pause();
    ::_exit(0);
  }
  ::close(ready[1]);
  char byte;
  EXPECT_EQ(::read(ready[0], &byte, 1), 1);  // renamed
  ::close(ready[0]);
  EXPECT_EQ(ReadFile(fmt::format("/proc/{}/comm", child)), "a) Z (b\n");
  EXPECT_EQ(ProbeProcess(child), ProcessState::kRunning);
  ::kill(child, SIGKILL);
  siginfo_t info{};
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT), 0);
  EXPECT_EQ(ProbeProcess(child), ProcessState::kExited);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
}

}  // namespace
}  // namespace sarge
