#include "sarge/listing.h"

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

}  // namespace sarge
