// status and logs end to end, on the real supervisord (and nginx, for which
// instance serves): the table an operator reads, its JSON, and an
// instance's log — its last lines, and followed live across rotation.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mutex>
#include <regex>
#include <thread>

#include <fmt/format.h>

#include "e2e_util.h"
#include "frontend_util.h"

extern char** environ;

namespace e2e {
namespace {

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// `sarge HOME logs ID -f` running in the background, its output collected
// as it comes. The destructor stops it (SIGTERM, then SIGKILL) by pid.
class Follower {
 public:
  explicit Follower(const std::vector<std::string>& args) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return;
    posix_spawn_file_actions_t actions;
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    ::posix_spawn_file_actions_adddup2(&actions, out[1], 2);
    std::vector<std::string> argv = {SARGE_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> c_argv;
    for (auto& a : argv) c_argv.push_back(a.data());
    c_argv.push_back(nullptr);
    if (::posix_spawn(&pid_, SARGE_BINARY, &actions, nullptr, c_argv.data(), environ) != 0)
      pid_ = 0;
    ::posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    reader_ = std::thread([this, fd = out[0]] {
      char buf[4096];
      ssize_t n;
      while ((n = ::read(fd, buf, sizeof buf)) > 0) {
        std::lock_guard lock(mutex_);
        text_.append(buf, static_cast<size_t>(n));
      }
      ::close(fd);
    });
  }
  ~Follower() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      if (!WaitFor([&] { return ::waitpid(pid_, nullptr, WNOHANG) == pid_; }, 5s)) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
      }
    }
    if (reader_.joinable()) reader_.join();
  }
  bool started() const { return pid_ > 0; }
  std::string Text() {
    std::lock_guard lock(mutex_);
    return text_;
  }
  // True once the output holds `part`, within 10 s.
  bool Shows(const std::string& part) {
    return WaitFor([&] { return Contains(Text(), part); }, 10s);
  }

 private:
  pid_t pid_ = 0;
  std::thread reader_;
  std::mutex mutex_;
  std::string text_;
};

// Prints each file named say-* that appears in its folder, in name order,
// then removes it: the test decides what goes into the log, and when.
const char* const kSayingServer = R"SH(#!/bin/bash
echo $$ > server.pid
while :; do
  for f in say-*; do
    [ -e "$f" ] || continue
    cat "$f"
    rm -f "$f"
  done
  sleep 0.02
done
)SH";

// Serves like kHttpServer the first time; every later start fails at once,
// as a server does whose database went away.
const char* const kServesOnceServer = R"SH(#!/bin/bash
if [ -e ran-once ]; then
  echo "cannot open the database"
  exit 3
fi
touch ran-once
exec ./http-server
)SH";

class StatusLogs : public HomeTest {
 protected:
  void SetUp() override {
    HomeTest::SetUp();
    const int first = FreePortRange(20);
    SetPortRange(home_, first, first + 19);
    ASSERT_TRUE(home_.StartSupervisord());
  }

  std::string Started(const json& config, const char* server) {
    std::string id = home_.New(config);
    if (id.empty()) return id;
    home_.WriteServer(id, server);
    Result r = home_.Sarge({"start", id});
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
    return id;
  }

  // Has the next say-N file printed by kSayingServer.
  void Say(const std::string& id, const std::string& text) {
    fs::path tmp = home_ / id / ".say.tmp";
    WriteFile(tmp, text);
    fs::rename(tmp, home_ / id / ("say-" + std::to_string(100000 + said_++)));
  }
  bool Logged(const std::string& id, const std::string& part) {
    return WaitFor([&] { return Contains(ReadFile(home_ / ("var/log/" + id + ".log")), part); },
                   10s);
  }

  int said_ = 0;
};

json Listen(const std::string& app) {
  return {{"application_name", app},
          {"services", {{"web", {{"type", "listen"}, {"host", "127.0.0.1"}}}}}};
}

// The four instances the status test reads: `serving` (active) and
// `spare` of app web, `idle` never started, `crashed` given up on.
struct FourInstances {
  std::string serving, spare, idle, crashed, crashed_port;
};

