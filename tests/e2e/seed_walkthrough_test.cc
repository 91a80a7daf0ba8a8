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

// The walkthrough's home, and the instance it makes and serves.
class SeedWalkthrough : public ::testing::Test {
 protected:
  // `sarge HOME init` makes the layout with its shortcuts.
  void InitMakesTheLayout() {
    ASSERT_TRUE(home_.Init());
    for (const char* name : {"sarge", "supervisord", "supervisorctl"}) {
      fs::path bin = home_ / "bin" / name;
      EXPECT_TRUE(fs::is_regular_file(bin)) << bin;
      EXPECT_EQ(::access(bin.c_str(), X_OK), 0) << bin << " is not executable";
    }
    EXPECT_TRUE(fs::is_regular_file(home_ / "etc/sarge.yaml"));
  }

  // bin/supervisord starts supervisord: pid file, control socket mode 0700.
  void SupervisordStartsWithAPrivateSocket() {
    ASSERT_TRUE(home_.StartSupervisord());
    EXPECT_EQ(ReadNumber(home_ / "var/run/supervisord.pid"), home_.supervisord_pid());
    struct stat st {};
    ASSERT_EQ(::lstat((home_ / "var/run/supervisor.sock").c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0700u);
  }

  // bin/sarge new prints the id and makes the instance folder.
  void NewPrintsTheIdAndMakesTheFolder() {
    Result r = RunProgram(
        {sarge_, "new", R"({"application_name": "web", "services": {"web": {"type": "listen"}}})"});
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
    EXPECT_TRUE(std::regex_match(r.out, std::regex("web-[A-Za-z0-9]{6}\n"))) << r.out;
    id_ = r.out.substr(0, r.out.size() - 1);
    EXPECT_EQ(r.err, "");
    ASSERT_TRUE(fs::is_directory(home_ / id_));
    home_.WriteServer(id_, kHttpServer);
  }

  // start returns once the server answers on the port `configure` reports.
  void StartServesOnTheConfiguredPort() {
    Result r = RunProgram({sarge_, "start", id_});
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
    EXPECT_TRUE(
        std::regex_match(r.err, std::regex("sarge: started " + id_ + " \\(pid [0-9]+\\)\n")))
        << r.err;
    r = RunProgram({sarge_, "configure", id_});
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
    json cfg = json::parse(r.out);
    ASSERT_TRUE(cfg.contains("WEB_PORT")) << r.out;
    port_ = cfg["WEB_PORT"].get<int>();
    EXPECT_EQ(home_.AppCfg(id_), cfg);
    auto reply = HttpGet("127.0.0.1", port_, "/hello");
    ASSERT_TRUE(reply) << "nothing answers on port " << port_;
    EXPECT_EQ(reply->status, 200);
    EXPECT_EQ(json::parse(reply->body)["id"], id_);
  }

  // Its output goes to var/log/ID.log.
  void OutputGoesToTheLog() {
    const fs::path log = Log();
    EXPECT_TRUE(WaitFor(
        [&] {
          std::string text = ReadFile(log);
          return Contains(text, Banner()) && Contains(text, "request /hello");
        },
        5s))
        << ReadFile(log);
  }

  // Moving the log away and sending USR2 makes supervisord open a new one
  // (on its next 1 s tick).
  void Usr2ReopensTheLog() {
    const fs::path log = Log();
    const fs::path moved = home_ / "var/log" / (id_ + ".log.1");
    fs::rename(log, moved);
    ASSERT_EQ(::kill(home_.supervisord_pid(), SIGUSR2), 0);
    EXPECT_TRUE(WaitFor([&] { return fs::exists(log); }, 5s)) << "no new " << log;
    ASSERT_TRUE(HttpGet("127.0.0.1", port_, "/after-rotation"));
    EXPECT_TRUE(WaitFor([&] { return Contains(ReadFile(log), "request /after-rotation"); }, 5s))
        << "new log: " << ReadFile(log);
    EXPECT_FALSE(Contains(ReadFile(moved), "request /after-rotation"));
    EXPECT_TRUE(Contains(ReadFile(moved), Banner()));
  }

  // stop: the port refuses connections, list says STOPPED.
  void StopClosesThePort() {
    const pid_t server_pid = static_cast<pid_t>(ReadNumber(home_ / id_ / "server.pid"));
    ASSERT_GT(server_pid, 0);
    Result r = RunProgram({sarge_, "stop", id_});
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
    EXPECT_EQ(r.err, "sarge: stopped " + id_ + "\n");
    EXPECT_FALSE(Accepts("127.0.0.1", port_));
    EXPECT_TRUE(WaitFor([&] { return !PidAlive(server_pid); }, 2s));
    json entry = home_.ListEntry(id_);
    EXPECT_EQ(entry["state"], "STOPPED") << entry.dump();
    EXPECT_FALSE(entry.contains("pid")) << entry.dump();
  }

  // start again: it answers on the same port.
  void StartAgainServesOnTheSamePort() {
    Result r = RunProgram({sarge_, "start", id_});
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
    EXPECT_EQ(home_.AppCfg(id_)["WEB_PORT"], port_);
    auto reply = HttpGet("127.0.0.1", port_, "/again");
    ASSERT_TRUE(reply);
    EXPECT_EQ(json::parse(reply->body)["id"], id_);
  }

  // destroy removes everything of it, also from supervisord.
  void DestroyRemovesEverything() {
    Result r = RunProgram({sarge_, "destroy", id_});
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
    EXPECT_EQ(r.err, "sarge: destroyed " + id_ + "\n");
    EXPECT_FALSE(Accepts("127.0.0.1", port_));
    for (const fs::path& gone :
         {home_ / id_, home_ / "var/run" / id_, home_ / "etc/supervisor.d" / (id_ + ".conf"),
          home_ / "etc/instances" / (id_ + ".json")})
      EXPECT_FALSE(fs::exists(gone)) << gone;
    EXPECT_TRUE(fs::is_empty(home_ / "etc/ports"));
    r = RunProgram({(home_ / "bin/supervisorctl").string(), "status"});
    EXPECT_FALSE(Contains(r.out, id_)) << Describe(r);
    EXPECT_EQ(home_.ProgramNames(), std::vector<std::string>{});
    EXPECT_EQ(home_.List(), json::parse(R"({"instances": []})"));
  }

  // Destroying it again is a clear error.
  void DestroyAgainIsAClearError() {
    Result r = RunProgram({sarge_, "destroy", id_});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.err, "sarge: error: no instance '" + id_ + "' in " + home_.str() + "; `sarge " +
                         home_.str() + " list` shows them\n");
  }

