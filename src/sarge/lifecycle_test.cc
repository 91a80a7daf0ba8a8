#include "sarge/lifecycle.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sarge/error.h"
#include "sarge/instance_config.h"
#include "sarge/records.h"
#include "sarge/supervisor_config.h"
#include "sarge/test_util.h"

namespace sarge {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

class LifecycleTest : public ::testing::Test {
 protected:
  LifecycleTest() {
    // A port accepts if someone else holds it, or once an instance runs.
    world_.system.accepts = [this](const std::string&, int port) {
      return open_ports_.contains(port) || AnyRunning();
    };
  }

  bool AnyRunning() {
    for (const auto& [name, info] : supervisor_.loaded)
      if (info.state == "RUNNING") return true;
    return false;
  }

  Record MakeInstance(const std::string& config_json, bool with_server = true) {
    InstanceConfig config = ParseInstanceConfig(config_json);
    Record record{config.application_name + "-abc123",
                  config.application_name,
                  UtcNow(),
                  config.ToJson(),
                  {},
                  ""};
    fs::create_directory(home().InstanceDir(record.id));
    SaveRecord(home(), record);
    if (with_server) {
      WriteFileAtomic(home().ServerFile(record.id), "#!/bin/sh\n", 0755);
    }
    return record;
  }

  // web-abc123, started; the fake's call log and round trips cleared.
  Record StartedInstance() {
    Record r = MakeInstance(R"({"application_name": "web"})");
    StartInstance(env_, r, 5s);
    supervisor_.calls.clear();
    supervisor_.round_trips = 0;
    return r;
  }

  const Home& home() { return temp_.home; }

  // What supervisord reports once web-abc123's server has exited with 3.
  void ServerExited() {
    auto& info = supervisor_.loaded["web-abc123"];
    info.state = "EXITED";
    info.exitstatus = 3;
  }

  // A start of `r` must fail within a second of the fake clock, saying
  // how the server exited.
  void ExpectStartFailsAtOnceWithExitStatus(Record& r) {
    try {
      StartInstance(env_, r, 5s);
      FAIL() << "start should fail";
    } catch (const Error& e) {
      EXPECT_STREQ(e.what(), "web-abc123 did not start: it exited with status 3; it is stopped");
    }
    EXPECT_LT(clock_.Now().time_since_epoch(), 1s);
  }

