#include "sarge/activations.h"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sarge/error.h"
#include "sarge/history.h"
#include "sarge/records.h"

namespace sarge {
namespace {

using nlohmann::json;

constexpr size_t kKept = 200;

fs::path ActivationsFile(const Home& home, const std::string& app) {
  return home.AppDir(app) / "activations.json";
}

void Save(const Home& home, const std::string& app, const std::vector<Activation>& history) {
  json entries = json::array();
  for (const Activation& a : history)
    entries.push_back({{"id", a.id}, {"from", a.from}, {"to", a.to}, {"by", a.by}});
  SaveHistory(ActivationsFile(home, app), entries, kKept);
}

}  // namespace

std::vector<Activation> LoadActivations(const Home& home, const std::string& app) {
  std::vector<Activation> history;
  ForEachHistoryEntry(
      ActivationsFile(home, app),
      "an activation history sarge wrote; move it away (rollback then needs --to)",
      [&](const json& entry) {
        history.push_back({entry.at("id"), entry.at("from"), entry.at("to"), entry.at("by")});
      });
  return history;
}

void NoteActivation(const Home& home, const std::string& app, const std::string& id,
                    const std::string& by) {
  std::vector<Activation> history = LoadActivations(home, app);
  std::string now = UtcNow();
  if (!history.empty() && history.back().to.empty()) history.back().to = now;
  history.push_back({id, now, "", by});
  Save(home, app, history);
}

void NoteDeactivation(const Home& home, const std::string& app) {
  std::vector<Activation> history = LoadActivations(home, app);
  if (history.empty() || !history.back().to.empty()) return;
  history.back().to = UtcNow();
  Save(home, app, history);
}

std::vector<std::string> ServedBefore(const std::vector<Activation>& history,
                                      const std::string& current) {
  std::vector<std::string> ids;
  for (auto it = history.rbegin(); it != history.rend(); ++it)
    if (it->id != current && std::find(ids.begin(), ids.end(), it->id) == ids.end())
      ids.push_back(it->id);
  return ids;
}

}  // namespace sarge
