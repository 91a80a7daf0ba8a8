// The deploy tests' fixture: a home with supervisord running, a private
// nginx on loopback including its sites, sources to deploy, and clients
// that request through nginx on a new connection each.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <regex>
#include <set>
#include <thread>

#include "e2e_util.h"
#include "frontend_util.h"

namespace e2e {

using Clock = std::chrono::steady_clock;

// A temporary folder for deploy sources, removed with its content.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/sgsrc-XXXXXX";
    if (::mkdtemp(tmpl))
      path_ = tmpl;
    else
      ADD_FAILURE() << "mkdtemp: " << std::strerror(errno);
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// The id a deploy printed: the last line of its stdout.
inline std::string LastLine(const std::string& out) {
  auto lines = Lines(out);
  return lines.empty() ? std::string() : lines.back();
}

// The id of the instance a deploy created, from its "new instance ID" note.
inline std::string NewInstanceId(const std::string& err) {
  std::smatch m;
  static const std::regex kNew("sarge: new instance ([A-Za-z0-9_-]+-[A-Za-z0-9]{6})\n");
  return std::regex_search(err, m, kNew) ? m[1].str() : std::string();
}

inline bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A home with supervisord running, a private nginx including its sites,
// and sarge.yaml telling sarge how to test and reload that nginx.
class DeployTest : public HomeTest {
 protected:
  void SetUp() override {
    HomeTest::SetUp();
    const int first = FreePortRange(40);
    SetPortRange(home_, first, first + 39);
    ASSERT_TRUE(home_.StartSupervisord());
    if (with_nginx_) {
      ASSERT_TRUE(nginx_.Start(home_));
      AppendNginxSettings(home_, nginx_, 15);
    }
  }

  // The instance configuration of `app`: a proxy to its listen port, served
  // by nginx as APP.test on the private nginx's port.
  json Config(const std::string& app = "web") const {
    return {
        {"application_name", app},
        {"services", {{"web", {{"type", "listen"}, {"host", "127.0.0.1"}}}}},
        {"urlmap",
         json::array(
             {{{"type", "proxy"}, {"url", "/"}, {"upstream_url", "http://127.0.0.1:$WEB_PORT"}}})},
        {"nginx_options",
         {{"listen", "127.0.0.1:" + std::to_string(nginx_.port())},
          {"server_name", app + ".test"}}}};
  }

  // A source folder with `server` and the files given (path -> content).
  fs::path Source(const std::string& name, const std::string& server,
                  const std::map<std::string, std::string>& files = {}) {
    fs::path dir = sources_.path() / name;
    fs::create_directories(dir);
    WriteFile(dir / "server", server, 0755);
    for (const auto& [path, content] : files) {
      fs::create_directories((dir / path).parent_path());
      WriteFile(dir / path, content);
    }
    return dir;
  }
  // A source serving `version` with kVersionServer.
  fs::path Version(const std::string& version, int health = 200) {
    std::map<std::string, std::string> files = {{"VERSION", version + "\n"}};
    if (health != 200) files["HEALTH"] = std::to_string(health) + "\n";
    return Source(version, kVersionServer, files);
  }

  // An instance of "web" made by `new`, without routes, whose folder holds
  // `server` and VERSION "v1": for what `start` does alone. Empty (with a
  // test failure) if `new` failed.
  std::string Unrouted(const std::string& server) {
    json config = Config();
    config.erase("urlmap");
    const std::string id = home_.New(config);
    if (id.empty()) return id;
    home_.WriteServer(id, server);
    WriteFile(home_ / id / "VERSION", "v1\n");
    return id;
  }

