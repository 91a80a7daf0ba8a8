#include "sarge/check.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "sarge/app_config.h"
#include "sarge/deploy.h"
#include "sarge/deploy_marker.h"
#include "sarge/error.h"
#include "sarge/fs.h"
#include "sarge/names.h"
#include "sarge/orphans.h"
#include "sarge/process.h"
#include "sarge/processes.h"
#include "sarge/records.h"
#include "sarge/runtime_config.h"
#include "sarge/supervisor_config.h"

namespace sarge {
namespace {

struct ConfFile {
  std::string name;  // the file's name less ".conf": an instance id, an application
  fs::path path;
};

// The `NAME.conf` files of `dir` (program files, nginx sites), temporary
// files left out.
std::vector<ConfFile> ConfFiles(const fs::path& dir) {
  std::vector<ConfFile> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string file = entry.path().filename().string();
    if (!file.ends_with(".conf") || IsTempFileName(file)) continue;
    files.push_back({file.substr(0, file.size() - 5), entry.path()});
  }
  return files;
}

class Checker {
 public:
  Checker(Env& env, bool repair) : env_(env), home_(env.home), repair_(repair) {}

  std::vector<Finding> Run() {
    Planted();
    TempFiles();
    SupervisordConf();
    Records();
    Folders();
    Deploys();
    Leftovers();
    KilledWrites();
    Supervisord();
    Orphans();
    FrontEnd();
    return std::move(findings_);
  }

 private:
  // Reports `problem`; with --repair, runs `fix` and says `done`.
  template <typename Fix>
  void Found(std::string problem, std::string done, Fix&& fix) {
    Finding f{std::move(problem), "", true};
    if (repair_) {
      repaired_ = true;  // even a repair that fails may have changed something
      try {
        fix();
        f.repair = std::move(done);
      } catch (const Error& e) {
        f.problem += fmt::format(" (repair failed: {})", e.what());
      }
    }
    findings_.push_back(std::move(f));
  }
  void Found(std::string problem) { findings_.push_back({std::move(problem), "", false}); }

  std::string Rel(const fs::path& p) const { return p.lexically_relative(home_.root).string(); }

  // What a server, or anyone with the owner's rights, may have put where
  // sarge keeps its own files and folders: a symlink (sarge would read,
  // write or remove another file through it) or a FIFO, socket or device
  // (reading it would hold the command). Sarge opens none of them (fs.h);
  // --repair removes them, and the next command makes its own again.
  void Planted() {
    std::error_code ec;
    for (const fs::path& top : {home_.root / "bin", home_.Etc(), home_.root / "var"}) {
      if (const char* kind = OddKind(top)) {
        PlantedAt(top, kind);
        continue;
      }
      for (auto it = fs::recursive_directory_iterator(top, ec); !ec && it != fs::end(it);
           it.increment(ec)) {
        const fs::path& path = it->path();
        fs::path parent = path.parent_path();
        // The servers' folders are theirs; these and the logs' folder an
        // operator may put on another disk (a symlink).
        if (parent == home_.TmpDir() || parent == home_.DataDir()) {
          it.disable_recursion_pending();
          if (parent == home_.DataDir()) continue;
        }
        if (path == home_.LogDir()) continue;
        // Sarge's own symlinks: port claims and the notes made before them;
        // supervisord's socket, and the one it binds before renaming it.
        bool claim =
            parent == home_.PortsDir() || (parent.parent_path() == home_.RunDir() &&
                                           path.filename().string().starts_with("claiming-"));
        bool socket = parent == home_.RunDir() &&
                      path.filename().string().starts_with(home_.Socket().filename().string());
        if (socket || claim) continue;
        if (const char* kind = OddKind(path)) PlantedAt(path, kind);
      }
    }
  }
  static const char* OddKind(const fs::path& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return nullptr;
    return SpecialKind(st.st_mode);
  }
  void PlantedAt(const fs::path& path, const char* kind) {
    Found(fmt::format("{} is {} where sarge keeps its own files; something planted it", Rel(path),
                      kind),
          fmt::format("removed {}", Rel(path)), [&] { RemoveFile(path); });
  }