  testing::FakeWorld world_;
  testing::TempHome& temp_ = world_.temp;
  testing::FakeSupervisor& supervisor_ = world_.supervisor;
  testing::FakeClock& clock_ = world_.clock;
  Env& env_ = world_.env;
  std::set<int> open_ports_;
};

TEST_F(LifecycleTest, FirstStartWritesProgramAndAddsItToSupervisord) {
  Record r = MakeInstance(R"({"application_name": "web"})");
  EXPECT_EQ(StartInstance(env_, r, 5s).pid, 4242);
  EXPECT_TRUE(fs::exists(home().ProgramFile(r.id)));
  EXPECT_THAT(supervisor_.calls,
              ElementsAre("getProcessInfo web-abc123", "reloadConfig", "addProcessGroup web-abc123",
                          "startProcess web-abc123", "getProcessInfo web-abc123"));
  // Whether it is loaded, then load-and-start as one request.
  EXPECT_EQ(supervisor_.round_trips, 2);
}

TEST_F(LifecycleTest, ReloadReadsOnlyTheStartedInstancesProgramFile) {
  Record r = MakeInstance(R"({"application_name": "web"})");
  StartInstance(env_, r, 5s);
  ASSERT_EQ(supervisor_.includes_at_reload.size(), 1u);
  EXPECT_EQ(supervisor_.includes_at_reload[0],
            "files = " + home().ProgramFile(r.id).string() + "\n");
  // Afterwards the configuration includes every program again.
  EXPECT_EQ(ReadFile(home().SupervisordConf()), SupervisordConf(home()));
  EXPECT_THAT(ReadFile(home().SupervisordConf()),
              HasSubstr("files = " + home().ProgramsDir().string() + "/*.conf\n"));
}

TEST_F(LifecycleTest, StopUnloadsTheProgramAndTheNextStartLoadsItAgain) {
  Record r = MakeInstance(R"({"application_name": "web"})");
  StartInstance(env_, r, 5s);
  StopInstance(env_, r.id);
  // A loaded program costs every pass of supervisord's loop: only running
  // instances stay loaded.
  EXPECT_FALSE(supervisor_.loaded.contains(r.id));
  supervisor_.calls.clear();
  EXPECT_EQ(StartInstance(env_, r, 5s).pid, 4243);
  EXPECT_EQ(supervisor_.Count("reloadConfig"), 1);
  EXPECT_EQ(supervisor_.loaded[r.id].state, "RUNNING");
}

TEST_F(LifecycleTest, StartOfALoadedStoppedProgramNeedsNoReload) {
  Record r = MakeInstance(R"({"application_name": "web"})");
  StartInstance(env_, r, 5s);
  StopInstance(env_, r.id, Unloading::kKeepLoaded);
  supervisor_.calls.clear();
  supervisor_.round_trips = 0;
  StartInstance(env_, r, 5s);
  EXPECT_EQ(supervisor_.Count("reloadConfig"), 0);
  EXPECT_THAT(supervisor_.calls, ElementsAre("getProcessInfo web-abc123", "startProcess web-abc123",
                                             "getProcessInfo web-abc123"));
  EXPECT_EQ(supervisor_.round_trips, 2);
}

TEST_F(LifecycleTest, StartWatchesThePortAndThePidWithoutAskingSupervisord) {
  Record r = MakeInstance(
      R"({"application_name": "web", "services": {"web": {"type": "listen", "port": 8123}}})");
  world_.system.accepts = [this](const std::string&, int) {
    return supervisor_.Count("startProcess") > 0 && clock_.Now().time_since_epoch() >= 200ms;
  };
  EXPECT_EQ(StartInstance(env_, r, 5s).pid, 4242);
  // Many polls of the port; supervisord asked only before and at the spawn.
  EXPECT_EQ(supervisor_.round_trips, 2);
}

TEST_F(LifecycleTest, StartAsksSupervisordWhyOnceTheProcessIsGone) {
  Record r = MakeInstance(
      R"({"application_name": "web", "services": {"web": {"type": "listen", "port": 8123}}})");
  WriteFileAtomic(home().InstanceLog(r.id), "Traceback: port in use\n");
  world_.system.accepts = [](const std::string&, int) { return false; };
  // The server dies after 50 ms; supervisord then reports it EXITED.
  world_.system.process = [this](int) {
    if (clock_.Now().time_since_epoch() < 50ms) return ProcessState::kRunning;
    ServerExited();
    supervisor_.loaded["web-abc123"].pid = 0;
    return ProcessState::kGone;
  };
  ExpectStartFailsAtOnceWithExitStatus(r);
}

TEST_F(LifecycleTest, StartAsksSupervisordWhyOnceTheProcessHasExitedUnreaped) {
  Record r = MakeInstance(
      R"({"application_name": "web", "services": {"web": {"type": "listen", "port": 8123}}})");
  world_.system.accepts = [](const std::string&, int) { return false; };
  // The server exits after 50 ms; supervisord has not reaped it, so its pid
  // still exists, as a zombie. Asked, supervisord reports it EXITED.
  world_.system.process = [this](int) {
    if (clock_.Now().time_since_epoch() < 50ms) return ProcessState::kRunning;
    ServerExited();
    return ProcessState::kExited;
  };
  ExpectStartFailsAtOnceWithExitStatus(r);
}

TEST_F(LifecycleTest, StartWithMinUptimeWatchesThePidThenAsksSupervisordOnce) {
  Record r = MakeInstance(
      R"({"application_name": "web", "services": {"web": {"type": "listen", "port": 8123}}})");
  world_.system.accepts = [this](const std::string&, int) {
    return supervisor_.Count("startProcess") > 0;
  };
  int probes = 0;
  world_.system.process = [&](int) {
    ++probes;
    return ProcessState::kRunning;
  };
  EXPECT_EQ(StartInstance(env_, r, 5s, 1s).pid, 4242);
  EXPECT_GE(clock_.Now().time_since_epoch(), 1s);
  EXPECT_GE(probes, 50);  // watched from /proc meanwhile
  // Before, at the spawn, and once it has stayed up: is it RUNNING there too.
  EXPECT_EQ(supervisor_.round_trips, 3);
}

TEST_F(LifecycleTest, StartFailsWhenTheServerDiesWithinMinUptime) {
  Record r = MakeInstance(
      R"({"application_name": "web", "services": {"web": {"type": "listen", "port": 8123}}})");
  world_.system.accepts = [this](const std::string&, int) {
    return supervisor_.Count("startProcess") > 0;
  };
  WriteFileAtomic(home().SupervisordLog(),
                  "2026-12-03 12:00:00,001 INFO exited: web-abc123 (exit status 7; not "
                  "expected)\n");
  // 300 ms after it answers, the server dies and supervisord starts it again.
  world_.system.process = [this](int) {
    if (clock_.Now().time_since_epoch() < 300ms) return ProcessState::kRunning;
    supervisor_.loaded["web-abc123"].pid = 4300;
    return ProcessState::kGone;
  };
  try {
    StartInstance(env_, r, 5s, 1s);
    FAIL() << "start should fail";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "web-abc123 did not start: it exited with status 7, and supervisord started it "
                 "again, 300 ms after it was up (it must stay up for 1 s: deploy.min_uptime, "
                 "--min-uptime); it is stopped");
  }
  EXPECT_EQ(supervisor_.Count("stopProcess"), 1);
}

