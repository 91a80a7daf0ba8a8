#include "sarge/records.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <future>
#include <iostream>
#include <iterator>
#include <numeric>
#include <thread>

#include <fmt/format.h>

#include "sarge/error.h"
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

  // Reads `id`'s record into `text`; false if it has gone. Threads may
  // read at once, each into its own text.
  bool Read(const std::string& id, std::string& text) const {
    // Records are only ever replaced by rename, so a read sees one whole
    // version and may stop at its first short read.
    return ReadReplacedFileAt(::dirfd(dir_), path_, id + ".json", text);
  }

 private:
  fs::path path_;
  DIR* dir_;
};

// Checks a record's syntax without building its tree, and picks out
// meta.CREATION_TIME.
class CreationTimeReader : public json::json_sax_t {
 public:
  explicit CreationTimeReader(std::string& creation_time) : creation_time_(creation_time) {}

  const std::string& error() const { return error_; }

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool string(string_t& value) override {
    if (depth_ == 2 && in_meta_ && key_ == "CREATION_TIME") creation_time_ = std::move(value);
    return true;
  }
  bool start_object(size_t) override {
    in_meta_ = depth_ == 1 && key_ == "meta";
    ++depth_;
    return true;
  }
  bool key(string_t& value) override {
    key_ = std::move(value);
    return true;
  }
  bool end_object() override {
    if (--depth_ == 1) in_meta_ = false;
    return true;
  }
  bool start_array(size_t) override {
    ++depth_;
    return true;
  }
  bool end_array() override {
    --depth_;
    return true;
  }
  bool parse_error(size_t, const std::string&, const nlohmann::detail::exception& e) override {
    error_ = e.what();
    return false;
  }

 private:
  std::string& creation_time_;
  std::string key_;
  std::string error_;
  int depth_ = 0;
  bool in_meta_ = false;
};

std::string SkippingWarning(const Home& home, const std::string& id, const std::string& why) {
  return fmt::format("sarge: warning: skipping {}: {}\n", home.RecordFile(id).string(), why);
}

void WarnSkipping(const Home& home, const std::string& id, const std::string& why) {
  std::cerr << SkippingWarning(home, id, why);
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

std::vector<Record> LoadAllRecords(const Home& home) {
  RecordsDir dir(home);
  std::vector<std::string> ids = dir.Ids();
  std::vector<Record> records;
  records.reserve(ids.size());
  std::string text;
  for (const auto& id : ids) {
    if (!dir.Read(id, text)) continue;  // destroyed since we listed the folder
    try {
      records.push_back(Record::FromJson(json::parse(text)));
    } catch (const std::exception& e) {
      WarnSkipping(home, id, e.what());
    }
  }
  std::stable_sort(records.begin(), records.end(), [](const Record& a, const Record& b) {
    return a.creation_time < b.creation_time;
  });
  return records;
}

namespace {

// Records below this many are read on the calling thread alone: starting a
// thread costs more than it saves.
constexpr size_t kRecordsPerThread = 1024;

// What one thread read of ids[begin, end): the records' texts, and the
// warning for each that is not JSON.
struct TextsRead {
  std::vector<RecordText> records;
  std::vector<std::string> warnings;
};

TextsRead ReadTexts(const Home& home, const RecordsDir& dir, std::vector<std::string>& ids,
                    size_t begin, size_t end) {
  TextsRead out;
  out.records.reserve(end - begin);
  std::string buffer;
  for (size_t i = begin; i < end; ++i) {
    if (!dir.Read(ids[i], buffer)) continue;  // destroyed since we listed the folder
    RecordText record{std::move(ids[i]), {}, buffer};
    CreationTimeReader reader(record.creation_time);
    if (json::sax_parse(record.text, &reader))
      out.records.push_back(std::move(record));
    else
      out.warnings.push_back(SkippingWarning(home, record.id, reader.error()));
  }
  return out;
}

}  // namespace

std::vector<RecordText> ReadAllRecordTexts(const Home& home) {
  RecordsDir dir(home);
  std::vector<std::string> ids = dir.Ids();
  // Reading thousands of small files is system calls, and parsing them
  // CPU: both go faster split over the machine's cores.
  size_t threads = 1;
  if (ids.size() >= 2 * kRecordsPerThread)
    threads = std::clamp<size_t>(std::thread::hardware_concurrency(), 1,
                                 std::min<size_t>(4, ids.size() / kRecordsPerThread));
  size_t per_thread = (ids.size() + threads - 1) / threads;
  std::vector<std::future<TextsRead>> others;
  for (size_t t = 1; t < threads; ++t)
    others.push_back(std::async(std::launch::async, ReadTexts, std::cref(home), std::cref(dir),
                                std::ref(ids), t * per_thread,
                                std::min(ids.size(), (t + 1) * per_thread)));
  std::vector<TextsRead> parts;
  parts.push_back(ReadTexts(home, dir, ids, 0, std::min(ids.size(), per_thread)));
  for (auto& other : others) parts.push_back(other.get());
  std::vector<RecordText> records;
  records.reserve(ids.size());
  for (auto& part : parts) {
    for (const auto& warning : part.warnings) std::cerr << warning;
    std::move(part.records.begin(), part.records.end(), std::back_inserter(records));
  }
  // Sorted by position, then moved once, rather than moving three strings
  // at every step of the sort.
  std::vector<uint32_t> order(records.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return records[a].creation_time < records[b].creation_time;
  });
  std::vector<RecordText> sorted;
  sorted.reserve(records.size());
  for (uint32_t i : order) sorted.push_back(std::move(records[i]));
  return sorted;
}

std::optional<Record> ParseRecordText(const Home& home, const RecordText& record) {
  try {
    return Record::FromJson(json::parse(record.text));
  } catch (const std::exception& e) {
    WarnSkipping(home, record.id, e.what());
    return std::nullopt;
  }
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
