#include "sarge/runtime_config.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <list>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "sarge/config_vars.h"
#include "sarge/error.h"
#include "sarge/hooks.h"
#include "sarge/names.h"
#include "sarge/processes.h"
#include "sarge/random.h"

namespace sarge {
namespace {

using nlohmann::json;

fs::path ClaimPath(const Home& home, int port) { return home.PortsDir() / std::to_string(port); }

// The id a port claim names, if the port is claimed.
std::optional<std::string> ClaimOwner(const Home& home, int port) {
  char owner[256];
  ssize_t n = ::readlink(ClaimPath(home, port).c_str(), owner, sizeof owner);
  if (n <= 0 || n == sizeof owner) return std::nullopt;
  return std::string(owner, static_cast<size_t>(n));
}

// A claim whose instance no longer has a record is stale and may be taken over.
bool HeldByLiveInstance(const Home& home, int port) {
  auto owner = ClaimOwner(home, port);
  return owner && IsSafeName(*owner) && fs::exists(home.RecordFile(*owner));
}

// Claims `port` for `id` with a symlink, which creation makes atomic.
bool Claim(const Home& home, int port, const std::string& id) {
  fs::path claim = ClaimPath(home, port);
  if (Symlink(id, claim) == 0) return true;
  if (errno != EEXIST)
    throw Error(fmt::format("cannot claim port {}: {}", claim.string(), std::strerror(errno)));
  if (HeldByLiveInstance(home, port)) return false;
  Unlink(claim);
  return Symlink(id, claim) == 0;
}

// Removes the claim on `port` if `id` holds it.
void Unclaim(const Home& home, int port, const std::string& id) {
  if (ClaimOwner(home, port) == id) Unlink(ClaimPath(home, port));
}

// Before an instance claims a port it leaves a note in its runtime folder,
// var/run/ID/claiming-PORT. A configure killed between the claim and the
// record's save leaves the note too, so releasing an instance's ports reads
// its record and its own folder, never every claim in the home.
constexpr std::string_view kClaimNotePrefix = "claiming-";

fs::path ClaimNote(const Home& home, const std::string& id, int port) {
  return home.RuntimeDir(id) / fmt::format("{}{}", kClaimNotePrefix, port);
}

// The ports of the instance's claim notes.
std::set<int> NotedClaims(const Home& home, const std::string& id) {
  std::set<int> ports;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(home.RuntimeDir(id), ec)) {
    std::string name = entry.path().filename().string();
    if (!name.starts_with(kClaimNotePrefix)) continue;
    std::string digits = name.substr(kClaimNotePrefix.size());
    if (digits.size() <= 5 && AllDigits(digits)) ports.insert(std::stoi(digits));
  }
  return ports;
}

// Releases what a killed configure of this instance claimed and never
// saved in its record.
void ReleaseUnrecordedClaims(const Home& home, const Record& record) {
  std::set<int> recorded;
  for (const auto& [service, port] : record.ports) recorded.insert(port);
  for (int port : NotedClaims(home, record.id)) {
    if (recorded.contains(port)) continue;
    Unclaim(home, port, record.id);
    Unlink(ClaimNote(home, record.id, port));
  }
}

// Steps that undo what a command did so far, run in reverse order when it
// goes out of scope before Commit(): a command that fails part-way leaves
// the home as it found it.
class Undo {
 public:
  Undo() = default;
  Undo(const Undo&) = delete;
  Undo& operator=(const Undo&) = delete;
  ~Undo() {
    if (committed_) return;
    for (auto it = steps_.rbegin(); it != steps_.rend(); ++it) (*it)();
  }
  void Add(std::function<void()> step) { steps_.push_back(std::move(step)); }
  void Commit() { committed_ = true; }

