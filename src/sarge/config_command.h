// The `config` and `scale` commands: an application's variables
// (config_vars.h) listed, set or unset, and its process counts
// (processes.h) set; a change is applied by a zero-downtime restart of the
// instance that serves, and undone if that restart fails.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "sarge/config_vars.h"
#include "sarge/env.h"
#include "sarge/processes.h"

namespace sarge {

// The names of `app`'s variables, one per line ("NAME=VALUE" with
// `values`); "" if it has none.
std::string ConfigList(const Home& home, const std::string& app, bool values);

struct ConfigChange {
  std::string app;
  Vars set;                                             // config set NAME=VALUE…
  std::vector<std::string> unset;                       // config unset NAME…
  bool restart = true;                                  // false: --no-restart
  std::optional<std::chrono::seconds> timeout;          // the restart's
  std::optional<std::chrono::milliseconds> min_uptime;  // the restart's
};

// Sets and unsets the variables, then restarts the instance that serves
// the application (unless `restart` is false or none serves) so that it
// runs with them; if that restart fails, the previous values are put back
// and the Error says so. Returns what to print: the instance that serves
// now, or that the values apply from the next deploy or restart. Throws
// Error, having changed nothing, for a name sarge or a service defines or
// an unset of a name that is not set.
std::string ConfigChangeCommand(Env& env, const ConfigChange& change);

struct ScaleChange {
  std::string app;
  ProcessCounts counts;                                 // scale TYPE=N…
  std::optional<std::chrono::seconds> timeout;          // the restart's
  std::optional<std::chrono::milliseconds> min_uptime;  // the restart's
};

// Throws Error, with the closest name, if `app` has no instances (a count
// kept for an application that does not exist, a typo, would wait for it
// silently).
void CheckHasInstances(const Home& home, const std::string& app);

// `scale`: saves the application's process counts (etc/apps/APP/scale.json)
// and restarts the instance that serves it, with no downtime, so that it
// runs them; if that restart fails, the previous counts are put back and
// the Error says so. Throws Error, having changed nothing, for a type the
// Procfile of the serving instance lacks. Returns what to print.
std::string ScaleCommand(Env& env, const ScaleChange& change);

}  // namespace sarge