TEST_F(LifecycleTest, StartOfARunningInstanceDoesNothing) {
  Record r = StartedInstance();
  EXPECT_EQ(StartInstance(env_, r, 5s).pid, 4242);
  EXPECT_EQ(supervisor_.Count("startProcess"), 0);
}

TEST_F(LifecycleTest, StartFailsWithLogTailWhenServerExits) {
  Record r = MakeInstance(R"({"application_name": "web"})");
  WriteFileAtomic(home().InstanceLog(r.id), "booting\nfatal: no database\n");
  supervisor_.outcome = testing::FakeSupervisor::Outcome::kExitsAtOnce;
  try {
    StartInstance(env_, r, 5s);
    FAIL() << "start should fail";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "web-abc123 did not start: Exited too quickly (process log may have details); "
                 "it is stopped");
    EXPECT_EQ(e.detail(), "last lines of " + home().InstanceLog(r.id).string() +
                              ":\nbooting\nfatal: no database");
  }
  EXPECT_EQ(supervisor_.loaded[r.id].state, "STOPPED");
}

TEST_F(LifecycleTest, StartWaitsForListenPortsAndGivesUpAfterTimeout) {
  Record r = MakeInstance(
      R"({"application_name": "web", "services": {"web": {"type": "listen", "port": 8123}}})");
  world_.system.accepts = [](const std::string&, int) { return false; };
  try {
    StartInstance(env_, r, 2s);
    FAIL() << "start should time out";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "web-abc123 did not start: nothing accepts connections on 127.0.0.1:8123 after 2 "
                 "s; it is stopped");
  }
  EXPECT_EQ(supervisor_.loaded[r.id].state, "STOPPED");
  EXPECT_GE(clock_.Now().time_since_epoch(), 2s);
}

TEST_F(LifecycleTest, StartReturnsOncePortAccepts) {
  Record r = MakeInstance(
      R"({"application_name": "web", "services": {"web": {"type": "listen", "port": 8123}}})");
  // Not open before the start (else it would be someone else's); open once started.
  world_.system.accepts = [this](const std::string&, int) {
    return supervisor_.Count("startProcess") > 0 && clock_.Now().time_since_epoch() >= 57ms;
  };
  EXPECT_EQ(StartInstance(env_, r, 5s).pid, 4242);
  // Seen within a millisecond (the port is polled every 1 ms at first).
  EXPECT_LE(clock_.Now().time_since_epoch(), 58ms);
}

TEST_F(LifecycleTest, StartPollsASlowServerLessOftenAfterAQuarterSecond) {
  Record r = MakeInstance(
      R"({"application_name": "web", "services": {"web": {"type": "listen", "port": 8123}}})");
  int polls = 0;
  world_.system.accepts = [&](const std::string&, int) {
    ++polls;
    return supervisor_.Count("startProcess") > 0 && clock_.Now().time_since_epoch() >= 2s;
  };
  StartInstance(env_, r, 5s);
  // 250 polls in the first 250 ms, then one every 10 ms: not 2000.
  EXPECT_GE(polls, 250 + 170);
  EXPECT_LE(polls, 250 + 180);
  EXPECT_LE(clock_.Now().time_since_epoch(), 2010ms);
}

