// An application's configuration: what `deploy CONFIG SOURCE` deploys when
// CONFIG names the application, or when the source carries a sarge.json
// (the keys of the JSON of `new`), and the one last deployed for it
// (etc/apps/APP/config.json, mode 0600: its env may hold secrets).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "sarge/command_runner.h"
#include "sarge/home.h"
#include "sarge/records.h"

namespace sarge {

// Whether deploy's CONFIG argument names an application (`web`) rather
// than giving JSON (`{...}`, `-` for standard input, `@FILE`).
bool NamesApplication(std::string_view argument);

// The text of the source's sarge.json: a folder's, or a tarball's at its
// root or in its one top folder. nullopt when it has none. Throws Error
// for one that is not a regular file or is larger than 1 MiB.
std::optional<std::string> SourceConfig(const Home& home, CommandRunner& runner,
                                        const fs::path& source);

// The files at a source's root that sarge reads before a deploy: its
// sarge.json and its Procfile (procfile.h), read as SourceConfig reads
// sarge.json (a tarball listed and unpacked once for both).
// The private folder a tarball's files are unpacked into is
// var/tmp/PREFIXPID-XXXXXX: `check` removes one whose process is gone.
inline constexpr std::string_view kSourceFilesPrefix = ".sarge-json-";

struct SourceFiles {
  std::optional<std::string> config;
  std::optional<std::string> procfile;
};
SourceFiles ReadSourceFiles(const Home& home, CommandRunner& runner, const fs::path& source);

// The configuration (JSON text) a deploy of `source` uses, given deploy's
// CONFIG: for an application name, the source's sarge.json, else the
// configuration last deployed for the application, with application_name
// set to it; for JSON, that JSON, whose keys override those of the
// source's sarge.json when it has one. Throws Error when an application
// has neither, or when sarge.json names another application.
std::string DeployConfig(const Home& home, CommandRunner& runner, const std::string& config,
                         const fs::path& source);
// The same, given the source's sarge.json as ReadSourceFiles read it.
std::string DeployConfig(const Home& home, const std::string& config, const fs::path& source,
                         const std::optional<std::string>& from_source);

// Keeps `record`'s configuration as the one last deployed for its application.
void RememberConfig(const Home& home, const Record& record);

}  // namespace sarge
