// The marker a deploy keeps while it runs, var/run/deploys/ID: a deploy that
// is killed or fails part-way leaves it, and `check --repair` finishes or
// undoes what it began. It holds kSwitching from just before the site file
// changes, and kSwitched once nginx serves the new instance; whether a
// deploy cut off while switching did switch is asked of nginx itself.
#pragma once

#include <string>
#include <string_view>

#include "sarge/home.h"

namespace sarge {

inline constexpr std::string_view kSwitching = "switching\n";
inline constexpr std::string_view kSwitched = "switched\n";

fs::path DeployMarker(const Home& home, const std::string& id);

// Writes instance `id`'s marker with `phase` ("" while it is made and
// started, then kSwitching, kSwitched).
void MarkDeploy(const Home& home, const std::string& id, std::string_view phase = "");

// Removes instance `id`'s marker, if any.
void UnmarkDeploy(const Home& home, const std::string& id);

bool IsDeploySwitched(const Home& home, const std::string& id);

}  // namespace sarge
