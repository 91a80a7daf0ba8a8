#include "sarge/listing.h"

#include <map>
#include <optional>
#include <string>

#include "sarge/processes.h"

namespace sarge {

using nlohmann::json;

json LiveState(const ProcessInfo* info, bool supervisord_up) {
  json out = json::object();
  if (!supervisord_up) {
    out["state"] = nullptr;
  } else if (!info) {
    out["state"] = "STOPPED";  // supervisord has never loaded it
  } else {
    out["state"] = info->state;
    if (info->pid > 0) out["pid"] = info->pid;
    if (info->pid > 0 && info->start > 0) out["started"] = info->start;  // unix time
    if (info->state == "EXITED" || info->state == "FATAL" || info->state == "BACKOFF") {
      out["exit_status"] = info->exitstatus;
      if (!info->spawnerr.empty()) out["spawn_error"] = info->spawnerr;
    }
  }
  return out;
}

json Describe(Record&& record, const ProcessInfo* info, bool supervisord_up) {
  json out = std::move(record).ToJson();
  out.update(LiveState(info, supervisord_up));
  return out;
}

namespace {

// The live state of every loaded program, by name; nullopt if supervisord
// is not running.
std::optional<std::map<std::string, ProcessInfo>> AllProcessInfo(Supervisor& supervisor) {
  std::map<std::string, ProcessInfo> live;
  try {
    if (!supervisor.TryConnect()) return std::nullopt;
    for (auto& info : supervisor.GetAllProcessInfo()) live[info.name] = std::move(info);
  } catch (const SupervisorUnavailable&) {
    return std::nullopt;
  }
  return live;
}

}  // namespace

json ListInstances(const Home& home, Supervisor& supervisor) {
  std::vector<Record> records = LoadAllRecords(home);
  auto live = AllProcessInfo(supervisor);
  auto find = [&](const std::string& program) -> const ProcessInfo* {
    if (!live) return nullptr;
    auto it = live->find(program);
    return it == live->end() ? nullptr : &it->second;
  };
  json instances = json::array();
  for (auto& record : records) {
    json processes = json::array();
    if (!record.processes.empty())
      for (const Process& process : ProcessesOf(record)) {
        json one = {{"process", process.Label()}, {"program", process.program}};
        one.update(LiveState(find(process.program), live.has_value()));
        processes.push_back(std::move(one));
      }
    const ProcessInfo* info = find(record.id);
    instances.push_back(Describe(std::move(record), info, live.has_value()));
    if (!processes.empty()) instances.back()["processes"] = std::move(processes);
  }
  json out = {{"instances", std::move(instances)}};
  if (!live) out["supervisord"] = "not running";
  return out;
}

}  // namespace sarge