  // WriteFileAtomic's temporary files: a writer holds the lock, as we do, so
  // any that exists was left by a command that was killed.
  void TempFiles() {
    std::error_code ec;
    for (const fs::path& top : {home_.Etc(), home_.RunDir()}) {
      for (auto it = fs::recursive_directory_iterator(top, ec); !ec && it != fs::end(it);
           it.increment(ec)) {
        if (it->is_symlink() || !IsTempFileName(it->path().filename().string())) continue;
        fs::path path = it->path();
        Found(fmt::format("{} is left from an interrupted write", Rel(path)),
              fmt::format("removed {}", Rel(path)), [&] { RemoveAll(path); });
      }
    }
  }

  // A start narrows supervisord.conf's include to the one program it loads,
  // and puts it back after; a start cut short leaves it narrowed, and a
  // supervisord started then would load that program alone.
  void SupervisordConf() {
    std::string want = sarge::SupervisordConf(home_);
    if (ReadFileIfExists(home_.SupervisordConf()).value_or("") != want)
      Found(fmt::format("{} is not as sarge writes it (an interrupted start)",
                        Rel(home_.SupervisordConf())),
            fmt::format("rewrote {}", Rel(home_.SupervisordConf())),
            [&] { WriteFileAtomic(home_.SupervisordConf(), want); });
  }

  void Records() {
    for (const auto& id : ListIds(home_)) {
      Record record;
      try {
        record = LoadRecord(home_, id);
      } catch (const Error& e) {
        Found(fmt::format("{} cannot be read ({}); restore it from a backup or move it away",
                          Rel(home_.RecordFile(id)), e.what()));
        unreadable_.insert(id);
        continue;
      }
      if (!fs::exists(home_.InstanceDir(id))) {
        Found(fmt::format("{} has a record but no folder {} (an interrupted destroy)", id,
                          Rel(home_.InstanceDir(id))),
              fmt::format("finished destroying {}", id), [&] { DestroyInstance(env_, record); });
        continue;
      }
      records_.emplace(id, std::move(record));
    }
  }

  bool Known(const std::string& id) const {
    return records_.contains(id) || unreadable_.contains(id);
  }

  // Instance folders without a record: `new` makes the folder first.
  void Folders() {
    static const std::set<std::string> kHomeEntries = {"bin", "etc", "var"};
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(home_.root, ec)) {
      std::string name = entry.path().filename().string();
      if (!entry.is_directory() || entry.is_symlink() || kHomeEntries.contains(name) ||
          !LooksLikeInstanceId(name) || Known(name))
        continue;
      if (fs::is_empty(entry.path(), ec))
        Found(fmt::format("folder {} has no record (an interrupted new)", name),
              fmt::format("removed the empty folder {}", name), [&] { fs::remove(entry.path()); });
      else
        Found(fmt::format("folder {} has no record and holds files; move them away and remove it",
                          name));
    }
  }

