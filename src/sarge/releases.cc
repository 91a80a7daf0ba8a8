#include "sarge/releases.h"

#include <algorithm>

#include <fmt/format.h>

#include "sarge/error.h"
#include "sarge/front_end.h"
#include "sarge/fs.h"
#include "sarge/history.h"
#include "sarge/names.h"
#include "sarge/status.h"

namespace sarge {
namespace {

using nlohmann::json;

constexpr size_t kKept = 500;

fs::path ReleasesFile(const Home& home, const std::string& app) {
  return home.AppDir(app) / "releases.json";
}

json ToJson(const Release& r) {
  return {{"version", r.version},   {"time", r.time},
          {"user", r.user},         {"by", r.by},
          {"label", r.label},       {"source", r.source},
          {"instance", r.instance}, {"outcome", r.outcome}};
}

Release FromJson(const json& j) {
  return {j.at("version").get<int>(),
          j.at("time"),
          j.at("user"),
          j.at("by"),
          j.at("label"),
          j.at("source"),
          j.at("instance"),
          j.at("outcome")};
}

}  // namespace

std::vector<Release> LoadReleases(const Home& home, const std::string& app) {
  std::vector<Release> releases;
  ForEachHistoryEntry(ReleasesFile(home, app),
                      "a release history sarge wrote; move it away (numbering then starts again "
                      "at v1)",
                      [&](const json& entry) { releases.push_back(FromJson(entry)); });
  return releases;
}

int NoteRelease(const Home& home, const std::string& app, Release release) {
  std::vector<Release> releases = LoadReleases(home, app);
  release.version = releases.empty() ? 1 : releases.back().version + 1;
  json entries = json::array();
  for (const Release& r : releases) entries.push_back(ToJson(r));
  entries.push_back(ToJson(release));
  SaveHistory(ReleasesFile(home, app), entries, kKept);
  return release.version;
}

bool IsReleaseNumber(const std::string& text) {
  return text.size() >= 2 && text.size() <= 10 && text[0] == 'v' &&
         AllDigits(std::string_view(text).substr(1));
}

Release FindRelease(const Home& home, const std::string& app, const std::string& version) {
  std::vector<Release> releases = LoadReleases(home, app);
  int n = IsReleaseNumber(version) ? std::stoi(version.substr(1)) : 0;
  auto it = std::find_if(releases.begin(), releases.end(),
                         [&](const Release& r) { return r.version == n; });
  if (it == releases.end())
    throw Error(fmt::format("{} has no release {}; `sarge {} releases {}` lists them", app,
                            Quoted(version), home.root.string(), app));
  if (!it->Succeeded())
    throw Error(
        fmt::format("{} of {} failed and never served; `sarge {} releases {}` lists the "
                    "others",
                    version, app, home.root.string(), app));
  return *it;
}

json ReleasesJson(const Home& home, const std::string& app) {
  CheckSafeName("application name", app);
  std::vector<Release> releases = LoadReleases(home, app);
  auto site = ReadActiveSite(home, app);
  json out = {{"application", app}, {"serving", nullptr}, {"releases", json::array()}};
  for (auto it = releases.rbegin(); it != releases.rend(); ++it) {
    json entry = ToJson(*it);
    entry["version"] = fmt::format("v{}", it->version);
    bool serving = out["serving"].is_null() && site && site->id == it->instance && it->Succeeded();
    if (serving) out["serving"] = entry["version"];
    entry["serving"] = serving;
    out["releases"].push_back(std::move(entry));
  }
  return out;
}

std::string ReleasesTable(const json& releases) {
  std::vector<std::vector<std::string>> cells = {
      {"VERSION", "WHEN", "BY", "USER", "LABEL", "INSTANCE", "SERVING", "OUTCOME"}};
  for (const auto& r : releases["releases"]) {
    std::string when = r["time"].get<std::string>().substr(0, 19);
    std::replace(when.begin(), when.end(), 'T', ' ');
    cells.push_back(
        {r["version"], when, r["by"], Printable(r["user"].get<std::string>()),
         Printable(r["label"].get<std::string>()),
         r["instance"].get<std::string>().empty() ? "-" : r["instance"].get<std::string>(),
         r["serving"].get<bool>() ? "*" : "", Printable(r["outcome"].get<std::string>())});
  }
  return AlignedTable(cells, false);
}

}  // namespace sarge
