#include "sarge/hooks.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sarge/deploy.h"
#include "sarge/error.h"
#include "sarge/instance_config.h"
#include "sarge/lifecycle.h"
#include "sarge/runtime_config.h"
#include "sarge/test_util.h"

namespace sarge {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

CommandResult Exit(int code, std::string out = "", std::string err = "") {
  return CommandResult{code, std::move(out), std::move(err), false};
}

class HooksTest : public ::testing::Test {
 protected:
  HooksTest() {
    world_.system.accepts = [](const std::string&, int) { return false; };
  }
  Record Make(const std::string& config = R"({"application_name": "web"})") {
    Record r = CreateInstance(env_, config);
    WriteFileAtomic(home().ServerFile(r.id), "#!/bin/sh\n", 0755);
    return r;
  }
  void Hook(const std::string& event, std::vector<std::string> programs) {
    env_.settings.hooks[event] = std::move(programs);
  }
  const Home& home() { return temp_.home; }

  testing::FakeWorld world_;
  testing::TempHome& temp_ = world_.temp;
  testing::FakeCommandRunner& runner_ = world_.runner;
  testing::FakeSupervisor& supervisor_ = world_.supervisor;
  Env& env_ = world_.env;
};

TEST_F(HooksTest, NoHooksRunNothing) {
  Record r = Make();
  EXPECT_EQ(RunHooks(home(), env_.settings, runner_, hook::kWillStart, r), json::object());
  EXPECT_TRUE(runner_.commands.empty());
}

TEST_F(HooksTest, HooksGetTheInstanceOnStdinAndRelativePathsAreInTheHome) {
  Record r = Make();
  Hook(hook::kWillStart, {"etc/hooks/a", "/usr/local/bin/b"});
  RunHooks(home(), env_.settings, runner_, hook::kWillStart, r);
  EXPECT_THAT(runner_.commands,
              ElementsAre(home().root.string() + "/etc/hooks/a", "/usr/local/bin/b"));
  json input = json::parse(runner_.inputs[0]);
  EXPECT_EQ(input["id"], r.id);
  EXPECT_EQ(input["event"], "will-start");
  EXPECT_EQ(input["home"], home().root.string());
  EXPECT_EQ(input["meta"]["APPLICATION_NAME"], "web");
}

TEST_F(HooksTest, AFailingHookSaysWhichAndWhy) {
  Record r = Make();
  Hook(hook::kWillStart, {"/hooks/migrate"});
  runner_.result = Exit(2, "", "migration 42 failed\nstack trace\n");
  try {
    RunHooks(home(), env_.settings, runner_, hook::kWillStart, r);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "hook /hooks/migrate for will-start failed (exit status 2): migration 42 failed");
    EXPECT_EQ(e.detail(), "migration 42 failed\nstack trace");
  }
}

// Neither what a hook prints nor its name in sarge.yaml can end the
// message's line or move the cursor.
TEST_F(HooksTest, AFailingHooksNameAndFirstLineAreEscapedAndCut) {
  Record r = Make();
  Hook(hook::kWillStart, {"/hooks/mi\ngrate"});
  runner_.result = Exit(1, "", "x\rsarge: ok\x1b[2J" + std::string(300, 'y') + "\nmore\n");
  try {
    RunHooks(home(), env_.settings, runner_, hook::kWillStart, r);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "hook /hooks/mi\\ngrate for will-start failed (exit status 1): "
              "x\\rsarge: ok\\x1b[2J" +
                  std::string(185, 'y') + "…");
  }
}

TEST_F(HooksTest, InitializingFailureCreatesNothing) {
  Hook(hook::kInitializing, {"/hooks/check"});
  runner_.result = Exit(1, "", "not allowed here");
  EXPECT_THROW(CreateInstance(env_, R"({"application_name": "web"})"), Error);
  EXPECT_TRUE(ListIds(home()).empty());
  EXPECT_TRUE(fs::is_empty(home().root / "var" / "tmp"));
  for (const auto& entry : fs::directory_iterator(home().root))
    EXPECT_TRUE(entry.path().filename() == "bin" || entry.path().filename() == "etc" ||
                entry.path().filename() == "var")
        << entry.path();
}

TEST_F(HooksTest, ConfiguringAddsValuesToTheRuntimeConfiguration) {
  Record r =
      Make(R"({"application_name": "web", "services": {"web": {"type": "listen", "port": 81}}})");
  Hook(hook::kConfiguring, {"/hooks/db", "/hooks/cache"});
  runner_.results = {Exit(0, R"({"DATABASE_URL": "postgres://db/web"})"), Exit(0, "")};
  json appcfg = Configure(env_, r);
  EXPECT_EQ(appcfg["DATABASE_URL"], "postgres://db/web");
  EXPECT_EQ(appcfg["WEB_PORT"], 81);
  EXPECT_EQ(InstanceEnvironment(home(), r, appcfg)["DATABASE_URL"], "postgres://db/web");
}

TEST_F(HooksTest, ConfiguringMayNotReplaceOrPrintNonsense) {
  Record r =
      Make(R"({"application_name": "web", "services": {"web": {"type": "listen", "port": 81}}})");
  Hook(hook::kConfiguring, {"/hooks/x"});
  runner_.result = Exit(0, R"({"WEB_PORT": 1})");
  EXPECT_THROW(Configure(env_, r), Error);
  runner_.result = Exit(0, "not json");
  try {
    Configure(env_, r);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "hook /hooks/x for configuring printed something that is not JSON: 'not json'");
  }
  runner_.result = Exit(0, R"({"bad key": "v"})");
  EXPECT_THROW(Configure(env_, r), Error);
}

TEST_F(HooksTest, WillStartFailureLeavesItStopped) {
  Record r = Make();
  Hook(hook::kWillStart, {"/hooks/migrate"});
  runner_.result = Exit(1);
  EXPECT_THROW(StartInstance(env_, r, 5s), Error);
  EXPECT_EQ(supervisor_.Count("startProcess"), 0);
}

TEST_F(HooksTest, HasStoppedRunsAfterAStopAndItsFailureIsOnlyReported) {
  Record r = Make();
  StartInstance(env_, r, 5s);
  Hook(hook::kHasStopped, {"/hooks/notify"});
  runner_.result = Exit(1, "", "mail server down");
  world_.said.str("");
  EXPECT_TRUE(StopInstance(env_, r.id));
  EXPECT_FALSE(supervisor_.loaded.contains(r.id));
  EXPECT_THAT(runner_.commands, ElementsAre("/hooks/notify"));
  ASSERT_EQ(world_.SaidLines().size(), 1u);
  EXPECT_THAT(world_.SaidLines()[0],
              HasSubstr("warning: hook /hooks/notify for has-stopped failed"));
}

TEST_F(HooksTest, WillBeDestroyedFailureKeepsTheInstance) {
  Record r = Make();
  Hook(hook::kWillBeDestroyed, {"/hooks/backup"});
  runner_.result = Exit(1);
  EXPECT_THROW(DestroyInstance(env_, r), Error);
  EXPECT_TRUE(fs::exists(home().RecordFile(r.id)));
  EXPECT_TRUE(fs::exists(home().InstanceDir(r.id)));
  runner_.result = Exit(0);
  DestroyInstance(env_, r);
  EXPECT_FALSE(fs::exists(home().RecordFile(r.id)));
}

}  // namespace
}  // namespace sarge