TEST_F(LifecycleTest, StartRefusesAPortSomeoneElseHolds) {
  Record r = MakeInstance(
      R"({"application_name": "web", "services": {"web": {"type": "listen", "port": 8123}}})");
  open_ports_.insert(8123);
  try {
    StartInstance(env_, r, 5s);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("port 8123 on 127.0.0.1 is already in use by another process"));
  }
  EXPECT_EQ(supervisor_.Count("startProcess"), 0);
}

TEST_F(LifecycleTest, StartWithoutServerFailsBeforeTouchingSupervisord) {
  Record r = MakeInstance(R"({"application_name": "web"})", false);
  try {
    StartInstance(env_, r, 5s);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), home().ServerFile(r.id).string() +
                                         " does not exist; put the application's executable there");
  }
  EXPECT_TRUE(supervisor_.calls.empty());
}

TEST_F(LifecycleTest, StopReportsWhetherItWasRunning) {
  Record r = MakeInstance(R"({"application_name": "web"})");
  EXPECT_FALSE(StopInstance(env_, r.id));  // never loaded
  StartInstance(env_, r, 5s);
  EXPECT_TRUE(StopInstance(env_, r.id));
  EXPECT_FALSE(StopInstance(env_, r.id));
}

TEST_F(LifecycleTest, StopWaitsUntilTheProcessIsReapedThenUnloads) {
  Record r = StartedInstance();
  int polls = 0;
  world_.system.process = [&](int pid) {
    EXPECT_EQ(pid, 4242);
    return ++polls < 5 ? ProcessState::kRunning : ProcessState::kGone;  // gone at the fifth look
  };
  EXPECT_TRUE(StopInstance(env_, r.id));
  EXPECT_EQ(polls, 5);
  EXPECT_THAT(supervisor_.calls, ElementsAre("getProcessInfo web-abc123", "stopProcess web-abc123",
                                             "removeProcessGroup web-abc123"));
  EXPECT_EQ(supervisor_.round_trips, 2);
  EXPECT_FALSE(LoadRecord(home(), r.id).autostart);
}

TEST_F(LifecycleTest, StopAsksSupervisordOnceTheProcessHasExitedUnreaped) {
  Record r = StartedInstance();
  // The process exits at the third look but stays a zombie: supervisord,
  // its parent, reaps it only on a pass of its main loop. Until a request
  // starts one, it reports the program STOPPING.
  int looks = 0;
  world_.system.process = [&](int pid) {
    EXPECT_EQ(pid, 4242);
    if (++looks < 3) return ProcessState::kRunning;
    auto& info = supervisor_.loaded[r.id];
    info.state = "STOPPING";
    info.pid = 4242;
    return ProcessState::kExited;
  };
  EXPECT_TRUE(StopInstance(env_, r.id));
  EXPECT_EQ(looks, 3);
  EXPECT_THAT(supervisor_.calls,
              ElementsAre("getProcessInfo web-abc123", "stopProcess web-abc123",
                          "getProcessInfo web-abc123", "getProcessInfo web-abc123",
                          "removeProcessGroup web-abc123"));
  // Two more round trips than a stop that sees the pid go: the two asks.
  EXPECT_EQ(supervisor_.round_trips, 4);
  EXPECT_FALSE(supervisor_.loaded.contains(r.id));
  // Well under supervisord's 1 s poll timeout.
  EXPECT_LT(clock_.Now().time_since_epoch(), 1s);
}

TEST_F(LifecycleTest, StopOfAProgramThatExitedUnloadsIt) {
  Record r = StartedInstance();
  auto& info = supervisor_.loaded[r.id];
  info.state = "EXITED";
  info.pid = 0;
  EXPECT_FALSE(StopInstance(env_, r.id));
  EXPECT_FALSE(supervisor_.loaded.contains(r.id));
}

TEST_F(LifecycleTest, StopGivesUpWhenTheProcessOutlivesSupervisordsKill) {
  Record r = StartedInstance();
  world_.system.process = [](int) { return ProcessState::kRunning; };
  try {
    StopInstance(env_, r.id);
    FAIL() << "stop should give up";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "web-abc123 (pid 4242) is still running after 30 s; see " +
                                         home().SupervisordLog().string());
  }
}