 private:
  std::vector<std::function<void()>> steps_;
  bool committed_ = false;
};

// MakeDirs(dir), with the removal of the first folder it had to create
// (and so of everything under it) as an undo step.
void MakeDirsUndoably(const fs::path& dir, Undo& undo, bool symlink_ok = false) {
  fs::path first_missing = MakeDirs(dir, 0755, symlink_ok);
  if (!first_missing.empty())
    undo.Add([first_missing] {
      std::error_code ec;
      fs::remove_all(first_missing, ec);
    });
}

int AllocatePort(Env& env, const Record& record, const Service& service) {
  const Home& home = env.home;
  const Settings& settings = env.settings;
  int first = settings.port_first, count = settings.port_last - settings.port_first + 1;
  // Start at a random point so allocation stays O(1) however many are taken.
  int offset = static_cast<int>(RandomBelow(static_cast<size_t>(count)));
  for (int i = 0; i < count; ++i) {
    int port = first + (offset + i) % count;
    if (HeldByLiveInstance(home, port) || !env.system.PortIsFree(service.host, port)) continue;
    fs::path note = ClaimNote(home, record.id, port);
    if (Symlink(record.id, note) != 0 && errno != EEXIST)
      throw Error(fmt::format("cannot write {}: {}", note.string(), std::strerror(errno)));
    if (Claim(home, port, record.id)) return port;
    Unlink(note);
  }
  throw Error(fmt::format("no free port for service '{}' in {}-{}; widen ports: in {}",
                          service.name, settings.port_first, settings.port_last,
                          home.SettingsFile().string()));
}

// The port recorded under `key` (the service's name; NAME.K for web
// process K), allocated and recorded if there is none.
int ListenPort(Env& env, Record& record, const Service& service, const std::string& key,
               Undo& undo) {
  if (auto it = record.ports.find(key); it != record.ports.end()) return it->second;
  int port = AllocatePort(env, record, service);
  undo.Add([&home = env.home, port, id = record.id] {
    Unclaim(home, port, id);
    Unlink(ClaimNote(home, id, port));
  });
  record.ports[key] = port;
  return port;
}

// The runtime configuration of each web process past the first (scale
// web=N): the first's values with listen ports of its own.
std::vector<json> OtherWebConfigs(Env& env, Record& record, const InstanceConfig& config,
                                  const json& appcfg, Undo& undo) {
  std::vector<json> out;
  auto web = record.processes.find("web");
  for (int k = 2; web != record.processes.end() && k <= web->second; ++k) {
    json other = appcfg;
    for (const auto& service : config.services) {
      if (service.type != ServiceType::kListen) continue;
      if (service.port)
        throw Error(fmt::format(
            "the service {} has the fixed port {}, which only one web process can listen on; "
            "leave the port out so that sarge picks one per process, or scale web to 1",
            Quoted(service.name), *service.port));
      other[EnvName(service.name) + "_PORT"] =
          ListenPort(env, record, service, fmt::format("{}.{}", service.name, k), undo);
    }
    out.push_back(std::move(other));
  }
  return out;
}

// The values `service` gives the runtime configuration, making its folder
// or allocating its port (recorded in record.ports) as needed.
void AddServiceValues(Env& env, Record& record, const Service& service, Undo& undo, json& appcfg) {
  const Home& home = env.home;
  std::string name = EnvName(service.name);
  switch (service.type) {
    case ServiceType::kVarFolder: {
      fs::path dir = home.TmpDir() / record.id / service.name;
      MakeDirsUndoably(dir, undo);
      appcfg[name + "_PATH"] = dir.string();
      break;
    }
    case ServiceType::kPersistentFolder: {
      fs::path dir = home.DataDir() / service.name;
      MakeDirsUndoably(dir, undo, true);  // may be on another disk
      appcfg[name + "_PATH"] = dir.string();
      break;
    }
    case ServiceType::kListen: {
      appcfg[name + "_HOST"] = service.host;
      appcfg[name + "_PORT"] =
          service.port ? *service.port : ListenPort(env, record, service, service.name, undo);
      break;
    }
  }
}

// What the `configuring` hooks add to `appcfg` (never a replaced value).
void AddHookValues(Env& env, const Record& record, json& appcfg) {
  json added = RunHooks(env.home, env.settings, env.runner, hook::kConfiguring, record);
  for (const auto& item : added.items()) {
    if (appcfg.contains(item.key()))
      throw Error(fmt::format("a configuring hook tried to replace {}, which the services set",
                              item.key()));
    appcfg[item.key()] = item.value();
  }
}

}  // namespace

