// Fault injection through every seam: for each command, the Nth call through
// the filesystem, supervisord, a child process (hooks, nginx) or an HTTP
// request fails, for every N a clean run of the command makes; afterwards
// the home must be consistent, the front end must still route to a running
// instance, and the same command must work again.

#include <iostream>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sarge/check.h"
#include "sarge/config_command.h"
#include "sarge/deploy.h"
#include "sarge/error.h"
#include "sarge/front_end.h"
#include "sarge/hooks.h"
#include "sarge/processes.h"
#include "sarge/progress.h"
#include "sarge/records.h"
#include "sarge/supervisor_config.h"
#include "sarge/test_util.h"

namespace sarge {
namespace {

using ::testing::IsEmpty;
using namespace std::chrono_literals;

using testing::kWebConfig;

Settings WithHooks() {
  Settings s;
  s.nginx_reload_command = "reload";
  for (const char* event : {hook::kInitializing, hook::kConfiguring, hook::kWillStart,
                            hook::kHasStopped, hook::kWillBeDestroyed})
    s.hooks[event] = {fmt::format("/hooks/{}", event)};
  return s;
}

// A home with fakes at every seam, all counting into one FaultPlan.
struct World : testing::DeployWorld {
  World() : DeployWorld(WithHooks()) { CountInto(plan); }

  std::string New() {
    std::string id = CreateInstance(env, kWebConfig).id;
    WriteFileAtomic(home().ServerFile(id), "#!/bin/sh\n", 0755);
    return id;
  }
  std::string NewRunning() {
    Record record = LoadRecord(home(), New());
    StartInstance(env, record, 5s);
    return record.id;
  }

  testing::FaultPlan plan;
};

// A command under test: `setup` brings a fresh world to where the command
// runs (no faults), `run` is the command, returning what it acted on.
struct Scenario {
  const char* name;
  std::function<std::string(World&)> setup;
  std::function<void(World&, const std::string&)> run;
  // What a person does next after a failure: by default, the same again.
  std::function<void(World&, const std::string&)> again = nullptr;
};

void PrintTo(const Scenario& scenario, std::ostream* out) { *out << scenario.name; }

std::vector<Scenario> Scenarios() {
  return {
      {"new", [](World&) { return std::string(); }, [](World& w, const std::string&) { w.New(); }},
      {"start", [](World& w) { return w.New(); },
       [](World& w, const std::string& id) {
         Record record = LoadRecord(w.home(), id);
         StartInstance(w.env, record, 5s);
       }},
      {"deploy", [](World& w) { return w.Deploy1(2); },
       [](World& w, const std::string&) { w.Deploy1(2); }},
      {"activate",
       [](World& w) {
         w.Deploy1(2);
         return w.NewRunning();
       },
       [](World& w, const std::string& id) {
         Record record = LoadRecord(w.home(), id);
         ActivateInstance(w.env, record);
       }},
      {"rollback",
       [](World& w) {
         for (int i = 0; i < 3; ++i) w.Deploy1(2);
         return std::string();
       },
       [](World& w, const std::string&) {
         Rollback(w.env, RollbackOptions{"web", "", 5s, {}});
       },
       // Once switched, a rollback that failed says to stop the old instance;
       // run again it would roll back one further.
       [](World& w, const std::string&) {
         auto all = LoadAllRecords(w.home());
         if (w.Active() == all.back().id)
           Rollback(w.env, RollbackOptions{"web", "", 5s, {}});
         else
           StopInstance(w.env, all.back().id);
       }},
      // A restart is a deploy of the serving instance's files; config set
      // is a restart with the variables changed first (put back on failure).
      {"config set", [](World& w) { return w.Deploy1(2); },
       [](World& w, const std::string&) {
         try {
           ConfigChangeCommand(w.env, ConfigChange{.app = "web",
                                                   .set = {{"KEY", "value"}},
                                                   .unset = {},
                                                   .restart = true,
                                                   .timeout = 5s,
                                                   .min_uptime = {}});
         } catch (const Error& e) {
           // Failed: the variables are as they were, or it says they are not.
           std::string what = e.what();
           // Or it failed after the switch: the new instance serves with them.
           if (what.find("which is kept") != std::string::npos) {
             EXPECT_FALSE(LoadAppVars(w.home(), "web").empty()) << what;
           } else if (what.find("back failed too") == std::string::npos) {
             EXPECT_TRUE(LoadAppVars(w.home(), "web").empty()) << what;
           }
           throw;
         }
       }},
      // scale is a restart with the counts changed first (put back on failure).
      {"scale", [](World& w) { return w.Deploy1(2); },
       [](World& w, const std::string&) {
         try {
           ScaleCommand(
               w.env,
               ScaleChange{.app = "web", .counts = {{"web", 2}}, .timeout = 5s, .min_uptime = {}});
         } catch (const Error& e) {
           std::string what = e.what();
           if (what.find("which is kept") != std::string::npos) {
             EXPECT_FALSE(LoadScale(w.home(), "web").empty()) << what;
           } else if (what.find("back failed too") == std::string::npos) {
             EXPECT_TRUE(LoadScale(w.home(), "web").empty()) << what;
           }
           throw;
         }
       }},
      {"destroy",
       [](World& w) {
         w.Deploy1(2);
         return w.NewRunning();
       },
       [](World& w, const std::string& id) {
         if (fs::exists(w.home().RecordFile(id))) DestroyInstance(w.env, LoadRecord(w.home(), id));
       }},
  };
}

// What is wrong with the world, as lines; empty when all holds. What
// `check --repair` can finish is allowed when `repairable_ok`.
std::vector<std::string> Broken(World& w, const std::optional<std::string>& served_before,
                                bool repairable_ok = false) {
  std::vector<std::string> out;
  for (const auto& f : CheckHome(w.env, false))
    if (!f.repairable || !repairable_ok) out.push_back("check: " + f.problem);
  for (const auto& [name, info] : w.supervisor.loaded)
    if (!fs::exists(w.home().RecordFile(InstanceOfProgram(name))))
      out.push_back(fmt::format("{} is in supervisord without a record", name));
  if (served_before) {
    auto active = w.Active();
    if (!active)
      out.push_back("the front end no longer routes anywhere");
    else if (!w.supervisor.loaded.contains(*active) ||
             w.supervisor.loaded[*active].state != "RUNNING")
      out.push_back(fmt::format("the front end routes to {}, which does not run", *active));
  }
  return out;
}

class FaultInjectionTest : public ::testing::TestWithParam<Scenario> {
 protected:
  // The calls a clean run of the command makes.
  static std::vector<std::string> CleanRun(const Scenario& scenario) {
    World w;
    std::string target = scenario.setup(w);
    w.plan.calls.clear();  // count the command's calls only
    auto installed = w.plan.Install();
    scenario.run(w, target);
    return w.plan.calls;
  }

