#include "sarge/records.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>

#include <fmt/format.h>

#include "sarge/error.h"
#include "sarge/names.h"

namespace sarge {

using nlohmann::json;

json Record::ToJson() const {
  json out = {{"id", id},
              {"meta", {{"APPLICATION_NAME", application_name}, {"CREATION_TIME", creation_time}}},
              {"config", config},
              {"ports", ports}};
  if (!check_url.empty()) out["check_url"] = check_url;
  out["autostart"] = autostart;
  return out;
}

Record Record::FromJson(const json& value) {
  try {
    Record r;
    r.id = value.at("id").get<std::string>();
    r.application_name = value.at("meta").at("APPLICATION_NAME").get<std::string>();
    r.creation_time = value.at("meta").at("CREATION_TIME").get<std::string>();
    r.config = value.at("config");
    if (value.contains("ports")) r.ports = value["ports"].get<std::map<std::string, int>>();
    r.check_url = value.value("check_url", "");
    r.autostart = value.value("autostart", false);
    return r;
  } catch (const json::exception& e) {
    throw Error(fmt::format("malformed instance record: {}", e.what()));
  }
}

std::string UtcNow() {
  // Microseconds, so instances created within one second still sort in order.
  // Calendar arithmetic on the system clock (UTC): fmt 9 would format a
  // time point in local time, and gmtime_r reads the time zone file.
  using namespace std::chrono;
  auto now = floor<microseconds>(system_clock::now());
  auto day = floor<days>(now);
  year_month_day date{day};
  hh_mm_ss time{now - day};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z", static_cast<int>(date.year()),
                     static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                     time.hours().count(), time.minutes().count(), time.seconds().count(),
                     time.subseconds().count());
}

void SaveRecord(const Home& home, const Record& record) {
  WriteFileAtomic(home.RecordFile(record.id), record.ToJson().dump(2) + "\n");
}

std::vector<std::string> ListIds(const Home& home) {
  std::vector<std::string> ids;
  DIR* dir = ::opendir(home.RecordsDir().c_str());
  if (!dir)
    throw Error(
        fmt::format("cannot read {}: {}", home.RecordsDir().string(), std::strerror(errno)));
  while (dirent* entry = ::readdir(dir)) {
    std::string_view name = entry->d_name;
    if (name.size() <= 5 || !name.ends_with(".json") || IsTempFileName(name)) continue;
    name.remove_suffix(5);
    if (IsSafeName(name)) ids.emplace_back(name);
  }
  ::closedir(dir);
  std::sort(ids.begin(), ids.end());
  return ids;
}

Record LoadRecord(const Home& home, const std::string& id) {
  CheckSafeName("instance id", id);
  auto text = ReadFileIfExists(home.RecordFile(id));
  if (!text) {
    std::string hint = ClosestMatch(id, ListIds(home));
    throw Error(fmt::format("no instance {} in {}; {}", Quoted(id), home.root.string(),
                            hint.empty()
                                ? fmt::format("`sarge {} list` shows them", home.root.string())
                                : fmt::format("did you mean '{}'?", hint)));
  }
  try {
    return Record::FromJson(json::parse(*text));
  } catch (const json::exception& e) {
    throw Error(
        fmt::format("record {} is not valid JSON: {}", home.RecordFile(id).string(), e.what()));
  }
}

std::vector<Record> LoadAllRecords(const Home& home) {
  std::vector<Record> records;
  for (const auto& id : ListIds(home)) {
    auto text = ReadFileIfExists(home.RecordFile(id));
    if (!text) continue;  // destroyed since we listed the folder
    try {
      records.push_back(Record::FromJson(json::parse(*text)));
    } catch (const std::exception& e) {
      std::cerr << fmt::format("sarge: warning: skipping {}: {}\n", home.RecordFile(id).string(),
                               e.what());
    }
  }
  std::stable_sort(records.begin(), records.end(), [](const Record& a, const Record& b) {
    return a.creation_time < b.creation_time;
  });
  return records;
}

void SetAutostart(const Home& home, const std::string& id, bool autostart) {
  if (!fs::exists(home.RecordFile(id))) return;
  Record record = LoadRecord(home, id);
  if (record.autostart == autostart) return;
  record.autostart = autostart;
  SaveRecord(home, record);
}

void RemoveRecord(const Home& home, const std::string& id) {
  if (Unlink(home.RecordFile(id)) != 0 && errno != ENOENT)
    throw Error(
        fmt::format("cannot remove {}: {}", home.RecordFile(id).string(), std::strerror(errno)));
}

}  // namespace sarge
