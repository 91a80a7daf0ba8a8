#include "sarge/config_command.h"

#include <algorithm>
#include <functional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sarge/deploy.h"
#include "sarge/error.h"
#include "sarge/front_end.h"
#include "sarge/instance_config.h"
#include "sarge/names.h"
#include "sarge/processes.h"
#include "sarge/records.h"
#include "sarge/releases.h"

namespace sarge {
namespace {

// The names the services of `app`'s instances define (WEB_PORT): a
// variable of the same name would replace what a service gives its server.
std::vector<std::string> ServiceNames(const Home& home, const std::string& app) {
  std::vector<std::string> names;
  for (const auto& record : LoadAllRecords(home)) {
    if (record.application_name != app) continue;
    for (auto& name : RuntimeNames(InstanceConfigFromJson(record.config).services))
      names.push_back(std::move(name));
  }
  return names;
}

// What the change does, for the action log and releases: names only.
std::string Describe(const ConfigChange& change) {
  std::vector<std::string> parts;
  if (!change.set.empty()) {
    std::vector<std::string> names;
    for (const auto& [name, value] : change.set) names.push_back(name);
    parts.push_back(fmt::format("config set {}", fmt::join(names, " ")));
  }
  if (!change.unset.empty())
    parts.push_back(fmt::format("config unset {}", fmt::join(change.unset, " ")));
  return fmt::format("{}", fmt::join(parts, ", "));
}

}  // namespace

std::string ConfigList(const Home& home, const std::string& app, bool values) {
  std::string out;
  for (const auto& [name, value] : LoadAppVars(home, app))
    out += values ? fmt::format("{}={}\n", name, value) : name + "\n";
  return out;
}

namespace {

// The variables of `change.app` once `change` is made; throws Error, having
// changed nothing, for a name sarge or a service defines, or an unset of a
// name that is not set.
Vars Changed(const Home& home, const ConfigChange& change, Vars vars) {
  std::vector<std::string> reserved = ServiceNames(home, change.app);
  for (const auto& [name, value] : change.set) {
    CheckVarName(name, reserved);
    vars[name] = value;
  }
  for (const auto& name : change.unset) {
    if (!vars.contains(name))
      throw Error(fmt::format("{} is not a variable of {}; `sarge {} config {}` lists them",
                              Quoted(name), change.app, home.root.string(), change.app));
    vars.erase(name);
  }
  return vars;
}

// Restarts `options.app` with what was just saved; if that fails, has
// `put_back` restore what was there before, and says so: `kept` is what is
// as it was ("the variables of web are"), `shows` the command that shows it.
std::string RestartOrPutBack(Env& env, const RestartOptions& options, const std::string& kept,
                             const std::string& shows, const std::function<void()>& put_back) {
  auto serving = ReadActiveSite(env.home, options.app);
  try {
    return RestartCommand(env, options);
  } catch (const Error& e) {
    // Failed after its switch (tidying, or a watch with nothing to switch
    // back to): the new instance serves with what was saved, which stays.
    auto now = ReadActiveSite(env.home, options.app);
    if (now && (!serving || now->id != serving->id))
      throw Error(fmt::format("{}; {} serves with the change, which is kept", e.what(), now->id),
                  e.detail());
    try {
      put_back();
    } catch (const Error& failed) {
      throw Error(fmt::format("{}; putting back what was there before failed too: {}; `sarge {} "
                              "{}` shows what is kept",
                              e.what(), failed.what(), env.home.root.string(), shows),
                  e.detail());
    }
    throw Error(fmt::format("{}; {} as they were", e.what(), kept), e.detail());
  }
}

// A change of what the application runs with, whose restart applies it (or
// whose release is noted to apply from the next deploy when `restart` is
// false or nothing serves). Returns the instance that serves, or "".
std::string ApplyByRestart(Env& env, const std::string& app, const std::string& what, bool restart,
                           const RestartOptions& options, const std::string& kept,
                           const std::string& shows, const std::function<void()>& put_back) {
  auto site = ReadActiveSite(env.home, app);
  if (!restart || !site) {
    LogAction(env.home, fmt::format("{} of {} (not restarted)", what, app));
    Release release{0, UtcNow(), WhoActs(), what, "", "", site ? site->id : "", "succeeded"};
    NoteRelease(env.home, app, release);
    return "";
  }
  return RestartOrPutBack(env, options, kept, shows, put_back);
}

}  // namespace

std::string ConfigChangeCommand(Env& env, const ConfigChange& change) {
  const Home& home = env.home;
  const std::string& app = change.app;
  CheckSafeName("application name", app);
  Vars before = LoadAppVars(home, app);
  Vars after = Changed(home, change, before);
  const std::string what = Describe(change);
  SaveAppVars(home, app, after);
  std::string id = ApplyByRestart(
      env, app, what, change.restart,
      RestartOptions{
          .app = app, .by = what, .timeout = change.timeout, .min_uptime = change.min_uptime},
      fmt::format("the variables of {} are", app), "config " + app,
      [&] { SaveAppVars(home, app, before); });
  if (id.empty())
    return fmt::format("{} of {}: applies from its next deploy or restart", what, app);
  return fmt::format("{} of {}: {} serves with them", what, app, id);
}

namespace {

// The process types `app` runs now (those of the Procfile of the instance
// that serves it), or nullopt if nothing serves it.
std::optional<std::vector<std::string>> ServingTypes(const Home& home, const std::string& app) {
  auto site = ReadActiveSite(home, app);
  if (!site) return std::nullopt;
  std::vector<std::string> types;
  for (const auto& [type, count] : CountsToStart(home, LoadRecord(home, site->id)))
    types.push_back(type);
  return types;
}

}  // namespace

// A count kept for an application that does not exist (a typo) would
// wait for it silently.
void CheckHasInstances(const Home& home, const std::string& app) {
  std::vector<std::string> apps;
  for (const auto& record : LoadAllRecords(home)) {
    if (record.application_name == app) return;
    apps.push_back(record.application_name);
  }
  std::string hint = ClosestMatch(app, apps);
  throw Error(fmt::format("application {} has no instances in {}; deploy it first{}", Quoted(app),
                          home.root.string(), hint.empty() ? "" : " (did you mean " + hint + "?)"));
}

std::string ScaleCommand(Env& env, const ScaleChange& change) {
  const Home& home = env.home;
  const std::string& app = change.app;
  CheckSafeName("application name", app);
  CheckHasInstances(home, app);
  if (auto types = ServingTypes(home, app))
    for (const auto& [type, count] : change.counts)
      if (std::find(types->begin(), types->end(), type) == types->end())
        throw Error(fmt::format("{} runs no process type {} ({}); scale one of those", app,
                                Quoted(type),
                                *types == std::vector<std::string>{"web"}
                                    ? std::string("it has no Procfile, so web only")
                                    : fmt::format("its Procfile has {}", fmt::join(*types, ", "))));
  ProcessCounts before = LoadScale(home, app), after = before;
  std::vector<std::string> words;
  for (const auto& [type, count] : change.counts) {
    after[type] = count;
    words.push_back(fmt::format("{}={}", type, count));
  }
  const std::string what = fmt::format("scale {}", fmt::join(words, " "));
  SaveScale(home, app, after);
  std::string id = ApplyByRestart(
      env, app, what, true,
      RestartOptions{
          .app = app, .by = what, .timeout = change.timeout, .min_uptime = change.min_uptime},
      fmt::format("the process counts of {} are", app), "status " + app, [&] {
        if (before.empty())
          RemoveFile(home.AppScaleFile(app));
        else
          SaveScale(home, app, before);
      });
  if (id.empty()) return fmt::format("{} of {}: applies from its next deploy", what, app);
  return fmt::format("{} of {}: {} serves with them", what, app, id);
}

}  // namespace sarge