class Status : public StatusLogs {
 protected:
  void SetUp() override {
    StatusLogs::SetUp();
    ASSERT_TRUE(nginx_.Start(home_));
    AppendNginxSettings(home_, nginx_, 5);
  }
  json Routed(const std::string& app) {
    json config = Listen(app);
    config["urlmap"] = json::array(
        {{{"type", "proxy"}, {"url", "/"}, {"upstream_url", "http://127.0.0.1:$WEB_PORT"}}});
    config["nginx_options"] = {{"listen", "127.0.0.1:" + std::to_string(nginx_.port())},
                               {"server_name", app + ".test"}};
    return config;
  }
  // Makes four_; one that ran, crashed, and could not be started again:
  // supervisord retries it, then gives up (FATAL).
  void MakeFourInstances();

  TempNginx nginx_;
  FourInstances four_;
};

std::string Port(const TempHome& home, const std::string& id) {
  return std::to_string(home.AppCfg(id)["WEB_PORT"].get<int>());
}

std::string Pid(const TempHome& home, const std::string& id) {
  return std::to_string(ReadNumber(home / id / "server.pid"));
}

void Status::MakeFourInstances() {
  four_.serving = Started(Routed("web"), kHttpServer);
  four_.spare = Started(Routed("web"), kHttpServer);
  ASSERT_FALSE(four_.serving.empty() || four_.spare.empty());
  Result r = home_.Sarge({"activate", four_.serving});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  four_.idle = home_.New({{"application_name", "job"}});
  four_.crashed = home_.New(Listen("db"));
  home_.WriteServer(four_.crashed, kServesOnceServer);
  WriteFile(home_ / four_.crashed / "http-server", kHttpServer, 0755);
  ASSERT_EQ(home_.Sarge({"start", four_.crashed}).exit_code, 0);
  four_.crashed_port = Port(home_, four_.crashed);
  ASSERT_EQ(::kill(static_cast<pid_t>(ReadNumber(home_ / four_.crashed / "server.pid")), SIGKILL),
            0);
  ASSERT_TRUE(WaitFor([&] { return home_.ProgramState(four_.crashed) == "FATAL"; }, 30s))
      << home_.ProgramState(four_.crashed);
}

// The table's row of each instance, in creation order, as a regex.
std::vector<std::string> ExpectedRows(const TempHome& home, const FourInstances& four) {
  return {four.serving + " +web +web\\.1 +RUNNING +" + Pid(home, four.serving) +
              " +[1-9][0-9]*s +" + Port(home, four.serving) + " +\\*",
          four.spare + " +web +web\\.1 +RUNNING +" + Pid(home, four.spare) + " +[1-9][0-9]*s +" +
              Port(home, four.spare),
          four.idle + " +job +web\\.1 +STOPPED +- +- +-",
          four.crashed + " +db +web\\.1 +FATAL +- +- +" + four.crashed_port +
              " +Exited too quickly \\(process log may have details\\)"};
}

// `status`: no colour in a pipe, a header, and each row matching its
// regex with each column under its heading.
void ExpectTable(const TempHome& home, const std::vector<std::string>& expected) {
  Result r = home.Sarge({"status"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.err, "");
  EXPECT_FALSE(Contains(r.out, "\033")) << "colour in a pipe:\n" << r.out;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 5u) << r.out;
  const std::string header = lines[0];
  EXPECT_TRUE(std::regex_match(header, std::regex("ID +APP +PROCESS +STATE +PID +UPTIME +PORTS "
                                                  "+ACTIVE +LAST EXIT")))
      << header;
  for (size_t i = 0; i < expected.size(); ++i) {
    const std::string& line = lines[i + 1];
    EXPECT_TRUE(std::regex_match(line, std::regex(expected[i]))) << line << "\n" << expected[i];
    for (const char* column : {"APP", "PROCESS", "STATE", "PID", "UPTIME", "PORTS"}) {
      size_t at = header.find(column);
      EXPECT_TRUE(at < line.size() && line[at - 1] == ' ' && line[at] != ' ')
          << column << " misaligned:\n"
          << header << "\n"
          << line;
    }
  }
}

