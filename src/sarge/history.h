// An application's histories (etc/apps/APP/activations.json and
// releases.json): a JSON array, oldest first, of which the newest entries
// are kept.
#pragma once

#include <functional>

#include <nlohmann/json.hpp>

#include "sarge/home.h"

namespace sarge {

// Calls `each` with every entry of `file`, oldest first; nothing if it does
// not exist. Throws Error "FILE is not `what`" if it is not an array or
// `each` finds an entry not of its form (a nlohmann::json exception).
void ForEachHistoryEntry(const fs::path& file, const std::string& what,
                         const std::function<void(const nlohmann::json&)>& each);

// Writes the newest `keep` of `entries` (an array, oldest first) to `file`,
// atomically, making its folder if needed.
void SaveHistory(const fs::path& file, const nlohmann::json& entries, size_t keep);

}  // namespace sarge
