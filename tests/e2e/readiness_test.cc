// What "ready" means, end to end against the real supervisord and nginx: a
// server is ready once its ports accept, its check answers, and it has
// stayed up for min_uptime; `deploy --watch` switches back when the new
// instance fails after the switch; `rollback` returns to the instance that
// served before, as the activation history says.
#include <signal.h>

#include <iostream>

#include "deploy_fixture.h"

namespace e2e {
namespace {

// A source serving `version` that exits with status 1 `seconds` after it
// starts listening.
class Readiness : public DeployTest {
 protected:
  fs::path Dying(const std::string& version, const std::string& seconds) {
    return Source(version, kVersionServer,
                  {{"VERSION", version + "\n"}, {"DIE_AFTER", seconds + "\n"}});
  }
  const std::vector<std::string> kCheck = {"--check-url", "http://127.0.0.1:$WEB_PORT/health"};
  // The error of a watched deploy whose new instance `v2` exited with
  // status 1 after the switch back to `v1`.
  static std::regex ExitedAndSwitchedBack(const std::string& v1, const std::string& v2) {
    return std::regex("sarge: error: " + v2 +
                      " failed [0-9.]+ s after the switch \\(--watch\\): it exited with "
                      "status 1[^\n]*; switched back: " +
                      v1 + " serves web again, and " + v2 + " was removed\n");
  }
  // A server that dies 0.5 s after it listens fails the start, which says
  // how it exited and shows its log.
  void ExpectAnEarlyExitFailsTheStart(const std::string& id) {
    WriteFile(home_ / id / "DIE_AFTER", "0.5\n");
    Result r = home_.Sarge({"start", id});
    EXPECT_EQ(r.exit_code, 1) << Describe(r);
    EXPECT_TRUE(std::regex_search(
        r.err,
        std::regex("^sarge: error: " + id +
                   " did not start: it exited with status 1(, and supervisord started it again)?, "
                   "[0-9]+ ms after it was up "
                   "\\(it must stay up for 1 s: deploy.min_uptime, --min-uptime\\); it is "
                   "stopped\n")))
        << r.err;
    EXPECT_TRUE(Contains(r.err, "dying on purpose")) << r.err;
    EXPECT_NE(home_.ProgramState(id), "RUNNING");
  }
};

// The defect: a release that answers and dies 0.8 s later was switched in,
// and nginx then routed to a crash-looping instance.
TEST_F(Readiness, AServerThatDiesSoonAfterAnsweringIsNeverSwitchedIn) {
  const std::string v1 = DeployOk(Config(), Version("v1"));
  ASSERT_FALSE(v1.empty());
  const std::string site = SiteFile();
  RequestLoop loop(nginx_.port(), "web.test");

  auto t0 = Clock::now();
  Result r = Deploy(Config(), Dying("v2", "0.8"), kCheck);
  auto took = Clock::now() - t0;
  loop.Stop();

  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  const std::string v2 = NewInstanceId(r.err);
  ASSERT_FALSE(v2.empty()) << r.err;
  EXPECT_TRUE(Contains(r.err, "sarge: error: deploy failed at 'wait until healthy': " + v2 +
                                  " did not start: it exited with status 1"))
      << r.err;
  EXPECT_TRUE(std::regex_search(r.err, std::regex(" after it was up \\(it must stay up for 1 s: "
                                                  "deploy.min_uptime, --min-uptime\\); it is "
                                                  "stopped; " +
                                                  v2 +
                                                  " was removed and the front end is "
                                                  "unchanged\n")))
      << r.err;
  EXPECT_TRUE(Contains(r.err, "dying on purpose")) << r.err;  // the log's tail
  EXPECT_GE(took, 700ms);
  ExpectGone(v2);
  EXPECT_EQ(Served(), "v1\n");
  EXPECT_EQ(SiteFile(), site);
  EXPECT_EQ(States(), (std::map<std::string, std::string>{{v1, "RUNNING"}}));
  std::cout << "[ info     ] " << loop.served() << " requests served during the deploy, "
            << loop.failures().size() << " failed\n";
  EXPECT_EQ(loop.failures().size(), 0u) << loop.Report();
  EXPECT_GT(loop.served(), 10);
}

TEST_F(Readiness, StartReturnsOnceTheServerStayedUpAndStatusThenSaysRunning) {
  const std::string id = Unrouted(kVersionServer);
  ASSERT_FALSE(id.empty());

  auto t0 = Clock::now();
  Result r = home_.Sarge({"start", id, "--min-uptime", "1.5"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_GE(Clock::now() - t0, 1500ms);
  // At once: supervisord agrees it is RUNNING, never STARTING.
  Result status = home_.Sarge({"status", id, "--json"});
  ASSERT_EQ(status.exit_code, 0) << Describe(status);
  json rows = json::parse(status.out);
  ASSERT_EQ(rows.size(), 1u) << status.out;
  EXPECT_EQ(rows[0]["state"], "RUNNING") << status.out;
  EXPECT_EQ(home_.ProgramState(id), "RUNNING");
  ASSERT_EQ(home_.Sarge({"stop", id}).exit_code, 0);

  ExpectAnEarlyExitFailsTheStart(id);

  // --min-uptime 0 takes it as soon as it answers and supervisord says
  // RUNNING; a bad duration is bad usage.
  fs::remove(home_ / id / "DIE_AFTER");
  ASSERT_EQ(home_.Sarge({"start", id, "--min-uptime", "0"}).exit_code, 0);
  ASSERT_EQ(home_.Sarge({"stop", id}).exit_code, 0);
  r = home_.Sarge({"start", id, "--min-uptime", "soon"});
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
  EXPECT_EQ(r.err,
            "sarge: error: --min-uptime 'soon' is not a duration; give seconds (1.5) or a number "
            "with ms, s or m (500ms, 30s, 2m), at most a day\n");
}

// A server that daemonizes: its process exits at once while the child it
// forked holds the port, out of supervisord's reach. The child binds only
// after a moment (loading its application, say), when sarge has already
// seen the start fail.
const char* const kDaemonizingServer = R"PY(#!/usr/bin/python3
import http.server, os, time
if os.fork() > 0:
    os._exit(0)
os.setsid()
time.sleep(1)
server = http.server.HTTPServer((os.environ["WEB_HOST"], int(os.environ["WEB_PORT"])),
                                http.server.SimpleHTTPRequestHandler)
with open("daemon.pid", "w") as f:
    f.write(str(os.getpid()))
server.serve_forever()
)PY";

TEST_F(Readiness, AServerThatDaemonizesFailsAndWhatItLeftIsStopped) {
  const std::string id = Unrouted(kDaemonizingServer);
  ASSERT_FALSE(id.empty());
  Result r = home_.Sarge({"start", id});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  const pid_t daemon = static_cast<pid_t>(ReadNumber(home_ / id / "daemon.pid"));
  EXPECT_TRUE(std::regex_search(
      r.err, std::regex("^sarge: error: " + id +
                        " did not start: [^\n]*; it is stopped; what it started went on "
                        "listening outside supervisord \\(pid [0-9, ]*" +
                        std::to_string(daemon) +
                        "[0-9, ]*\\), and was stopped: a server must stay in the foreground \\(no "
                        "`&`, no daemon mode\\) so that supervisord runs it\n")))
      << r.err;
  EXPECT_GT(daemon, 0);
  EXPECT_FALSE(PidAlive(daemon));
  EXPECT_FALSE(Accepts("127.0.0.1", home_.AppCfg(id)["WEB_PORT"].get<int>()));
  if (daemon > 0 && PidAlive(daemon)) ::kill(daemon, SIGKILL);  // leave nothing behind
  Result check = home_.Sarge({"check"});
  EXPECT_EQ(check.exit_code, 0) << Describe(check);
}

TEST_F(Readiness, MinUptimeFromSargeYamlAppliesAndIsChecked) {
  {
    std::string text = ReadFile(home_ / "etc/sarge.yaml");
    auto at = text.find("  min_uptime: 1\n");
    ASSERT_NE(at, std::string::npos) << text;
    WriteFile(home_ / "etc/sarge.yaml", text.replace(at, 16, "  min_uptime: 2.5s\n"));
  }
  auto t0 = Clock::now();
  const std::string v1 = DeployOk(Config(), Version("v1"));
  EXPECT_GE(Clock::now() - t0, 2500ms);
  ASSERT_FALSE(v1.empty());
  // supervisord's startsecs follows it, in whole seconds.
  EXPECT_TRUE(Contains(ReadFile(home_ / ("etc/supervisor.d/" + v1 + ".conf")), "\nstartsecs=2\n"));

  std::string text = ReadFile(home_ / "etc/sarge.yaml");
  auto at = text.find("  min_uptime: 2.5s\n");
  ASSERT_NE(at, std::string::npos);
  WriteFile(home_ / "etc/sarge.yaml", text.replace(at, 19, "  min_uptime: often\n"));
  Result r = home_.Sarge({"start", v1});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_EQ(r.err, "sarge: error: " + home_.str() +
                       "/etc/sarge.yaml: 'deploy.min_uptime' must be seconds (1.5) or a number "
                       "with ms, s or m (500ms, 30s, 2m), not 'often'\n");
}

TEST_F(Readiness, WatchSwitchesBackWhenTheNewInstanceDiesAfterTheSwitch) {
  const std::string v1 = DeployOk(Config(), Version("v1"));
  ASSERT_FALSE(v1.empty());

  Result r = Deploy(Config(), Dying("v2", "3"),
                    {"--check-url", "http://127.0.0.1:$WEB_PORT/health", "--min-uptime", "500ms",
                     "--watch", "20s"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  const std::string v2 = NewInstanceId(r.err);
  ASSERT_FALSE(v2.empty()) << r.err;
  EXPECT_TRUE(Contains(r.err, "] watch for 20 s\n")) << r.err;
  EXPECT_TRUE(std::regex_search(r.err, ExitedAndSwitchedBack(v1, v2))) << r.err;
  EXPECT_TRUE(Contains(r.err, "dying on purpose")) << r.err;
  ExpectGone(v2);
  EXPECT_EQ(Served(), "v1\n");
  EXPECT_TRUE(Contains(SiteFile(), "active " + v1 + " ")) << SiteFile();
  EXPECT_EQ(States(), (std::map<std::string, std::string>{{v1, "RUNNING"}}));
  Result check = home_.Sarge({"check"});
  EXPECT_EQ(check.exit_code, 0) << Describe(check);

  // A new instance that stays healthy through the watch is kept, and only
  // then is the previous one stopped.
  const std::string v3 = DeployOk(Config(), Version("v3"), {"--watch", "1500ms"});
  ASSERT_FALSE(v3.empty());
  EXPECT_EQ(Served(), "v3\n");
  EXPECT_EQ(States(), (std::map<std::string, std::string>{{v1, "STOPPED"}, {v3, "RUNNING"}}));
}

// A server that dies closes its sockets before /proc shows it exited: the
// check that found no answer in that moment is not the cause to report.
TEST_F(Readiness, WatchBlamesTheExitOfAServerWhoseSocketCloseCameFirst) {
  const std::string v1 = DeployOk(Config(), Version("v1"));
  ASSERT_FALSE(v1.empty());
  // Check 1 is the health wait; 2 opens the watch; 3, a second later, dies.
  fs::path v2_source = Source("v2", kVersionServer, {{"VERSION", "v2\n"}, {"DIE_ON_CHECK", "3\n"}});
  Result r = Deploy(
      Config(), v2_source,
      {"--check-url", "http://127.0.0.1:$WEB_PORT/health", "--min-uptime", "0", "--watch", "20s"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  const std::string v2 = NewInstanceId(r.err);
  ASSERT_FALSE(v2.empty()) << r.err;
  EXPECT_TRUE(std::regex_search(r.err, ExitedAndSwitchedBack(v1, v2))) << r.err;
  ExpectGone(v2);
  EXPECT_EQ(Served(), "v1\n");
}

// The defect: rollback picked the instance created before the active one.
TEST_F(Readiness, RollbackReturnsToTheInstanceThatServedBefore) {
  const std::string v41 = DeployOk(Config(), Version("v41"), {"--min-uptime", "0"});
  const std::string v42 = DeployOk(Config(), Version("v42"), {"--min-uptime", "0"});
  ASSERT_FALSE(v41.empty() || v42.empty());
  Result r = home_.Sarge({"rollback", "web", "--min-uptime", "0"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(LastLine(r.out), v41);
  const std::string v43 = DeployOk(Config(), Version("v43"), {"--min-uptime", "0"});
  ASSERT_FALSE(v43.empty());
  EXPECT_EQ(Served(), "v43\n");

  r = home_.Sarge({"rollback", "web", "--min-uptime", "0"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(LastLine(r.out), v41);
  EXPECT_EQ(Served(), "v41\n");

  // --to goes to any kept instance.
  r = home_.Sarge({"rollback", "web", "--to", v42, "--min-uptime", "0"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(LastLine(r.out), v42);
  EXPECT_EQ(Served(), "v42\n");
  r = home_.Sarge({"rollback", "web", "--to", v42});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_EQ(r.err, "sarge: error: " + v42 + " already serves web\n");

  // The history says who switched, and when.
  json history = json::parse(ReadFile(home_ / "etc/apps/web/activations.json"));
  std::vector<std::string> ids, by;
  for (const auto& a : history) {
    ids.push_back(a["id"]);
    by.push_back(a["by"]);
  }
  EXPECT_EQ(ids, (std::vector<std::string>{v41, v42, v41, v43, v41, v42}));
  EXPECT_EQ(by, (std::vector<std::string>{"deploy", "deploy", "rollback", "deploy", "rollback",
                                          "rollback"}));
  EXPECT_EQ(history.back()["to"], "");
}

// An instance made by `new` without routes is never where rollback goes,
// and activate refuses to route the application to it.
TEST_F(Readiness, AnInstanceWithoutRoutesIsNeverRoutedTo) {
  const std::string v1 = DeployOk(Config(), Version("v1"), {"--min-uptime", "0"});
  ASSERT_FALSE(v1.empty());
  json bare = Config();
  bare.erase("urlmap");
  const std::string loose = home_.New(bare);
  ASSERT_FALSE(loose.empty());
  home_.WriteServer(loose, kVersionServer);
  WriteFile(home_ / loose / "VERSION", "loose\n");
  ASSERT_EQ(home_.Sarge({"start", loose, "--min-uptime", "0"}).exit_code, 0);
  const std::string v2 = DeployOk(Config(), Version("v2"), {"--min-uptime", "0"});
  ASSERT_FALSE(v2.empty());

  const std::string site = SiteFile();
  ASSERT_EQ(home_.Sarge({"start", loose, "--min-uptime", "0"}).exit_code, 0);
  Result r = home_.Sarge({"activate", loose});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_EQ(r.err, "sarge: error: " + loose + " has no urlmap routes, and " + v2 +
                       " serves web with routes; routing web to it would answer 404 to "
                       "everything. Deploy a configuration with the application's urlmap "
                       "instead\n");
  EXPECT_EQ(SiteFile(), site);

  r = home_.Sarge({"rollback", "web", "--min-uptime", "0"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(LastLine(r.out), v1);
  EXPECT_EQ(Served(), "v1\n");
}

}  // namespace
}  // namespace e2e