  // The instance's log, var/log/ID.log.
  fs::path Log() const { return home_ / "var/log" / (id_ + ".log"); }
  // The line the server logs once it listens.
  std::string Banner() const { return "serving " + id_ + " on 127.0.0.1:" + std::to_string(port_); }

  TempHome home_;
  const std::string sarge_ = (home_ / "bin/sarge").string();
  std::string id_;
  int port_ = 0;
};

TEST_F(SeedWalkthrough, InitSupervisordNewServeRotateStopStartDestroy) {
  ASSERT_NO_FATAL_FAILURE(InitMakesTheLayout());
  ASSERT_NO_FATAL_FAILURE(SupervisordStartsWithAPrivateSocket());
  ASSERT_NO_FATAL_FAILURE(NewPrintsTheIdAndMakesTheFolder());
  ASSERT_NO_FATAL_FAILURE(StartServesOnTheConfiguredPort());
  OutputGoesToTheLog();
  ASSERT_NO_FATAL_FAILURE(Usr2ReopensTheLog());
  ASSERT_NO_FATAL_FAILURE(StopClosesThePort());
  ASSERT_NO_FATAL_FAILURE(StartAgainServesOnTheSamePort());
  ASSERT_NO_FATAL_FAILURE(DestroyRemovesEverything());
  DestroyAgainIsAClearError();
}

TEST_F(SeedWalkthrough, InitAgainKeepsEditedSettingsAndRefreshesShortcuts) {
  TempHome& home = home_;
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
