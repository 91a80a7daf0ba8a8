#include "sarge/app_config.h"

#include <sys/stat.h>

#include <cstdlib>

#include <gtest/gtest.h>

#include "sarge/deploy.h"
#include "sarge/error.h"
#include "sarge/test_util.h"

namespace sarge {
namespace {

using nlohmann::json;

TEST(AppConfigTest, TellsAnApplicationsNameFromJson) {
  EXPECT_TRUE(NamesApplication("web"));
  EXPECT_TRUE(NamesApplication("my-app_2"));
  EXPECT_FALSE(NamesApplication(R"({"application_name": "web"})"));
  EXPECT_FALSE(NamesApplication("  \n{}"));
  EXPECT_FALSE(NamesApplication("-"));
  EXPECT_FALSE(NamesApplication("@config.json"));
  EXPECT_FALSE(NamesApplication(""));
}

// What DeployConfig makes of `config` for w's source, or its error.
std::string Resolved(testing::DeployWorld& w, const std::string& config) {
  try {
    return json::parse(DeployConfig(w.home(), w.runner, config, w.source)).dump();
  } catch (const Error& e) {
    return std::string("error: ") + e.what();
  }
}

TEST(AppConfigTest, AnApplicationsNameTakesTheSourcesSargeJson) {
  testing::DeployWorld w;
  WriteFileAtomic(w.source / "sarge.json",
                  R"({"services": {"web": {"type": "listen"}}, "env": {"A": "1"}})");
  EXPECT_EQ(Resolved(w, "web"),
            R"({"application_name":"web","env":{"A":"1"},"services":{"web":{"type":"listen"}}})");
  // JSON on the command line overrides the source's keys, one by one.
  EXPECT_EQ(Resolved(w, R"({"application_name": "api", "env": {"B": "2"}})"),
            R"({"application_name":"api","env":{"B":"2"},"services":{"web":{"type":"listen"}}})");
  WriteFileAtomic(w.source / "sarge.json", R"({"application_name": "api"})");
  EXPECT_EQ(Resolved(w, "web"),
            "error: sarge.json in '" + w.source.string() +
                "' is for application \"api\", not 'web'; deploy it under that name or change "
                "its application_name");
  WriteFileAtomic(w.source / "sarge.json", "[1]");
  EXPECT_EQ(Resolved(w, "web"),
            "error: sarge.json in '" + w.source.string() + "' is not a JSON object");
}

TEST(AppConfigTest, WithoutSargeJsonTheConfigurationLastDeployedIsUsed) {
  testing::DeployWorld w;
  EXPECT_EQ(Resolved(w, "web"),
            "error: no configuration for 'web': '" + w.source.string() +
                "' has no sarge.json and web was never deployed in " + w.home().root.string() +
                "; put a sarge.json in the source, or give the configuration's JSON instead of "
                "the name");
  // Without sarge.json, JSON passes through untouched (new's errors apply).
  EXPECT_EQ(DeployConfig(w.home(), w.runner, "{bad", w.source), "{bad");
  std::string id = w.Deploy1();
  fs::path remembered = w.home().AppDir("web") / "config.json";
  struct stat st {};
  ASSERT_EQ(::stat(remembered.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);  // its env may hold secrets
  EXPECT_EQ(Resolved(w, "web"), LoadRecord(w.home(), id).config.dump());
}

TEST(AppConfigTest, ATarballsSargeJsonIsFoundAtItsRootOrInItsOneFolder) {
  testing::DeployWorld w;
  fs::path release = w.temp.dir.path() / "release-7";
  fs::create_directory(release);
  WriteFileAtomic(release / "server", "#!/bin/sh\n", 0755);
  WriteFileAtomic(release / "sarge.json", R"({"env": {"V": "7"}})");
  fs::path tarball = w.temp.dir.path() / "r.tar.gz";
  auto& runner = RealCommandRunner();
  ASSERT_EQ(
      runner
          .Run({"tar", "-czf", tarball.string(), "-C", w.temp.dir.path().string(), "release-7"},
               std::chrono::seconds(30))
          .exit_code,
      0);
  EXPECT_EQ(json::parse(DeployConfig(w.home(), runner, "web", tarball)),
            json::parse(R"({"application_name": "web", "env": {"V": "7"}})"));
  ASSERT_EQ(runner
                .Run({"tar", "-czf", tarball.string(), "-C", release.string(), "."},
                     std::chrono::seconds(30))
                .exit_code,
            0);
  EXPECT_EQ(json::parse(DeployConfig(w.home(), runner, "web", tarball)),
            json::parse(R"({"application_name": "web", "env": {"V": "7"}})"));
  // Nothing of it is left behind.
  EXPECT_TRUE(fs::is_empty(w.home().TmpDir()));
  fs::remove(release / "sarge.json");
  ASSERT_EQ(runner
                .Run({"tar", "-czf", tarball.string(), "-C", release.string(), "."},
                     std::chrono::seconds(30))
                .exit_code,
            0);
  EXPECT_FALSE(SourceConfig(w.home(), runner, tarball));
}

// One listing and one extraction bring out both files a deploy reads first.
TEST(AppConfigTest, ATarballsSargeJsonAndProcfileComeOutTogether) {
  testing::DeployWorld w;
  fs::path release = w.temp.dir.path() / "release-8";
  fs::create_directories(release);
  WriteFileAtomic(release / "sarge.json", R"({"env": {"V": "8"}})");
  WriteFileAtomic(release / "Procfile", "web: ./run\n");
  fs::path tarball = w.temp.dir.path() / "release-8.tar.gz";
  auto& runner = RealCommandRunner();
  ASSERT_EQ(
      runner
          .Run({"tar", "-czf", tarball.string(), "-C", w.temp.dir.path().string(), "release-8"},
               std::chrono::seconds(30))
          .exit_code,
      0);
  SourceFiles files = ReadSourceFiles(w.home(), runner, tarball);
  EXPECT_EQ(files.config, R"({"env": {"V": "8"}})");
  EXPECT_EQ(files.procfile, "web: ./run\n");
  EXPECT_TRUE(fs::is_empty(w.home().TmpDir()));
  files = ReadSourceFiles(w.home(), runner, release);  // a folder: the same
  EXPECT_EQ(files.procfile, "web: ./run\n");
}

TEST(AppConfigTest, ASymlinkedSargeJsonIsRefused) {
  testing::DeployWorld w;
  fs::create_symlink("/etc/passwd", w.source / "sarge.json");
  EXPECT_THROW(SourceConfig(w.home(), w.runner, w.source), Error);
}

TEST(AppConfigTest, TheLabelIsKeptInTheRecord) {
  testing::DeployWorld w;
  DeployOptions options{testing::kWebConfig, w.source, "", std::chrono::seconds(5), {}, {}, {}};
  options.label = "v1.2 (abc123)";
  std::string id = Deploy(w.env, options);
  EXPECT_EQ(LoadRecord(w.home(), id).label, "v1.2 (abc123)");
  EXPECT_EQ(LoadRecord(w.home(), id).ToJson()["label"], "v1.2 (abc123)");
  options.label = "two\nlines";
  try {
    Deploy(w.env, options);
    FAIL() << "accepted";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "--label 'two\\nlines' must be one line of at most 200 bytes");
  }
}

}  // namespace
}  // namespace sarge
