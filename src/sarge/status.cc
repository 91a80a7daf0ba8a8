#include "sarge/status.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sarge/error.h"
#include "sarge/front_end.h"
#include "sarge/lifecycle.h"
#include "sarge/listing.h"
#include "sarge/names.h"
#include "sarge/processes.h"
#include "sarge/records.h"

namespace sarge {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr size_t kBlock = 64 * 1024;
constexpr auto kFollowInterval = 100ms;

std::string Uptime(int64_t seconds) {
  if (seconds < 60) return fmt::format("{}s", seconds);
  if (seconds < 3600) return fmt::format("{}m{:02}s", seconds / 60, seconds % 60);
  if (seconds < 86400) return fmt::format("{}h{:02}m", seconds / 3600, seconds % 3600 / 60);
  return fmt::format("{}d{:02}h", seconds / 86400, seconds % 86400 / 3600);
}

// The listen ports of the instance's web process `process` (web.1, web.2…;
// none for another type), as numbers.
json Ports(const json& instance, const std::string& process) {
  json out = json::array();
  if (!process.starts_with("web.")) return out;
  // The first web process's ports are recorded under the service's name,
  // web process K's under NAME.K.
  std::string suffix = process == "web.1" ? "" : process.substr(3);
  const json& services = instance["config"]["services"];
  for (const auto& item : services.items()) {
    if (item.value()["type"] != "listen") continue;
    const json& given = item.value().contains("port") ? item.value()["port"] : json();
    std::string key = item.key() + suffix;
    int port = given.is_number()                 ? given.get<int>()
               : given.is_string()               ? std::atoi(given.get<std::string>().c_str())
               : instance["ports"].contains(key) ? instance["ports"][key].get<int>()
                                                 : 0;
    if (port > 0) out.push_back(port);
  }
  return out;
}

// Why a stopped or failed instance ended: its exit status and what
// supervisord said about it ("Exited too quickly …"), as far as known.
std::string LastExit(const json& instance) {
  std::string status = instance.contains("exit_status") && instance["exit_status"] != 0
                           ? fmt::format("exit status {}", instance["exit_status"].get<int>())
                           : "";
  std::string said = instance.value("spawn_error", "");
  if (!status.empty() && !said.empty()) return status + ": " + said;
  return status.empty() ? said : status;
}

// Where the last `lines` lines of the first `size` bytes of `fd` begin; a
// last line without its newline counts as a line.
off_t TailStart(int fd, off_t size, int lines) {
  if (lines <= 0) return size;
  char buf[kBlock];
  int found = 0;
  for (off_t pos = size; pos > 0;) {
    off_t from = std::max<off_t>(0, pos - static_cast<off_t>(sizeof buf));
    ssize_t n = ::pread(fd, buf, static_cast<size_t>(pos - from), from);
    if (n <= 0) break;
    for (ssize_t i = n - 1; i >= 0; --i)
      if (buf[i] == '\n' && from + i != size - 1 && ++found == lines) return from + i + 1;
    pos = from;
  }
  return 0;
}

// Writes `fd`'s bytes from `offset` to `end` (-1: its current end) to
// `out` and moves `offset` past them.
void CopyUpTo(int fd, off_t& offset, off_t end, std::ostream& out) {
  char buf[kBlock];
  while (end < 0 || offset < end) {
    size_t want = end < 0 ? sizeof buf : std::min(sizeof buf, static_cast<size_t>(end - offset));
    ssize_t n = ::pread(fd, buf, want, offset);
    if (n <= 0) return;
    out.write(buf, n);
    offset += n;
  }
}

const char* StateColour(const std::string& state) {
  if (state == "RUNNING") return "\033[32m";
  if (state == "STARTING" || state == "STOPPING") return "\033[33m";
  if (state == "FATAL" || state == "BACKOFF" || state == "EXITED") return "\033[31m";
  return "\033[2m";
}

}  // namespace

namespace {

// One row of `status`: `live` is the instance, or one of its "processes".
json StatusRow(const json& instance, const json& live, const std::string& process, bool active,
               int64_t now) {
  return {
      {"id", instance["id"]},
      {"application", instance["meta"]["APPLICATION_NAME"]},
      {"process", process},
      {"state", live["state"].is_null() ? "?" : live["state"]},
      {"pid", live.value("pid", 0)},
      {"uptime", live.contains("started") ? json(now - live["started"].get<int64_t>()) : json()},
      {"ports", Ports(instance, process)},
      {"active", active},
      {"last_exit", LastExit(live)}};
}

}  // namespace

json StatusRows(const Home& home, const json& listing, int64_t now) {
  std::map<std::string, std::string> active;  // app -> id
  json rows = json::array();
  for (const auto& instance : listing["instances"]) {
    std::string app = instance["meta"]["APPLICATION_NAME"];
    if (!active.contains(app)) {
      auto site = ReadActiveSite(home, app);
      active[app] = site ? site->id : "";
    }
    bool serving = active[app] == instance["id"];
    if (!instance.contains("processes")) {
      rows.push_back(StatusRow(instance, instance, "web.1", serving, now));
      continue;
    }
    for (const auto& process : instance["processes"])
      rows.push_back(StatusRow(instance, process, process["process"], serving, now));
  }
  return rows;
}

