// The rolling deployment as one command, and rollback: each a script of
// named steps over the lifecycle and front-end pieces.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "sarge/front_end.h"
#include "sarge/lifecycle.h"
#include "sarge/progress.h"

namespace sarge {

struct DeployOptions {
  std::string config_json;
  fs::path source;        // a folder (copied in) or a .tar.gz (unpacked)
  std::string check_url;  // with $NAME from the runtime configuration; empty: ports only
  std::optional<std::chrono::seconds> timeout;  // default: settings.deploy_timeout
  std::optional<int> keep;                      // default: settings.deploy_keep
};

// Checks the deploy's input (configuration, source, check URL) without
// touching anything; throws Error as Deploy would.
void CheckDeployInput(const DeployOptions& options);

// Creates an instance with `config_json`, without taking the home's lock
// (the caller holds it), after the initializing hooks agree. Returns its
// record. Throws Error on bad input or a failing hook, having created nothing.
Record CreateInstance(const Home& home, std::string_view config_json, const Settings& settings,
                      CommandRunner& runner);

// New instance, install source, start, wait until healthy, activate, let the
// old nginx workers finish, stop the application's previous instances and
// destroy those beyond `keep`. On any failure before the switch the new
// instance is stopped and destroyed and the front end is untouched; the
// Error says which step failed and why. Returns the new instance's id.
// Each step is shown on `progress` as "deploy APP [i/7] NAME".
std::string Deploy(LifecycleEnv& env, FrontEndEnv& front, const DeployOptions& options,
                   Progress& progress);

// Stops every other instance of `current`'s application and destroys the
// previous ones beyond the newest `keep`.
void RetirePrevious(LifecycleEnv& env, const Record& current, int keep);

// Starts the newest previous instance of `app` (older than the active one),
// checks it, activates it and stops the current one. Returns its id. Each
// step is shown on `progress` as "rollback APP [i/4] NAME".
std::string Rollback(LifecycleEnv& env, FrontEndEnv& front, const std::string& app,
                     std::optional<std::chrono::seconds> timeout, Progress& progress);

// Activates a running instance (the `activate` command): switch the front
// end, wait for the old workers. Throws Error if it is not running.
void ActivateInstance(LifecycleEnv& env, FrontEndEnv& front, Record& record);

}  // namespace sarge
