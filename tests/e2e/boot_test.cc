// After supervisord stops (a reboot), bin/supervisord brings back the
// instances that were running and leaves the stopped ones stopped.
#include "e2e_util.h"

namespace e2e {
namespace {

class Boot : public HomeTest {};

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
