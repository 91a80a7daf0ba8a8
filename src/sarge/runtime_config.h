// `configure`: an instance's runtime configuration (var/run/ID/appcfg.json)
// computed from its services, and the environment its processes get.
#pragma once

#include <functional>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "sarge/command_runner.h"
#include "sarge/home.h"
#include "sarge/records.h"
#include "sarge/settings.h"

namespace sarge {

// Whether a TCP port can be bound on a host right now. A seam so tests can
// say which ports are taken.
using PortProbe = std::function<bool(const std::string& host, int port)>;

// The real probe: tries to bind (with SO_REUSEADDR, as servers do).
bool PortIsFree(const std::string& host, int port);

// Computes the runtime configuration of `record`, creating the folders its
// services name and allocating ports it lacks (recorded in record.ports and
// claimed under etc/ports/ so no other instance of the home gets them).
// Saves the record if it changed and writes var/run/ID/appcfg.json.
// Returns the runtime configuration.
// The `configuring` hooks may add values (never replace one).
nlohmann::json Configure(const Home& home, Record& record, const Settings& settings,
                         const PortProbe& probe = PortIsFree,
                         CommandRunner& runner = RealCommandRunner());

// `value` with every `$NAME` replaced by that value of `appcfg`. Throws
// Error naming `what` if a name is missing.
std::string Interpolate(const std::string& value, const nlohmann::json& appcfg,
                        const std::string& what);

// The runtime configuration last written by Configure (var/run/ID/appcfg.json).
// Throws Error if there is none.
nlohmann::json ReadRuntimeConfig(const Home& home, const std::string& id);

// Releases every port claimed for `record` (when it is destroyed).
void ReleasePorts(const Home& home, const Record& record);

// The variables an instance's server and `run` get on top of the inherited
// environment: every runtime configuration value, the configuration's `env`,
// SARGEAPP_CFG, SARGE_HOME and SARGE_INSTANCE_ID.
std::map<std::string, std::string> InstanceEnvironment(const Home& home, const Record& record,
                                                       const nlohmann::json& appcfg);

}  // namespace sarge
