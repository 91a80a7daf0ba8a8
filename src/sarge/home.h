// The home folder: where everything of one deployment lives, and its layout.
#pragma once

#include <filesystem>
#include <string>

#include "sarge/fs.h"

namespace sarge {

// Paths inside one home. Pure path arithmetic: nothing here touches the disk.
struct Home {
  fs::path root;  // absolute, no trailing slash

  fs::path Bin(std::string_view name) const { return root / "bin" / name; }
  fs::path Etc() const { return root / "etc"; }
  fs::path SettingsFile() const { return Etc() / "sarge.yaml"; }
  fs::path SupervisordConf() const { return Etc() / "supervisord.conf"; }
  fs::path SystemdUnitFile() const { return Etc() / "sarge-supervisord.service"; }
  fs::path ProgramsDir() const { return Etc() / "supervisor.d"; }
  fs::path ProgramFile(std::string_view id) const {
    return ProgramsDir() / (std::string(id) + ".conf");
  }
  fs::path RecordsDir() const { return Etc() / "instances"; }
  // What sarge keeps of an application: its activations, its configuration.
  fs::path AppDir(const std::string& app) const { return Etc() / "apps" / app; }
  fs::path AppVarsFile(const std::string& app) const { return AppDir(app) / "vars.json"; }
  fs::path AppScaleFile(const std::string& app) const { return AppDir(app) / "scale.json"; }
  fs::path VarsDir() const { return Etc() / "vars"; }
  fs::path VarsFile(std::string_view id) const { return VarsDir() / (std::string(id) + ".json"); }
  fs::path RecordFile(std::string_view id) const {
    return RecordsDir() / (std::string(id) + ".json");
  }
  fs::path PortsDir() const { return Etc() / "ports"; }
  fs::path NginxSitesConf() const { return Etc() / "nginx" / "sarge_sites.conf"; }
  fs::path NginxSitesDir() const { return Etc() / "nginx" / "sites"; }
  fs::path NginxSite(std::string_view app) const {
    return NginxSitesDir() / (std::string(app) + ".conf");
  }
  fs::path LogDir() const { return root / "var" / "log"; }
  fs::path InstanceLog(std::string_view id) const { return LogDir() / (std::string(id) + ".log"); }
  fs::path SupervisordLog() const { return LogDir() / "supervisord.log"; }
  fs::path ActionLog() const { return LogDir() / "sarge.log"; }
  fs::path RunDir() const { return root / "var" / "run"; }
  fs::path RuntimeDir(std::string_view id) const { return RunDir() / id; }
  // The runtime configuration of the instance `id` (and of its first web
  // process), or of a web process past the first, ID.web.K.
  fs::path AppCfgFile(std::string_view program) const {
    size_t dot = program.find('.');
    if (dot == std::string_view::npos) return RuntimeDir(program) / "appcfg.json";
    return RuntimeDir(program.substr(0, dot)) /
           ("appcfg." + std::string(program.substr(dot + 1)) + ".json");
  }
  fs::path PidFile() const { return RunDir() / "supervisord.pid"; }
  fs::path Socket() const { return RunDir() / "supervisor.sock"; }
  fs::path LockFile() const { return RunDir() / "sarge.lock"; }
  fs::path TmpDir() const { return root / "var" / "tmp"; }
  fs::path DataDir() const { return root / "var" / "data"; }
  fs::path InstanceDir(std::string_view id) const { return root / id; }
  fs::path ServerFile(std::string_view id) const { return InstanceDir(id) / "server"; }

  // The command that starts this home's supervisord, for error messages.
  std::string StartSupervisordHint() const { return Bin("supervisord").string(); }
  // " (it died: …)" when var/run/supervisord.pid names a process that is
  // gone (killed, crashed), for "supervisord is not running" messages.
  std::string SupervisordDied() const;
};

// Resolves the home given on the command line to an absolute path, checks
// that it is a path sarge can safely write into configuration files, and
// (unless `for_init`) that it was initialised. Throws Error otherwise;
// creates nothing.
Home OpenHome(const std::string& given, bool for_init);

// Who runs this command: the acting user ("root (as owner)" when root
// became the home's owner), and the sudo user behind it if any.
std::string WhoActs();

// Appends "TIME user=NAME: what" to var/log/sarge.log, the home's record of
// who did what. Best effort: a full disk must not fail the command itself.
void LogAction(const Home& home, const std::string& what);

// Makes or refreshes the layout: folders, shortcuts in bin/, the generated
// supervisord configuration; writes etc/sarge.yaml only if it is missing.
// `sarge_binary` is the absolute path of the running sarge executable.
void InitHome(const Home& home, const fs::path& sarge_binary);

}  // namespace sarge
