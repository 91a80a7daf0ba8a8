#include "sarge/deploy.h"

#include <sstream>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sarge/error.h"
#include "sarge/test_util.h"

namespace sarge {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

using testing::kWebConfig;

class DeployTest : public ::testing::Test, protected testing::DeployWorld {};

TEST_F(DeployTest, NewInstanceServesAndThePreviousOneStops) {
  std::string first = Deploy1();
  EXPECT_EQ(Active(), first);
  EXPECT_TRUE(fs::exists(home().ServerFile(first)));
  std::string second = Deploy1();
  EXPECT_EQ(Active(), second);
  EXPECT_EQ(supervisor.loaded[second].state, "RUNNING");
  EXPECT_FALSE(supervisor.loaded.contains(first));    // stopped, so unloaded
  EXPECT_TRUE(fs::exists(home().RecordFile(first)));  // kept for rollback
}

TEST_F(DeployTest, KeepsOnlyTheNewestPreviousInstances) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(Deploy1(2));
  EXPECT_EQ(ListIds(home()).size(), 3u);
  for (int i : {0, 1}) EXPECT_FALSE(fs::exists(home().RecordFile(ids[i]))) << i;
  for (int i : {2, 3, 4}) EXPECT_TRUE(fs::exists(home().RecordFile(ids[i]))) << i;
}

TEST_F(DeployTest, FailedStartRemovesTheNewInstanceAndLeavesTheFrontEnd) {
  std::string old = Deploy1();
  supervisor.outcome = testing::FakeSupervisor::Outcome::kExitsAtOnce;
  try {
    Deploy1();
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("deploy failed at 'start': "));
    EXPECT_THAT(e.what(), HasSubstr("was removed and the front end is unchanged"));
  }
  EXPECT_EQ(Active(), old);
  EXPECT_EQ(ListIds(home()), std::vector<std::string>{old});
  EXPECT_EQ(supervisor.loaded[old].state, "RUNNING");
}

TEST_F(DeployTest, FailedSwitchRemovesTheNewInstance) {
  std::string old = Deploy1();
  runner.result = CommandResult{1, "", "reload failed", false};
  EXPECT_THROW(Deploy1(), Error);
  EXPECT_EQ(Active(), old);
  EXPECT_EQ(ListIds(home()), std::vector<std::string>{old});
}

TEST_F(DeployTest, EachStepIsNamedAndTimed) {
  Deploy1();
  std::istringstream lines(said.str());
  std::vector<std::string> steps;
  for (std::string line; std::getline(lines, line);)
    if (line.find("] ") != std::string::npos) steps.push_back(line);
  EXPECT_THAT(
      steps, ::testing::ElementsAre(
                 "sarge: deploy web: [1/7] create instance",
                 "sarge: deploy web: [1/7] done in 0 ms", "sarge: deploy web: [2/7] install source",
                 "sarge: deploy web: [2/7] done in 0 ms", "sarge: deploy web: [3/7] start",
                 ::testing::StartsWith("sarge: deploy web: [3/7] done in "),
                 "sarge: deploy web: [4/7] wait until healthy",
                 ::testing::StartsWith("sarge: deploy web: [4/7] done in "),
                 "sarge: deploy web: [5/7] switch front end",
                 ::testing::StartsWith("sarge: deploy web: [5/7] done in "),
                 "sarge: deploy web: [6/7] let old nginx workers finish",
                 ::testing::StartsWith("sarge: deploy web: [6/7] done in "),
                 "sarge: deploy web: [7/7] stop previous instances",
                 ::testing::StartsWith("sarge: deploy web: [7/7] done in ")));
}

