// Durations as an operator writes them on the command line and in
// sarge.yaml: seconds ("1", "1.5") or a number with a unit ("500ms", "30s",
// "2m").
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace sarge {

// The duration `text` names, to the millisecond; nullopt if it is not one
// (negative, empty, another unit, more than a day).
std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text);

// Like ParseDuration, but throws UsageError "OPTION 'text' is not a
// duration; …" naming `what` (e.g. "--min-uptime").
std::chrono::milliseconds DurationArgument(std::string_view what, std::string_view text);

// "1 s", "1.5 s", "250 ms": for messages.
std::string FormatDuration(std::chrono::milliseconds d);

}  // namespace sarge
