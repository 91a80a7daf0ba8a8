// The commands on a home's instances, as the command line calls them: each
// takes the home's lock when it changes anything, loads what it needs and
// calls the pieces (records, runtime_config, lifecycle, exec).
#pragma once

#include <chrono>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "sarge/deploy.h"
#include "sarge/home.h"
#include "sarge/settings.h"

namespace sarge {

// etc/sarge.yaml, or the defaults if it is missing.
Settings LoadSettings(const Home& home);

// Validates `config_json`, creates the instance's folder and record; returns its id.
std::string NewInstance(const Home& home, std::string_view config_json);

// {"instances": [...]} with each record and, if supervisord answers, its
// live state and pid ("state": null when supervisord is not running).
nlohmann::json ListInstances(const Home& home);

// Writes ListInstances(home).dump(2) and a newline to `out`, an instance at a time.
void WriteListing(const Home& home, std::ostream& out);

// Writes var/run/ID/appcfg.json; returns the runtime configuration.
nlohmann::json ConfigureInstance(const Home& home, const std::string& id);

void StartInstanceCommand(const Home& home, const std::string& id,
                          std::optional<std::chrono::seconds> timeout,
                          std::optional<std::chrono::milliseconds> min_uptime);
// Both refuse the instance its application's front end routes to, unless
// `force`.
void StopInstanceCommand(const Home& home, const std::string& id, bool force);
void DestroyInstanceCommand(const Home& home, const std::string& id, bool force);

// The front end and rolling deployment (see deploy.h); each holds the
// home's lock throughout, so a second deploy waits for the first.
void ActivateCommand(const Home& home, const std::string& id);
std::string DeployCommand(const Home& home, const DeployOptions& options);
std::string RollbackCommand(const Home& home, const RollbackOptions& options);

// Starts every instance that was running when supervisord stopped (it
// waits a few seconds for supervisord to answer). Returns how many failed.
int ResumeCommand(const Home& home);

// Verifies the home (see check.h) and prints each finding on stdout;
// with `repair`, fixes what it can. Throws Error if problems remain.
int CheckCommand(const Home& home, bool repair);

// Replace this process with bash in the instance (see exec.h).
[[noreturn]] void RunInInstance(const Home& home, const std::string& id,
                                const std::vector<std::string>& command, bool stdin_is_tty);

// Replace this process with the instance's server (supervisord's command).
[[noreturn]] void LaunchServer(const Home& home, const std::string& id);

}  // namespace sarge
