// Each application's releases: every deploy, rollback and restart of it,
// numbered v1, v2, … in the order they were made, with when, who, the
// label, the source, the instance and the outcome. `releases APP` shows
// them; `rollback APP --to vN` goes back to one.
// File: etc/apps/APP/releases.json, a JSON array, oldest first.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sarge/home.h"

namespace sarge {

struct Release {
  int version = 0;       // N of vN
  std::string time;      // UTC, ISO 8601
  std::string user;      // who ran the command
  std::string by;        // "deploy", "rollback", "restart"
  std::string label;     // deploy's --label, or the label of the instance gone back to
  std::string source;    // what the instance's files came from
  std::string instance;  // the instance made or gone back to; empty if none was made
  std::string outcome;   // "succeeded", or "failed: " and why
  bool Succeeded() const { return outcome == "succeeded"; }
};

// The releases of `app`, oldest first; empty if it has none. Throws Error if
// the file cannot be read or parsed.
std::vector<Release> LoadReleases(const Home& home, const std::string& app);

// Numbers `release` (one more than the last) and adds it to the releases of
// `app`; returns its number. Keeps the newest 500. Writes atomically.
int NoteRelease(const Home& home, const std::string& app, Release release);

// The release of `app` numbered by `version` ("v3"). Throws Error, saying
// what to do, for a number it does not have or a release that failed.
Release FindRelease(const Home& home, const std::string& app, const std::string& version);

// True for "v" and digits: a release's number, never an instance id.
bool IsReleaseNumber(const std::string& text);

// `releases APP`: newest first, with which one serves now ("serving": the
// newest that succeeded on the instance the front end routes `app` to).
nlohmann::json ReleasesJson(const Home& home, const std::string& app);
// The same as an aligned table, `*` in the SERVING column.
std::string ReleasesTable(const nlohmann::json& releases);

}  // namespace sarge
