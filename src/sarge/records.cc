#include "sarge/records.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <future>
#include <iostream>
#include <thread>

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

  // Asks the kernel to start reading `id`'s record into the page cache
  // without waiting for it (the open still waits if the record's inode is
  // not in memory either). A record that has gone, or any error, is
  // ignored: the Read that follows reports it.
  void ReadAhead(const std::string& id) const {
    ++records_read_ahead;
    Fd fd(::openat(::dirfd(dir_), (id + ".json").c_str(),
                   O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
    if (fd.valid()) ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_WILLNEED);
  }

  static inline std::atomic<size_t> records_read_ahead{0};  // for tests

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

namespace {

// Records below this many are read on the calling thread alone: starting a
// thread costs more than it saves.
constexpr size_t kRecordsPerThread = 1024;

// A record the page cache does not hold (after a reboot, or once the kernel
// has reclaimed it) costs a disk read, ~0.3 ms on the machines measured,
// and a thread reads one at a time. Once kDiskReadsBeforeReadAhead of its
// reads took longer than kSlowRead and read disk blocks while they did,
// the thread asks the kernel to start reading the next kReadAheadWindow
// records too, so that many reads are in flight (docs/benchmarks.md:
// `list` of records not in the page cache). A read from the page cache
// takes ~10 us; one slow for another reason (the thread's first
// allocations, a busy CPU) reads no disk block, and one record the kernel
// happened to drop does not make two: hinting records that are in the page
// cache would cost each another open and close.
constexpr size_t kReadAheadWindow = 16;
constexpr std::chrono::microseconds kSlowRead{100};
constexpr int kDiskReadsBeforeReadAhead = 2;

// Blocks the calling thread has read from a disk so far.
long BlocksReadByThisThread() {
  rusage usage{};
  ::getrusage(RUSAGE_THREAD, &usage);
  return usage.ru_inblock;
}

std::atomic<bool> read_ahead_from_the_start{false};

}  // namespace

std::vector<size_t> LoadRecordsInto(const Home& home, const std::function<void(size_t)>& size,
                                    const std::function<void(size_t, Record&&)>& take,
                                    unsigned spare_cores) {
  RecordsDir dir(home);
  std::vector<std::string> ids = dir.Ids();
  size(ids.size());
  // Each thread writes only its own elements (char, not vector<bool>'s bits).
  std::vector<char> taken(ids.size(), 0);
  std::vector<std::string> creation_times(ids.size()), warnings(ids.size());
  auto load = [&](size_t begin, size_t end) {
    std::string text;
    bool reading_ahead = read_ahead_from_the_start;
    long blocks_read = reading_ahead ? 0 : BlocksReadByThisThread();
    int slow_disk_reads = 0;
    size_t hinted = begin;  // records before this one were read or hinted
    for (size_t i = begin; i < end; ++i) {
      if (reading_ahead)
        for (hinted = std::max(hinted, i + 1); hinted < std::min(end, i + 1 + kReadAheadWindow);
             ++hinted)
          dir.ReadAhead(ids[hinted]);
      auto started = std::chrono::steady_clock::now();
      bool found = dir.Read(ids[i], text);
      if (!reading_ahead && std::chrono::steady_clock::now() - started > kSlowRead) {
        // Blocks read since the last slow read; fast reads read none.
        long now_read = BlocksReadByThisThread();
        if (now_read > blocks_read) ++slow_disk_reads;
        blocks_read = now_read;
        reading_ahead = slow_disk_reads >= kDiskReadsBeforeReadAhead;
      }
      if (!found) continue;  // destroyed since we listed the folder
      std::optional<Record> record;
      try {
        record = Record::FromJson(json::parse(text));
      } catch (const std::exception& e) {
        warnings[i] = SkippingWarning(home, ids[i], e.what());
        continue;
      }
      creation_times[i] = record->creation_time;
      taken[i] = 1;
      take(i, std::move(*record));
    }
  };
  size_t threads = 1;
  if (ids.size() >= 2 * kRecordsPerThread) {
    unsigned cores = std::thread::hardware_concurrency();  // 0 if unknown
    threads = std::clamp<size_t>(cores > spare_cores ? cores - spare_cores : 1, 1,
                                 std::min<size_t>(4, ids.size() / kRecordsPerThread));
  }
  size_t per_thread = (ids.size() + threads - 1) / threads;
  std::vector<std::future<void>> others;
  for (size_t t = 1; t < threads; ++t)
    others.push_back(std::async(std::launch::async, load, t * per_thread,
                                std::min(ids.size(), (t + 1) * per_thread)));
  load(0, std::min(ids.size(), per_thread));
  for (auto& other : others) other.get();
  for (const auto& warning : warnings) std::cerr << warning;
  std::vector<size_t> order;
  order.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i)
    if (taken[i]) order.push_back(i);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return creation_times[a] < creation_times[b]; });
  return order;
}

void ReadRecordsAheadFromTheStartForTest(bool on) { read_ahead_from_the_start = on; }

size_t RecordsReadAheadForTest() { return RecordsDir::records_read_ahead; }

std::vector<Record> LoadAllRecords(const Home& home) {
  return LoadAllRecordsAs<Record>(
      home, [](Record&& record) { return std::move(record); }, 0);
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
