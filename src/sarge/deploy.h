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
  std::optional<std::chrono::seconds> timeout;          // default: settings.deploy_timeout
  std::optional<int> keep;                              // default: settings.deploy_keep
  std::optional<std::chrono::milliseconds> min_uptime;  // default: settings.min_uptime
  std::optional<std::chrono::milliseconds> watch;       // default: settings.deploy_watch
  std::string label{};                                  // kept in the new instance's record
  std::string by{"deploy"};  // the command, as progress, errors and the front end's log say
  // Set when the source's Procfile has `release:`: that command runs in the
  // new instance after its source is installed, before it starts.
  bool release_command = false;
};

struct RestartOptions {
  std::string app;
  std::string by{"restart"};                    // what its release says: "restart", "config set"
  std::optional<std::chrono::seconds> timeout;  // default: settings.deploy_timeout
  std::optional<std::chrono::milliseconds> min_uptime;  // default: settings.min_uptime
};

struct RollbackOptions {
  std::string app;
  std::string to;  // an instance id or a release (v3); empty: the one that served before
  std::optional<std::chrono::seconds> timeout;          // default: settings.deploy_timeout
  std::optional<std::chrono::milliseconds> min_uptime;  // default: settings.min_uptime
};

// Checks the deploy's input (configuration, source, check URL, server
// names no other application has) without touching anything; throws Error
// as Deploy would. (Activate checks the server names again, locked.)
void CheckDeployInput(const Home& home, const DeployOptions& options);

// Creates an instance with `config_json`, without taking the home's lock
// (the caller holds it), after the initializing hooks agree. Returns its
// record. Throws Error on bad input or a failing hook, having created nothing.
Record CreateInstance(Env& env, std::string_view config_json, const std::string& label = "");

// New instance, install source, start, wait until healthy (the check URL
// answers 2xx or 3xx and the server stays up for min_uptime), activate,
// with `watch` watch it while the previous instance still runs (and switch
// back if it exits or fails its check), let the old nginx workers finish,
// stop the application's previous instances and destroy those beyond
// `keep`. On any failure before the switch the new instance is stopped and
// destroyed and the front end is untouched; the Error says which step
// failed and why. Returns the new instance's id. Each step is shown on
// `progress` as "deploy APP [i/N] NAME".
std::string Deploy(Env& env, const DeployOptions& options);

// Stops every other instance of `current`'s application and destroys those
// beyond `keep`: the instances that served most recently are kept first
// (activations.h), then the newest.
void RetirePrevious(Env& env, const Record& current, int keep);

// Starts the instance that served the application before the current one
// (or `options.to`), checks it as deploy does, activates it and stops the
// current one. Returns its id. Each step is shown on `progress` as
// "rollback APP [i/4] NAME".
std::string Rollback(Env& env, const RollbackOptions& options);

// Where a rollback goes, chosen before anything changes: the instance that
// serves and the one to go back to. Throws Error, saying what to do, for an
// application without an active instance or a --to it cannot go to.
struct RollbackPlan {
  Record active;
  Record target;
};
RollbackPlan PlanRollback(const Home& home, const RollbackOptions& options);
// Rollback along `plan`.
std::string Rollback(Env& env, const RollbackOptions& options, const RollbackPlan& plan);

// Activates a running instance (the `activate` command): switch the front
// end, wait for the old workers. Throws Error if it is not running, or if
// it has no urlmap routes while the application's active instance has some.
void ActivateInstance(Env& env, Record& record);

// The commands, given an Env whose supervisord answered (new's need not);
// each notes what it did in the action log. `new` creates an instance (the
// input checked before the lock: ParseInstanceConfig) and returns its id;
// deploy (its input checked with CheckDeployInput first) and rollback
// return the id that serves. Ctrl-C undoes a deploy or rollback as a
// failure would.
std::string NewCommand(Env& env, std::string_view config_json);
std::string DeployCommand(Env& env, const DeployOptions& options);
std::string RollbackCommand(Env& env, const RollbackOptions& options);
// A zero-downtime restart of the instance that serves `options.app`: a
// deploy of a new instance from its installed files, with its
// configuration, check URL and label (and the application's variables as
// they are now). Returns the new instance's id.
std::string RestartCommand(Env& env, const RestartOptions& options);
void ActivateCommand(Env& env, const std::string& id);

// `restart APP TYPE`: the processes of `type` (not web) of the instance
// that serves APP restarted in place (RestartInPlace). Throws Error for web,
// an application nothing serves, or a type it runs no process of.
void RestartTypeInPlace(Env& env, const RestartOptions& options, const std::string& type);

}  // namespace sarge