TEST_F(LifecycleTest, ResumeStartsAutostartInstancesAndUnloadsTheStoppedOnes) {
  Record running = MakeInstance(R"({"application_name": "web"})");
  Record stopped = MakeInstance(R"({"application_name": "api"})");
  StartInstance(env_, running, 5s);
  // As after supervisord restarted: every program file loaded, none running.
  supervisor_.loaded.clear();
  WriteFileAtomic(home().ProgramFile(stopped.id), ProgramConf(home(), stopped.id, Settings{}));
  for (const auto& id : {running.id, stopped.id}) supervisor_.AddProcessGroup(id);
  EXPECT_EQ(ResumeInstances(env_, 5s), 0);
  EXPECT_EQ(supervisor_.loaded[running.id].state, "RUNNING");
  EXPECT_FALSE(supervisor_.loaded.contains(stopped.id));
}

TEST_F(LifecycleTest, DestroyRemovesEverythingOfTheInstance) {
  Record r = MakeInstance(
      R"({"application_name": "web", "services": {"web": {"type": "listen"}, "tmp": {"type": "var-folder"}}})");
  StartInstance(env_, r, 5s);
  ASSERT_FALSE(r.ports.empty());
  DestroyInstance(env_, r);
  EXPECT_FALSE(supervisor_.loaded.contains(r.id));
  for (const auto& path :
       {home().ProgramFile(r.id), home().RecordFile(r.id), home().RuntimeDir(r.id),
        home().InstanceDir(r.id), home().TmpDir() / r.id})
    EXPECT_FALSE(fs::exists(path)) << path;
  EXPECT_TRUE(fs::is_empty(home().PortsDir()));
}

TEST_F(LifecycleTest, DestroyWorksWithoutSupervisord) {
  Record r = MakeInstance(R"({"application_name": "web"})");
  supervisor_.unavailable = true;
  DestroyInstance(env_, r);
  EXPECT_FALSE(fs::exists(home().RecordFile(r.id)));
  EXPECT_THAT(world_.SaidLines(),
              ElementsAre("supervisord is not running; removing the instance's files only"));
}

TEST_F(LifecycleTest, DestroyInterruptedBySupervisordFailureKeepsTheRecord) {
  Record r = StartedInstance();
  supervisor_.fail_at = 2;  // the stop
  EXPECT_THROW(DestroyInstance(env_, r), SupervisorFault);
  EXPECT_TRUE(fs::exists(home().RecordFile(r.id)));
  EXPECT_TRUE(fs::exists(home().InstanceDir(r.id)));
  supervisor_.fail_at = 0;
  DestroyInstance(env_, r);  // running it again finishes the job
  EXPECT_FALSE(fs::exists(home().RecordFile(r.id)));
}

TEST_F(LifecycleTest, ResumeStartsWhatWasRunningAndNothingElse) {
  Record a = MakeInstance(R"({"application_name": "a"})");
  Record b = MakeInstance(R"({"application_name": "b"})");
  StartInstance(env_, a, 5s);
  StartInstance(env_, b, 5s);
  StopInstance(env_, b.id);
  EXPECT_TRUE(LoadRecord(home(), a.id).autostart);
  EXPECT_FALSE(LoadRecord(home(), b.id).autostart);
  supervisor_.loaded.clear();  // supervisord restarted: nothing loaded
  EXPECT_EQ(ResumeInstances(env_, 5s), 0);
  EXPECT_EQ(supervisor_.loaded[a.id].state, "RUNNING");
  EXPECT_FALSE(supervisor_.loaded.contains(b.id));
}

TEST(TailFileTest, ReturnsTheLastLines) {
  testing::ScopedTempDir dir;
  fs::path log = dir.path() / "x.log";
  EXPECT_EQ(TailFile(log, 3), "");
  WriteFileAtomic(log, "1\n2\n3\n4\n5\n");
  EXPECT_EQ(TailFile(log, 3), "3\n4\n5");
  EXPECT_EQ(TailFile(log, 10), "1\n2\n3\n4\n5");
  WriteFileAtomic(log, "no newline at end");
  EXPECT_EQ(TailFile(log, 2), "no newline at end");
}

}  // namespace
}  // namespace sarge
