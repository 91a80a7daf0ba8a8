#include "sarge/status.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <thread>

#include <fmt/format.h>

#include "sarge/error.h"
#include "sarge/front_end.h"
#include "sarge/lifecycle.h"
#include "sarge/records.h"

namespace sarge {
namespace {

using nlohmann::json;

std::string Uptime(int64_t seconds) {
  if (seconds < 60) return fmt::format("{}s", seconds);
  if (seconds < 3600) return fmt::format("{}m{:02}s", seconds / 60, seconds % 60);
  if (seconds < 86400) return fmt::format("{}h{:02}m", seconds / 3600, seconds % 3600 / 60);
  return fmt::format("{}d{:02}h", seconds / 86400, seconds % 86400 / 3600);
}

std::string Ports(const json& instance) {
  std::string out;
  const json& services = instance["config"]["services"];
  for (const auto& item : services.items()) {
    if (item.value()["type"] != "listen") continue;
    int port = item.value().contains("port")            ? item.value()["port"].get<int>()
               : instance["ports"].contains(item.key()) ? instance["ports"][item.key()].get<int>()
                                                        : 0;
    if (port > 0) out += (out.empty() ? "" : ",") + std::to_string(port);
  }
  return out;
}

std::string LastExit(const json& instance) {
  if (instance.contains("spawn_error")) return instance["spawn_error"];
  if (instance.contains("exit_status"))
    return fmt::format("exit status {}", instance["exit_status"].get<int>());
  return "";
}

const char* StateColour(const std::string& state) {
  if (state == "RUNNING") return "\033[32m";
  if (state == "STARTING" || state == "STOPPING") return "\033[33m";
  if (state == "FATAL" || state == "BACKOFF" || state == "EXITED") return "\033[31m";
  return "\033[2m";
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
    json row = {
        {"id", instance["id"]},
        {"application", app},
        {"state", instance["state"].is_null() ? "?" : instance["state"]},
        {"pid", instance.value("pid", 0)},
        {"uptime",
         instance.contains("started") ? Uptime(now - instance["started"].get<int64_t>()) : ""},
        {"ports", Ports(instance)},
        {"active", active[app] == instance["id"]},
        {"last_exit", LastExit(instance)}};
    rows.push_back(row);
  }
  return rows;
}

std::string StatusTable(const json& rows, bool colour) {
  std::vector<std::vector<std::string>> cells = {
      {"ID", "APP", "STATE", "PID", "UPTIME", "PORTS", "ACTIVE", "LAST EXIT"}};
  for (const auto& r : rows)
    cells.push_back({r["id"], r["application"], r["state"],
                     r["pid"].get<int>() > 0 ? std::to_string(r["pid"].get<int>()) : "-",
                     r["uptime"].get<std::string>().empty() ? "-" : r["uptime"].get<std::string>(),
                     r["ports"].get<std::string>().empty() ? "-" : r["ports"].get<std::string>(),
                     r["active"].get<bool>() ? "*" : "", r["last_exit"]});
  std::vector<size_t> width(cells[0].size());
  for (const auto& row : cells)
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  std::string out;
  for (size_t i = 0; i < cells.size(); ++i) {
    std::string line;
    for (size_t c = 0; c < cells[i].size(); ++c) {
      std::string cell = fmt::format("{:<{}}", cells[i][c], c + 1 < cells[i].size() ? width[c] : 0);
      if (colour && i == 0) cell = "\033[1m" + cell + "\033[0m";
      if (colour && i > 0 && c == 2) cell = StateColour(cells[i][c]) + cell + "\033[0m";
      line += (c ? "  " : "") + cell;
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

void ShowLog(const Home& home, const std::string& id, int lines, bool follow, std::ostream& out) {
  LoadRecord(home, id);  // a clear error for an unknown id
  fs::path path = home.InstanceLog(id);
  std::string tail = TailFile(path, lines);
  if (!tail.empty()) out << tail << "\n" << std::flush;
  if (!follow) return;
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  off_t offset = fd.valid() ? ::lseek(fd.get(), 0, SEEK_END) : 0;
  char buf[65536];
  for (;;) {
    if (fd.valid()) {
      ssize_t n;
      while ((n = ::pread(fd.get(), buf, sizeof buf, offset)) > 0) {
        out.write(buf, n);
        offset += n;
      }
      out << std::flush;
      if (!out) return;  // the reader went away
    }
    // Rotation: the path now names another file, or this one was truncated.
    struct stat on_path {
    }, open_file{};
    bool replaced =
        ::stat(path.c_str(), &on_path) == 0 &&
        (!fd.valid() || (::fstat(fd.get(), &open_file) == 0 &&
                         (open_file.st_ino != on_path.st_ino || on_path.st_size < offset)));
    if (replaced) {
      fd = Fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      offset = 0;
      continue;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace sarge
