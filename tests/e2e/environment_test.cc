// The instance's environment, as its server and `run` see it: the services'
// values, SARGEAPP_CFG, `env`, the prerun file, the instance folder.
#include "e2e_util.h"

namespace e2e {
namespace {

class Environment : public HomeTest {
 protected:
  // An instance with one service of each type, `env` values and a prerun file.
  std::string NewInstance() {
    const json config = {{"application_name", "web"},
                         {"prerun", "prerun.sh"},
                         {"services",
                          {{"web", {{"type", "listen"}}},
                           {"cache", {{"type", "var-folder"}}},
                           {"media", {{"type", "persistent-folder"}}}}},
                         {"env", {{"GREETING", "hello world"}, {"X", "shout"}}}};
    std::string id = home_.New(config);
    if (!id.empty())
      WriteFile(home_ / id / "prerun.sh",
                "export FROM_PRERUN=\"prerun ran in $PWD\"\nPRERUN_LOCAL=local\n");
    return id;
  }
};

TEST_F(Environment, ServerSeesServicesSargeappCfgEnvAndPrerun) {
  ASSERT_TRUE(home_.StartSupervisord());
  const std::string id = NewInstance();
  ASSERT_FALSE(id.empty());
  home_.WriteServer(id, kHttpServer);
  Result r = home_.Sarge({"start", id});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  json cfg = home_.AppCfg(id);
  ASSERT_TRUE(cfg.is_object());
  auto reply = HttpGet("127.0.0.1", cfg["WEB_PORT"].get<int>());
  ASSERT_TRUE(reply);
  json body = json::parse(reply->body);
  json env = body["env"];
  EXPECT_EQ(body["cwd"], home_.str() + "/" + id);
  EXPECT_EQ(env["WEB_HOST"], cfg["WEB_HOST"]);
  EXPECT_EQ(env["WEB_PORT"], std::to_string(cfg["WEB_PORT"].get<int>()));
  EXPECT_EQ(env["CACHE_PATH"], cfg["CACHE_PATH"]);
  EXPECT_EQ(env["MEDIA_PATH"], home_.str() + "/var/data/media");
  EXPECT_EQ(env["SARGEAPP_CFG"], home_.str() + "/var/run/" + id + "/appcfg.json");
  EXPECT_EQ(env["GREETING"], "hello world");
  EXPECT_EQ(env["X"], "shout");
  EXPECT_EQ(env["FROM_PRERUN"], "prerun ran in " + home_.str() + "/" + id);
  EXPECT_FALSE(env.contains("PRERUN_LOCAL")) << "a variable the prerun file did not export";
}

TEST_F(Environment, RunSeesTheSameEnvironmentInTheInstanceFolder) {
  const std::string id = NewInstance();
  ASSERT_FALSE(id.empty());
  const std::string dir = home_.str() + "/" + id;
  Result r =
      home_.Sarge({"run", id,
                   R"(printf '%s\n' "$PWD" "$WEB_HOST" "$WEB_PORT" "$CACHE_PATH" )"
                   R"("$MEDIA_PATH" "$SARGEAPP_CFG" "$GREETING" "$FROM_PRERUN" "$PRERUN_LOCAL")"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  json cfg = home_.AppCfg(id);  // run computes it when it was never configured
  ASSERT_TRUE(cfg.is_object());
  EXPECT_EQ(Lines(r.out),
            (std::vector<std::string>{
                dir, cfg["WEB_HOST"], std::to_string(cfg["WEB_PORT"].get<int>()), cfg["CACHE_PATH"],
                home_.str() + "/var/data/media", home_.str() + "/var/run/" + id + "/appcfg.json",
                "hello world", "prerun ran in " + dir, "local"}));
  EXPECT_EQ(r.err, "");
}

// appcfg.json is not fsynced (only the record is): the empty file a power
// loss can leave is rebuilt before the server or `run` sees it.
TEST_F(Environment, AnEmptiedAppcfgIsRebuiltBeforeUse) {
  ASSERT_TRUE(home_.StartSupervisord());
  const std::string id = NewInstance();
  ASSERT_FALSE(id.empty());
  Result r = home_.Sarge({"configure", id});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  const json cfg = home_.AppCfg(id);
  ASSERT_TRUE(cfg.is_object());
  const std::string path = home_.str() + "/var/run/" + id + "/appcfg.json";

  WriteFile(path, "");
  r = home_.Sarge({"run", id, "echo $WEB_PORT"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out, std::to_string(cfg["WEB_PORT"].get<int>()) + "\n");
  EXPECT_EQ(home_.AppCfg(id), cfg);

  WriteFile(path, "");
  home_.WriteServer(id, kHttpServer);
  r = home_.Sarge({"start", id});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(home_.AppCfg(id), cfg);
  auto reply = HttpGet("127.0.0.1", cfg["WEB_PORT"].get<int>());
  ASSERT_TRUE(reply);
  EXPECT_EQ(json::parse(reply->body)["env"]["WEB_PORT"],
            std::to_string(cfg["WEB_PORT"].get<int>()));
}

TEST_F(Environment, RunBehavesLikeBashC) {
  const std::string id = NewInstance();
  ASSERT_FALSE(id.empty());
  Result r = home_.Sarge({"run", id, "echo $X | tr a-z A-Z"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "SHOUT\n") << Describe(r);

  r = home_.Sarge({"run", id, "echo", "several", "words"});
  EXPECT_EQ(r.out, "several words\n") << Describe(r);

  r = home_.Sarge({"run", id, "false; echo status $?; echo oops >&2; exit 7"});
  EXPECT_EQ(r.exit_code, 7);
  EXPECT_EQ(r.out, "status 1\n");
  EXPECT_EQ(r.err, "oops\n");

  r = home_.Sarge({"run", id, "pwd"});
  EXPECT_EQ(r.out, home_.str() + "/" + id + "\n") << Describe(r);
}

TEST_F(Environment, RunReadsCommandsFromStdin) {
  const std::string id = NewInstance();
  ASSERT_FALSE(id.empty());
  Result r =
      home_.Sarge({"run", id}, "echo \"$GREETING\"\npwd\necho \"$FROM_PRERUN\"\nexit 5\necho no\n");
  EXPECT_EQ(r.exit_code, 5) << Describe(r);
  const std::string dir = home_.str() + "/" + id;
  EXPECT_EQ(r.out, "hello world\n" + dir + "\nprerun ran in " + dir + "\n");
}

TEST_F(Environment, FailingPrerunStopsRun) {
  const std::string id = NewInstance();
  ASSERT_FALSE(id.empty());
  WriteFile(home_ / id / "prerun.sh", "echo broken prerun >&2\nreturn 9\n");
  Result r = home_.Sarge({"run", id, "echo should not run"});
  EXPECT_EQ(r.exit_code, 9) << Describe(r);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "broken prerun\n");
}

}  // namespace
}  // namespace e2e
