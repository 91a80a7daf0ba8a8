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

// A server that answers its GREETING variable (and VERSION), and exits at
// once when its environment has BROKEN.
const std::string kGreetingServer = BodyServer(R"PY(
if os.environ.get("BROKEN"):
    raise SystemExit("broken on purpose")
body = ("%s %s\n" % (os.environ.get("GREETING", "(none)"), open("VERSION").read().strip())).encode()
)PY");

// Every file under `dir` whose text holds `needle`.
std::set<fs::path> FilesHolding(const fs::path& dir, const std::string& needle) {
  std::set<fs::path> found;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file() && ReadFile(entry.path()).find(needle) != std::string::npos)
      found.insert(entry.path());
  }
  return found;
}

TEST_F(Application, RestartIsANewInstanceOfTheSameReleaseWithNoFailedRequest) {
  const std::string id1 = DeployOk(
      Config(), Version("v1"),
      {"--label", "1.0", "--check-url", "http://127.0.0.1:$WEB_PORT/health", "--min-uptime", "0"});
  ASSERT_FALSE(id1.empty());
  RequestLoop loop(nginx_.port(), "web.test");
  Result r = home_.Sarge({"restart", "web", "--min-uptime", "0"});
  loop.Stop();
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  const std::string id2 = LastLine(r.out);
  EXPECT_NE(id2, id1);
  EXPECT_EQ(Served(), "v1\n");
  EXPECT_EQ(loop.failures().size(), 0u) << loop.Report();
  EXPECT_GT(loop.served(), 0);
  json entry = home_.ListEntry(id2);
  EXPECT_EQ(entry["label"], "1.0");
  EXPECT_EQ(entry["config"], home_.ListEntry(id1)["config"]);
  EXPECT_EQ(entry["check_url"], "http://127.0.0.1:$WEB_PORT/health");
  auto states = States();
  EXPECT_EQ(states[id1], "STOPPED");
  EXPECT_EQ(states[id2], "RUNNING");
  json releases = Releases(home_, "web");
  EXPECT_EQ(releases["serving"], "v2");
  EXPECT_EQ(releases["releases"][0]["by"], "restart");
  EXPECT_EQ(releases["releases"][0]["instance"], id2);
  EXPECT_EQ(releases["releases"][0]["source"], (sources_.path() / "v1").string());

  // logs APP: the log of the instance that serves it.
  WriteFile(home_.root() / "var/log" / (id2 + ".log"), "a line of web's server\n");
  Result logs = home_.Sarge({"logs", "web", "-n", "1"});
  EXPECT_EQ(logs.exit_code, 0) << Describe(logs);
  EXPECT_EQ(logs.out, "a line of web's server\n");

  // status APP: only that application's instances.
  ASSERT_FALSE(DeployOk(Config("api"), Version("a1")).empty());
  Result status = home_.Sarge({"status", "web", "--json"});
  ASSERT_EQ(status.exit_code, 0) << Describe(status);
  std::set<std::string> shown;
  for (const auto& row : json::parse(status.out)) shown.insert(row["id"].get<std::string>());
  EXPECT_EQ(shown, (std::set<std::string>{id1, id2}));
  status = home_.Sarge({"status", "wbe"});
  EXPECT_EQ(status.exit_code, 1);
  EXPECT_TRUE(status.err.starts_with("sarge: error: no instance 'wbe'")) << status.err;

  r = home_.Sarge({"restart", "nope"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "sarge: error: application 'nope' has no active instance to restart\n");
}

TEST_F(Application, ConfigSetRestartsWithTheValuesWhichAppearNowhereElse) {
  const std::string secret = "s3cr3t-greeting";
  const std::string id1 = DeployOk(Config(), Source("g1", kGreetingServer, {{"VERSION", "g1"}}));
  ASSERT_FALSE(id1.empty());
  EXPECT_EQ(Served(), "(none) g1\n");

  Result r =
      home_.Sarge({"config", "set", "web", "GREETING=" + secret, "SECOND=2", "--min-uptime", "0"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  std::smatch m;
  ASSERT_TRUE(std::regex_match(r.out, m,
                               std::regex("config set GREETING SECOND of web: "
                                          "(web-[A-Za-z0-9]{6}) serves with them\n")))
      << r.out;
  const std::string id2 = m[1];
  EXPECT_EQ(Served(), secret + " g1\n");
  EXPECT_EQ(home_.Sarge({"config", "web"}).out, "GREETING\nSECOND\n");
  EXPECT_EQ(home_.Sarge({"config", "web", "--values"}).out, "GREETING=" + secret + "\nSECOND=2\n");
  struct stat st {};
  ASSERT_EQ(::stat((home_ / "etc/apps/web/vars.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // Only the application's file and the instance's own hold the value.
  EXPECT_EQ(FilesHolding(home_.root(), secret),
            (std::set<fs::path>{home_ / "etc/apps/web/vars.json",
                                home_ / ("etc/vars/" + id2 + ".json")}));
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"list"}, {"status", "--json"}, {"status"}, {"releases", "web", "--json"}}) {
    Result shown = home_.Sarge(args);
    EXPECT_EQ(shown.out.find(secret), std::string::npos) << args[0] << ": " << shown.out;
  }

  // A name a service defines, or sarge, is refused; nothing changes.
  r = home_.Sarge({"config", "set", "web", "WEB_PORT=1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "sarge: error: WEB_PORT is defined by one of the application's services; choose "
            "another name\n");
  r = home_.Sarge({"config", "set", "web", secret});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "sarge: error: variable 1 of 1 is not NAME=VALUE (not shown, in case it is a secret); "
            "give each as NAME=VALUE\n");
  r = home_.Sarge({"config", "unset", "web", "NOPE"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "sarge: error: 'NOPE' is not a variable of web; `sarge " + home_.str() +
                       " config web` lists them\n");
  r = home_.Sarge({"config", "web", "GREETING=x"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "sarge: error: 'web' is not set or unset; give `config APP`, `config set APP "
            "NAME=VALUE…` or `config unset APP NAME…`\n");
  EXPECT_EQ(home_.Sarge({"config", "web"}).out, "GREETING\nSECOND\n");

  // A restart that fails puts the values back; the old instance serves on.
  r = home_.Sarge({"config", "set", "web", "BROKEN=1", "--timeout", "2"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_TRUE(std::regex_search(
      r.err, std::regex("\nsarge: error: restart failed at 'start': web-[A-Za-z0-9]{6} did not "
                        "start: [^\n]*; the variables of web are as they were\n")))
      << r.err;
  EXPECT_EQ(Served(), secret + " g1\n");
  EXPECT_EQ(home_.Sarge({"config", "web"}).out, "GREETING\nSECOND\n");

  // Each instance keeps the values it was started with: a rollback
  // brings back those of its time.
  r = home_.Sarge({"config", "unset", "web", "GREETING", "--min-uptime", "0"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(Served(), "(none) g1\n");
  r = home_.Sarge({"rollback", "web", "--min-uptime", "0"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(Served(), secret + " g1\n");

  // `-`: the values come on standard input, never on a command line.
  r = home_.Sarge({"config", "set", "web", "-", "--no-restart"}, "TOKEN=t0k3n\r\n\nOTHER=a=b\n");
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out, "config set OTHER TOKEN of web: applies from its next deploy or restart\n");
  r = home_.Sarge({"config", "web", "--values"});
  EXPECT_NE(r.out.find("OTHER=a=b\nSECOND=2\nTOKEN=t0k3n\n"), std::string::npos) << r.out;
  ASSERT_EQ(home_.Sarge({"config", "unset", "web", "OTHER", "TOKEN", "--no-restart"}).exit_code, 0);

  // --no-restart changes the values only; the next deploy has them.
  r = home_.Sarge({"config", "set", "web", "GREETING=later", "--no-restart"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out, "config set GREETING of web: applies from its next deploy or restart\n");
  EXPECT_EQ(Served(), secret + " g1\n");
  ASSERT_FALSE(DeployOk(Config(), Source("g2", kGreetingServer, {{"VERSION", "g2"}})).empty());
  EXPECT_EQ(Served(), "later g2\n");

  // A deploy whose services would define a name already set is refused.
  r = home_.Sarge({"config", "set", "web", "CACHE_PATH=/elsewhere", "--no-restart"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  json cached = Config();
  cached["services"]["cache"] = {{"type", "var-folder"}};
  r = Deploy(cached, Source("g3", kGreetingServer, {{"VERSION", "g3"}}));
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_EQ(r.err,
            "sarge: error: the variable CACHE_PATH of web (config set) is a name one of "
            "this configuration's services defines; remove it first: sarge " +
                home_.str() + " config unset web CACHE_PATH\n");
  EXPECT_EQ(Served(), "later g2\n");
}

}  // namespace
}  // namespace e2e
