// An application's process types end to end (issue 25, sections 2 and 3):
// a Procfile's worker runs beside web as a program of its own, with its own
// log; `scale` changes the counts by a restart with no downtime, and later
// deploys and rollbacks take them; `restart APP TYPE` restarts in place;
// a deploy whose worker fails leaves the old instance and its workers be.
#include <signal.h>

#include "deploy_fixture.h"

namespace e2e {
namespace {

using Processes = DeployTest;

const std::string kWeb = BodyServer(R"PY(
body = (open("VERSION").read().strip() + "\n").encode()
)PY");

// Says which process it is, then stays up (as a queue consumer would).
const char* const kWorker =
    "import os, sys, time\n"
    "print('worker', os.environ['SARGE_PROCESS'], 'of', os.environ['SARGE_INSTANCE_ID'], "
    "'up', flush=True)\n"
    "if os.path.exists('WORKER_FAILS'): sys.exit(3)\n"
    "while True: time.sleep(1)\n";

const char* const kNoServer = "#!/bin/sh\nexit 7\n";

// process label -> {state, pid} of the instance `id`, from `status --json`.
std::map<std::string, std::pair<std::string, int>> Rows(const TempHome& home,
                                                        const std::string& id) {
  std::map<std::string, std::pair<std::string, int>> out;
  Result r = home.Sarge({"status", id, "--json"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  for (const auto& row : json::parse(r.out))
    out[row["process"]] = {row["state"], row["pid"].get<int>()};
  return out;
}

bool Alive(int pid) { return pid > 0 && ::kill(pid, 0) == 0; }

// The instance nginx routes `app` to, from its site file's first line.
std::string ActiveId(const TempHome& home, const std::string& app) {
  std::smatch m;
  std::string site = ReadFile(home / ("etc/nginx/sites/" + app + ".conf"));
  return std::regex_search(site, m, std::regex("^# sarge: application \\S+ active (\\S+) "))
             ? m[1].str()
             : std::string();
}

TEST_F(Processes, AWorkerRunsBesideWebAndScaleRestartsWithTheNewCounts) {
  const std::map<std::string, std::string> files = {
      {"VERSION", "v1"},
      {"app.py", kWeb},
      {"worker.py", kWorker},
      {"Procfile", "web: exec python3 -u app.py\nworker: exec python3 -u worker.py\n"}};
  fs::path v1 = Source("v1", kNoServer, files);
  const std::string first = DeployOk(Config(), v1);
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(Served(), "v1\n");
  auto rows = Rows(home_, first);
  ASSERT_EQ(rows.size(), 2u) << home_.Sarge({"status"}).out;
  EXPECT_EQ(rows["web.1"].first, "RUNNING");
  EXPECT_EQ(rows["worker.1"].first, "RUNNING");
  const int worker = rows["worker.1"].second;
  EXPECT_TRUE(Alive(worker));
  // Its own log, by type through the application's name.
  Result logs = home_.Sarge({"logs", "web", "worker"});
  EXPECT_EQ(logs.exit_code, 0) << Describe(logs);
  EXPECT_EQ(logs.out, "worker worker.1 of " + first + " up\n");
  EXPECT_TRUE(fs::exists(home_ / ("var/log/" + first + ".worker.1.log")));
  logs = home_.Sarge({"logs", "web", "clock"});
  EXPECT_EQ(logs.exit_code, 1);
  EXPECT_EQ(logs.err,
            "sarge: error: " + first + " has no process 'clock'; it runs web.1, worker.1\n");

  // A type the Procfile lacks changes nothing.
  Result r = home_.Sarge({"scale", "web", "clock=1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "sarge: error: web runs no process type 'clock' (its Procfile has web, worker); "
            "scale one of those\n");
  EXPECT_FALSE(fs::exists(home_ / "etc/apps/web/scale.json"));

  // worker=2: a new instance with two workers serves; the old one's is gone.
  RequestLoop loop(nginx_.port(), "web.test");
  r = home_.Sarge({"scale", "web", "worker=2"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  const std::string scaled = ActiveId(home_, "web");
  ASSERT_NE(scaled, first);
  EXPECT_EQ(r.out, "scale worker=2 of web: " + scaled + " serves with them\n");
  rows = Rows(home_, scaled);
  EXPECT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows["worker.2"].first, "RUNNING");
  EXPECT_TRUE(WaitFor([&] { return !Alive(worker); }, 5s)) << worker;
  EXPECT_EQ(Rows(home_, first).size(), 2u);  // stopped, as it was started
  EXPECT_EQ(Rows(home_, first)["worker.1"].first, "STOPPED");

  // restart APP worker: in place, web untouched.
  const int web_pid = rows["web.1"].second;
  r = home_.Sarge({"restart", "web", "worker"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  auto after = Rows(home_, scaled);
  EXPECT_EQ(after["web.1"].second, web_pid);
  EXPECT_NE(after["worker.1"].second, rows["worker.1"].second);
  EXPECT_NE(after["worker.2"].second, rows["worker.2"].second);
  EXPECT_EQ(ActiveId(home_, "web"), scaled);
  json releases = json::parse(home_.Sarge({"releases", "web", "--json"}).out);
  EXPECT_EQ(releases["releases"][0]["by"], "restart worker");
  EXPECT_EQ(releases["releases"][1]["by"], "scale worker=2");
  EXPECT_EQ(releases["serving"], releases["releases"][0]["version"]);
  r = home_.Sarge({"restart", "web", "web"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "sarge: error: restarting web in place would drop requests; `sarge " +
                       home_.str() + " restart web` restarts it with no downtime\n");

  // A deploy keeps the counts.
  auto v2_files = files;
  v2_files["VERSION"] = "v2";
  const std::string second = DeployOk(Config(), Source("v2", kNoServer, v2_files));
  EXPECT_EQ(Served(), "v2\n");
  EXPECT_EQ(Rows(home_, second).size(), 3u);

  // A deploy whose worker fails is undone; the serving instance's
  // processes are the same ones.
  auto serving = Rows(home_, second);
  auto bad_files = files;
  bad_files["VERSION"] = "v3";
  bad_files["WORKER_FAILS"] = "";
  r = Deploy(Config(), Source("v3", kNoServer, bad_files), {"--timeout", "5"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_TRUE(Contains(r.err, ".worker.1 did not start: it exited with status 3")) << r.err;
  EXPECT_EQ(Served(), "v2\n");
  EXPECT_EQ(Rows(home_, second), serving);
  // So is one whose release command fails: nothing of the new one started.
  auto failing_release = files;
  failing_release["Procfile"] += "release: echo cannot migrate; exit 3\n";
  r = Deploy(Config(), Source("v4", kNoServer, failing_release));
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_TRUE(Contains(r.err, "deploy failed at 'release command'")) << r.err;
  EXPECT_EQ(Rows(home_, second), serving);

  // A rollback starts the instance of before with the counts of now.
  r = home_.Sarge({"scale", "web", "worker=1"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(Rows(home_, ActiveId(home_, "web")).size(), 2u);
  r = home_.Sarge({"rollback", "web"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(ActiveId(home_, "web"), second);
  rows = Rows(home_, second);
  EXPECT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows["worker.1"].first, "RUNNING");
  loop.Stop();
  EXPECT_TRUE(loop.failures().empty()) << loop.Report();
  EXPECT_GT(loop.served(), 0);
}

// A clock that must never run twice: it holds a lock on $CLOCK_LOCK, and
// exits 3 if another clock holds it.
const char* const kClock =
    "import fcntl, os, time\n"
    "lock = open(os.environ['CLOCK_LOCK'], 'a')\n"
    "try:\n"
    "    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
    "except OSError:\n"
    "    print('another clock runs', flush=True)\n"
    "    raise SystemExit(3)\n"
    "print('clock of', os.environ['SARGE_INSTANCE_ID'], flush=True)\n"
    "while True: time.sleep(1)\n";

TEST_F(Processes, ASingletonStopsBeforeTheNewInstanceStartsAndComesBackIfTheDeployFails) {
  std::string settings = ReadFile(home_ / "etc/sarge.yaml");
  auto at = settings.find("  singletons: []\n");
  ASSERT_NE(at, std::string::npos) << settings;
  WriteFile(home_ / "etc/sarge.yaml", settings.replace(at, 17, "  singletons: [clock]\n"));
  json config = Config();
  config["env"] = {{"CLOCK_LOCK", (sources_.path() / "clock.lock").string()}};
  auto files = [](const std::string& version) {
    return std::map<std::string, std::string>{
        {"VERSION", version},
        {"app.py", kWeb},
        {"clock.py", kClock},
        {"Procfile", "web: exec python3 -u app.py\nclock: exec python3 -u clock.py\n"}};
  };
  const std::string v1 = DeployOk(config, Source("v1", kNoServer, files("v1")));
  ASSERT_FALSE(v1.empty());
  const int clock = Rows(home_, v1)["clock.1"].second;
  ASSERT_TRUE(Alive(clock));
  // Its clock could not start while v1's ran.
  const std::string v2 = DeployOk(config, Source("v2", kNoServer, files("v2")));
  ASSERT_FALSE(v2.empty());
  EXPECT_EQ(Rows(home_, v2)["clock.1"].first, "RUNNING");
  EXPECT_FALSE(Alive(clock));
  EXPECT_EQ(ReadFile(home_ / ("var/log/" + v2 + ".clock.1.log")), "clock of " + v2 + "\n");

  // A deploy that fails after v2's clock stopped starts it again.
  auto bad = files("v3");
  bad["Procfile"] = "web: exit 4\nclock: exec python3 -u clock.py\n";
  Result r = Deploy(config, Source("v3", kNoServer, bad), {"--timeout", "5"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_TRUE(Contains(r.err, "did not start: it exited with status 4")) << r.err;
  EXPECT_EQ(Served(), "v2\n");
  EXPECT_TRUE(WaitFor([&] { return Rows(home_, v2)["clock.1"].first == "RUNNING"; }, 5s))
      << home_.Sarge({"status"}).out;

  // So does one switched back after the switch: its web dies during --watch.
  auto dies = files("v4");
  dies["Procfile"] = "web: exec timeout 3 python3 -u app.py\nclock: exec python3 -u clock.py\n";
  r = Deploy(config, Source("v4", kNoServer, dies), {"--watch", "6"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_TRUE(Contains(r.err, "switched back: " + v2 + " serves web again")) << r.err;
  EXPECT_EQ(Served(), "v2\n");
  EXPECT_TRUE(WaitFor([&] { return Rows(home_, v2)["clock.1"].first == "RUNNING"; }, 5s))
      << home_.Sarge({"status"}).out;
}

// Says which web process answered.
const std::string kNamedWeb = BodyServer(R"PY(
body = ("%s %s\n" % (open("VERSION").read().strip(), os.environ["SARGE_PROCESS"])).encode()
)PY");

TEST_F(Processes, ThreeWebProcessesShareTheRequestsBehindOneUpstream) {
  auto files = [](const std::string& version) {
    return std::map<std::string, std::string>{
        {"VERSION", version},
        {"app.py", kNamedWeb},
        {"worker.py", kWorker},
        {"Procfile", "web: exec python3 -u app.py\nworker: exec python3 -u worker.py\n"}};
  };
  ASSERT_FALSE(DeployOk(Config(), Source("v1", kNoServer, files("v1"))).empty());
  EXPECT_EQ(Served(), "v1 web.1\n");
  RequestLoop loop(nginx_.port(), "web.test");
  Result r = home_.Sarge({"scale", "web", "web=3", "worker=2"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  const std::string id = ActiveId(home_, "web");
  auto rows = Rows(home_, id);
  EXPECT_EQ(rows.size(), 5u);
  for (const char* process : {"web.1", "web.2", "web.3", "worker.1", "worker.2"})
    EXPECT_EQ(rows[process].first, "RUNNING") << process;
  // Each web process on its own port, all behind one upstream.
  std::set<int> ports;
  Result status = home_.Sarge({"status", id, "--json"});
  for (const auto& row : json::parse(status.out))
    if (row["process"].get<std::string>().starts_with("web."))
      for (const auto& port : row["ports"]) ports.insert(port.get<int>());
  EXPECT_EQ(ports.size(), 3u) << status.out;
  const std::string site = SiteFile();
  for (int port : ports)
    EXPECT_TRUE(Contains(site, "    server 127.0.0.1:" + std::to_string(port) + ";\n")) << site;
  EXPECT_TRUE(Contains(site, "proxy_pass http://sarge_web_0;")) << site;
  std::set<std::string> answered;
  for (int i = 0; i < 30; ++i) answered.insert(Served());
  EXPECT_EQ(answered, (std::set<std::string>{"v1 web.1\n", "v1 web.2\n", "v1 web.3\n"}));

  // A deploy carries the counts over, and switches all three at once.
  const std::string v2 = DeployOk(Config(), Source("v2", kNoServer, files("v2")));
  EXPECT_EQ(Rows(home_, v2).size(), 5u);
  answered.clear();
  for (int i = 0; i < 30; ++i) answered.insert(Served());
  EXPECT_EQ(answered, (std::set<std::string>{"v2 web.1\n", "v2 web.2\n", "v2 web.3\n"}));
  loop.Stop();
  EXPECT_TRUE(loop.failures().empty()) << loop.Report();
  EXPECT_GT(loop.served(), 0);
}

}  // namespace
}  // namespace e2e
