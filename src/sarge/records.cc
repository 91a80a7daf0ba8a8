#include "sarge/records.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>

#include <fmt/format.h>

#include "sarge/error.h"
#include "sarge/fs.h"
#include "sarge/names.h"

namespace sarge {

using nlohmann::json;

namespace {

json RecordJson(const Record& r, json config) {
  json out = {
      {"id", r.id},
      {"meta", {{"APPLICATION_NAME", r.application_name}, {"CREATION_TIME", r.creation_time}}},
      {"config", std::move(config)},
      {"ports", r.ports}};
  if (!r.check_url.empty()) out["check_url"] = r.check_url;
  if (!r.label.empty()) out["label"] = r.label;
  if (!r.processes.empty()) out["scale"] = r.processes;
  out["autostart"] = r.autostart;
  return out;
}

}  // namespace

json Record::ToJson() const& { return RecordJson(*this, config); }

json Record::ToJson() && { return RecordJson(*this, std::move(config)); }

Record Record::FromJson(json value) {
  try {
    Record r;
    r.id = value.at("id").get<std::string>();
    r.application_name = value.at("meta").at("APPLICATION_NAME").get<std::string>();
    r.creation_time = value.at("meta").at("CREATION_TIME").get<std::string>();
    r.config = std::move(value.at("config"));
    if (value.contains("ports")) r.ports = value["ports"].get<std::map<std::string, int>>();
    r.check_url = value.value("check_url", "");
    r.autostart = value.value("autostart", false);
    r.label = value.value("label", "");
    if (value.contains("scale")) r.processes = value["scale"].get<std::map<std::string, int>>();
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

namespace {

// The records folder, open, for reading the records in it by name.
class RecordsDir {
 public:
  explicit RecordsDir(const Home& home) : path_(home.RecordsDir()), dir_(::opendir(path_.c_str())) {
    if (!dir_) throw Error(fmt::format("cannot read {}: {}", path_.string(), std::strerror(errno)));
  }
  RecordsDir(const RecordsDir&) = delete;
  RecordsDir& operator=(const RecordsDir&) = delete;
  ~RecordsDir() { ::closedir(dir_); }

  // Ids of every record, sorted.
  std::vector<std::string> Ids() {
    std::vector<std::string> ids;
    while (dirent* entry = ::readdir(dir_)) {
      std::string_view name = entry->d_name;
      if (name.size() <= 5 || !name.ends_with(".json") || IsTempFileName(name)) continue;
      name.remove_suffix(5);
      if (IsSafeName(name)) ids.emplace_back(name);
    }
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  // Reads `id`'s record into `text`; false if it has gone.
  bool Read(const std::string& id, std::string& text) const {
    // Records are only ever replaced by rename, so a read sees one whole
    // version and may stop at its first short read.
    return ReadReplacedFileAt(::dirfd(dir_), path_, id + ".json", text);
  }

 private:
  fs::path path_;
  DIR* dir_;
};

std::string SkippingWarning(const Home& home, const std::string& id, const std::string& why) {
  return fmt::format("sarge: warning: skipping {}: {}\n", home.RecordFile(id).string(), why);
}

}  // namespace

std::vector<std::string> ListIds(const Home& home) { return RecordsDir(home).Ids(); }

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

void ForEachRecord(const Home& home, const std::function<void(Record&&)>& take) {
  RecordsDir dir(home);
  std::string text;
  for (const std::string& id : dir.Ids()) {
    if (!dir.Read(id, text)) continue;  // destroyed since we listed the folder
    std::optional<Record> record;
    try {
      record = Record::FromJson(json::parse(text));
    } catch (const std::exception& e) {
      std::cerr << SkippingWarning(home, id, e.what());
      continue;
    }
    take(std::move(*record));
  }
}

std::vector<Record> LoadAllRecords(const Home& home) {
  std::vector<Record> records;
  ForEachRecord(home, [&](Record&& record) { records.push_back(std::move(record)); });
  // Ids were in order: a stable sort keeps it among equal times.
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

void RemoveRecord(const Home& home, const std::string& id) { RemoveFile(home.RecordFile(id)); }

}  // namespace sarge
