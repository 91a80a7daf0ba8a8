// start and stop on the real supervisord: failures reported with the
// server's output and left stopped, readiness timeouts, whole process groups
// stopped.
#include <signal.h>

#include <fstream>
#include <regex>
#include <thread>

#include "e2e_util.h"

namespace e2e {
namespace {

using Clock = std::chrono::steady_clock;

class StartStop : public HomeTest {
 protected:
  void SetUp() override {
    HomeTest::SetUp();
    ASSERT_TRUE(home_.StartSupervisord());
  }

  // What supervisord itself says, and `sarge list` agrees with. The two
  // are asked one after the other, so a state that changes in between (a
  // STARTING that becomes RUNNING after startsecs) is asked again.
  std::string State(const std::string& id) {
    std::string state;
    json entry;
    for (int attempt = 0; attempt < 5; ++attempt) {
      state = home_.ProgramState(id);
      if (state == "(fault)") state = "STOPPED";  // never loaded: not running either
      entry = home_.ListEntry(id);
      if (entry["state"] == state) break;
      std::this_thread::sleep_for(50ms);
    }
    EXPECT_EQ(entry["state"], state) << entry.dump();
    return state;
  }

  // A new instance of `app` running `code`, started; once its server has
  // written the pids of its child and of itself (child.pid, server.pid in
  // its folder), its id. Empty, having failed the test, if not.
  std::string StartWithPids(const std::string& app, const char* code, pid_t& child, pid_t& server) {
    const std::string id = home_.New({{"application_name", app}});
    home_.WriteServer(id, code);
    Result r = home_.Sarge({"start", id});
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
    bool written = WaitFor(
        [&] {
          child = static_cast<pid_t>(ReadNumber(home_ / id / "child.pid"));
          server = static_cast<pid_t>(ReadNumber(home_ / id / "server.pid"));
          return child > 0 && server > 0;
        },
        5s);
    EXPECT_TRUE(written && r.exit_code == 0) << "no pids from " << id;
    return written && r.exit_code == 0 ? id : "";
  }
};

size_t Count(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

TEST_F(StartStop, FailsWhenServerIsMissing) {
  const std::string id = home_.New({{"application_name", "web"}});
  Result r = home_.Sarge({"start", id});
  EXPECT_EQ(r.exit_code, 1);
  const std::string server = home_.str() + "/" + id + "/server";
  EXPECT_EQ(r.err, "sarge: error: " + server +
                       " does not exist; put the application's executable there\n");
  EXPECT_EQ(State(id), "STOPPED");
}

TEST_F(StartStop, FailsWhenServerIsNotExecutable) {
  const std::string id = home_.New({{"application_name", "web"}});
  home_.WriteServer(id, kHttpServer, 0644);
  Result r = home_.Sarge({"start", id});
  EXPECT_EQ(r.exit_code, 1);
  const std::string server = home_.str() + "/" + id + "/server";
  EXPECT_EQ(r.err,
            "sarge: error: " + server + " is not executable; run: chmod +x " + server + "\n");
  EXPECT_EQ(State(id), "STOPPED");
}

TEST_F(StartStop, ServerThatExitsAtOnceFailsWithItsOutputAndIsNotRetried) {
  const std::string id = home_.New({{"application_name", "crash"}});
  home_.WriteServer(id, kExitAtOnceServer);
  auto t0 = Clock::now();
  Result r = home_.Sarge({"start", id});
  EXPECT_LT(Clock::now() - t0, 10s);
  EXPECT_EQ(r.exit_code, 1);
  std::vector<std::string> lines = Lines(r.err);
  ASSERT_FALSE(lines.empty()) << Describe(r);
  EXPECT_TRUE(std::regex_match(
      lines[0], std::regex("sarge: error: " + id + " did not start: .+; it is stopped")))
      << lines[0];
  const std::string log = home_.str() + "/var/log/" + id + ".log";
  EXPECT_NE(r.err.find("\nlast lines of " + log +
                       ":\nstarting up\nfatal: cannot open the database\ngiving up with "
                       "status 3\n"),
            std::string::npos)
      << r.err;

  // Left STOPPED, and supervisord does not try again.
  EXPECT_EQ(State(id), "STOPPED");
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(State(id), "STOPPED");
  EXPECT_EQ(Count(ReadFile(log), "starting up"), 1u) << ReadFile(log);

  // The failed start left nothing for `check` (its program stays loaded,
  // stopped, so `status` says why), nor does an operator's habitual
  // `supervisorctl update`, which loads every program.
  Result check = home_.Sarge({"check"});
  EXPECT_EQ(check.exit_code, 0) << Describe(check);
  EXPECT_EQ(check.out, "");
  Result update = RunProgram({(home_ / "bin/supervisorctl").string(), "update"});
  EXPECT_EQ(update.exit_code, 0) << Describe(update);
  check = home_.Sarge({"check"});
  EXPECT_EQ(check.exit_code, 0) << Describe(check);
  EXPECT_EQ(check.out, "");
}

// A server's output shown under an error is escaped: a title-setting or
// screen-clearing sequence it prints does not reach the operator's terminal.
TEST_F(StartStop, TheLogTailUnderAnErrorIsEscaped) {
  const std::string id = home_.New({{"application_name", "web"}});
  home_.WriteServer(id, "#!/bin/sh\nprintf 'boom\\033]2;pwned\\007\\033[2J\\n'\nexit 3\n");
  Result r = home_.Sarge({"start", id});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_EQ(r.err.find('\033'), std::string::npos) << Describe(r);
  EXPECT_NE(r.err.find("\nboom\\x1b]2;pwned\\x07\\x1b[2J\n"), std::string::npos) << r.err;
}

// A will-start hook that leaves a background process behind and exits 0
// has succeeded: the start does not wait for what it left (which holds its
// output open), nor call it timed out.
TEST_F(StartStop, AHookThatLeavesABackgroundChildDoesNotHoldTheStart) {
  const fs::path hook = home_ / "etc/hook-bg";
  WriteFile(hook,
            "#!/bin/sh\nsleep 20 &\necho $! > " + (home_ / "hook-child.pid").string() +
                "\necho started a helper\nexit 0\n",
            0755);
  {
    std::ofstream out(home_ / "etc/sarge.yaml", std::ios::app);
    out << "\nhooks:\n  timeout: 10\n  will-start: " << hook.string() << "\n";
  }
  const std::string id = home_.New({{"application_name", "web"}});
  home_.WriteServer(id, kSilentServer);
  auto t0 = Clock::now();
  Result r = home_.Sarge({"start", id, "--min-uptime", "0"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_LT(Clock::now() - t0, 8s);
  const pid_t child = static_cast<pid_t>(ReadNumber(home_ / "hook-child.pid"));
  if (child > 0 && PidAlive(child)) ::kill(child, SIGKILL);  // leave nothing behind
}

TEST_F(StartStop, ListenServerThatNeverOpensItsPortTimesOutAndIsStopped) {
  const std::string id =
      home_.New({{"application_name", "mute"}, {"services", {{"web", {{"type", "listen"}}}}}});
  home_.WriteServer(id, kSilentServer);
  auto t0 = Clock::now();
  Result r = home_.Sarge({"start", "--timeout", "2", id});
  auto elapsed = Clock::now() - t0;
  EXPECT_GE(elapsed, 2s);
  EXPECT_LT(elapsed, 8s);
  EXPECT_EQ(r.exit_code, 1);
  const int port = home_.AppCfg(id)["WEB_PORT"];
  std::vector<std::string> lines = Lines(r.err);
  ASSERT_FALSE(lines.empty()) << Describe(r);
  EXPECT_EQ(lines[0], "sarge: error: " + id + " did not start: nothing accepts connections on " +
                          "127.0.0.1:" + std::to_string(port) + " after 2 s; it is stopped");
  EXPECT_EQ(State(id), "STOPPED");
  const pid_t pid = static_cast<pid_t>(ReadNumber(home_ / id / "server.pid"));
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(WaitFor([&] { return !PidAlive(pid); }, 5s)) << "server " << pid << " survived";
}

TEST_F(StartStop, StartFailsWhenItsExplicitPortIsTaken) {
  const int port = FreePort();
  Listener taken(port);
  ASSERT_TRUE(taken.ok());
  const std::string id = home_.New({{"services", {{"web", {{"type", "listen"}, {"port", port}}}}}});
  home_.WriteServer(id, kHttpServer);
  Result r = home_.Sarge({"start", id});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "sarge: error: cannot start " + id + ": port " + std::to_string(port) +
                       " on 127.0.0.1 is already in use by another process; stop it, or leave "
                       "the port out of the configuration so sarge picks one\n");
  EXPECT_EQ(State(id), "STOPPED");
}

TEST_F(StartStop, StartWhenRunningAndStopWhenStoppedAreHarmless) {
  const std::string id = home_.New({{"services", {{"web", {{"type", "listen"}}}}}});
  home_.WriteServer(id, kHttpServer);
  ASSERT_EQ(home_.Sarge({"start", id}).exit_code, 0);
  const long pid = ReadNumber(home_ / id / "server.pid");
  ASSERT_TRUE(WaitFor([&] { return State(id) == "RUNNING"; }, 5s, 100ms));
  Result r = home_.Sarge({"start", id});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.err, "sarge: " + id + " is already running (pid " + std::to_string(pid) + ")\n");
  // The action log notes the start that started it, not the one that did not.
  const std::string log = ReadFile(home_ / "var/log/sarge.log");
  EXPECT_EQ(Count(log, ": start " + id + " (pid "), 1u) << log;
  r = home_.Sarge({"stop", id});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.err, "sarge: stopped " + id + "\n");
  r = home_.Sarge({"stop", id});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.err, "sarge: " + id + " was not running\n");
}

// supervisord keeps only running (or failed) instances loaded: every
// loaded program costs each pass of its main loop.
TEST_F(StartStop, StopUnloadsTheProgramAndStartLoadsItAgain) {
  const std::string id = home_.New({{"services", {{"web", {{"type", "listen"}}}}}});
  home_.WriteServer(id, kHttpServer);
  ASSERT_EQ(home_.Sarge({"start", id}).exit_code, 0);
  EXPECT_EQ(home_.ProgramNames(), std::vector<std::string>{id});
  ASSERT_EQ(home_.Sarge({"stop", id}).exit_code, 0);
  EXPECT_EQ(home_.ProgramNames(), std::vector<std::string>{});
  EXPECT_EQ(home_.ListEntry(id)["state"], "STOPPED");
  Result r = home_.Sarge({"start", id});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_TRUE(Accepts("127.0.0.1", home_.AppCfg(id)["WEB_PORT"]));
  EXPECT_EQ(home_.ProgramNames(), std::vector<std::string>{id});
  // The supervisord configuration on disk includes every program again.
  EXPECT_NE(ReadFile(home_ / "etc/supervisord.conf")
                .find("files = " + home_.str() + "/etc/supervisor.d/*.conf\n"),
            std::string::npos);
}

TEST_F(StartStop, StopKillsTheWholeProcessGroup) {
  pid_t child = 0, server = 0;
  const std::string id = StartWithPids("spawner", kSpawningServer, child, server);
  ASSERT_FALSE(id.empty());
  EXPECT_TRUE(PidAlive(child));
  Result r = home_.Sarge({"stop", id});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_TRUE(WaitFor([&] { return !PidAlive(server); }, 5s)) << "server " << server;
  EXPECT_TRUE(WaitFor([&] { return !PidAlive(child); }, 5s)) << "orphan child " << child;
}

TEST_F(StartStop, StopKillsAServerThatIgnoresSigterm) {
  pid_t child = 0, server = 0;
  const std::string id = StartWithPids("deaf", kDeafServer, child, server);
  ASSERT_FALSE(id.empty());
  auto t0 = Clock::now();
  Result r = home_.Sarge({"stop", id});
  EXPECT_LT(Clock::now() - t0, 20s);
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_TRUE(WaitFor([&] { return !PidAlive(server) && !PidAlive(child); }, 5s))
      << "server " << server << " or child " << child << " survived";
  EXPECT_EQ(State(id), "STOPPED");
}

TEST_F(StartStop, DestroyStopsARunningInstanceAndItsChildren) {
  const std::string id = home_.New({{"application_name", "spawner"}});
  home_.WriteServer(id, kSpawningServer);
  ASSERT_EQ(home_.Sarge({"start", id}).exit_code, 0);
  pid_t child = 0;
  ASSERT_TRUE(WaitFor(
      [&] { return (child = static_cast<pid_t>(ReadNumber(home_ / id / "child.pid"))) > 0; }, 5s));
  Result r = home_.Sarge({"destroy", id});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_TRUE(WaitFor([&] { return !PidAlive(child); }, 5s)) << "orphan child " << child;
  EXPECT_FALSE(fs::exists(home_ / id));
  EXPECT_EQ(home_.ProgramNames(), std::vector<std::string>{});
}

}  // namespace
}  // namespace e2e

namespace e2e {
namespace {

// supervisord re-reads every included file on reloadConfig and fails for all
// if one is unreadable; sarge has it read only the started instance's file.
TEST_F(StartStop, ABrokenProgramFileOfOneInstanceDoesNotBlockOthers) {
  const std::string first = home_.New({{"application_name", "web"}});
  home_.WriteServer(first, kSilentServer);
  ASSERT_EQ(home_.Sarge({"start", first}).exit_code, 0);
  ASSERT_EQ(home_.Sarge({"stop", first}).exit_code, 0);
  WriteFile(home_ / ("etc/supervisor.d/" + first + ".conf"), "[program:broken\nthis is not ini\n");

  const std::string second = home_.New({{"application_name", "web"}});
  home_.WriteServer(second, kSilentServer);
  Result r = home_.Sarge({"start", second});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(home_.ProgramState(second), "RUNNING");
  // The full include is back in place.
  EXPECT_NE(ReadFile(home_ / "etc/supervisord.conf").find("/etc/supervisor.d/*.conf\n"),
            std::string::npos);
  EXPECT_EQ(home_.Sarge({"stop", second}).exit_code, 0);
}

}  // namespace
}  // namespace e2e