json Configure(Env& env, Record& record) {
  const Home& home = env.home;
  InstanceConfig config = InstanceConfigFromJson(record.config);
  // Declared first, so it outlives everything its steps use (ASan found
  // a step that read a local destroyed before it).
  const auto ports_before = record.ports;
  Undo undo;
  undo.Add([&record, ports_before] { record.ports = ports_before; });
  MakeDirsUndoably(home.RuntimeDir(record.id), undo);
  ReleaseUnrecordedClaims(home, record);
  json appcfg = json::object();
  for (const auto& service : config.services) AddServiceValues(env, record, service, undo, appcfg);
  AddHookValues(env, record, appcfg);
  std::vector<json> configs = {appcfg};
  for (auto& other : OtherWebConfigs(env, record, config, appcfg, undo))
    configs.push_back(std::move(other));
  // The runtime configurations are written before the record and put in
  // place after it, so a failure of either (a full disk) leaves both as they
  // were. Only the record is fsynced: every start configures again, and
  // launch and run rebuild a missing or unreadable one (RuntimeConfigFor), so
  // the empty file a power loss can leave is rewritten before anything reads
  // it.
  std::list<AtomicFile> files;
  for (size_t i = 0; i < configs.size(); ++i) {
    fs::path path = home.AppCfgFile(ProgramName(record.id, "web", static_cast<int>(i) + 1));
    std::string text = configs[i].dump(2) + "\n";
    if (ReadFileIfExists(path) != text) files.emplace_back(path, text, 0600, Durability::kRebuilt);
  }
  if (record.ports != ports_before) SaveRecord(home, record);
  for (auto& file : files) file.Commit();
  undo.Commit();
  return appcfg;
}

std::string Interpolate(const std::string& value, const json& appcfg, const std::string& what) {
  std::string out;
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '$') {
      out += value[i];
      continue;
    }
    size_t end = i + 1;
    while (end < value.size() &&
           (std::isalnum(static_cast<unsigned char>(value[end])) || value[end] == '_'))
      ++end;
    std::string name = value.substr(i + 1, end - i - 1);
    if (!appcfg.contains(name))
      throw Error(fmt::format("{} refers to ${}, which the runtime configuration lacks", what,
                              Excerpt(name, kQuotedMax)));
    const json& v = appcfg[name];
    out += v.is_string() ? v.get<std::string>() : v.dump();
    i = end - 1;
  }
  return out;
}

json ReadRuntimeConfig(const Home& home, const std::string& id) {
  auto text = ReadFileIfExists(home.AppCfgFile(id));
  if (!text)
    throw Error(fmt::format("{} has no runtime configuration yet; run: sarge {} configure {}", id,
                            home.root.string(), id));
  try {
    return json::parse(*text);
  } catch (const json::exception& e) {
    throw Error(fmt::format("{} is not valid JSON ({}); run: sarge {} configure {}",
                            home.AppCfgFile(id).string(), e.what(), home.root.string(), id));
  }
}

void ReleasePorts(const Home& home, const Record& record) {
  // The record's ports, and any a configure killed before it saved the
  // record claimed (its notes say which).
  std::set<int> ports = NotedClaims(home, record.id);
  for (const auto& [service, port] : record.ports) ports.insert(port);
  for (int port : ports)
    if (ClaimOwner(home, port) == record.id && Unlink(ClaimPath(home, port)) != 0 &&
        errno != ENOENT)
      throw Error(fmt::format("cannot release port {}: {}", port, std::strerror(errno)));
}

std::map<std::string, std::string> InstanceEnvironment(const Home& home, const Record& record,
                                                       const json& appcfg) {
  std::map<std::string, std::string> env;
  for (const auto& item : appcfg.items())
    env[item.key()] =
        item.value().is_string() ? item.value().get<std::string>() : item.value().dump();
  InstanceConfig config = InstanceConfigFromJson(record.config);
  for (const auto& [key, value] : config.env) env[key] = value;
  // `config set` refuses the names a service defines; one added to the
  // configuration since (deploy refuses that too) still keeps its value.
  for (auto& [key, value] : LoadInstanceVars(home, record.id))
    if (!appcfg.contains(key)) env[key] = std::move(value);
  env["SARGEAPP_CFG"] = home.AppCfgFile(record.id).string();
  env["SARGE_HOME"] = home.root.string();
  env["SARGE_INSTANCE_ID"] = record.id;
  return env;
}

std::vector<json> WebRuntimeConfigs(const Home& home, const Record& record, const json& appcfg) {
  std::vector<json> out = {appcfg};
  for (const Process& process : ProcessesOf(record))
    if (process.type == "web" && process.index > 1)
      out.push_back(ReadRuntimeConfig(home, process.program));
  return out;
}

json ConfigureCommand(Env& env, const std::string& id) {
  Record record = LoadRecord(env.home, id);
  return Configure(env, record);
}

}  // namespace sarge
