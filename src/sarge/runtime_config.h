// `configure`: an instance's runtime configuration (var/run/ID/appcfg.json)
// computed from its services, and the environment its processes get.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sarge/env.h"
#include "sarge/home.h"
#include "sarge/records.h"
#include "sarge/settings.h"

namespace sarge {

// Computes the runtime configuration of `record`, creating the folders its
// services name and allocating ports it lacks (recorded in record.ports and
// claimed under etc/ports/ so no other instance of the home gets them).
// Saves the record if it changed and writes var/run/ID/appcfg.json.
// Returns the runtime configuration.
// The `configuring` hooks may add values (never replace one).
nlohmann::json Configure(Env& env, Record& record);

// `value` with every `$NAME` replaced by that value of `appcfg`. Throws
// Error naming `what` if a name is missing.
std::string Interpolate(const std::string& value, const nlohmann::json& appcfg,
                        const std::string& what);

// The runtime configuration last written by Configure (var/run/ID/appcfg.json;
// `id` may name a web process, ID.web.K). Throws Error if there is none.
nlohmann::json ReadRuntimeConfig(const Home& home, const std::string& id);

// Releases every port claimed for `record` (when it is destroyed).
void ReleasePorts(const Home& home, const Record& record);

// The variables an instance's server and `run` get on top of the inherited
// environment: every runtime configuration value, the configuration's `env`,
// SARGEAPP_CFG, SARGE_HOME and SARGE_INSTANCE_ID.
std::map<std::string, std::string> InstanceEnvironment(const Home& home, const Record& record,
                                                       const nlohmann::json& appcfg);

// The runtime configurations of the instance's web processes: `appcfg`
// (the first's), then those of web.2… (scale web=N: each has listen ports
// of its own, var/run/ID/appcfg.web.K.json), read from their files.
std::vector<nlohmann::json> WebRuntimeConfigs(const Home& home, const Record& record,
                                              const nlohmann::json& appcfg);

// `configure`: Configure on the instance `id`; returns its runtime
// configuration.
nlohmann::json ConfigureCommand(Env& env, const std::string& id);

}  // namespace sarge
