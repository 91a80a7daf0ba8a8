// sarge killed with SIGKILL at random points of new, start, stop, destroy
// and deploy: afterwards `check --repair` finishes or undoes what was cut
// short, `check` finds the home consistent, and the next command works.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <regex>

#include "e2e_util.h"

namespace e2e {
namespace {

// Runs per test: SARGE_KILL_RUNS, default 200 (bench/kill_runs runs more).
int Runs() {
  const char* v = std::getenv("SARGE_KILL_RUNS");
  return v ? std::max(1, std::atoi(v)) : 200;
}

// "run 12: sarge start web-abc123, killed after 87 ms" for messages.
std::string DescribeRun(const std::vector<std::string>& args, int run,
                        std::chrono::milliseconds delay) {
  std::string text = "run " + std::to_string(run) + ": sarge";
  for (const auto& a : args) text += " " + a;
  return text + ", killed after " + std::to_string(delay.count()) + " ms";
}

// How long each kind of command takes on this machine, measured from its
// runs that were not killed, so that a kill lands at a random point of its
// own progress however fast or slow the machine is.
class Spans {
 public:
  // Unknown until a run of `kind` has finished.
  std::optional<std::chrono::milliseconds> Of(int kind) const {
    auto it = spans_.find(kind);
    if (it == spans_.end()) return std::nullopt;
    return it->second;
  }
  // A run of `kind` took `took` without being killed.
  void Finished(int kind, std::chrono::milliseconds took) {
    auto it = spans_.find(kind);
    spans_[kind] = it == spans_.end() ? took : (it->second * 3 + took) / 4;
  }

 private:
  std::map<int, std::chrono::milliseconds> spans_;
};

class Kill : public HomeTest {
 protected:
  void SetUp() override {
    HomeTest::SetUp();
    // A start waits min_uptime once its server answers: a fifth of the
    // default keeps that phase to be cut short while 200 runs stay quick.
    std::string settings = ReadFile(home_ / "etc/sarge.yaml");
    auto at = settings.find("  min_uptime: 1\n");
    ASSERT_NE(at, std::string::npos) << settings;
    WriteFile(home_ / "etc/sarge.yaml", settings.replace(at, 16, "  min_uptime: 200ms\n"));
    ASSERT_TRUE(home_.StartSupervisord());
    source_ = home_.root().parent_path() / (home_.root().filename().string() + "-src");
    fs::create_directories(source_);
    WriteFile(source_ / "server", kHttpServer, 0755);
  }
  void TearDown() override { fs::remove_all(source_); }