std::string StatusTable(const json& rows, bool colour) {
  std::vector<std::vector<std::string>> cells = {
      {"ID", "APP", "PROCESS", "STATE", "PID", "UPTIME", "PORTS", "ACTIVE", "LAST EXIT"}};
  for (const auto& r : rows) {
    std::string ports;
    for (const auto& port : r["ports"]) ports += (ports.empty() ? "" : ",") + port.dump();
    cells.push_back({r["id"], r["application"], r["process"], r["state"],
                     r["pid"].get<int>() > 0 ? std::to_string(r["pid"].get<int>()) : "-",
                     r["uptime"].is_null() ? "-" : Uptime(r["uptime"].get<int64_t>()),
                     ports.empty() ? "-" : ports, r["active"].get<bool>() ? "*" : "",
                     Printable(r["last_exit"].get<std::string>())});
  }
  return AlignedTable(cells, colour, 3);
}

std::string AlignedTable(const std::vector<std::vector<std::string>>& cells, bool colour,
                         int state_column) {
  std::vector<size_t> width(cells[0].size());
  for (const auto& row : cells)
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  std::string out;
  for (size_t i = 0; i < cells.size(); ++i) {
    std::string line;
    for (size_t c = 0; c < cells[i].size(); ++c) {
      std::string cell = fmt::format("{:<{}}", cells[i][c], c + 1 < cells[i].size() ? width[c] : 0);
      if (colour && i == 0) cell = "\033[1m" + cell + "\033[0m";
      if (colour && i > 0 && static_cast<int>(c) == state_column)
        cell = StateColour(cells[i][c]) + cell + "\033[0m";
      line += (c ? "  " : "") + cell;
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

namespace {

// The instance `id_or_app` names: an application's name stands for the
// instance that serves it. Throws Error for an unknown id.
std::string InstanceNamed(const Home& home, const std::string& id_or_app) {
  std::string id = id_or_app;
  if (IsSafeName(id) && !fs::exists(home.RecordFile(id)))
    if (auto site = ReadActiveSite(home, id)) id = site->id;
  return LoadRecord(home, id).id;  // a clear error for an unknown id
}

// The log of `process` (TYPE for its first, or TYPE.N; "" for web.1) of
// the instance `id`. Throws Error naming the processes it has.
fs::path ProcessLog(const Home& home, const std::string& id, const std::string& process) {
  if (process.empty()) return home.InstanceLog(id);
  std::vector<std::string> labels;
  for (const Process& p : ProcessesOf(LoadRecord(home, id))) {
    if (p.Label() == process || (p.type == process && p.index == 1))
      return home.InstanceLog(p.program);
    labels.push_back(p.Label());
  }
  throw Error(fmt::format("{} has no process {}; it runs {}", id, Quoted(process),
                          fmt::join(labels, ", ")));
}

}  // namespace

void ShowLog(Env& env, const std::string& id_or_app, const std::string& process, int lines,
             bool follow, std::ostream& out) {
  const Home& home = env.home;
  fs::path path = ProcessLog(home, InstanceNamed(home, id_or_app), process);
  // One open file for the tail and the follow, so no line falls between.
  Fd fd = OpenOwnFile(path);
  off_t offset = 0;
  if (fd.valid()) {
    off_t size = ::lseek(fd.get(), 0, SEEK_END);
    offset = TailStart(fd.get(), size, lines);
    CopyUpTo(fd.get(), offset, size, out);
  }
  out << std::flush;
  if (!follow) return;
  for (;;) {
    if (fd.valid()) CopyUpTo(fd.get(), offset, -1, out);
    out << std::flush;
    if (!out) return;  // the reader went away
    struct stat on_path {};
    if (::stat(path.c_str(), &on_path) == 0) {
      struct stat open_file {};
      bool renamed = !fd.valid() ||
                     (::fstat(fd.get(), &open_file) == 0 &&
                      (open_file.st_ino != on_path.st_ino || open_file.st_dev != on_path.st_dev));
      if (renamed) {
        // Rotation by rename: what was written to the old file before
        // supervisord reopened its log, then the new file from its start.
        if (fd.valid()) CopyUpTo(fd.get(), offset, -1, out);
        fd = OpenOwnFile(path);
        offset = 0;
        continue;
      }
      if (on_path.st_size < offset) {  // truncated in place (copytruncate)
        offset = 0;
        continue;
      }
    }
    env.clock.Sleep(kFollowInterval);
  }
}

int StatusCommand(Env& env, const std::string& id, bool json_output, bool colour,
                  std::ostream& out) {
  const Home& home = env.home;
  nlohmann::json listing = ListInstances(home, env.supervisor);
  if (!id.empty()) {
    // An instance's id, else an application's name (an id wins).
    const bool instance = fs::exists(home.RecordFile(id));
    nlohmann::json only = nlohmann::json::array();
    for (auto& i : listing["instances"])
      if (instance ? i["id"] == id : i["meta"]["APPLICATION_NAME"] == id)
        only.push_back(std::move(i));
    if (!instance && only.empty()) LoadRecord(home, id);  // a clear error for an unknown id
    listing["instances"] = std::move(only);
  }
  nlohmann::json rows = StatusRows(home, listing, std::time(nullptr));
  if (json_output)
    out << rows.dump(2) << "\n";
  else
    out << StatusTable(rows, colour);
  // States it could not know: said, and not a success.
  if (!listing.contains("supervisord")) return 0;
  out.flush();
  env.Say(fmt::format("supervisord is not running{}; start it with {}", home.SupervisordDied(),
                      home.StartSupervisordHint()));
  return 1;
}

}  // namespace sarge
