#include "sarge/releases.h"

#include <gtest/gtest.h>

#include "sarge/deploy.h"
#include "sarge/error.h"
#include "sarge/test_util.h"

namespace sarge {
namespace {

using nlohmann::json;

Release Made(const std::string& by, const std::string& instance, const std::string& outcome) {
  return {0, "2026-12-03T23:00:00.000001Z", "alice", by, "1.0", "/src", instance, outcome};
}

TEST(ReleasesTest, NumbersEachReleaseOneMoreThanTheLast) {
  testing::TempHome t;
  EXPECT_TRUE(LoadReleases(t.home, "web").empty());
  EXPECT_EQ(NoteRelease(t.home, "web", Made("deploy", "web-aaaaaa", "succeeded")), 1);
  EXPECT_EQ(NoteRelease(t.home, "web", Made("deploy", "", "failed: no")), 2);
  EXPECT_EQ(NoteRelease(t.home, "api", Made("deploy", "api-aaaaaa", "succeeded")), 1);
  EXPECT_EQ(NoteRelease(t.home, "web", Made("rollback", "web-aaaaaa", "succeeded")), 3);
  auto releases = LoadReleases(t.home, "web");
  ASSERT_EQ(releases.size(), 3u);
  EXPECT_EQ(releases[1].outcome, "failed: no");
  EXPECT_EQ(releases[2].by, "rollback");
}

TEST(ReleasesTest, FindsAReleaseThatServedAndSaysWhyNotOthers) {
  testing::TempHome t;
  NoteRelease(t.home, "web", Made("deploy", "web-aaaaaa", "succeeded"));
  NoteRelease(t.home, "web", Made("deploy", "", "failed: its check answered 500"));
  EXPECT_EQ(FindRelease(t.home, "web", "v1").instance, "web-aaaaaa");
  auto error = [&](const std::string& version) {
    try {
      FindRelease(t.home, "web", version);
      return std::string("found");
    } catch (const Error& e) {
      return std::string(e.what());
    }
  };
  EXPECT_EQ(error("v2"), "v2 of web failed and never served; `sarge " + t.home.root.string() +
                             " releases web` lists the others");
  EXPECT_EQ(error("v9"), "web has no release 'v9'; `sarge " + t.home.root.string() +
                             " releases web` lists them");
  EXPECT_TRUE(IsReleaseNumber("v12"));
  EXPECT_FALSE(IsReleaseNumber("v"));
  EXPECT_FALSE(IsReleaseNumber("web-v12345"));
  EXPECT_FALSE(IsReleaseNumber("v1x"));
}

TEST(ReleasesTest, AHistoryNotWrittenBySargeIsAnErrorSayingWhatToDo) {
  testing::TempHome t;
  MakeDirs(t.home.AppDir("web"));
  WriteFileAtomic(t.home.AppDir("web") / "releases.json", "{\"x\": 1}");
  try {
    LoadReleases(t.home, "web");
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), (t.home.AppDir("web") / "releases.json").string() +
                                         " is not a release history sarge wrote; move it away "
                                         "(numbering then starts again at v1)");
  }
}

TEST(ReleasesTest, DeploysAndRollbacksAreReleasesAndTheServingOneIsMarked) {
  testing::DeployWorld w;
  DeployOptions options{testing::kWebConfig, w.source, "", std::chrono::seconds(5), 3, {}, {}, ""};
  std::string first = DeployCommand(w.env, options);
  std::string second = DeployCommand(w.env, options);
  json releases = ReleasesJson(w.home(), "web");
  EXPECT_EQ(releases["serving"], "v2");
  ASSERT_EQ(releases["releases"].size(), 2u);
  EXPECT_EQ(releases["releases"][0]["version"], "v2");  // newest first
  EXPECT_EQ(releases["releases"][0]["instance"], second);
  EXPECT_EQ(releases["releases"][0]["serving"], true);
  EXPECT_EQ(releases["releases"][1]["serving"], false);

  RollbackCommand(w.env, RollbackOptions{"web", "v1", std::chrono::seconds(5), {}});
  releases = ReleasesJson(w.home(), "web");
  EXPECT_EQ(releases["serving"], "v3");
  EXPECT_EQ(releases["releases"][0]["by"], "rollback");
  EXPECT_EQ(releases["releases"][0]["instance"], first);
  EXPECT_EQ(releases["releases"][0]["source"], releases["releases"][2]["source"]);
  std::string table = ReleasesTable(releases);
  EXPECT_EQ(table.substr(0, table.find('\n')),
            "VERSION  WHEN                 BY        USER" +
                std::string(table.find("LABEL") - table.find("USER") - 4, ' ') +
                "LABEL  INSTANCE    SERVING  OUTCOME");
  EXPECT_NE(table.find("v3       "), std::string::npos) << table;
}

TEST(ReleasesTest, ARollbackThatCannotChooseWhereToGoIsNoRelease) {
  testing::DeployWorld w;
  DeployOptions options{testing::kWebConfig, w.source, "", std::chrono::seconds(5), 3, {}, {}, ""};
  std::string first = DeployCommand(w.env, options);
  EXPECT_THROW(RollbackCommand(w.env, RollbackOptions{"wbe", "", std::chrono::seconds(5), {}}),
               Error);
  EXPECT_FALSE(fs::exists(w.home().AppDir("wbe")));
  EXPECT_THROW(RollbackCommand(w.env, RollbackOptions{"web", "v9", std::chrono::seconds(5), {}}),
               Error);
  EXPECT_EQ(LoadReleases(w.home(), "web").size(), 1u);

  // One that tried and failed is a release, naming where it tried to go.
  std::string second = DeployCommand(w.env, options);
  w.supervisor.outcome = testing::FakeSupervisor::Outcome::kExitsAtOnce;
  EXPECT_THROW(RollbackCommand(w.env, RollbackOptions{"web", "", std::chrono::seconds(5), {}}),
               Error);
  auto releases = LoadReleases(w.home(), "web");
  ASSERT_EQ(releases.size(), 3u);
  EXPECT_EQ(releases[2].by, "rollback");
  EXPECT_EQ(releases[2].instance, first);
  EXPECT_TRUE(releases[2].outcome.starts_with("failed: rollback to " + first))
      << releases[2].outcome;
  EXPECT_EQ(ReleasesJson(w.home(), "web")["serving"], "v2");
}

TEST(ReleasesTest, AnUnreadableHistoryStopsNoRollback) {
  testing::DeployWorld w;
  DeployOptions options{testing::kWebConfig, w.source, "", std::chrono::seconds(5), 3, {}, {}, ""};
  std::string first = DeployCommand(w.env, options);
  DeployCommand(w.env, options);
  WriteFileAtomic(w.home().AppDir("web") / "releases.json", "not json");
  EXPECT_EQ(RollbackCommand(w.env, RollbackOptions{"web", "", std::chrono::seconds(5), {}}), first);
  EXPECT_NE(w.said.str().find("warning: the rollback of web was not noted in its releases: "),
            std::string::npos)
      << w.said.str();
}

}  // namespace
}  // namespace sarge
