#include "sarge/app_config.h"

#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <vector>

#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "sarge/error.h"
#include "sarge/fs.h"
#include "sarge/instance_config.h"
#include "sarge/names.h"
#include "sarge/procfile.h"
#include "sarge/release.h"

namespace sarge {
namespace {

using nlohmann::json;

constexpr std::chrono::seconds kListTimeout{120};

fs::path RememberedFile(const Home& home, const std::string& app) {
  return home.AppDir(app) / "config.json";
}

// The text of `file`, a regular file of at most `max_bytes`; nullopt when
// nothing is there.
std::optional<std::string> ReadSourceFile(const fs::path& file, size_t max_bytes) {
  std::error_code ec;
  auto status = fs::symlink_status(file, ec);
  if (ec || status.type() == fs::file_type::not_found) return std::nullopt;
  if (status.type() == fs::file_type::regular && fs::file_size(file, ec) > max_bytes)
    throw Error(fmt::format("{} is larger than {} KiB, the most sarge accepts", file.string(),
                            max_bytes / 1024));
  return ReadFile(file);  // refuses a symlink or anything but a regular file
}

// The member of a tarball listing that is `name` at the release's root:
// "NAME" or "./NAME", or in the one top folder every member is in.
std::optional<std::string> RootMember(const std::string& listing, std::string_view name) {
  std::vector<std::string> members;
  for (size_t at = 0; at < listing.size();) {
    size_t end = listing.find('\n', at);
    if (end == std::string::npos) end = listing.size();
    members.push_back(listing.substr(at, end - at));
    at = end + 1;
  }
  auto bare = [](std::string_view m) { return m.starts_with("./") ? m.substr(2) : m; };
  for (const auto& m : members)
    if (bare(m) == name) return m;
  std::string_view top;
  for (const auto& m : members) {
    std::string_view first = bare(m).substr(0, bare(m).find('/'));
    if (first.empty()) continue;
    if (!top.empty() && first != top) return std::nullopt;
    top = first;
  }
  for (const auto& m : members)
    if (!top.empty() && bare(m) == fmt::format("{}/{}", top, name)) return m;
  return std::nullopt;
}

// A new folder of var/tmp only this user can reach, named with this
// process's pid (kSourceFilesPrefix).
fs::path PrivateFolder(const Home& home) {
  MakeDirs(home.TmpDir());
  std::string pattern =
      (home.TmpDir() / fmt::format("{}{}-XXXXXX", kSourceFilesPrefix, ::getpid())).string();
  if (!::mkdtemp(pattern.data()))
    throw Error(fmt::format("cannot create a folder in {}: {}", home.TmpDir().string(),
                            std::strerror(errno)));
  return pattern;
}

// The files `wanted` (name -> most bytes) out of a tarball, unpacked alone
// into a folder only this user can reach: one listing, one extraction.
std::map<std::string, std::string> TarballFiles(const Home& home, CommandRunner& runner,
                                                const fs::path& source,
                                                const std::map<std::string, size_t>& wanted) {
  std::string archive = fs::absolute(source).string();
  CommandResult listed = runner.Run({"tar", "-tzf", archive}, kListTimeout);
  if (listed.exit_code != 0)
    throw Error(fmt::format("cannot read {}: tar exited with status {}", Quoted(source.string()),
                            listed.exit_code),
                listed.Both());
  std::map<std::string, std::string> members;  // name -> member
  for (const auto& [name, max_bytes] : wanted)
    if (auto member = RootMember(listed.output, name)) members[name] = *member;
  if (members.empty()) return {};
  fs::path dir = PrivateFolder(home);
  std::map<std::string, std::string> texts;
  try {
    std::vector<std::string> argv = {
        "tar", "-xzf", archive, "-C", dir.string(), "--no-same-owner", "--no-same-permissions",
        "--"};
    for (const auto& [name, member] : members) argv.push_back(member);
    CommandResult r = runner.Run(argv, kListTimeout);
    if (r.exit_code != 0)
      throw Error(
          fmt::format("cannot unpack {} from {}: tar exited with status {}",
                      Quoted(members.begin()->second), Quoted(source.string()), r.exit_code),
          r.Both());
    for (const auto& [name, member] : members)
      if (auto text = ReadSourceFile(dir / member, wanted.at(name))) texts[name] = *text;
  } catch (...) {
    std::error_code ec;
    fs::remove_all(dir, ec);
    throw;
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  return texts;
}

// `text` as a JSON object; `what` names it in the error.
json ParseObject(const std::string& text, const std::string& what) {
  json value;
  try {
    value = json::parse(text);
  } catch (const json::exception& e) {
    throw Error(fmt::format("{} is not valid JSON: {}", what, e.what()));
  }
  if (!value.is_object()) throw Error(fmt::format("{} is not a JSON object", what));
  return value;
}

// The configuration for `deploy APP SOURCE`.
json ApplicationConfig(const Home& home, const std::string& app, const fs::path& source,
                       const std::optional<std::string>& from_source) {
  CheckSafeName("application name", app);
  std::string what = fmt::format("sarge.json in {}", Quoted(source.string()));
  std::optional<std::string> text = from_source;
  if (!text) {
    what = RememberedFile(home, app).string();
    text = ReadSourceFile(RememberedFile(home, app), kMaxConfigBytes);
  }
  if (!text)
    throw Error(fmt::format(
        "no configuration for {}: {} has no sarge.json and {} was never deployed in {}; put a "
        "sarge.json in the source, or give the configuration's JSON instead of the name",
        Quoted(app), Quoted(source.string()), app, home.root.string()));
  json config = ParseObject(*text, what);
  if (config.contains("application_name") && config["application_name"] != app)
    throw Error(
        fmt::format("{} is for application {}, not {}; deploy it under that name or "
                    "change its application_name",
                    what, config["application_name"].dump(), Quoted(app)));
  config["application_name"] = app;
  return config;
}

}  // namespace

bool NamesApplication(std::string_view argument) {
  size_t first = argument.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || argument == "-") return false;
  char c = argument[first];
  return c != '{' && c != '[' && c != '@' && c != '"';
}

SourceFiles ReadSourceFiles(const Home& home, CommandRunner& runner, const fs::path& source) {
  const std::map<std::string, size_t> wanted = {{"sarge.json", kMaxConfigBytes},
                                                {"Procfile", kMaxProcfileBytes}};
  std::map<std::string, std::string> texts;
  if (IsTarball(source)) {
    texts = TarballFiles(home, runner, source, wanted);
  } else {
    for (const auto& [name, max_bytes] : wanted)
      if (auto text = ReadSourceFile(source / name, max_bytes)) texts[name] = *text;
  }
  SourceFiles files;
  if (texts.contains("sarge.json")) files.config = texts["sarge.json"];
  if (texts.contains("Procfile")) files.procfile = texts["Procfile"];
  return files;
}

std::optional<std::string> SourceConfig(const Home& home, CommandRunner& runner,
                                        const fs::path& source) {
  return ReadSourceFiles(home, runner, source).config;
}

std::string DeployConfig(const Home& home, CommandRunner& runner, const std::string& config,
                         const fs::path& source) {
  return DeployConfig(home, config, source, SourceConfig(home, runner, source));
}

std::string DeployConfig(const Home& home, const std::string& config, const fs::path& source,
                         const std::optional<std::string>& from_source) {
  if (NamesApplication(config)) return ApplicationConfig(home, config, source, from_source).dump();
  if (!from_source) return config;
  json given;
  try {
    given = json::parse(config);
  } catch (const json::exception&) {
    return config;  // ParseInstanceConfig says what is wrong with it
  }
  if (!given.is_object()) return config;
  json merged = ParseObject(*from_source, fmt::format("sarge.json in {}", Quoted(source.string())));
  for (auto& [key, value] : given.items()) merged[key] = value;
  return merged.dump();
}

void RememberConfig(const Home& home, const Record& record) {
  fs::path file = RememberedFile(home, record.application_name);
  MakeDirs(file.parent_path());
  WriteFileAtomic(file, record.config.dump(2) + "\n");
}

}  // namespace sarge