  Result Deploy(const json& config, const fs::path& source,
                const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> args = {"deploy", config.dump(), source.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return home_.Sarge(args);
  }
  // Deploys and returns the new id, failing the test if the deploy fails.
  std::string DeployOk(const json& config, const fs::path& source,
                       const std::vector<std::string>& extra = {}) const {
    Result r = Deploy(config, source, extra);
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
    if (r.exit_code != 0) return {};
    std::string id = LastLine(r.out);
    EXPECT_TRUE(std::regex_match(id, std::regex("[A-Za-z0-9_-]+-[A-Za-z0-9]{6}"))) << r.out;
    return id;
  }

  // GET through nginx with Host: APP.test.
  Fetched Get(const std::string& app = "web", const std::string& path = "/") const {
    return GetWithHost(nginx_.port(), app + ".test", path);
  }
  // What nginx serves for `app` at "/" (the version), or a description of
  // the failure.
  std::string Served(const std::string& app = "web") const {
    Fetched f = Get(app);
    if (f.ok()) return f.body;
    return "(failed: status " + std::to_string(f.status) + " " + f.error + " " + f.body + ")";
  }

  // id -> state of every instance of `app`, from `sarge list`. sarge judges
  // readiness by the port while supervisord says STARTING until startsecs
  // (1 s) passed: wait for that to settle.
  std::map<std::string, std::string> States(const std::string& app = "web") const {
    std::map<std::string, std::string> out;
    WaitFor(
        [&] {
          out.clear();
          json list = home_.List();
          if (!list.is_object()) return true;
          bool settled = true;
          for (const auto& entry : list["instances"]) {
            if (entry["meta"].value("APPLICATION_NAME", "") != app) continue;
            std::string state =
                entry["state"].is_string() ? entry["state"].get<std::string>() : "null";
            settled = settled && state != "STARTING";
            out[entry["id"]] = state;
          }
          return settled;
        },
        3s, 100ms);
    return out;
  }

  std::string SiteFile(const std::string& app = "web") const {
    return ReadFile(home_ / ("etc/nginx/sites/" + app + ".conf"));
  }

  // Nothing of a failed deploy's instance is left.
  void ExpectGone(const std::string& id) const {
    ASSERT_FALSE(id.empty());
    EXPECT_FALSE(fs::exists(home_ / id)) << id;
    EXPECT_FALSE(fs::exists(home_ / ("etc/instances/" + id + ".json"))) << id;
    EXPECT_FALSE(fs::exists(home_ / ("etc/supervisor.d/" + id + ".conf"))) << id;
    EXPECT_EQ(home_.ProgramState(id), "(fault)") << id;
  }

  bool with_nginx_ = true;
  TempDir sources_;
  TempNginx nginx_;  // declared after the home: stopped before supervisord
};

// Clients that request `path` through nginx, a new connection each time,
// until Stop(): any answer but 200 or a connection error is a failure.
// Bounded: each client stops after 60 s or 100000 requests.
class RequestLoop {
 public:
  RequestLoop(int port, std::string host, int clients = 2) : port_(port), host_(std::move(host)) {
    for (int i = 0; i < clients; ++i) threads_.emplace_back([this] { Run(); });
  }
  ~RequestLoop() { Stop(); }
  RequestLoop(const RequestLoop&) = delete;
  RequestLoop& operator=(const RequestLoop&) = delete;

  void Stop() {
    stop_ = true;
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }
  long served() const { return served_; }
  const std::vector<std::string>& failures() const { return failures_; }
  const std::set<std::string>& seen() const { return seen_; }
  // The first failures, one per line, for an assertion message.
  std::string Report() const {
    std::string report;
    for (size_t i = 0; i < failures_.size() && i < 10; ++i) report += failures_[i] + "\n";
    return report;
  }

 private:
  void Run() {
    const auto deadline = Clock::now() + 60s;
    for (long n = 0; !stop_ && n < 100000 && Clock::now() < deadline; ++n) {
      Fetched f = GetWithHost(port_, host_, "/");
      std::lock_guard<std::mutex> lock(mutex_);
      if (f.ok()) {
        ++served_;
        seen_.insert(f.body);
      } else if (failures_.size() < 1000) {
        failures_.push_back("status " + std::to_string(f.status) + " " + f.error + " " + f.body);
      }
    }
  }

  int port_;
  std::string host_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  long served_ = 0;
  std::vector<std::string> failures_;
  std::set<std::string> seen_;
  std::vector<std::thread> threads_;
};

}  // namespace e2e