  // Runs the command with its `n`th call failing (of `count`), checks the
  // home, then that the next command works. Counts what happened.
  void FailCall(const Scenario& scenario, size_t n, size_t count) {
    World w;
    std::string target = scenario.setup(w);
    w.plan.calls.clear();  // count the command's calls only
    std::optional<std::string> served_before = w.Active();
    std::string outcome = "succeeded";
    {
      w.plan.fail_at = static_cast<int>(n);
      auto installed = w.plan.Install();
      try {
        scenario.run(w, target);
      } catch (const Error& e) {
        ++failed_;
        outcome = std::string("failed: ") + e.what();
      }
      w.plan.fail_at = 0;
    }
    SCOPED_TRACE(fmt::format("{}: call {} of {} failed ({}); the command {}", scenario.name, n,
                             count, n <= w.plan.calls.size() ? w.plan.calls[n - 1] : "?", outcome));
    EXPECT_THAT(Broken(w, served_before, /*repairable_ok=*/true), IsEmpty());
    if (!CheckHome(w.env, false).empty()) ++left_for_repair_;
    // The next command works. Like every command that takes the home's
    // lock, it first rewrites supervisord.conf (commands.cc).
    try {
      WriteSupervisordConf(w.home());
      (scenario.again ? scenario.again : scenario.run)(w, target);
    } catch (const Error& e) {
      ADD_FAILURE() << "run again: " << e.what();
    }
    EXPECT_THAT(Broken(w, served_before), IsEmpty()) << "after running it again";
  }

  int failed_ = 0;
  int left_for_repair_ = 0;
};

TEST_P(FaultInjectionTest, EveryFailingCallLeavesAConsistentHomeAndTheCommandWorksAgain) {
  const Scenario& scenario = GetParam();
  const std::vector<std::string> clean = CleanRun(scenario);
  ASSERT_GT(clean.size(), 2u);
  for (size_t n = 1; n <= clean.size(); ++n) FailCall(scenario, n, clean.size());
  EXPECT_GT(failed_, 0);
  std::cout << fmt::format(
      "{}: {} calls, each failed in turn: the command failed {} times, succeeded {} times; "
      "check --repair had work after {}\n",
      scenario.name, clean.size(), failed_, clean.size() - failed_, left_for_repair_);
}

INSTANTIATE_TEST_SUITE_P(Commands, FaultInjectionTest, ::testing::ValuesIn(Scenarios()),
                         [](const ::testing::TestParamInfo<Scenario>& param) {
                           std::string name = param.param.name;
                           std::replace(name.begin(), name.end(), ' ', '_');
                           return name;
                         });

}  // namespace
}  // namespace sarge
