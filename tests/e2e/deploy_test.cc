// deploy, activate and rollback end to end: the real supervisord and a
// private nginx on loopback, requests through nginx on a new connection
// each, zero failed requests across deploys.
#include <iostream>

#include "deploy_fixture.h"

namespace e2e {
namespace {

TEST_F(DeployTest, FirstDeployServesThroughNginx) {
  Result r = Deploy(Config(), Version("v1"));
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  const std::string id = LastLine(r.out);
  ASSERT_TRUE(std::regex_match(id, std::regex("web-[A-Za-z0-9]{6}"))) << r.out;
  EXPECT_EQ(NewInstanceId(r.err), id) << r.err;
  // Each step is reported.
  for (const char* step :
       {"create instance", "install source", "start", "wait until healthy", "switch front end",
        "let old nginx workers finish", "stop previous instances"})
    EXPECT_TRUE(Contains(r.err, std::string("] ") + step + "\n")) << step << "\n" << r.err;

  EXPECT_EQ(Served(), "v1\n");
  const std::string site = SiteFile();
  EXPECT_TRUE(Contains(site, "active " + id + " generation 1")) << site;
  EXPECT_EQ(States(), (std::map<std::string, std::string>{{id, "RUNNING"}}));
  // Other hosts still reach nginx's default server only.
  EXPECT_EQ(GetWithHost(nginx_.port(), "other.test", "/").status, 404);
}

TEST_F(DeployTest, DeploysFromTarball) {
  fs::path source = Version("tar1");
  const fs::path tarball = sources_.path() / "release.tar.gz";
  Result tar =
      RunProgram({FindOnPath("tar"), "-czf", tarball.string(), "-C", source.string(), "."});
  ASSERT_EQ(tar.exit_code, 0) << Describe(tar);
  const std::string id = DeployOk(Config(), tarball);
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(Served(), "tar1\n");
  EXPECT_EQ(ReadFile(home_ / id / "VERSION"), "tar1\n");
  EXPECT_EQ(States(), (std::map<std::string, std::string>{{id, "RUNNING"}}));

  // A tarball of the release's folder itself: its one top-level folder
  // (here named like a file in it) is unwrapped.
  fs::path wrapped = Version("tar2");
  fs::rename(wrapped, sources_.path() / "VERSION");
  const fs::path tarball2 = sources_.path() / "release-2.tar.gz";
  tar = RunProgram(
      {FindOnPath("tar"), "-czf", tarball2.string(), "-C", sources_.path().string(), "VERSION"});
  ASSERT_EQ(tar.exit_code, 0) << Describe(tar);
  const std::string id2 = DeployOk(Config(), tarball2);
  ASSERT_FALSE(id2.empty());
  EXPECT_EQ(Served(), "tar2\n");
  EXPECT_EQ(ReadFile(home_ / id2 / "VERSION"), "tar2\n");
}

TEST_F(DeployTest, NoFailedRequestDuringFiveDeploys) {
  ASSERT_FALSE(DeployOk(Config(), Version("v1")).empty());
  ASSERT_EQ(Served(), "v1\n");

  RequestLoop loop(nginx_.port(), "web.test");
  std::vector<std::string> ids;
  for (int v = 2; v <= 6; ++v) {
    const std::string version = "v" + std::to_string(v);
    std::string id = DeployOk(Config(), Version(version));
    ids.push_back(id);
    // sarge confirmed the switch: a new connection gets the new version.
    EXPECT_EQ(Served(), version + "\n");
  }
  std::this_thread::sleep_for(200ms);
  loop.Stop();

  std::cout << "[ info     ] " << loop.served() << " requests served, " << loop.failures().size()
            << " failed, " << loop.seen().size() << " versions seen\n";
  EXPECT_EQ(loop.failures().size(), 0u)
      << "of " << loop.served() + loop.failures().size() << " requests:\n"
      << loop.Report();
  EXPECT_GT(loop.served(), 50) << "the clients made too few requests to prove anything";
  EXPECT_TRUE(loop.seen().contains("v1\n") && loop.seen().contains("v6\n"))
      << loop.seen().size() << " versions seen";
  EXPECT_GE(loop.seen().size(), 3u);
  EXPECT_EQ(Served(), "v6\n");
  // Only the last one runs; the previous ones (up to deploy.keep = 3) stay stopped.
  auto states = States();
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(states[ids.back()], "RUNNING");
  int running = 0;
  for (const auto& [id, state] : states) running += state == "RUNNING";
  EXPECT_EQ(running, 1) << home_.List().dump(2);
  EXPECT_EQ(states.size(), 4u) << home_.List().dump(2);
}

TEST_F(DeployTest, FailingHealthCheckKeepsOldVersionServing) {
  const std::string v1 = DeployOk(Config(), Version("v1"));
  ASSERT_FALSE(v1.empty());
  const std::string site = SiteFile();

  auto t0 = Clock::now();
  Result r = Deploy(Config(), Version("v2", 500),
                    {"--check-url", "http://127.0.0.1:$WEB_PORT/health", "--timeout", "2"});
  EXPECT_LT(Clock::now() - t0, 8s);
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_TRUE(Contains(r.err, "deploy failed at 'wait until healthy'")) << r.err;
  EXPECT_TRUE(Contains(r.err, "health check 'http://127.0.0.1:")) << r.err;
  EXPECT_TRUE(Contains(r.err, "/health' gave HTTP 500 until the deadline")) << r.err;
  EXPECT_EQ(r.out, "");
  const std::string v2 = NewInstanceId(r.err);
  // The new server's log tail comes with the reason.
  EXPECT_TRUE(Contains(r.err, "last lines of " + home_.str() + "/var/log/" + v2 + ".log:\n"))
      << r.err;
  EXPECT_TRUE(Contains(r.err, "serving v2 on 127.0.0.1:")) << r.err;
  ExpectGone(v2);

  EXPECT_EQ(Served(), "v1\n");
  EXPECT_EQ(SiteFile(), site);
  EXPECT_EQ(States(), (std::map<std::string, std::string>{{v1, "RUNNING"}}));
}

TEST_F(DeployTest, CrashingServerFailsWithItsLogAndOldKeepsServing) {
  const std::string v1 = DeployOk(Config(), Version("v1"));
  ASSERT_FALSE(v1.empty());
  const std::string site = SiteFile();

  Result r = Deploy(Config(), Source("crash", kExitAtOnceServer), {"--timeout", "10"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_TRUE(Contains(r.err, "deploy failed at 'start'")) << r.err;
  EXPECT_TRUE(Contains(r.err, "fatal: cannot open the database\ngiving up with status 3\n"))
      << r.err;
  EXPECT_EQ(r.out, "");
  ExpectGone(NewInstanceId(r.err));

  EXPECT_EQ(Served(), "v1\n");
  EXPECT_EQ(SiteFile(), site);
  EXPECT_EQ(States(), (std::map<std::string, std::string>{{v1, "RUNNING"}}));
}

TEST_F(DeployTest, KeepsOnlyTheGivenNumberOfPreviousInstances) {
  std::vector<std::string> ids;
  for (int v = 1; v <= 5; ++v) {
    ids.push_back(DeployOk(Config(), Version("v" + std::to_string(v)),
                           {"--keep", "2", "--check-url", "http://127.0.0.1:$WEB_PORT/health"}));
    ASSERT_FALSE(ids.back().empty());
  }
  EXPECT_EQ(Served(), "v5\n");
  EXPECT_EQ(States(), (std::map<std::string, std::string>{
                          {ids[2], "STOPPED"}, {ids[3], "STOPPED"}, {ids[4], "RUNNING"}}));
  const std::string log = ReadFile(home_ / "var/log/sarge.log");
  for (int i : {0, 1}) {
    EXPECT_FALSE(fs::exists(home_ / ids[i])) << ids[i];
    EXPECT_FALSE(fs::exists(home_ / ("etc/instances/" + ids[i] + ".json"))) << ids[i];
    // The prune is in the action log, as a destroy by hand would be.
    EXPECT_TRUE(Contains(log, ": destroy " + ids[i] + " (keeping 2 previous of web)\n")) << log;
  }
}

TEST_F(DeployTest, RollbackServesThePreviousVersionAgain) {
  const std::string v1 = DeployOk(Config(), Version("v1"));
  const std::string v2 = DeployOk(Config(), Version("v2"));
  ASSERT_FALSE(v1.empty());
  ASSERT_FALSE(v2.empty());
  ASSERT_EQ(Served(), "v2\n");
  ASSERT_EQ(States(), (std::map<std::string, std::string>{{v1, "STOPPED"}, {v2, "RUNNING"}}));

  Result r = home_.Sarge({"rollback", "web"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(LastLine(r.out), v1);
  EXPECT_EQ(Served(), "v1\n");
  EXPECT_EQ(States(), (std::map<std::string, std::string>{{v1, "RUNNING"}, {v2, "STOPPED"}}));
  EXPECT_TRUE(Contains(SiteFile(), "active " + v1 + " ")) << SiteFile();

  // A rollback of the rollback returns to v2, which served before v1.
  r = home_.Sarge({"rollback", "web"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(LastLine(r.out), v2);
  EXPECT_EQ(Served(), "v2\n");
  EXPECT_EQ(States(), (std::map<std::string, std::string>{{v1, "STOPPED"}, {v2, "RUNNING"}}));

  // --to names an instance that is not of the application: a clear error,
  // and nothing changes.
  const std::string site = SiteFile();
  r = home_.Sarge({"rollback", "web", "--to", "web-nope00"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_EQ(r.err.rfind("sarge: error: no instance 'web-nope00'", 0), 0u) << r.err;
  EXPECT_EQ(Served(), "v2\n");
  EXPECT_EQ(SiteFile(), site);
  EXPECT_EQ(States(), (std::map<std::string, std::string>{{v1, "STOPPED"}, {v2, "RUNNING"}}));

  // An application that was never deployed.
  r = home_.Sarge({"rollback", "nosuchapp"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_EQ(r.err.rfind("sarge: error: ", 0), 0u) << r.err;
}

// Stopping or destroying the instance nginx routes to takes the site down:
// refused, with what to do instead, unless --force; with it, said.
TEST_F(DeployTest, StoppingTheServedInstanceNeedsForceAndWarns) {
  const std::string v1 = DeployOk(Config(), Version("v1"));
  ASSERT_FALSE(v1.empty());
  for (const std::string command : {"stop", "destroy"}) {
    Result refused = home_.Sarge({command, v1});
    EXPECT_EQ(refused.exit_code, 1) << Describe(refused);
    EXPECT_EQ(refused.err, "sarge: error: " + v1 + " serves web (nginx routes to it); " +
                               (command == "stop" ? "stopping" : "destroying") +
                               " it would take web down. Deploy or activate another instance, "
                               "or roll back (sarge " +
                               home_.str() + " rollback web), first; --force " + command +
                               "s it anyway\n");
    EXPECT_EQ(Served(), "v1\n");
  }
  Result r = home_.Sarge({"stop", v1, "--force"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.err, "sarge: stopped " + v1 + "\nsarge: warning: nginx still routes web to " + v1 +
                       ", which is stopped now; start it again, or deploy or activate another "
                       "instance\n");
  r = home_.Sarge({"stop", v1, "--force"});  // not running: nothing to warn about
  EXPECT_EQ(r.err, "sarge: " + v1 + " was not running\n");
}

TEST_F(DeployTest, ActivateRefusesAStoppedInstance) {
  const std::string v1 = DeployOk(Config(), Version("v1"));
  const std::string v2 = DeployOk(Config(), Version("v2"));
  ASSERT_FALSE(v1.empty());
  ASSERT_FALSE(v2.empty());
  const std::string site = SiteFile();

  Result r = home_.Sarge({"activate", v1});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_TRUE(Contains(r.err, "not running; start it first")) << r.err;
  EXPECT_EQ(SiteFile(), site);
  EXPECT_EQ(Served(), "v2\n");

  // Started, it can be activated, and nginx serves it at once.
  r = home_.Sarge({"start", v1});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  r = home_.Sarge({"activate", v1});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(Served(), "v1\n");
  EXPECT_TRUE(Contains(SiteFile(), "active " + v1 + " ")) << SiteFile();
}

TEST_F(DeployTest, NginxTestFailureLeavesSiteAndOldVersion) {
  const std::string v1 = DeployOk(Config(), Version("v1"));
  ASSERT_FALSE(v1.empty());
  const std::string site = SiteFile();

  // An allowed directive with a value only nginx itself can judge wrong.
  json config = Config();
  config["nginx_options"]["client_max_body_size"] = "lots";
  Result r = Deploy(config, Version("v2"));
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_TRUE(Contains(r.err, "deploy failed at 'switch front end'")) << r.err;
  EXPECT_TRUE(Contains(r.err, nginx_.TestCommand())) << r.err;
  EXPECT_TRUE(Contains(r.err, "client_max_body_size")) << "nginx's own complaint\n" << r.err;
  ExpectGone(NewInstanceId(r.err));

  EXPECT_EQ(SiteFile(), site);
  EXPECT_EQ(Served(), "v1\n");
  EXPECT_EQ(States(), (std::map<std::string, std::string>{{v1, "RUNNING"}}));
}

// `nginx -s reload` exits 0 even when the master fails to apply the new
// configuration (here: its listen port is taken); sarge notices that nginx
// still serves the old generation, puts the old site back and fails.
TEST_F(DeployTest, NginxReloadFailureIsDetected) {
  const std::string v1 = DeployOk(Config(), Version("v1"));
  ASSERT_FALSE(v1.empty());
  const std::string site = SiteFile();

  const int taken = FreePort();
  Listener squatter(taken);  // accepts connections, never answers
  ASSERT_TRUE(squatter.ok());
  json config = Config();
  config["nginx_options"]["listen"] = "127.0.0.1:" + std::to_string(taken);
  auto t0 = Clock::now();
  Result r = Deploy(config, Version("v2"));
  EXPECT_LT(Clock::now() - t0, 30s);
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_TRUE(Contains(r.err, "deploy failed at 'switch front end'")) << r.err;
  EXPECT_TRUE(Contains(r.err, "nginx did not switch to the new configuration")) << r.err;
  ExpectGone(NewInstanceId(r.err));
  EXPECT_TRUE(Contains(nginx_.ErrorLog(), "Address already in use")) << nginx_.ErrorLog();

  EXPECT_EQ(SiteFile(), site);
  EXPECT_EQ(Served(), "v1\n");
  EXPECT_EQ(States(), (std::map<std::string, std::string>{{v1, "RUNNING"}}));
}

// nginx stopped (crashed, or an operator's mistake) during a deploy: the
// reload fails, the deploy fails at its switch and removes the new
// instance; the old one keeps running and, once nginx is back, serves.
TEST_F(DeployTest, NginxDownFailsTheDeployCleanlyAndTheOldInstanceServesWhenItIsBack) {
  const std::string v1 = DeployOk(Config(), Version("v1"));
  ASSERT_FALSE(v1.empty());
  const std::string site = SiteFile();
  const int port = nginx_.port();
  ASSERT_TRUE(nginx_.Stop());

  Result r = Deploy(Config(), Version("v2"));
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_TRUE(Contains(r.err, "deploy failed at 'switch front end'")) << r.err;
  EXPECT_TRUE(Contains(r.err, "nginx reload command")) << r.err;
  EXPECT_TRUE(Contains(r.err, "the front end is unchanged")) << r.err;
  ExpectGone(NewInstanceId(r.err));
  EXPECT_EQ(SiteFile(), site);
  EXPECT_EQ(States(), (std::map<std::string, std::string>{{v1, "RUNNING"}}));
  Result check = home_.Sarge({"check"});
  EXPECT_EQ(check.exit_code, 0) << Describe(check);

  ASSERT_TRUE(nginx_.Start(home_, port));
  EXPECT_EQ(Served(), "v1\n");
  // And the next deploy works.
  const std::string v3 = DeployOk(Config(), Version("v3"));
  ASSERT_FALSE(v3.empty());
  EXPECT_EQ(Served(), "v3\n");
}

// Instances of the side application, 8 each: to start, to stop (started
// already) and to destroy.
struct SideInstances {
  std::vector<std::string> to_start, to_stop, to_destroy;
};

// The 64 commands: 8 deploys of `versions` with `web`, 12 new of `side`,
// a start, stop or destroy for each of `instances`, 10 list, 10 status.
std::vector<std::vector<std::string>> SixtyFourCommands(const std::vector<fs::path>& versions,
                                                        const json& web, const json& side,
                                                        const SideInstances& instances) {
  std::vector<std::vector<std::string>> commands;
  for (const auto& v : versions) commands.push_back({"deploy", web.dump(), v.string()});
  for (int i = 0; i < 12; ++i) commands.push_back({"new", side.dump()});
  for (const auto& id : instances.to_start) commands.push_back({"start", id});
  for (const auto& id : instances.to_stop) commands.push_back({"stop", id});
  for (const auto& id : instances.to_destroy) commands.push_back({"destroy", id});
  for (int i = 0; i < 10; ++i) commands.push_back({"list"});
  for (int i = 0; i < 10; ++i) commands.push_back({"status", "--json"});
  return commands;
}

// Runs `sarge HOME command…` for every command at once, each in a thread.
std::vector<Result> RunAllAtOnce(const TempHome& home,
                                 const std::vector<std::vector<std::string>>& commands) {
  std::vector<Result> results(commands.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < commands.size(); ++i)
    threads.emplace_back([&, i] {
      std::vector<std::string> argv = {SARGE_BINARY, home.str()};
      argv.insert(argv.end(), commands[i].begin(), commands[i].end());
      // Each waits for the lock behind up to 63 others.
      results[i] = RunProgram(argv, "", 300s);
    });
  for (auto& t : threads) t.join();
  return results;
}

// Every command succeeded and every reader got a whole, parseable listing;
// `created` gets the ids `new` printed.
void ExpectAllSucceeded(const std::vector<std::vector<std::string>>& commands,
                        const std::vector<Result>& results, std::set<std::string>& created) {
  for (size_t i = 0; i < commands.size(); ++i) {
    const Result& r = results[i];
    ASSERT_EQ(r.exit_code, 0) << commands[i][0] << ": " << Describe(r);
    if (commands[i][0] == "new") created.insert(LastLine(r.out));
    if (commands[i][0] == "list" || commands[i][0] == "status") {
      json listing = json::parse(r.out, nullptr, /*allow_exceptions=*/false);
      EXPECT_FALSE(listing.is_discarded()) << "a reader got: " << r.out;
    }
  }
}

// 64 commands at once on one home: deploys of one application, and new,
// start, stop, destroy, list and status on another. The home's lock
// serialises the writers; none fails, no record is lost or mixed, and every
// reader gets a whole, parseable listing.
TEST_F(DeployTest, SixtyFourCommandsAtOnceLoseNothing) {
  const json side = {{"application_name", "side"},
                     {"services", {{"web", {{"type", "listen"}, {"host", "127.0.0.1"}}}}}};
  SideInstances instances;
  for (auto* group : {&instances.to_start, &instances.to_stop, &instances.to_destroy})
    for (int i = 0; i < 8; ++i) {
      group->push_back(home_.New(side));
      home_.WriteServer(group->back(), kHttpServer);
    }
  for (const auto& id : instances.to_stop) ASSERT_EQ(home_.Sarge({"start", id}).exit_code, 0);
  std::vector<fs::path> versions;
  for (int i = 0; i < 8; ++i) versions.push_back(Version("c" + std::to_string(i)));
  const auto commands = SixtyFourCommands(versions, Config(), side, instances);
  ASSERT_EQ(commands.size(), 64u);

  std::set<std::string> created;
  ASSERT_NO_FATAL_FAILURE(ExpectAllSucceeded(commands, RunAllAtOnce(home_, commands), created));
  EXPECT_EQ(created.size(), 12u);

  // The side application: exactly what the commands asked for.
  std::map<std::string, std::string> expected;
  for (const auto& id : instances.to_start) expected[id] = "RUNNING";
  for (const auto& id : instances.to_stop) expected[id] = "STOPPED";
  for (const auto& id : created) expected[id] = "STOPPED";
  EXPECT_EQ(States("side"), expected);
  for (const auto& id : instances.to_destroy) EXPECT_FALSE(fs::exists(home_ / id)) << id;
  // The deployed application: one instance runs and serves; deploy.keep
  // previous ones are kept, stopped.
  std::map<std::string, std::string> web = States("web");
  int running = 0;
  for (const auto& [id, state] : web) running += state == "RUNNING";
  EXPECT_EQ(running, 1);
  EXPECT_EQ(web.size(), 4u);  // 8 deploys, deploy.keep 3
  EXPECT_TRUE(std::regex_match(Served(), std::regex("c[0-7]\n"))) << Served();
  Result check = home_.Sarge({"check"});
  EXPECT_EQ(check.exit_code, 0) << Describe(check);
}

TEST_F(DeployTest, StaticRouteServesAFileOfTheInstance) {
  json config = Config();
  config["urlmap"].push_back({{"type", "static"}, {"url", "/media"}, {"path", "media"}});
  fs::path source = Source("static", kVersionServer,
                           {{"VERSION", "s1\n"}, {"media/hello.txt", "hello static\n"}});
  const std::string id = DeployOk(config, source);
  ASSERT_FALSE(id.empty());
  Fetched f = Get("web", "/media/hello.txt");
  EXPECT_EQ(f.status, 200) << f.error << f.body;
  EXPECT_EQ(f.body, "hello static\n");
  EXPECT_EQ(Get("web", "/media/missing.txt").status, 404);
  EXPECT_EQ(Served(), "s1\n");
}

TEST_F(DeployTest, FcgiRouteReachesAFastCgiResponder) {
  const json config = {
      {"application_name", "fc"},
      {"services", {{"fcgi", {{"type", "var-folder"}}}}},
      {"urlmap", json::array({{{"type", "fcgi"}, {"url", "/app"}, {"socket", "$FCGI_PATH/sock"}}})},
      {"nginx_options",
       {{"listen", "127.0.0.1:" + std::to_string(nginx_.port())}, {"server_name", "fc.test"}}}};
  const std::string id = DeployOk(config, Source("fcgi", kFcgiServer));
  ASSERT_FALSE(id.empty());
  Fetched f;
  // Without a listen service, readiness is supervisord's RUNNING: give the
  // responder a moment to bind its socket if it has not yet.
  WaitFor(
      [&] {
        f = Get("fc", "/app");
        return f.ok();
      },
      5s, 50ms);
  EXPECT_EQ(f.status, 200) << f.error << f.body << "\n" << nginx_.ErrorLog();
  EXPECT_EQ(f.body, "fcgi ok");
}

// Variants of `base` with a URL, upstream, static path, server name, nginx
// option key or value meant to inject nginx configuration.
std::vector<json> HostileConfigs(const json& base) {
  std::vector<json> configs;
  for (const std::string bad :
       {"/a;b", "/a{", "/a}", "/a\"b", "/a'b", "/a\nb", "/$UNKNOWN", "/a b", "/a#b", "/a\\b"}) {
    json c = base;
    c["urlmap"][0]["url"] = bad;
    configs.push_back(c);
    c = base;
    c["urlmap"][0]["upstream_url"] = "http://127.0.0.1:$WEB_PORT" + bad.substr(1);
    configs.push_back(c);
    c = base;
    c["urlmap"].push_back({{"type", "static"}, {"url", "/m"}, {"path", "media" + bad.substr(1)}});
    configs.push_back(c);
    if (bad == "/a b") continue;  // spaces separate an nginx option's values
    c = base;
    c["nginx_options"]["server_name"] = "web.test" + bad.substr(1);
    configs.push_back(c);
  }
  for (const std::string key : {"listen 1; evil", "server_name{", "Root", "a;b", "x\ny", ""}) {
    json c = base;
    c["nginx_options"][key] = "x";
    configs.push_back(c);
  }
  json c = base;
  c["nginx_options"]["return"] = "200 $request_uri";
  configs.push_back(c);
  c = base;
  c["urlmap"][0]["upstream_url"] = "http://127.0.0.1:$WEB_PORT;return 200 pwned";
  configs.push_back(c);
  return configs;
}

TEST_F(DeployTest, InjectionAttemptsAreRejectedAndChangeNothing) {
  const std::string v1 = DeployOk(Config(), Version("v1"));
  ASSERT_FALSE(v1.empty());
  const fs::path source = Version("v2");

  // Rejected input changes nothing, not even sarge's action log.
  auto snap = [&] { return home_.Snap(); };
  const Snapshot before = snap();
  for (const auto& config : HostileConfigs(Config())) {
    SCOPED_TRACE(config.dump());
    Result r = home_.Sarge({"new", config.dump()});
    EXPECT_EQ(r.exit_code, 1) << Describe(r);
    EXPECT_EQ(r.err.rfind("sarge: error: instance configuration: key '", 0), 0u) << r.err;
    EXPECT_EQ(Lines(r.err).size(), 1u) << r.err;
    EXPECT_EQ(r.out, "");
    r = Deploy(config, source);
    EXPECT_EQ(r.exit_code, 1) << Describe(r);
    EXPECT_EQ(r.err.rfind("sarge: error: instance configuration: key '", 0), 0u) << r.err;
    EXPECT_EQ(r.out, "");
  }
  EXPECT_EQ(DiffSnapshots(before, snap()), "");
  EXPECT_EQ(Served(), "v1\n");
  EXPECT_EQ(States(), (std::map<std::string, std::string>{{v1, "RUNNING"}}));
}

TEST_F(DeployTest, TwoDeploysAtOnceBothFinishAndOneServes) {
  const std::string v1 = DeployOk(Config(), Version("v1"));
  ASSERT_FALSE(v1.empty());
  const fs::path a = Version("va"), b = Version("vb");
  Result ra, rb;
  std::thread ta([&] { ra = Deploy(Config(), a); });
  std::thread tb([&] { rb = Deploy(Config(), b); });
  ta.join();
  tb.join();
  ASSERT_EQ(ra.exit_code, 0) << Describe(ra);
  ASSERT_EQ(rb.exit_code, 0) << Describe(rb);
  const std::string wait_note = "sarge: waiting for another sarge command on this home to finish";
  const bool a_waited = Contains(ra.err, wait_note), b_waited = Contains(rb.err, wait_note);
  EXPECT_TRUE(a_waited != b_waited) << "exactly one waits\n" << ra.err << "\n---\n" << rb.err;
  // The one that waited finished last: it serves.
  const std::string last_id = LastLine(b_waited ? rb.out : ra.out);
  const std::string first_id = LastLine(b_waited ? ra.out : rb.out);
  EXPECT_EQ(Served(), b_waited ? "vb\n" : "va\n");
  EXPECT_EQ(States(), (std::map<std::string, std::string>{
                          {v1, "STOPPED"}, {first_id, "STOPPED"}, {last_id, "RUNNING"}}));
  EXPECT_TRUE(Contains(SiteFile(), "active " + last_id + " ")) << SiteFile();
}

// Without an nginx: section in sarge.yaml, deploy writes the site file and
// says it did not reload nginx.
class DeployWithoutNginxTest : public DeployTest {
 protected:
  DeployWithoutNginxTest() { with_nginx_ = false; }
};

TEST_F(DeployWithoutNginxTest, WritesTheSiteAndSaysNginxIsNotReloaded) {
  json config = Config();
  config["nginx_options"] = {{"listen", "127.0.0.1:8080"}, {"server_name", "web.test"}};
  Result r = Deploy(config, Version("v1"));
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  const std::string id = LastLine(r.out);
  const std::string site = SiteFile();
  EXPECT_TRUE(Contains(site, "active " + id + " generation 1")) << site;
  EXPECT_TRUE(Contains(site, "server_name web.test;")) << site;
  EXPECT_TRUE(Contains(r.err, "nginx is not reloaded")) << r.err;
  EXPECT_EQ(States(), (std::map<std::string, std::string>{{id, "RUNNING"}}));
}

}  // namespace
}  // namespace e2e

namespace e2e {
namespace {

// destroy --force of the instance that serves takes its application's site
// away first, so nginx never routes to an instance that no longer exists.
TEST_F(DeployTest, DestroyOfTheActiveInstanceRemovesItsSite) {
  const std::string v1 = DeployOk(Config(), Version("v1"));
  ASSERT_FALSE(v1.empty());
  ASSERT_EQ(Served(), "v1\n");
  Result r = home_.Sarge({"destroy", v1, "--force"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_TRUE(Contains(r.err, "removed web's site from nginx")) << r.err;
  EXPECT_FALSE(fs::exists(home_ / "etc/nginx/sites/web.conf"));
  Fetched f = Get();
  EXPECT_EQ(f.status, 404) << "nginx's default server answers now: " << f.body;
}

// Routes and server options that would reach outside the instance are
// refused before anything is created.
TEST_F(DeployTest, RoutesOutsideTheInstanceAndFileDirectivesAreRefused) {
  const std::string v1 = DeployOk(Config(), Version("v1"));
  ASSERT_FALSE(v1.empty());
  Snapshot before = home_.Snap();
  for (const char* path : {"/etc/", "../../../../etc/", "static/../../x"}) {
    json config = Config();
    config["urlmap"].push_back({{"type", "static"}, {"url", "/x/"}, {"path", path}});
    Result r = Deploy(config, Version("v2"));
    EXPECT_EQ(r.exit_code, 1) << path;
    EXPECT_TRUE(Contains(r.err, "must be a folder inside the instance folder")) << r.err;
  }
  for (const char* directive : {"include", "access_log", "error_log", "root"}) {
    json config = Config();
    config["nginx_options"][directive] = "/tmp/x";
    Result r = Deploy(config, Version("v2"));
    EXPECT_EQ(r.exit_code, 1) << directive;
    EXPECT_TRUE(Contains(r.err, "is not a directive sarge lets an instance set")) << r.err;
  }
  EXPECT_EQ(DiffSnapshots(before, home_.Snap()), "");
  EXPECT_EQ(Served(), "v1\n");
}

}  // namespace
}  // namespace e2e