TEST_F(DeployTest, BadSourceChangesNothing) {
  try {
    Deploy(env, DeployOptions{kWebConfig, temp.dir.path() / "missing", "", 5s, {}, {}, {}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "source '" + (temp.dir.path() / "missing").string() +
                                         "' does not exist; give a folder or a .tar.gz");
  }
  EXPECT_TRUE(ListIds(home()).empty());
  EXPECT_TRUE(supervisor.calls.empty());
}

TEST_F(DeployTest, ASourceThatCannotBeUnpackedIsQuotedAndChangesNothing) {
  fs::path bad = temp.dir.path() / "release\n1.tar.gz";
  WriteFileAtomic(bad, "not gzip\n");
  runner.result = CommandResult{2, "", "gzip: stdin: not in gzip format\n", false};
  try {
    Deploy(env, DeployOptions{kWebConfig, bad, "", 5s, {}, {}, {}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("deploy failed at 'install source': cannot unpack '" +
                                    temp.dir.path().string() +
                                    "/release\\n1.tar.gz': tar exited with status 2; "));
  }
  EXPECT_THAT(runner.commands, ElementsAre(HasSubstr("tar -xzf ")));
  EXPECT_TRUE(ListIds(home()).empty());
}

// Every supervisord call of a deploy failing in turn: whatever serves is
// running, and a failure before the switch leaves nothing of the new
// instance.
TEST_F(DeployTest, AnyFailingSupervisordCallLeavesAConsistentHome) {
  std::string old = Deploy1();
  size_t before = supervisor.calls.size();
  Deploy1();  // learn how many calls a deploy makes
  size_t per_deploy = supervisor.calls.size() - before;
  ASSERT_GT(per_deploy, 3u);
  for (size_t n = 1; n <= per_deploy; ++n) {
    std::string serving = *Active();
    supervisor.calls.clear();
    supervisor.fail_at = static_cast<int>(n);
    auto ids_before = ListIds(home());
    try {
      Deploy1();
    } catch (const Error&) {
    }
    supervisor.fail_at = 0;
    SCOPED_TRACE(fmt::format("failing call {} of {}", n, per_deploy));
    EXPECT_EQ(supervisor.loaded[*Active()].state, "RUNNING");
    if (*Active() == serving) {
      EXPECT_EQ(ListIds(home()), ids_before);
    }
    for (const auto& r : ListIds(home())) EXPECT_TRUE(fs::exists(home().InstanceDir(r))) << r;
    for (const auto& [name, info] : supervisor.loaded)
      EXPECT_TRUE(fs::exists(home().RecordFile(name))) << name << " loaded without a record";
  }
}

TEST_F(DeployTest, RollbackServesThePreviousInstanceAndStopsTheCurrent) {
  std::string v1 = Deploy1();
  std::string v2 = Deploy1();
  EXPECT_EQ(Rollback(env, RollbackOptions{"web", "", 5s, {}}), v1);
  EXPECT_EQ(Active(), v1);
  EXPECT_EQ(supervisor.loaded[v1].state, "RUNNING");
  EXPECT_FALSE(supervisor.loaded.contains(v2));  // stopped, so unloaded
  // Back again: v2 served before v1.
  EXPECT_EQ(Rollback(env, RollbackOptions{"web", "", 5s, {}}), v2);
}

TEST_F(DeployTest, RollbackOfTheFirstDeployIsAClearError) {
  std::string v1 = Deploy1();
  try {
    Rollback(env, RollbackOptions{"web", "", 5s, {}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "no instance served web before " + v1 + "; deploy keeps deploy.keep of them");
  }
}

// Deploy v41, deploy v42, roll back (to v41), deploy v43: a rollback now
// returns to v41, which served before v43, not to v42, created before it.
TEST_F(DeployTest, RollbackReturnsToWhatServedBeforeNotToWhatWasCreatedBefore) {
  std::string v41 = Deploy1();
  std::string v42 = Deploy1();
  EXPECT_EQ(Rollback(env, RollbackOptions{"web", "", 5s, {}}), v41);
  std::string v43 = Deploy1();
  EXPECT_EQ(Rollback(env, RollbackOptions{"web", "", 5s, {}}), v41);
  EXPECT_EQ(Active(), v41);
  EXPECT_NE(v42, v43);
}

TEST_F(DeployTest, RollbackToGoesToTheInstanceNamed) {
  std::string v1 = Deploy1();
  std::string v2 = Deploy1();
  std::string v3 = Deploy1();
  EXPECT_EQ(Rollback(env, RollbackOptions{"web", v1, 5s, {}}), v1);
  EXPECT_EQ(Active(), v1);
  try {
    Rollback(env, RollbackOptions{"web", v1, 5s, {}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), v1 + " already serves web");
  }
  EXPECT_NE(v2, v3);
}

TEST_F(DeployTest, RollbackWithoutADeployIsAClearError) {
  try {
    Rollback(env, RollbackOptions{"web", "", 5s, {}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "application 'web' has no active instance to roll back from");
  }
}

TEST_F(DeployTest, ActivateRefusesAStoppedAndUnloadedInstance) {
  std::string v1 = Deploy1();
  Deploy1();
  ASSERT_FALSE(supervisor.loaded.contains(v1));
  Record record = LoadRecord(home(), v1);
  try {
    ActivateInstance(env, record);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), v1 + " is STOPPED, not running; start it first: sarge " +
                                         home().root.string() + " start " + v1);
  }
}

TEST_F(DeployTest, RollbackOfAMistypedApplicationSuggestsTheRightOne) {
  Deploy1();
  try {
    Rollback(env, RollbackOptions{"wbe", "", 5s, {}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "application 'wbe' has no active instance to roll back from; did you mean "
                 "'web'?");
  }
}

}  // namespace
}  // namespace sarge
