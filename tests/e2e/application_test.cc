// Applications end to end (issue 25): a deploy by the application's name,
// with the configuration a source carries (sarge.json) or the one last
// deployed, and a release's label; the real supervisord and nginx.
#include <sys/stat.h>

#include "deploy_fixture.h"

namespace e2e {
namespace {

using Application = DeployTest;

TEST_F(Application, ADeployByNameUsesTheSourcesSargeJsonThenTheOneLastDeployed) {
  fs::path v1 = Version("v1");
  WriteFile(v1 / "sarge.json", Config().dump());
  Result r = home_.Sarge({"deploy", "web", v1.string(), "--label", "1.0 (abc123)"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  const std::string id1 = LastLine(r.out);
  EXPECT_EQ(Served(), "v1\n");
  EXPECT_EQ(home_.ListEntry(id1)["label"], "1.0 (abc123)");
  struct stat st {};
  ASSERT_EQ(::stat((home_ / "etc/apps/web/config.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // No sarge.json: the configuration web was last deployed with.
  r = home_.Sarge({"deploy", "web", Version("v2").string()});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  const std::string id2 = LastLine(r.out);
  EXPECT_EQ(Served(), "v2\n");
  EXPECT_EQ(home_.ListEntry(id2)["config"], home_.ListEntry(id1)["config"]);
  EXPECT_FALSE(home_.ListEntry(id2).contains("label"));

  // JSON on the command line overrides the keys of the source's sarge.json.
  fs::path v3 = Version("v3");
  WriteFile(v3 / "sarge.json", Config().dump());
  const std::string id3 =
      DeployOk({{"application_name", "web"}, {"env", {{"GREETING", "hi"}}}}, v3);
  ASSERT_FALSE(id3.empty());
  EXPECT_EQ(Served(), "v3\n");
  EXPECT_EQ(home_.ListEntry(id3)["config"]["env"], json({{"GREETING", "hi"}}));
  EXPECT_EQ(home_.ListEntry(id3)["config"]["urlmap"], Config()["urlmap"]);
}

TEST_F(Application, ADeployByNameWithoutAConfigurationCreatesNothing) {
  fs::path v1 = Version("v1");
  Result r = home_.Sarge({"deploy", "api", v1.string()});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_EQ(r.err, "sarge: error: no configuration for 'api': '" + v1.string() +
                       "' has no sarge.json and api was never deployed in " + home_.str() +
                       "; put a sarge.json in the source, or give the configuration's JSON "
                       "instead of the name\n");
  WriteFile(v1 / "sarge.json", Config("web").dump());
  r = home_.Sarge({"deploy", "api", v1.string()});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_EQ(r.err, "sarge: error: sarge.json in '" + v1.string() +
                       "' is for application \"web\", not 'api'; deploy it under that name or "
                       "change its application_name\n");
  EXPECT_TRUE(home_.List()["instances"].empty());
  EXPECT_FALSE(fs::exists(home_ / "etc/apps/api"));
}

}  // namespace
}  // namespace e2e
