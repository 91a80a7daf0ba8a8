// Instance records: etc/instances/ID.json, one file per instance, written
// atomically. The record is the source of truth for which instances exist.
#pragma once

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "sarge/home.h"
#include "sarge/instance_config.h"

namespace sarge {

struct Record {
  std::string id;
  std::string application_name;
  std::string creation_time;         // UTC, ISO 8601
  nlohmann::json config;             // InstanceConfig::ToJson()
  std::map<std::string, int> ports;  // ports sarge allocated, by service name
  std::string check_url;             // the health check it was deployed with, for rollback
  bool autostart = false;            // was running: `resume` starts it after supervisord starts
  std::string label{};               // deploy's --label: a version, a commit
  // How many processes of each Procfile type it was last started with
  // (processes.h); empty for one that never started (it runs `web` only).
  std::map<std::string, int> processes{};

  nlohmann::json ToJson() const&;
  nlohmann::json ToJson() &&;  // moves the configuration into the result
  // Throws Error if malformed. Takes `value` by value: a parsed record is
  // moved in, so its configuration is not copied.
  static Record FromJson(nlohmann::json value);
};

// Current UTC time, ISO 8601 with microseconds: "2026-11-26T09:22:48.123456Z".
std::string UtcNow();

// Writes the record atomically.
void SaveRecord(const Home& home, const Record& record);

// Loads the record of `id`. Throws Error for an id that is not a valid name
// or has no record ("no instance …", with a close id suggested).
Record LoadRecord(const Home& home, const std::string& id);

// Every record, ordered by creation time then id. Unreadable records are
// reported on stderr and skipped so one bad file does not hide the rest.
std::vector<Record> LoadAllRecords(const Home& home);

// Calls `take` with every valid record, in the order of their ids, and
// reports (on stderr) each record it skips.
void ForEachRecord(const Home& home, const std::function<void(Record&&)>& take);

// Ids of every record (from file names only; cheap).
std::vector<std::string> ListIds(const Home& home);

// Sets the record's autostart flag, saving it only if it changes. Does
// nothing for an id without a record.
void SetAutostart(const Home& home, const std::string& id, bool autostart);

// Removes the record file (the last step of destroying an instance).
void RemoveRecord(const Home& home, const std::string& id);

}  // namespace sarge