  std::vector<std::string> Ids() const {
    std::vector<std::string> ids;
    for (const auto& e : fs::directory_iterator(home_ / "etc/instances")) {
      std::string name = e.path().filename().string();
      if (name.ends_with(".json") && name.find(".tmp-") == std::string::npos)
        ids.push_back(name.substr(0, name.size() - 5));
    }
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  // The invariants, checked from outside sarge.
  void ExpectConsistent(const std::string& context) {
    SCOPED_TRACE(context);
    std::vector<std::string> ids = Ids();
    for (const auto& e : fs::recursive_directory_iterator(home_ / "etc"))
      EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
    for (const auto& id : ids) EXPECT_TRUE(fs::is_directory(home_ / id)) << id;
    static const std::regex kId("[A-Za-z0-9_-]+-[A-Za-z0-9]{6}");
    for (const auto& e : fs::directory_iterator(home_.root())) {
      std::string name = e.path().filename().string();
      if (std::regex_match(name, kId)) {
        EXPECT_TRUE(std::binary_search(ids.begin(), ids.end(), name)) << name;
      }
    }
    auto programs = home_.ProgramNames();
    ASSERT_TRUE(programs.has_value());
    for (const auto& p : *programs)
      EXPECT_TRUE(std::binary_search(ids.begin(), ids.end(), p)) << "program " << p;
    EXPECT_NE(ReadFile(home_ / "etc/supervisord.conf").find("supervisor.d/*.conf"),
              std::string::npos);
  }

  // The arguments of a run of `kind` (0 new, 1 start, 2 stop, 3 destroy,
  // else deploy) on the instance `some`.
  std::vector<std::string> ArgsFor(int kind, const std::string& some, const json& config) {
    switch (kind) {
      case 0:
        return {"new", config.dump()};
      case 1:
        home_.WriteServer(some, kHttpServer);
        return {"start", some};
      case 2:
        // Stopping the instance nginx routes to is a person's choice that
        // check rightly reports; the test is about interrupted commands.
        if (ReadFile(home_ / "etc/nginx/sites/web.conf").find("active " + some + " ") !=
            std::string::npos)
          return {"start", some};
        return {"stop", some};
      case 3:
        return {"destroy", some};
      default:
        return {"deploy", config.dump(), source_.string(), "--keep", "2"};
    }
  }

  // Runs `sarge HOME args…` killed after `delay`: counts a kill that
  // landed, or times a run of `kind` that finished.
  void RunKilledAfter(const std::vector<std::string>& args, int kind,
                      std::chrono::milliseconds delay) {
    std::vector<std::string> argv = {SARGE_BINARY, home_.str()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto begun = std::chrono::steady_clock::now();
    Result r = RunProgram(argv, "", delay);
    if (r.exit_code == 128 + 9) {
      ++killed_;
      ++per_command_[args[0]];
    } else {
      spans_.Finished(kind, std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::steady_clock::now() - begun));
    }
  }

  // `check --repair` succeeds, then `check` finds nothing, the invariants
  // hold and `list` works; counts a repair that changed something.
  void ExpectRepaired(const std::string& what) {
    Result repair = home_.Sarge({"check", "--repair"});
    ASSERT_EQ(repair.exit_code, 0) << what << "\n" << Describe(repair);
    if (!repair.out.empty()) ++repaired_runs_;
    Result check = home_.Sarge({"check"});
    ASSERT_EQ(check.exit_code, 0) << what << "\n" << Describe(check);
    EXPECT_EQ(check.out, "") << what;
    ExpectConsistent(what);
    ASSERT_EQ(home_.Sarge({"list"}).exit_code, 0) << what;
  }

  fs::path source_;
  Spans spans_;
  int killed_ = 0, repaired_runs_ = 0;
  std::map<std::string, int> per_command_;
};

TEST_F(Kill, AnyCommandKilledAnywhereIsRepairedAndTheNextCommandWorks) {
  const json config = {{"application_name", "web"}, {"services", {{"web", {{"type", "listen"}}}}}};
  std::mt19937 rng(20261130);
  for (int run = 0; run < Runs(); ++run) {
    std::vector<std::string> ids = Ids();
    int kind = static_cast<int>(rng() % 5);
    if (ids.empty()) kind = 0;
    std::string some = ids.empty() ? "" : ids[rng() % ids.size()];
    std::vector<std::string> args = ArgsFor(kind, some, config);
    // Kill at a random point of the time this kind of command takes here;
    // the first run of each kind is timed whole.
    auto span = spans_.Of(kind);
    auto delay = span ? std::chrono::milliseconds(rng() % (span->count() + 1)) : 60000ms;
    RunKilledAfter(args, kind, delay);
    ExpectRepaired(DescribeRun(args, run, delay));
    if (HasFatalFailure()) return;
    if (HasFailure()) break;
  }
  std::string counts;
  for (const auto& [command, n] : per_command_) counts += " " + command + "=" + std::to_string(n);
  // What the kills found is asserted above, run by run; how many landed
  // depends on the machine and is only reported.
  std::cout << "[kill] " << Runs() << " runs, " << killed_ << " killed (" << counts
            << " ), check --repair repaired something after " << repaired_runs_ << "\n";
}

}  // namespace
}  // namespace e2e
