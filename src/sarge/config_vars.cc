#include "sarge/config_vars.h"

#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sarge/error.h"
#include "sarge/fs.h"
#include "sarge/names.h"

namespace sarge {
namespace {

using nlohmann::json;

// A value goes into the server's environment: Linux takes at most 128 KiB
// per string, and every variable shares the limit of the whole.
constexpr size_t kMaxValue = 32 * 1024;

Vars Load(const fs::path& file) {
  auto text = ReadFileIfExists(file);
  if (!text) return {};
  json value = json::parse(*text, nullptr, false);
  Vars vars;
  if (value.is_object()) {
    for (const auto& item : value.items()) {
      if (!item.value().is_string()) break;
      vars[item.key()] = item.value().get<std::string>();
    }
    if (vars.size() == value.size()) return vars;
  }
  throw Error(fmt::format("{} is not an object of strings; restore it from a backup or remove it",
                          file.string()));
}

void Save(const fs::path& file, const Vars& vars) {
  MakeDirs(file.parent_path(), 0700);
  WriteFileAtomic(file, json(vars).dump(2) + "\n", 0600);
}

}  // namespace

Vars LoadAppVars(const Home& home, const std::string& app) { return Load(home.AppVarsFile(app)); }

void SaveAppVars(const Home& home, const std::string& app, const Vars& vars) {
  Save(home.AppVarsFile(app), vars);
}

Vars LoadInstanceVars(const Home& home, const std::string& id) { return Load(home.VarsFile(id)); }

void SaveInstanceVars(const Home& home, const std::string& id, const Vars& vars) {
  if (!vars.empty()) Save(home.VarsFile(id), vars);
}

void RemoveInstanceVars(const Home& home, const std::string& id) {
  if (fs::exists(fs::symlink_status(home.VarsFile(id)))) RemoveFile(home.VarsFile(id));
}

Vars ParseAssignments(const std::vector<std::string>& words) {
  Vars vars;
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& word = words[i];
    size_t eq = word.find('=');
    // Not shown: a word without its name may be the value alone.
    if (eq == std::string::npos || eq == 0)
      throw Error(fmt::format(
          "variable {} of {} is not NAME=VALUE (not shown, in case it is a secret); give each "
          "as NAME=VALUE",
          i + 1, words.size()));
    std::string name = word.substr(0, eq);
    if (word.size() - eq - 1 > kMaxValue)
      throw Error(fmt::format("the value of {} is longer than {} KiB, the most a variable may hold",
                              Quoted(name), kMaxValue / 1024));
    vars[name] = word.substr(eq + 1);
  }
  return vars;
}

Vars ReadAssignments(std::istream& in) {
  constexpr size_t kMaxInput = 1024 * 1024;
  std::string text(kMaxInput + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (in.bad()) throw Error("cannot read the variables from standard input");
  if (text.size() > kMaxInput) throw Error("standard input holds more than 1 MiB of variables");
  std::vector<std::string> lines;
  for (size_t at = 0; at < text.size();) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(at, end - at);
    if (line.ends_with('\r')) line.pop_back();
    if (!line.empty()) lines.push_back(std::move(line));
    at = end + 1;
  }
  if (lines.empty()) throw Error("standard input holds no NAME=VALUE line");
  return ParseAssignments(lines);
}

void CheckVarName(const std::string& name, const std::vector<std::string>& reserved) {
  if (!IsEnvName(name))
    throw Error(fmt::format(
        "{} is not a valid environment variable name: use letters, digits and '_', not starting "
        "with a digit",
        Quoted(name)));
  if (IsSetBySarge(name))
    throw Error(fmt::format("{} is set by sarge for every instance; choose another name", name));
  if (std::find(reserved.begin(), reserved.end(), name) != reserved.end())
    throw Error(fmt::format(
        "{} is defined by one of the application's services; choose another name", name));
}

}  // namespace sarge
