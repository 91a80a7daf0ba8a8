// Names that end up in paths, supervisord sections and environment variables.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sarge {

// True for a non-empty name of at most 64 characters from [A-Za-z0-9_-].
// Such a name is safe as a file name, a supervisord program name and an
// nginx token, and cannot be a path.
bool IsSafeName(std::string_view name);

// Throws Error "<what> '<name>' …" unless IsSafeName(name). `what` is e.g.
// "application_name" or "instance id".
void CheckSafeName(std::string_view what, std::string_view name);

// "<app>-" followed by six random letters and digits.
std::string NewInstanceId(std::string_view app);

// The environment-variable spelling of a service name: capitals, '-' as '_'.
std::string EnvName(std::string_view service);

// True for a POSIX environment variable name: [A-Za-z_][A-Za-z0-9_]*.
bool IsEnvName(std::string_view name);

// The candidate closest to `word` by edit distance, if it is close enough to
// be a likely typo; empty otherwise.
std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates);

// Quotes `value` for display in an error message: 'value', with control
// characters escaped so the message stays one line.
std::string Quoted(std::string_view value);

}  // namespace sarge
