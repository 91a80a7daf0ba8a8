#include "sarge/orphans.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "sarge/fs.h"
#include "sarge/process.h"
#include "sarge/test_util.h"

namespace sarge {
namespace {

using namespace std::chrono_literals;

class OrphansTest : public ::testing::Test {
 protected:
  OrphansTest() { MakeDirs(temp_.home.RuntimeDir(kId)); }
  static constexpr const char* kId = "web-abcdef";
  testing::TempHome temp_;
};

// This process stands for the server: it runs from the instance's folder
// while a test needs it to.
class InInstanceFolder {
 public:
  explicit InInstanceFolder(const fs::path& dir) : back_(fs::current_path()) {
    MakeDirs(dir);
    fs::current_path(dir);
  }
  ~InInstanceFolder() { fs::current_path(back_); }

 private:
  fs::path back_;
};

TEST_F(OrphansTest, ARememberedLiveServerIsFound) {
  InInstanceFolder here(temp_.home.InstanceDir(kId));
  RememberServer(temp_.home, kId);
  EXPECT_EQ(LiveServer(temp_.home, kId), static_cast<int>(::getpid()));
}

// server.pid is in a folder the server can write: a process that runs from
// elsewhere (the app wrote another process's pid and start time there) is
// never taken for the server, so never stopped.
TEST_F(OrphansTest, AProcessThatRunsFromAnotherFolderIsNotTheServer) {
  RememberServer(temp_.home, kId);
  EXPECT_EQ(LiveServer(temp_.home, kId), std::nullopt);
}

TEST_F(OrphansTest, AReusedPidIsNotTakenForTheServer) {
  InInstanceFolder here(temp_.home.InstanceDir(kId));
  RememberServer(temp_.home, kId);
  std::string text = ReadFile(ServerPidFile(temp_.home, kId));
  // The same pid with another start time: a process that came later.
  WriteFileAtomic(ServerPidFile(temp_.home, kId),
                  text.substr(0, text.find(' ')) + " 1" + text.substr(text.find(' ') + 1));
  EXPECT_EQ(LiveServer(temp_.home, kId), std::nullopt);
}

TEST_F(OrphansTest, MissingOrMalformedFilesFindNothing) {
  EXPECT_EQ(LiveServer(temp_.home, kId), std::nullopt);
  for (const char* text : {"", "x y\n", "0 5\n", "1 5\n", "123\n", "-5 7\n"}) {
    WriteFileAtomic(ServerPidFile(temp_.home, kId), text);
    EXPECT_EQ(LiveServer(temp_.home, kId), std::nullopt) << text;
  }
}

TEST_F(OrphansTest, DescendsFromFollowsParents) {
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  EXPECT_TRUE(DescendsFrom(child, ::getpid()));
  EXPECT_TRUE(DescendsFrom(child, child));
  EXPECT_FALSE(DescendsFrom(::getpid(), child));
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
}

TEST_F(OrphansTest, StopOrphanEndsTheProcessAndAZombieCountsAsGone) {
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::setpgid(0, 0);
    ::pause();
    ::_exit(0);
  }
  ::setpgid(child, child);
  ASSERT_EQ(ProbeProcess(child), ProcessState::kRunning);
  // Not reaped until after StopOrphan: it stays a zombie meanwhile.
  testing::FakeWorld w;
  Env env{w.home(), {}, w.supervisor, RealClock(), w.runner, RealSystem(), w.progress};
  StopOrphan(env, child, 2s);
  EXPECT_EQ(ProbeProcess(child), ProcessState::kExited);  // a zombie
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
}

// What a daemon leaves: a process from the instance's folder whose parent
// exited (so neither supervisord's nor this process's descendant).
TEST_F(OrphansTest, AStrayStartedSinceIsFoundUntilItEnds) {
  const fs::path dir = temp_.home.InstanceDir(kId);
  MakeDirs(dir);
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  pid_t parent = ::fork();
  ASSERT_GE(parent, 0);
  if (parent == 0) {
    if (::fork() == 0) {
      if (::chdir(dir.c_str()) != 0) ::_exit(1);
      pid_t self = ::getpid();
      (void)!::write(pipe_fds[1], &self, sizeof self);
      ::pause();
    }
    ::_exit(0);
  }
  ::waitpid(parent, nullptr, 0);
  pid_t stray = 0;
  ASSERT_EQ(::read(pipe_fds[0], &stray, sizeof stray), static_cast<ssize_t>(sizeof stray));
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
  auto started = ReadProcStat(stray);
  ASSERT_TRUE(started);
  // The child chdirs before it writes its pid: it runs from `dir` now.
  EXPECT_EQ(StraysStartedSince(dir, 0, started->start_ticks), std::vector<int>{stray});
  EXPECT_EQ(StraysStartedSince(dir, 0, started->start_ticks + 1), std::vector<int>{});
  EXPECT_EQ(StraysStartedSince(temp_.home.InstanceDir("web-other1"), 0, 0), std::vector<int>{});
  // A process of supervisord's (here: taken for it) is not a stray.
  EXPECT_EQ(StraysStartedSince(dir, stray, 0), std::vector<int>{});
  ::kill(stray, SIGKILL);
  for (int i = 0; i < 200 && ProbeProcess(stray) == ProcessState::kRunning; ++i) ::usleep(10000);
  EXPECT_EQ(StraysStartedSince(dir, 0, 0), std::vector<int>{});
}

}  // namespace
}  // namespace sarge
