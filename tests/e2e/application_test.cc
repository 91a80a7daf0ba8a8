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

// The releases of `app` as `releases --json` shows them (null if it fails).
json Releases(const TempHome& home, const std::string& app) {
  Result r = home.Sarge({"releases", app, "--json"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  return r.exit_code == 0 ? json::parse(r.out) : json();
}

TEST_F(Application, EveryDeployAndRollbackIsANumberedReleaseToGoBackTo) {
  const std::vector<std::string> check = {"--check-url", "http://127.0.0.1:$WEB_PORT/health",
                                          "--min-uptime", "0"};
  std::vector<std::string> labelled = check;
  labelled.insert(labelled.end(), {"--label", "one"});
  const std::string id1 = DeployOk(Config(), Version("v1"), labelled);
  const std::string id2 = DeployOk(Config(), Version("v2"), check);
  ASSERT_FALSE(id1.empty() || id2.empty());
  std::vector<std::string> short_wait = check;
  short_wait.insert(short_wait.end(), {"--timeout", "2"});
  Result failed = Deploy(Config(), Version("v3", 500), short_wait);
  ASSERT_EQ(failed.exit_code, 1) << Describe(failed);

  json releases = Releases(home_, "web");
  EXPECT_EQ(releases["serving"], "v2");
  ASSERT_EQ(releases["releases"].size(), 3u);
  EXPECT_EQ(releases["releases"][0]["version"], "v3");
  EXPECT_TRUE(releases["releases"][0]["outcome"].get<std::string>().starts_with("failed: "))
      << releases;
  EXPECT_EQ(releases["releases"][0]["instance"], "");
  EXPECT_EQ(releases["releases"][2]["label"], "one");
  EXPECT_EQ(releases["releases"][2]["source"], (sources_.path() / "v1").string());

  // Back to v1 by its number: it serves again, and that is v4.
  Result r = home_.Sarge({"rollback", "web", "--to", "v1", "--min-uptime", "0"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(LastLine(r.out), id1);
  EXPECT_EQ(Served(), "v1\n");
  releases = Releases(home_, "web");
  EXPECT_EQ(releases["serving"], "v4");
  EXPECT_EQ(releases["releases"][0]["by"], "rollback");
  EXPECT_EQ(releases["releases"][0]["label"], "one");
  Result table = home_.Sarge({"releases", "web"});
  EXPECT_TRUE(table.out.starts_with("VERSION  WHEN                 BY        USER")) << table.out;

  // A release that failed never served; one that does not exist says so.
  r = home_.Sarge({"rollback", "web", "--to", "v3"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "sarge: error: v3 of web failed and never served; `sarge " + home_.str() +
                       " releases web` lists the others\n");
  EXPECT_EQ(Served(), "v1\n");
  r = home_.Sarge({"releases", "wbe"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "sarge: error: application 'wbe' has no releases in " + home_.str() +
                       "; deploy it first\n");
}

}  // namespace
}  // namespace e2e
