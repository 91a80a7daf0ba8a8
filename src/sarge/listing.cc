#include "sarge/listing.h"

#include <map>
#include <optional>
#include <string>

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
  json instances = json::array();
  for (auto& record : records) {
    const ProcessInfo* info = nullptr;
    if (live) {
      auto it = live->find(record.id);
      if (it != live->end()) info = &it->second;
    }
    instances.push_back(Describe(std::move(record), info, live.has_value()));
  }
  json out = {{"instances", std::move(instances)}};
  if (!live) out["supervisord"] = "not running";
  return out;
}

}  // namespace sarge
