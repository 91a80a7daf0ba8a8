// After supervisord stops (a reboot), bin/supervisord brings back the
// instances that were running and leaves the stopped ones stopped.
#include <csignal>

#include <fmt/format.h>

#include "e2e_util.h"

namespace e2e {
namespace {

class Boot : public HomeTest {
 protected:
  // Starts a server for each of `ids`, then kills supervisord with SIGKILL;
  // `orphans` gets the servers it leaves running, in the order of `ids`.
  void StartThenKillSupervisord(const std::vector<std::string>& ids, std::vector<pid_t>& orphans) {
    for (const auto& id : ids) {
      home_.WriteServer(id, kHttpServer);
      ASSERT_EQ(home_.Sarge({"start", id, "--min-uptime", "0"}).exit_code, 0);
      orphans.push_back(static_cast<pid_t>(ReadNumber(home_ / id / "server.pid")));
    }
    killed_ = home_.supervisord_pid();
    ASSERT_EQ(::kill(killed_, SIGKILL), 0);
    ASSERT_TRUE(WaitFor([&] { return !PidAlive(killed_); }, 5s));
  }

  // check fails and names each orphan with the command that stops it.
  void ExpectCheckReportsOrphans(const std::vector<std::string>& ids,
                                 const std::vector<pid_t>& orphans) {
    Result check = home_.Sarge({"check"});
    EXPECT_EQ(check.exit_code, 1) << Describe(check);
    for (size_t i = 0; i < ids.size(); ++i)
      EXPECT_NE(
          check.out.find("problem: " + ids[i] + "'s server (pid " + std::to_string(orphans[i]) +
                         ") runs without supervisord behind it (a supervisord that died left "
                         "it); `sarge " +
                         home_.str() + " stop " + ids[i] + "` stops it\n"),
          std::string::npos)
          << check.out;
  }

  // Kills what is left: the orphans, and the supervisord started by hand
  // (the home's destructor stops the one it started, by pid; this one has
  // the pid file).
  void LeaveNothingBehind(const std::vector<pid_t>& orphans) {
    for (pid_t orphan : orphans)
      if (PidAlive(orphan)) ::kill(orphan, SIGKILL);
    pid_t second = static_cast<pid_t>(ReadNumber(home_ / "var/run/supervisord.pid"));
    if (second > 0 && second != killed_) {
      ::kill(second, SIGTERM);
      WaitFor([&] { return !PidAlive(second); }, 10s);
    }
  }

  pid_t killed_ = 0;  // the supervisord StartThenKillSupervisord killed
};

TEST_F(Boot, BinSupervisordResumesWhatWasRunningAndOnlyThat) {
  ASSERT_TRUE(home_.StartSupervisord());
  const json config = {{"application_name", "web"}, {"services", {{"web", {{"type", "listen"}}}}}};
  const std::string running = home_.New(config);
  const std::string stopped = home_.New(config);
  for (const auto& id : {running, stopped}) {
    home_.WriteServer(id, kHttpServer);
    ASSERT_EQ(home_.Sarge({"start", id}).exit_code, 0);
  }
  ASSERT_EQ(home_.Sarge({"stop", stopped}).exit_code, 0);
  const int port = home_.AppCfg(running)["WEB_PORT"];

  ASSERT_TRUE(home_.StopSupervisord());
  ASSERT_TRUE(WaitFor([&] { return !Accepts("127.0.0.1", port); }, 5s));

  ASSERT_TRUE(home_.StartSupervisord());  // runs bin/supervisord, which resumes
  EXPECT_TRUE(Accepts("127.0.0.1", port));
  // supervisord says STARTING until its startsecs (1 s) pass.
  EXPECT_TRUE(WaitFor([&] { return home_.ProgramState(running) == "RUNNING"; }, 3s));
  EXPECT_EQ(home_.ListEntry(stopped)["state"], "STOPPED");
  EXPECT_NE(ReadFile(home_ / "var/log/sarge.log").find("resume (0 failed)"), std::string::npos);
  // supervisord loaded every program file at its start; resume unloaded
  // the stopped one.
  EXPECT_EQ(home_.ProgramNames(), std::vector<std::string>{running});
}

// supervisord killed (kill -9, the OOM killer) leaves its programs running,
// holding their ports, and a stale socket. sarge says what happened;
// bin/supervisord starts a new one, which stops the orphans and starts the
// instances again under itself.
TEST_F(Boot, SupervisordKilledIsReportedAndBinSupervisordReplacesWhatItRan) {
  ASSERT_TRUE(home_.StartSupervisord());
  const json config = {{"application_name", "web"}, {"services", {{"web", {{"type", "listen"}}}}}};
  const std::string id = home_.New(config);
  home_.WriteServer(id, kHttpServer);
  ASSERT_EQ(home_.Sarge({"start", id}).exit_code, 0);
  const int port = home_.AppCfg(id)["WEB_PORT"];
  const pid_t orphan = static_cast<pid_t>(ReadNumber(home_ / id / "server.pid"));
  const pid_t killed = home_.supervisord_pid();

  ASSERT_EQ(::kill(killed, SIGKILL), 0);
  ASSERT_TRUE(WaitFor([&] { return !PidAlive(killed); }, 5s));
  EXPECT_TRUE(PidAlive(orphan));
  EXPECT_TRUE(Accepts("127.0.0.1", port));  // the orphan still serves
  Result r = home_.Sarge({"start", id});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, fmt::format("sarge: error: supervisord is not running for {} (it died: pid {} "
                               "is gone; what it ran may still run, and bin/supervisord replaces "
                               "it); start it with {}/bin/supervisord\n",
                               home_.str(), killed, home_.str()));

