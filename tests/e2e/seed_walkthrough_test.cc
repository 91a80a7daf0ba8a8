// The seed document's walkthrough, end to end with the real supervisord:
// init, bin/supervisord, new, a server answering on its port, its log, log
// reopening after `kill -USR2`, stop, start again, destroy.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <regex>

#include "e2e_util.h"

namespace e2e {
namespace {

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(SeedWalkthrough, InitSupervisordNewServeRotateStopStartDestroy) {
  TempHome home;

  // `sarge HOME init` makes the layout with its shortcuts.
  ASSERT_TRUE(home.Init());
  for (const char* name : {"sarge", "supervisord", "supervisorctl"}) {
    fs::path bin = home / "bin" / name;
    EXPECT_TRUE(fs::is_regular_file(bin)) << bin;
    EXPECT_EQ(::access(bin.c_str(), X_OK), 0) << bin << " is not executable";
  }
  EXPECT_TRUE(fs::is_regular_file(home / "etc/sarge.yaml"));

  // bin/supervisord starts supervisord: pid file, control socket mode 0700.
  ASSERT_TRUE(home.StartSupervisord());
  EXPECT_EQ(ReadNumber(home / "var/run/supervisord.pid"), home.supervisord_pid());
  struct stat st {};
  ASSERT_EQ(::lstat((home / "var/run/supervisor.sock").c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  // bin/sarge new prints the id and makes the instance folder.
  const std::string sarge = (home / "bin/sarge").string();
  Result r = RunProgram(
      {sarge, "new", R"({"application_name": "web", "services": {"web": {"type": "listen"}}})"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_TRUE(std::regex_match(r.out, std::regex("web-[A-Za-z0-9]{6}\n"))) << r.out;
  const std::string id = r.out.substr(0, r.out.size() - 1);
  EXPECT_EQ(r.err, "");
  ASSERT_TRUE(fs::is_directory(home / id));
  home.WriteServer(id, kHttpServer);

  // start returns once the server answers on the port `configure` reports.
  r = RunProgram({sarge, "start", id});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_TRUE(std::regex_match(r.err, std::regex("sarge: started " + id + " \\(pid [0-9]+\\)\n")))
      << r.err;
  r = RunProgram({sarge, "configure", id});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  json cfg = json::parse(r.out);
  ASSERT_TRUE(cfg.contains("WEB_PORT")) << r.out;
  const int port = cfg["WEB_PORT"].get<int>();
  EXPECT_EQ(home.AppCfg(id), cfg);
  auto reply = HttpGet("127.0.0.1", port, "/hello");
  ASSERT_TRUE(reply) << "nothing answers on port " << port;
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(json::parse(reply->body)["id"], id);

  // Its output goes to var/log/ID.log.
  const fs::path log = home / "var/log" / (id + ".log");
  const std::string banner = "serving " + id + " on 127.0.0.1:" + std::to_string(port);
  EXPECT_TRUE(WaitFor(
      [&] {
        std::string text = ReadFile(log);
        return Contains(text, banner) && Contains(text, "request /hello");
      },
      5s))
      << ReadFile(log);

  // Moving the log away and sending USR2 makes supervisord open a new one
  // (on its next 1 s tick).
  const fs::path moved = home / "var/log" / (id + ".log.1");
  fs::rename(log, moved);
  ASSERT_EQ(::kill(home.supervisord_pid(), SIGUSR2), 0);
  EXPECT_TRUE(WaitFor([&] { return fs::exists(log); }, 5s)) << "no new " << log;
  ASSERT_TRUE(HttpGet("127.0.0.1", port, "/after-rotation"));
  EXPECT_TRUE(WaitFor([&] { return Contains(ReadFile(log), "request /after-rotation"); }, 5s))
      << "new log: " << ReadFile(log);
  EXPECT_FALSE(Contains(ReadFile(moved), "request /after-rotation"));
  EXPECT_TRUE(Contains(ReadFile(moved), banner));

  // stop: the port refuses connections, list says STOPPED.
  const pid_t server_pid = static_cast<pid_t>(ReadNumber(home / id / "server.pid"));
  ASSERT_GT(server_pid, 0);
  r = RunProgram({sarge, "stop", id});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.err, "sarge: stopped " + id + "\n");
  EXPECT_FALSE(Accepts("127.0.0.1", port));
  EXPECT_TRUE(WaitFor([&] { return !PidAlive(server_pid); }, 2s));
  json entry = home.ListEntry(id);
  EXPECT_EQ(entry["state"], "STOPPED") << entry.dump();
  EXPECT_FALSE(entry.contains("pid")) << entry.dump();

  // start again: it answers on the same port.
  r = RunProgram({sarge, "start", id});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(home.AppCfg(id)["WEB_PORT"], port);
  reply = HttpGet("127.0.0.1", port, "/again");
  ASSERT_TRUE(reply);
  EXPECT_EQ(json::parse(reply->body)["id"], id);

  // destroy removes everything of it, also from supervisord.
  r = RunProgram({sarge, "destroy", id});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.err, "sarge: destroyed " + id + "\n");
  EXPECT_FALSE(Accepts("127.0.0.1", port));
  for (const fs::path& gone :
       {home / id, home / "var/run" / id, home / "etc/supervisor.d" / (id + ".conf"),
        home / "etc/instances" / (id + ".json")})
    EXPECT_FALSE(fs::exists(gone)) << gone;
  EXPECT_TRUE(fs::is_empty(home / "etc/ports"));
  r = RunProgram({(home / "bin/supervisorctl").string(), "status"});
  EXPECT_FALSE(Contains(r.out, id)) << Describe(r);
  EXPECT_EQ(home.ProgramNames(), std::vector<std::string>{});
  EXPECT_EQ(home.List(), json::parse(R"({"instances": []})"));

  // Destroying it again is a clear error.
  r = RunProgram({sarge, "destroy", id});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "sarge: error: no instance '" + id + "' in " + home.str() + "; `sarge " +
                       home.str() + " list` shows them\n");
}

TEST(SeedWalkthrough, InitAgainKeepsEditedSettingsAndRefreshesShortcuts) {
  TempHome home;
  ASSERT_TRUE(home.Init());
  const fs::path settings = home / "etc/sarge.yaml";
  const std::string edited = "# edited by the operator\nstart_timeout: 7\n";
  WriteFile(settings, edited);
  fs::remove(home / "bin/supervisorctl");
  const std::string conf = ReadFile(home / "etc/supervisord.conf");

  Result r = home.Sarge({"init"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.err, "sarge: home " + home.str() + " is ready; start supervisord with " + home.str() +
                       "/bin/supervisord\n");
  EXPECT_EQ(ReadFile(settings), edited);
  EXPECT_EQ(::access((home / "bin/supervisorctl").c_str(), X_OK), 0);
  EXPECT_EQ(ReadFile(home / "etc/supervisord.conf"), conf);
}

}  // namespace
}  // namespace e2e