// `status --json`: a row per instance with the same facts as the table.
void ExpectJsonRows(const TempHome& home, const FourInstances& four) {
  Result r = home.Sarge({"status", "--json"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  json rows = json::parse(r.out);
  ASSERT_EQ(rows.size(), 4u) << r.out;
  EXPECT_EQ(rows[0]["id"], four.serving);
  EXPECT_EQ(rows[0]["application"], "web");
  EXPECT_EQ(rows[0]["process"], "web.1");
  EXPECT_EQ(rows[0]["state"], "RUNNING");
  EXPECT_EQ(std::to_string(rows[0]["pid"].get<int>()), Pid(home, four.serving));
  EXPECT_EQ(rows[0]["ports"], json::array({std::stoi(Port(home, four.serving))}));
  EXPECT_GE(rows[0]["uptime"].get<int>(), 1);
  EXPECT_EQ(rows[0]["active"], true);
  EXPECT_EQ(rows[1]["active"], false);
  EXPECT_EQ(
      rows[2],
      json::parse(R"({"id": ")" + four.idle +
                  R"(", "application": "job", "process": "web.1", "state": "STOPPED", "pid": 0,
      "uptime": null, "ports": [], "active": false, "last_exit": ""})"));
  EXPECT_EQ(rows[3]["state"], "FATAL");
  // supervisord keeps no exit status for a start that failed this way.
  EXPECT_EQ(rows[3]["last_exit"], "Exited too quickly (process log may have details)");
}

TEST_F(Status, TableShowsStatePidUptimePortsWhichServesAndWhyOneFailed) {
  ASSERT_NO_FATAL_FAILURE(MakeFourInstances());
  std::this_thread::sleep_for(1s);  // an uptime of at least 1s

  // In creation order, each column under its heading.
  const std::vector<std::string> expected = ExpectedRows(home_, four_);
  ASSERT_NO_FATAL_FAILURE(ExpectTable(home_, expected));

  // One instance; and its JSON.
  Result r = home_.Sarge({"status", four_.crashed});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  ASSERT_EQ(Lines(r.out).size(), 2u) << r.out;
  EXPECT_TRUE(std::regex_match(Lines(r.out)[1], std::regex(expected[3]))) << r.out;
  ExpectJsonRows(home_, four_);
}

TEST_F(StatusLogs, StatusOfAMistypedIdSuggestsTheRightOne) {
  const std::string id = home_.New({{"application_name", "web"}});
  ASSERT_FALSE(id.empty());
  std::string typo = id;
  std::swap(typo[typo.size() - 1], typo[typo.size() - 2]);
  if (typo == id) typo.back() = typo.back() == 'x' ? 'y' : 'x';
  Result r = home_.Sarge({"status", typo});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "sarge: error: no instance '" + typo + "' in " + home_.str() +
                       "; did you mean '" + id + "'?\n");
  EXPECT_EQ(r.out, "");
}

TEST(StatusWithoutSupervisord, SaysHowToStartItAndShowsTheRecords) {
  TempHome home;
  ASSERT_TRUE(home.Init());
  const std::string id = home.New({{"application_name", "web"}});
  ASSERT_FALSE(id.empty());
  // The states are unknown: said, and the exit status says it too.
  Result r = home.Sarge({"status"});
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_EQ(r.err, "sarge: supervisord is not running; start it with " + home.str() +
                       "/bin/supervisord\n");
  EXPECT_EQ(r.out, "ID          APP  PROCESS  STATE  PID  UPTIME  PORTS  ACTIVE  LAST EXIT\n" + id +
                       "  web  web.1    ?      -    -       -\n");
}