  ASSERT_TRUE(home_.StartSupervisord());  // a stale socket is no obstacle
  EXPECT_FALSE(PidAlive(orphan));
  const pid_t server = static_cast<pid_t>(ReadNumber(home_ / id / "server.pid"));
  EXPECT_NE(server, orphan);
  EXPECT_TRUE(Accepts("127.0.0.1", port));
  EXPECT_TRUE(WaitFor([&] { return home_.ProgramState(id) == "RUNNING"; }, 3s));
  EXPECT_NE(ReadFile(home_ / "var/log/sarge.log").find("resume (0 failed)"), std::string::npos);
  Result check = home_.Sarge({"check"});
  EXPECT_EQ(check.exit_code, 0) << Describe(check);
  if (PidAlive(orphan)) ::kill(orphan, SIGKILL);  // whatever happened, leave nothing behind
}

// The servers a killed supervisord left are found by check, and stopped by
// stop and destroy, with or without a supervisord running again: neither
// leaves one serving from a deleted folder.
TEST_F(Boot, CheckReportsTheOrphansAKilledSupervisordLeftAndStopAndDestroyEndThem) {
  ASSERT_TRUE(home_.StartSupervisord());
  const json config = {{"application_name", "web"}, {"services", {{"web", {{"type", "listen"}}}}}};
  std::vector<std::string> ids = {home_.New(config), home_.New(config)};
  std::vector<pid_t> orphans;
  ASSERT_NO_FATAL_FAILURE(StartThenKillSupervisord(ids, orphans));
  ExpectCheckReportsOrphans(ids, orphans);

  // destroy without a supervisord stops the first one's server.
  Result r = home_.Sarge({"destroy", ids[0]});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_TRUE(WaitFor([&] { return !PidAlive(orphans[0]); }, 5s));
  EXPECT_FALSE(fs::exists(home_ / ids[0]));

  // A supervisord started by hand (no resume): stop ends the other one.
  Result started =
      RunProgram({FindOnPath("supervisord"), "-c", home_.str() + "/etc/supervisord.conf"});
  ASSERT_EQ(started.exit_code, 0) << Describe(started);
  ASSERT_TRUE(WaitFor([&] { return home_.ProgramState(ids[1]) == "STOPPED"; }, 10s));
  r = home_.Sarge({"stop", ids[1]});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_TRUE(WaitFor([&] { return !PidAlive(orphans[1]); }, 5s));
  Result check = home_.Sarge({"check"});
  EXPECT_EQ(check.exit_code, 0) << Describe(check);
  LeaveNothingBehind(orphans);  // whatever happened
}

// Run again (a second boot script, an operator's habit): it says so and
// succeeds, instead of supervisord's complaint about its socket.
TEST_F(Boot, BinSupervisordWhenOneAlreadyRunsSaysSoAndSucceeds) {
  ASSERT_TRUE(home_.StartSupervisord());
  Result r = RunProgram({(home_ / "bin/supervisord").string()});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.err, "sarge: supervisord already runs for " + home_.str() + " (pid " +
                       std::to_string(home_.supervisord_pid()) + ")\n");
  EXPECT_EQ(r.out, "");
}

TEST_F(Boot, InitWritesASystemdUnitForTheHome) {
  const std::string unit = ReadFile(home_ / "etc/sarge-supervisord.service");
  EXPECT_NE(unit.find("ExecStart=" + home_.str() + "/bin/supervisord\n"), std::string::npos)
      << unit;
  EXPECT_NE(unit.find("PIDFile=" + home_.str() + "/var/run/supervisord.pid\n"), std::string::npos);
  EXPECT_NE(unit.find("Type=forking\n"), std::string::npos);
  EXPECT_NE(unit.find("WantedBy=multi-user.target\n"), std::string::npos);
}

}  // namespace
}  // namespace e2e
