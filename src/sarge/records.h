// Instance records: etc/instances/ID.json, one file per instance, written
// atomically. The record is the source of truth for which instances exist.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
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

// LoadAllRecords with each record made into a T by `make` as soon as it is
// parsed: only one record's tree exists at a time per reading thread (for
// thousands of records, holding every tree costs more in fresh memory than
// parsing them). From 2048 records on they are read on up to 4 threads,
// since reading thousands of small files is system calls and parsing them
// CPU, so `make` must be safe to run on several threads at once.
// `spare_cores` are left to other processes (supervisord working on a
// request meanwhile).
template <typename T, typename Make>
std::vector<T> LoadAllRecordsAs(const Home& home, Make make, unsigned spare_cores = 0);

// For tests: LoadRecordsInto reads ahead (records.cc) from the first record
// on, as it does once its reads have had to wait for the disk; and how many
// records it has asked the kernel to read ahead so far in this process.
void ReadRecordsAheadFromTheStartForTest(bool on);
size_t RecordsReadAheadForTest();

// For LoadAllRecordsAs: calls `size` once with the number of record files,
// then `take(i, record)` for each valid record (a distinct i below that
// number; from several threads at once). Returns the i's taken, in order.
std::vector<size_t> LoadRecordsInto(const Home& home, const std::function<void(size_t)>& size,
                                    const std::function<void(size_t, Record&&)>& take,
                                    unsigned spare_cores);

template <typename T, typename Make>
std::vector<T> LoadAllRecordsAs(const Home& home, Make make, unsigned spare_cores) {
  std::vector<std::optional<T>> made;
  std::vector<size_t> order = LoadRecordsInto(
      home, [&](size_t count) { made.resize(count); },
      [&](size_t i, Record&& record) { made[i].emplace(make(std::move(record))); }, spare_cores);
  std::vector<T> out;
  out.reserve(order.size());
  for (size_t i : order) out.push_back(std::move(*made[i]));
  return out;
}

// Ids of every record (from file names only; cheap).
std::vector<std::string> ListIds(const Home& home);

// Sets the record's autostart flag, saving it only if it changes. Does
// nothing for an id without a record.
void SetAutostart(const Home& home, const std::string& id, bool autostart);

// Removes the record file (the last step of destroying an instance).
void RemoveRecord(const Home& home, const std::string& id);

}  // namespace sarge
