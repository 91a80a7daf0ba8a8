// A release's Procfile: `TYPE: COMMAND` lines at the root of its source.
// `web` is the instance's server (instead of the executable `server`);
// every other type but `release` runs as processes of their own beside it
// (processes.h); `release` runs once per deploy, after the source is installed and before
// the instance starts (migrations). The format is strict, as Dokku's
// procfile-util: a line that is not `TYPE: COMMAND`, a type not of
// `[a-z0-9][a-z0-9-]*`, or a type given twice is an error naming the line.
// Blank lines and lines starting with `#` are skipped.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sarge/home.h"

namespace sarge {

// The most a Procfile may hold.
inline constexpr size_t kMaxProcfileBytes = 64 * 1024;
inline constexpr size_t kMaxTypeName = 40;
// The most types a Procfile may have (supervisord holds a program for each).
inline constexpr size_t kMaxProcessTypes = 32;

// `[a-z0-9][a-z0-9-]*`, at most kMaxTypeName.
bool IsTypeName(std::string_view name);

struct ProcessType {
  std::string name;
  std::string command;  // a bash command line, the release's own
  int line = 0;         // 1-based, for messages
};

struct Procfile {
  std::vector<ProcessType> types;  // in the file's order
  // The command of `type`, or nullptr.
  const ProcessType* Find(std::string_view type) const;
};

// Parses a Procfile's text; `where` names it in errors ("Procfile").
// Throws Error "WHERE line N: …".
Procfile ParseProcfile(std::string_view text, const std::string& where);

// Parses a release's Procfile and checks it has a web process. Throws Error as
// ParseProcfile does, naming the line (`where` names the file).
Procfile CheckedProcfile(std::string_view text, const std::string& where);

// The instance's Procfile (ID/Procfile), checked; nullopt if it has none.
// Throws Error for one that is not a regular file, is larger than
// kMaxProcfileBytes or does not pass CheckedProcfile.
std::optional<Procfile> ReadProcfile(const Home& home, const std::string& id);

}  // namespace sarge