TEST_F(StatusLogs, LogsPrintsTheLastLines) {
  const std::string id = home_.New({{"application_name", "crash"}});
  home_.WriteServer(id, kExitAtOnceServer);
  EXPECT_EQ(home_.Sarge({"start", id}).exit_code, 1);
  Result r = home_.Sarge({"logs", id, "-n", "2"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out, "fatal: cannot open the database\ngiving up with status 3\n");
  EXPECT_EQ(r.err, "");
  r = home_.Sarge({"logs", id});
  EXPECT_EQ(r.out, "starting up\nfatal: cannot open the database\ngiving up with status 3\n");
  r = home_.Sarge({"logs", "--lines", "1", id});
  EXPECT_EQ(r.out, "giving up with status 3\n");
  r = home_.Sarge({"logs", id, "-n", "0"});
  EXPECT_EQ(r.out, "");
  r = home_.Sarge({"logs", id, "-n", "x"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err.rfind("sarge: error: logs: ", 0), 0u) << r.err;
}

TEST_F(StatusLogs, LogsFollowsNewLinesLive) {
  const std::string id = Started({{"application_name", "talk"}}, kSayingServer);
  ASSERT_FALSE(id.empty());
  Say(id, "before 1\nbefore 2\n");
  ASSERT_TRUE(Logged(id, "before 2\n"));
  Follower follow({home_.str(), "logs", id, "-f", "-n", "1"});
  ASSERT_TRUE(follow.started());
  ASSERT_TRUE(follow.Shows("before 2\n")) << follow.Text();
  Say(id, "live 1\n");
  ASSERT_TRUE(follow.Shows("live 1\n")) << follow.Text();
  Say(id, "live 2\n");
  ASSERT_TRUE(follow.Shows("live 2\n")) << follow.Text();
  EXPECT_EQ(follow.Text(), "before 2\nlive 1\nlive 2\n");
}

// logrotate's way: the log is moved away, then supervisord is told to
// reopen its logs. Lines written to the old file in between are not lost.
TEST_F(StatusLogs, LogsFollowSurvivesRotationByRenameAndUsr2) {
  const std::string id = Started({{"application_name", "talk"}}, kSayingServer);
  ASSERT_FALSE(id.empty());
  Say(id, "first\n");
  ASSERT_TRUE(Logged(id, "first\n"));
  Follower follow({home_.str(), "logs", id, "-f"});
  ASSERT_TRUE(follow.Shows("first\n")) << follow.Text();
  const fs::path log = home_ / ("var/log/" + id + ".log");
  fs::rename(log, log.string() + ".1");
  Say(id, "into the moved file\n");
  ASSERT_TRUE(WaitFor([&] { return Contains(ReadFile(log.string() + ".1"), "moved"); }, 10s));
  ASSERT_EQ(::kill(home_.supervisord_pid(), SIGUSR2), 0);
  ASSERT_TRUE(WaitFor([&] { return fs::exists(log); }, 10s)) << "supervisord did not reopen";
  Say(id, "into the new file\n");
  ASSERT_TRUE(Logged(id, "into the new file\n"));
  ASSERT_TRUE(follow.Shows("into the new file\n")) << follow.Text();
  EXPECT_EQ(follow.Text(), "first\ninto the moved file\ninto the new file\n");
}

// supervisord's own rotation by size: every line shown once, in order.
TEST_F(StatusLogs, LogsFollowSurvivesSupervisordsRotationBySize) {
  std::string settings = ReadFile(home_ / "etc/sarge.yaml");
  const std::string old_log = "log:\n  max_bytes: 50MB\n";
  ASSERT_NE(settings.find(old_log), std::string::npos) << settings;
  settings.replace(settings.find(old_log), old_log.size(), "log:\n  max_bytes: 1KB\n");
  WriteFile(home_ / "etc/sarge.yaml", settings);
  const std::string id = Started({{"application_name", "talk"}}, kSayingServer);
  ASSERT_FALSE(id.empty());
  Follower follow({home_.str(), "logs", id, "-f"});
  ASSERT_TRUE(follow.started());
  std::this_thread::sleep_for(300ms);  // following the (empty) log
  std::string expected;
  for (int batch = 0; batch < 12; ++batch) {
    std::string text;
    for (int i = 0; i < 8; ++i)
      text += fmt::format("line {:03} of the talkative server\n", batch * 8 + i);
    Say(id, text);
    expected += text;
    ASSERT_TRUE(follow.Shows(text)) << follow.Text();
  }
  EXPECT_TRUE(fs::exists(home_ / ("var/log/" + id + ".log.1"))) << "never rotated";
  EXPECT_EQ(follow.Text(), expected);
}

TEST_F(StatusLogs, LogsOfAnUnknownIdSuggestsTheRightOne) {
  const std::string id = home_.New({{"application_name", "web"}});
  std::string typo = id;
  typo.back() = typo.back() == 'x' ? 'y' : 'x';
  Result r = home_.Sarge({"logs", typo, "-f"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "sarge: error: no instance '" + typo + "' in " + home_.str() +
                       "; did you mean '" + id + "'?\n");
}

}  // namespace
}  // namespace e2e