  // Program files, port claims, runtime and scratch folders of instances
  // that have no record any more.
  void Leftovers() {
    for (const ConfFile& file : ConfFiles(home_.ProgramsDir())) {
      if (Known(file.name)) continue;
      Found(fmt::format("{} belongs to no instance", Rel(file.path)),
            fmt::format("removed {}", Rel(file.path)), [&] {
              Unload(file.name);
              RemoveAll(file.path);
            });
    }
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(home_.PortsDir(), ec)) {
      std::error_code link_ec;
      fs::path owner = fs::read_symlink(entry.path(), link_ec);
      if (link_ec || IsTempFileName(entry.path().filename().string())) continue;
      if (Known(owner.string())) continue;
      Found(fmt::format("port {} is claimed by {}, which has no record",
                        entry.path().filename().string(), owner.string()),
            fmt::format("released port {}", entry.path().filename().string()),
            [&] { RemoveAll(entry.path()); });
    }
    for (const fs::path& dir : {home_.RunDir(), home_.TmpDir()}) {
      for (const auto& entry : fs::directory_iterator(dir, ec)) {
        std::string name = entry.path().filename().string();
        if (!entry.is_directory() || !LooksLikeInstanceId(name) || Known(name)) continue;
        Remove(entry.path(), "belongs to no instance");
      }
    }
  }

  // What a command killed midway wrote outside any instance's record.
  void KilledWrites() {
    std::error_code ec;
    // A deploy killed while it read a tarball's sarge.json and Procfile.
    for (const auto& entry : fs::directory_iterator(home_.TmpDir(), ec)) {
      std::string name = entry.path().filename().string();
      if (!name.starts_with(kSourceFilesPrefix)) continue;
      int pid = std::atoi(name.c_str() + kSourceFilesPrefix.size());
      if (pid > 0 && PidExists(pid)) continue;  // a deploy reading it now
      Remove(entry.path(), "was left by a deploy that was killed");
    }
    // An instance's variables (config_vars.h), from a create killed before
    // its record was written.
    for (const auto& entry : fs::directory_iterator(home_.VarsDir(), ec)) {
      std::string name = entry.path().filename().string();
      if (!name.ends_with(".json") || IsTempFileName(name)) continue;
      std::string id = name.substr(0, name.size() - 5);
      if (LooksLikeInstanceId(id) && !Known(id)) Remove(entry.path(), "belongs to no instance");
    }
  }

  // Reports `path` ("PATH `problem`"); a repair removes it.
  void Remove(const fs::path& path, const std::string& problem) {
    Found(fmt::format("{} {}", Rel(path), problem), fmt::format("removed {}", Rel(path)),
          [&] { RemoveAll(path); });
  }

  // Stops and unloads supervisord's program `id`, if it has one.
  void Unload(const std::string& id) {
    if (!SupervisordUp()) return;
    StopInstance(env_, id);
  }

  bool SupervisordUp() {
    if (!live_) {
      live_.emplace();
      try {
        for (auto& info : env_.supervisor.GetAllProcessInfo())
          live_->emplace(info.name, std::move(info));
        up_ = true;
      } catch (const SupervisorUnavailable&) {
        up_ = false;
      }
    }
    return up_;
  }

  // A deploy's marker outlives it only if it was killed.
  void Deploys() {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(home_.RunDir() / "deploys", ec)) {
      std::string id = entry.path().filename().string();
      fs::path marker = entry.path();
      auto it = records_.find(id);
      if (it == records_.end()) {
        Found(fmt::format("a deploy of {} was interrupted; the instance is gone", id),
              "removed its marker", [&] { RemoveAll(marker); });
        continue;
      }
      InterruptedDeploy(it->second, marker);
    }
  }

  // The deploy of `record` was cut off: finished if its instance serves,
  // else undone (or only forgotten, if the front end moved on since).
  // (A copy of the record: the undo erases it from records_.)
  void InterruptedDeploy(const Record record, const fs::path& marker) {
    const std::string& id = record.id;
    auto site = ReadActiveSite(home_, record.application_name);
    // What nginx answers decides, when it can be asked: a deploy killed
    // between writing the site file and nginx's reload has not switched.
    NginxServes nginx =
        AskNginx(env_, record.application_name, NginxOptionsOf(site ? site->id : id));
    bool serves = nginx.answered ? nginx.id == id : site && site->id == id;
    if (serves) {
      Found(fmt::format("a deploy of {} was interrupted after the switch", id),
            fmt::format("stopped the previous instances of {}", record.application_name), [&] {
              RetirePrevious(env_, record, env_.settings.deploy_keep);
              RemoveAll(marker);
            });
    } else if (IsDeploySwitched(home_, id)) {
      // It served, then a later deploy, rollback or activate moved on.
      Found(fmt::format("a deploy of {} was interrupted after the switch, and the front end has "
                        "moved on since",
                        id),
            "removed its marker", [&] { RemoveAll(marker); });
    } else {
      Found(fmt::format("a deploy of {} was interrupted before the switch", id),
            fmt::format("destroyed {}; the front end is unchanged", id), [&] {
              if (site && site->id == id) PutSiteBack(record, nginx);
              DestroyInstance(env_, record);
              RemoveAll(marker);
              records_.erase(id);
            });
    }
  }

  // The nginx_options of instance `id`, or none if it has no record.
  nlohmann::json NginxOptionsOf(const std::string& id) const {
    auto it = records_.find(id);
    if (it == records_.end()) return nlohmann::json::object();
    return InstanceConfigFromJson(it->second.config).nginx_options;
  }

  // The site file routes to `record`, whose deploy never switched: it is
  // put back to what nginx serves (or removed, if nginx serves nothing of
  // the application), so no later reload switches to an instance about to
  // be destroyed.
  void PutSiteBack(const Record& record, const NginxServes& nginx) {
    auto served = records_.find(nginx.id);
    if (served == records_.end() || served->second.application_name != record.application_name) {
      RemoveSite(env_, record);
      return;
    }
    Activate(env_, served->second, ReadRuntimeConfig(home_, served->first),
             "check --repair (a deploy cut off while switching)");
  }

  void Supervisord() {
    if (repaired_) ReloadRecords();
    if (!SupervisordUp()) {
      bool any = std::any_of(records_.begin(), records_.end(),
                             [](const auto& r) { return r.second.autostart; });
      if (any)
        Found(fmt::format("supervisord is not running, and instances should be; start it: {}",
                          home_.StartSupervisordHint()));
      return;
    }
    for (const auto& [program, info] : *live_) ProgramWithoutRecord(program, info.state);
    for (const auto& [id, record] : records_) {
      if (!record.autostart) continue;
      auto it = live_->find(id);
      std::string state = it == live_->end() ? "STOPPED" : it->second.state;
      if (state == "RUNNING" || state == "STARTING") continue;
      Found(
          fmt::format("{} should be running but is {}; see `sarge {} logs {}`, then `sarge {} "
                      "start {}`",
                      id, state, home_.root.string(), id, home_.root.string(), id));
    }
  }

  // What the repairs changed: records read again (a record a repair removed
  // is gone), supervisord to be asked again.
  void ReloadRecords() {
    live_.reset();
    for (auto it = records_.begin(); it != records_.end();) {
      if (fs::exists(home_.RecordFile(it->first))) {
        it->second = LoadRecord(home_, it->first);
        ++it;
      } else {
        it = records_.erase(it);
      }
    }
  }

  // A program supervisord has loaded, in `state`: one without a record is
  // reported (and stopped and unloaded by a repair).
  void ProgramWithoutRecord(const std::string& name, const std::string& state) {
    auto it = records_.find(InstanceOfProgram(name));
    if (it == records_.end()) {
      if (unreadable_.contains(InstanceOfProgram(name))) return;
      Found(fmt::format("supervisord has program {} ({}), which has no record", name, state),
            fmt::format("stopped and unloaded {}", name), [&] { StopInstance(env_, name); });
    } else if (repair_ && !it->second.autostart && IsLoadedStopped(state)) {
      // A failed start keeps its program loaded so `status` says why, and
      // `supervisorctl update` loads every program: both are fine, and a
      // repair unloads them quietly (each loaded program costs every pass
      // of supervisord's main loop).
      try {
        StopInstance(env_, it->first);
      } catch (const Error&) {
        // Left loaded; nothing is wrong with that.
      }
    }
  }

  // Servers a supervisord that died left running: supervisord runs no
  // program for them (or another process), so nothing stops or restarts
  // them, and `destroy` would leave one serving from a deleted folder.
  void Orphans() {
    bool up = SupervisordUp();
    // A supervisord that runs without answering (its socket removed, shutting
    // down) still has its servers: those are not orphans.
    int supervisor = std::atoi(ReadFileIfExists(home_.PidFile()).value_or("0").c_str());
    for (const auto& [id, record] : records_)
      for (const Process& process : ProcessesOf(record)) Orphan(process.program, up, supervisor);
  }

  // The process of `program` that a supervisord that died left, if any.
  void Orphan(const std::string& program, bool up, int supervisor) {
    auto pid = LiveServer(home_, program);
    if (!pid || (supervisor > 0 && DescendsFrom(*pid, supervisor))) return;
    auto it = up ? live_->find(program) : live_->end();
    if (it != live_->end() && it->second.pid == *pid) return;
    int server = *pid;
    Found(fmt::format("{}'s server (pid {}) runs without supervisord behind it (a supervisord "
                      "that died left it); `sarge {} stop {}` stops it",
                      program, server, home_.root.string(), InstanceOfProgram(program)),
          fmt::format("stopped {}'s server (pid {})", program, server),
          [&] { StopOrphan(env_, server, std::chrono::seconds(30)); });
  }

  void FrontEnd() {
    for (const ConfFile& site_file : ConfFiles(home_.NginxSitesDir())) {
      const std::string& app = site_file.name;
      auto site = ReadActiveSite(home_, app);
      if (!site) continue;
      if (!records_.contains(site->id)) {
        Found(
            fmt::format("the front end of {} routes to {}, which does not exist; deploy {} "
                        "again or activate one of its instances",
                        app, site->id, app));
        continue;
      }
      NginxServes nginx = AskNginx(env_, app, NginxOptionsOf(site->id));
      if (nginx.answered && nginx.id != site->id)
        Found(fmt::format(
            "{} routes {} to {}, but nginx serves {}; `sarge {} activate {}` makes "
            "them agree (after nginx -t finds the file good)",
            Rel(site_file.path), app, site->id, nginx.id.empty() ? "no site of it" : nginx.id,
            home_.root.string(), nginx.id.empty() ? site->id : nginx.id));
      if (!SupervisordUp()) continue;
      auto it = live_->find(site->id);
      std::string state = it == live_->end() ? "STOPPED" : it->second.state;
      if (state != "RUNNING" && state != "STARTING")
        Found(
            fmt::format("the front end of {} routes to {}, which is {}; start it: sarge {} "
                        "start {}",
                        app, site->id, state, home_.root.string(), site->id));
    }
  }

  static bool IsLoadedStopped(const std::string& state) {
    return state == "STOPPED" || state == "STOPPING" || state == "EXITED" || state == "FATAL" ||
           state == "BACKOFF";
  }

  static bool LooksLikeInstanceId(const std::string& name) {
    // APP-XXXXXX: a safe name, a dash, six letters or digits.
    return name.size() > 7 && name[name.size() - 7] == '-' && IsSafeName(name) &&
           std::all_of(name.end() - 6, name.end(), [](unsigned char c) { return std::isalnum(c); });
  }

  Env& env_;
  const Home& home_;
  bool repair_;
  std::vector<Finding> findings_;
  std::map<std::string, Record> records_;
  std::set<std::string> unreadable_;
  std::optional<std::map<std::string, ProcessInfo>> live_;
  bool up_ = false;
  bool repaired_ = false;  // a repair ran
};

}  // namespace

std::vector<Finding> CheckHome(Env& env, bool repair) { return Checker(env, repair).Run(); }

int CheckCommand(Env& env, bool repair, std::ostream& out) {
  const Home& home = env.home;
  int left = 0;
  for (const Finding& f : CheckHome(env, repair)) {
    // Findings name files and programs the home holds: whatever bytes
    // their names have stay on one line.
    if (f.repair.empty()) {
      ++left;
      out << "problem: " << Printable(f.problem) << "\n";
    } else {
      out << "repaired: " << Printable(f.problem) << ": " << Printable(f.repair) << "\n";
      LogAction(home, "check --repair: " + f.repair);
    }
  }
  out.flush();
  if (left == 0) {
    env.Say(fmt::format("{} is consistent", home.root.string()));
    return 0;
  }
  throw Error(fmt::format(
      "{} {} found in {}; {}", left, left == 1 ? "problem" : "problems", home.root.string(),
      repair ? "the lines above say what to do"
             : fmt::format("`sarge {} check --repair` fixes what it can", home.root.string())));
}

}  // namespace sarge
