#include "sarge/config_command.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sarge/deploy.h"
#include "sarge/error.h"
#include "sarge/front_end.h"
#include "sarge/instance_config.h"
#include "sarge/names.h"
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

// Restarts `change.app` with its new variables; if that fails, puts
// `before` back and says so. Returns the instance that serves now.
std::string RestartWith(Env& env, const ConfigChange& change, const std::string& what,
                        const Vars& before) {
  const std::string& app = change.app;
  try {
    return RestartCommand(
        env,
        RestartOptions{
            .app = app, .by = what, .timeout = change.timeout, .min_uptime = change.min_uptime});
  } catch (const Error& e) {
    try {
      SaveAppVars(env.home, app, before);
    } catch (const Error& put_back) {
      throw Error(fmt::format("{}; putting the previous variables of {} back failed too: {}; "
                              "`sarge {} config {}` shows the ones kept",
                              e.what(), app, put_back.what(), env.home.root.string(), app),
                  e.detail());
    }
    throw Error(fmt::format("{}; the variables of {} are as they were", e.what(), app), e.detail());
  }
}

}  // namespace

std::string ConfigChangeCommand(Env& env, const ConfigChange& change) {
  const Home& home = env.home;
  const std::string& app = change.app;
  CheckSafeName("application name", app);
  Vars before = LoadAppVars(home, app);
  Vars after = Changed(home, change, before);
  const std::string what = Describe(change);
  auto site = ReadActiveSite(home, app);
  SaveAppVars(home, app, after);
  if (!change.restart || !site) {
    LogAction(home, fmt::format("{} of {} (not restarted)", what, app));
    Release release{0, UtcNow(), WhoActs(), what, "", "", site ? site->id : "", "succeeded"};
    NoteRelease(home, app, release);
    return fmt::format("{} of {}: applies from its next deploy or restart", what, app);
  }
  std::string id = RestartWith(env, change, what, before);
  return fmt::format("{} of {}: {} serves with them", what, app, id);
}

}  // namespace sarge
