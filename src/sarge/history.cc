#include "sarge/history.h"

#include <fmt/format.h>

#include "sarge/error.h"
#include "sarge/fs.h"

namespace sarge {

void ForEachHistoryEntry(const fs::path& file, const std::string& what,
                         const std::function<void(const nlohmann::json&)>& each) {
  auto text = ReadFileIfExists(file);
  if (!text) return;
  try {
    nlohmann::json entries = nlohmann::json::parse(*text);
    if (!entries.is_array()) throw nlohmann::json::type_error::create(302, "not an array", nullptr);
    for (const auto& entry : entries) each(entry);
  } catch (const nlohmann::json::exception&) {
    throw Error(fmt::format("{} is not {}", file.string(), what));
  }
}

void SaveHistory(const fs::path& file, const nlohmann::json& entries, size_t keep) {
  nlohmann::json out = nlohmann::json::array();
  size_t first = entries.size() > keep ? entries.size() - keep : 0;
  for (size_t i = first; i < entries.size(); ++i) out.push_back(entries[i]);
  MakeDirs(file.parent_path());
  WriteFileAtomic(file, out.dump(1) + "\n");
}

}  // namespace sarge
