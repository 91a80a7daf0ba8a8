#include "sarge/check.h"

#include <unistd.h>

#include <sstream>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sarge/config_vars.h"
#include "sarge/deploy.h"
#include "sarge/deploy_marker.h"
#include "sarge/fs.h"
#include "sarge/progress.h"
#include "sarge/records.h"
#include "sarge/supervisor_config.h"
#include "sarge/test_util.h"

namespace sarge {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using namespace std::chrono_literals;

using testing::kWebConfig;

class CheckTest : public ::testing::Test, protected testing::DeployWorld {
 protected:
  std::vector<std::string> Problems(bool repair = false) {
    std::vector<std::string> out;
    for (const auto& f : CheckHome(env, repair))
      out.push_back(f.repair.empty() ? f.problem : f.problem + " => " + f.repair);
    return out;
  }
};

TEST_F(CheckTest, AHomeAfterDeploysIsConsistent) {
  Deploy1(2);
  Deploy1(2);
  EXPECT_THAT(Problems(), IsEmpty());
}

TEST_F(CheckTest, LeftoverTemporaryFilesAreRemoved) {
  std::string id = Deploy1(2);
  fs::path tmp = home().RecordsDir() / (id + ".json.tmp-999999");
  WriteFileAtomic(tmp, "{");
  EXPECT_THAT(Problems(), ElementsAre("etc/instances/" + id +
                                      ".json.tmp-999999 is left from an interrupted write"));
  EXPECT_THAT(Problems(true),
              ElementsAre("etc/instances/" + id +
                          ".json.tmp-999999 is left from an interrupted write => removed "
                          "etc/instances/" +
                          id + ".json.tmp-999999"));
  EXPECT_FALSE(fs::exists(tmp));
  EXPECT_THAT(Problems(), IsEmpty());
}

TEST_F(CheckTest, AnInterruptedDestroyIsFinished) {
  std::string v1 = Deploy1(2);
  Deploy1(2);                         // v1 now stopped
  RemoveAll(home().InstanceDir(v1));  // destroy removes the folder before the record
  EXPECT_THAT(Problems(true),
              ElementsAre(v1 + " has a record but no folder " + v1 +
                          " (an interrupted destroy) => finished destroying " + v1));
  EXPECT_FALSE(fs::exists(home().RecordFile(v1)));
  EXPECT_FALSE(fs::exists(home().ProgramFile(v1)));
  EXPECT_THAT(Problems(), IsEmpty());
}

TEST_F(CheckTest, AnEmptyFolderWithoutRecordIsRemovedAndOneWithFilesIsOnlyReported) {
  Deploy1(2);
  fs::create_directory(home().InstanceDir("web-AAAAAA"));
  fs::create_directory(home().InstanceDir("web-BBBBBB"));
  WriteFileAtomic(home().InstanceDir("web-BBBBBB") / "data", "keep me");
  auto found = Problems(true);
  EXPECT_THAT(found, ::testing::UnorderedElementsAre(
                         "folder web-AAAAAA has no record (an interrupted new) => removed the "
                         "empty folder web-AAAAAA",
                         "folder web-BBBBBB has no record and holds files; move them away and "
                         "remove it"));
  EXPECT_FALSE(fs::exists(home().InstanceDir("web-AAAAAA")));
  EXPECT_EQ(ReadFile(home().InstanceDir("web-BBBBBB") / "data"), "keep me");
}

TEST_F(CheckTest, AProgramAndPortOfNoInstanceAreRemovedAndUnloaded) {
  std::string id = Deploy1(2);
  int port = LoadRecord(home(), id).ports.at("web");
  // As if a destroy was killed after removing the record alone.
  RemoveRecord(home(), id);
  RemoveAll(home().InstanceDir(id));
  auto found = Problems(true);
  EXPECT_THAT(found, ::testing::Contains("etc/supervisor.d/" + id +
                                         ".conf belongs to no instance => removed "
                                         "etc/supervisor.d/" +
                                         id + ".conf"));
  EXPECT_THAT(found, ::testing::Contains(fmt::format(
                         "port {} is claimed by {}, which has no record => released port {}", port,
                         id, port)));
  EXPECT_FALSE(supervisor.loaded.contains(id));
  EXPECT_FALSE(fs::exists(home().RuntimeDir(id)));
}

// A create killed after it wrote the instance's variables, before its
// record: the file's values belong to nothing.
TEST_F(CheckTest, VariablesOfNoInstanceAreRemoved) {
  std::string id = Deploy1(2);
  SaveInstanceVars(home(), id, {{"KEY", "value"}});
  SaveInstanceVars(home(), "web-gone00", {{"KEY", "value"}});
  EXPECT_THAT(Problems(), ElementsAre("etc/vars/web-gone00.json belongs to no instance"));
  Problems(true);
  EXPECT_THAT(Problems(), IsEmpty());
  EXPECT_FALSE(fs::exists(home().VarsFile("web-gone00")));
  EXPECT_EQ(LoadInstanceVars(home(), id), (Vars{{"KEY", "value"}}));
}

// A deploy killed while it read a tarball's sarge.json left its private
// folder; one whose deploy still runs is left alone.
TEST_F(CheckTest, TheFolderOfAKilledDeploysSourceFilesIsRemoved) {
  MakeDirs(home().TmpDir() / ".sarge-json-999999999-abcdef");
  WriteFileAtomic(home().TmpDir() / ".sarge-json-999999999-abcdef/sarge.json", "{}");
  const std::string running = fmt::format(".sarge-json-{}-ghijkl", ::getpid());
  MakeDirs(home().TmpDir() / running);
  EXPECT_THAT(Problems(true), ElementsAre("var/tmp/.sarge-json-999999999-abcdef was left by a "
                                          "deploy that was killed => removed "
                                          "var/tmp/.sarge-json-999999999-abcdef"));
  EXPECT_THAT(Problems(), IsEmpty());
  EXPECT_TRUE(fs::exists(home().TmpDir() / running));
}

TEST_F(CheckTest, AStopKilledWhileSupervisordStopsIsFinished) {
  std::string id = Deploy1(2);
  Deploy1(2);  // id no longer serves
  // As if a stop of id was killed after its stopProcess: the record says
  // stopped, supervisord is still stopping the program; it then ends.
  ASSERT_FALSE(LoadRecord(home(), id).autostart);
  ProcessInfo stopping;
  stopping.name = stopping.group = id;
  stopping.state = "STOPPING";
  stopping.pid = 4343;
  supervisor.loaded[id] = stopping;
  system.process = [](int pid) {
    return pid != 4343 ? ProcessState::kRunning : ProcessState::kGone;
  };
  // No problem: the repair finishes the stop and unloads it quietly.
  EXPECT_THAT(Problems(), IsEmpty());
  EXPECT_THAT(Problems(true), IsEmpty());
  EXPECT_FALSE(supervisor.loaded.contains(id));
}

// A failed start keeps its program loaded, stopped, so `status` says why;
// `supervisorctl update` loads every program: neither is a problem.
TEST_F(CheckTest, AStoppedProgramKeptLoadedIsNoProblemAndARepairUnloadsIt) {
  std::string id = Deploy1(2);
  Deploy1(2);  // id no longer serves, and is stopped and unloaded
  ProcessInfo failed;
  failed.name = failed.group = id;
  failed.state = "FATAL";
  supervisor.loaded[id] = failed;
  EXPECT_THAT(Problems(), IsEmpty());
  EXPECT_TRUE(supervisor.loaded.contains(id));
  EXPECT_THAT(Problems(true), IsEmpty());
  EXPECT_FALSE(supervisor.loaded.contains(id));
}

TEST_F(CheckTest, ADeployKilledBeforeTheSwitchIsUndone) {
  std::string v1 = Deploy1(2);
  // A second deploy that got as far as starting its instance.
  Record v2 = CreateInstance(env, kWebConfig);
  fs::create_directories(DeployMarker(home(), v2.id).parent_path());
  WriteFileAtomic(DeployMarker(home(), v2.id), "");
  WriteFileAtomic(home().ServerFile(v2.id), "#!/bin/sh\n", 0755);
  StartInstance(env, v2, 5s);
  EXPECT_THAT(Problems(true),
              ElementsAre("a deploy of " + v2.id + " was interrupted before the switch => " +
                          "destroyed " + v2.id + "; the front end is unchanged"));
  EXPECT_FALSE(fs::exists(home().RecordFile(v2.id)));
  EXPECT_EQ(ReadActiveSite(home(), "web")->id, v1);
  EXPECT_EQ(supervisor.loaded[v1].state, "RUNNING");
  EXPECT_THAT(Problems(), IsEmpty());
}

// Killed while switching: the site file routes to v2, but nginx had not
// reloaded and serves v1. What nginx serves decides: v1 is never stopped,
// the site file is put back, v2 destroyed.
TEST_F(CheckTest, ADeployKilledWhileSwitchingIsDecidedByWhatNginxServes) {
  std::string v1 = Deploy1(2);
  Record v2 = CreateInstance(env, kWebConfig);
  WriteFileAtomic(DeployMarker(home(), v2.id), kSwitching);
  WriteFileAtomic(home().ServerFile(v2.id), "#!/bin/sh\n", 0755);
  nlohmann::json appcfg = StartInstance(env, v2, 5s).appcfg;
  WriteFileAtomic(home().NginxSite("web"), RenderSite(home(), v2, appcfg, 2));
  std::string served = fmt::format("{} 1\n", v1);
  system.get = [&](const Url&, const std::string&) -> std::optional<HttpAnswer> {
    return HttpAnswer{200, served};
  };
  // check alone says the site file and nginx disagree.
  EXPECT_THAT(Problems(), ::testing::Contains("etc/nginx/sites/web.conf routes web to " + v2.id +
                                              ", but nginx serves " + v1 + "; `sarge " +
                                              home().root.string() + " activate " + v1 +
                                              "` makes them agree (after nginx -t finds the file "
                                              "good)"));
  // The repair's reload of v1's site is confirmed by nginx answering it.
  served = fmt::format("{} 3\n", v1);
  EXPECT_THAT(Problems(true),
              ElementsAre("a deploy of " + v2.id + " was interrupted before the switch => " +
                          "destroyed " + v2.id + "; the front end is unchanged"));
  EXPECT_EQ(ReadActiveSite(home(), "web")->id, v1);
  EXPECT_EQ(supervisor.loaded[v1].state, "RUNNING");
  EXPECT_FALSE(fs::exists(home().RecordFile(v2.id)));
  EXPECT_THAT(Problems(), IsEmpty());
}

TEST_F(CheckTest, ADeployKilledAfterTheSwitchIsFinished) {
  std::string v1 = Deploy1(2);
  std::string v2 = Deploy1(2);
  // As if killed before it stopped v1 and removed its marker.
  Record r1 = LoadRecord(home(), v1);
  StartInstance(env, r1, 5s);
  WriteFileAtomic(DeployMarker(home(), v2), "");
  EXPECT_THAT(Problems(true), ElementsAre("a deploy of " + v2 +
                                          " was interrupted after the switch => stopped the "
                                          "previous instances of web"));
  EXPECT_FALSE(supervisor.loaded.contains(v1));
  EXPECT_EQ(supervisor.loaded[v2].state, "RUNNING");
  EXPECT_THAT(Problems(), IsEmpty());
}

TEST_F(CheckTest, ASwitchedDeployThatTheFrontEndMovedOnFromOnlyLosesItsMarker) {
  std::string v1 = Deploy1(2);
  std::string v2 = Deploy1(2);
  // v2's deploy switched, then was cut short; a rollback moved back to v1.
  WriteFileAtomic(DeployMarker(home(), v2), kSwitched);
  Rollback(env, RollbackOptions{"web", "", 5s, {}});  // forgets v2's marker itself
  EXPECT_FALSE(fs::exists(DeployMarker(home(), v2)));
  WriteFileAtomic(DeployMarker(home(), v2), kSwitched);
  EXPECT_THAT(Problems(true),
              ElementsAre("a deploy of " + v2 +
                          " was interrupted after the switch, and the front end has moved on "
                          "since => removed its marker"));
  EXPECT_TRUE(fs::exists(home().RecordFile(v2)));  // kept: it served, rollback may want it
  EXPECT_EQ(supervisor.loaded[v1].state, "RUNNING");
  EXPECT_THAT(Problems(), IsEmpty());
}

TEST_F(CheckTest, ANarrowedSupervisordConfIsRewritten) {
  std::string id = Deploy1(2);
  WriteSupervisordConf(home(), id);  // as a start cut short leaves it
  EXPECT_THAT(Problems(true),
              ElementsAre("etc/supervisord.conf is not as sarge writes it (an interrupted start) "
                          "=> rewrote etc/supervisord.conf"));
  EXPECT_EQ(ReadFile(home().SupervisordConf()), SupervisordConf(home()));
  EXPECT_THAT(Problems(), IsEmpty());
}

TEST_F(CheckTest, WhatNeedsAPersonIsReportedNotRepaired) {
  std::string id = Deploy1(2);
  auto& info = supervisor.loaded[id];
  info.state = "FATAL";
  info.pid = 0;
  const std::string root = home().root.string();
  EXPECT_THAT(Problems(true),
              ElementsAre(id + " should be running but is FATAL; see `sarge " + root + " logs " +
                              id + "`, then `sarge " + root + " start " + id + "`",
                          "the front end of web routes to " + id +
                              ", which is FATAL; start it: " + "sarge " + root + " start " + id));
}

TEST_F(CheckTest, AnUnreadableRecordIsReported) {
  std::string id = Deploy1(2);
  WriteFileAtomic(home().RecordFile(id), "");
  auto found = Problems(true);
  ASSERT_FALSE(found.empty());
  EXPECT_THAT(found[0], ::testing::StartsWith("etc/instances/" + id + ".json cannot be read ("));
  EXPECT_TRUE(fs::exists(home().InstanceDir(id)));
}

}  // namespace
}  // namespace sarge
