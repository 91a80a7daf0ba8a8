#include "sarge/listing.h"

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace sarge {
namespace {

using nlohmann::json;

// A member's place in the listing: the instances are indented 4 spaces, and
// their members 2 more.
constexpr std::string_view kMemberIndent = "      ";

// Appends `"key": value` as dump(2) writes it for a member of an instance
// in the listing.
void AppendMember(std::string& out, const std::string& key, const json& value) {
  out += json(key).dump();
  out += ": ";
  std::string text = value.dump(2);
  size_t line = 0;
  for (size_t end; (end = text.find('\n', line)) != std::string::npos; line = end + 1) {
    out.append(text, line, end + 1 - line);
    out += kMemberIndent;
  }
  out.append(text, line);
}

// The key of a member AppendMember wrote. Record::ToJson's keys are plain
// names, which JSON writes without escapes, so the key is the text
// between the first two quotes.
std::string_view KeyOf(std::string_view member) {
  return member.substr(1, member.find('"', 1) - 1);
}

}  // namespace

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

ListedInstance::ListedInstance(Record&& record) : id_(record.id) {
  json value = std::move(record).ToJson();
  starts_.reserve(value.size());
  for (const auto& [key, member] : value.items()) {
    starts_.push_back(static_cast<uint32_t>(text_.size()));
    AppendMember(text_, key, member);
  }
  // Held until supervisord answers, for thousands of instances: growing by
  // appends left up to twice the text's size allocated, and every page of
  // the heap costs a fault when first touched.
  text_.shrink_to_fit();
}

void ListedInstance::AppendTo(std::string& out, const ProcessInfo* info,
                              bool supervisord_up) const {
  // Both lists of members are in key order (nlohmann::json's objects are
  // std::maps): merged, they are the members of Describe's object.
  const json live = LiveState(info, supervisord_up);
  auto next_live = live.begin();
  auto live_end = live.end();
  out += "{";
  bool first = true;
  auto separate = [&] {
    out += first ? "\n" : ",\n";
    out += kMemberIndent;
    first = false;
  };
  for (size_t i = 0; i < starts_.size(); ++i) {
    size_t begin = starts_[i];
    size_t end = i + 1 < starts_.size() ? starts_[i + 1] : text_.size();
    std::string_view key = KeyOf(std::string_view(text_).substr(begin, end - begin));
    for (; next_live != live_end && next_live.key() < key; ++next_live) {
      separate();
      AppendMember(out, next_live.key(), next_live.value());
    }
    separate();
    out.append(text_, begin, end - begin);
  }
  for (; next_live != live_end; ++next_live) {
    separate();
    AppendMember(out, next_live.key(), next_live.value());
  }
  out += first ? "}" : "\n    }";
}

namespace {

using nlohmann::json;

// Sends getAllProcessInfo; false if supervisord is not running.
bool SendGetAllProcessInfo(Supervisor& supervisor) {
  try {
    if (!supervisor.TryConnect()) return false;
    supervisor.SendGetAllProcessInfo();
    return true;
  } catch (const SupervisorUnavailable&) {
    return false;
  }
}

// The live state of every loaded program, by name; nullopt if supervisord
// is not running after all.
std::optional<std::map<std::string, ProcessInfo>> ReceiveAllProcessInfo(Supervisor& supervisor) {
  std::map<std::string, ProcessInfo> live;
  try {
    for (auto& info : supervisor.ReceiveAllProcessInfo()) live[info.name] = std::move(info);
  } catch (const SupervisorUnavailable&) {
    return std::nullopt;
  }
  return live;
}

const ProcessInfo* Find(const std::map<std::string, ProcessInfo>& live, const std::string& id) {
  auto it = live.find(id);
  return it == live.end() ? nullptr : &it->second;
}

// Every record, made into a T by `make` (LoadAllRecordsAs), and the live
// state of every loaded program (nullopt if supervisord is not running).
template <typename T>
struct Snapshot {
  std::vector<T> records;
  std::optional<std::map<std::string, ProcessInfo>> live;
};

// The records are read while supervisord answers: with thousands of
// programs loaded its answer takes about a second, most of it sending the
// reply, which is decoded as it arrives.
template <typename T, typename Make>
Snapshot<T> TakeSnapshot(const Home& home, Supervisor& supervisor, Make make) {
  bool up = SendGetAllProcessInfo(supervisor);
  Snapshot<T> snapshot{LoadAllRecordsAs<T>(home, make), std::nullopt};
  if (up) snapshot.live = ReceiveAllProcessInfo(supervisor);
  return snapshot;
}

}  // namespace

json ListInstances(const Home& home, Supervisor& supervisor) {
  auto snapshot =
      TakeSnapshot<Record>(home, supervisor, [](Record&& record) { return std::move(record); });
  const auto& live = snapshot.live;
  json instances = json::array();
  for (auto& record : snapshot.records) {
    const ProcessInfo* info = live ? Find(*live, record.id) : nullptr;
    instances.push_back(Describe(std::move(record), info, live.has_value()));
  }
  json out = {{"instances", std::move(instances)}};
  if (!live) out["supervisord"] = "not running";
  return out;
}

void WriteListing(const Home& home, Supervisor& supervisor, std::ostream& out) {
  // The same text as ListInstances(home, supervisor).dump(2). Every record is rendered
  // while supervisord answers; after that only the live states are merged
  // in, and the text goes out 64 KiB at a time (stdout's own buffer is
  // 4 KiB when it is a pipe or a file: a system call per 8 instances).
  constexpr size_t kChunk = 64 * 1024;
  auto snapshot = TakeSnapshot<ListedInstance>(
      home, supervisor, [](Record&& record) { return ListedInstance(std::move(record)); });
  const auto& [listed, live] = snapshot;
  out << "{\n  \"instances\": [";
  std::string text;
  text.reserve(kChunk + 4096);
  for (size_t i = 0; i < listed.size(); ++i) {
    text += i ? ",\n    " : "\n    ";
    listed[i].AppendTo(text, live ? Find(*live, listed[i].id()) : nullptr, live.has_value());
    if (text.size() < kChunk) continue;
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    text.clear();
  }
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out << (listed.empty() ? "]" : "\n  ]");
  if (!live) out << ",\n  \"supervisord\": \"not running\"";
  out << "\n}\n";
}

}  // namespace sarge
