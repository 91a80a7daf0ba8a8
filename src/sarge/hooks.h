// Hooks: the operator's programs run at instance events, as SPEC.md's
// plugins. Each is given the instance as JSON on stdin.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "sarge/command_runner.h"
#include "sarge/home.h"
#include "sarge/records.h"
#include "sarge/settings.h"

namespace sarge {

namespace hook {
inline constexpr const char* kInitializing = "initializing";          // before `new` creates it
inline constexpr const char* kConfiguring = "configuring";            // may add runtime values
inline constexpr const char* kWillStart = "will-start";               // before it is started
inline constexpr const char* kHasStopped = "has-stopped";             // after it stopped
inline constexpr const char* kWillBeDestroyed = "will-be-destroyed";  // before destroy
}  // namespace hook

// Runs the hooks configured for `event`, in order, each with the record's
// JSON plus "event" and "home" on stdin and at most settings.hook_timeout.
// Throws Error "hook PATH for EVENT failed: …" with the hook's stderr as the
// detail if one exits non-zero or times out. Returns the merge of the JSON
// objects the hooks printed on stdout (for `configuring`; an empty stdout
// counts as {}); a stdout that is not a JSON object of scalar values named
// like environment variables is an error.
nlohmann::json RunHooks(const Home& home, const Settings& settings, CommandRunner& runner,
                        const std::string& event, const Record& record);

}  // namespace sarge
