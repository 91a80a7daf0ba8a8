#include "sarge/home.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "sarge/error.h"
#include "sarge/front_end.h"
#include "sarge/names.h"
#include "sarge/privilege.h"
#include "sarge/process.h"
#include "sarge/records.h"
#include "sarge/supervisor_config.h"

namespace sarge {
namespace {

// Characters allowed in a home path. The path is written into supervisord's
// configuration and shell scripts; keeping it plain keeps those safe.
bool IsHomePathChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("/._-+@").find(c) != std::string_view::npos;
}

std::string FindProgram(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    fs::path candidate = fs::path(dirs.substr(start, end - start)) / name;
    if (end > start && ::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    start = end + 1;
  }
  for (const char* dir : {"/usr/bin", "/usr/local/bin"}) {
    fs::path candidate = fs::path(dir) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return {};
}

// A Home at `path`, if sarge can write its paths into configuration files
// and supervisord's socket path fits.
Home UsableHomePath(const fs::path& path) {
  std::string text = path.string();
  if (text.size() > 1 && text.back() == '/') text.pop_back();
  if (!std::all_of(text.begin(), text.end(), IsHomePathChar))
    throw Error(
        fmt::format("home path {} has characters sarge does not write into configuration "
                    "files; use letters, digits and / . _ - + @ only",
                    Quoted(text)));
  Home home{text};
  // A unix socket path is limited to sizeof(sun_path) - 1 bytes.
  if (home.Socket().string().size() >= sizeof(sockaddr_un{}.sun_path))
    throw Error(
        fmt::format("home path {} is too long: supervisord's socket {} would exceed the {} "
                    "bytes a unix socket path may have; choose a shorter home",
                    Quoted(text), home.Socket().string(), sizeof(sockaddr_un{}.sun_path) - 1));
  return home;
}

}  // namespace

Home OpenHome(const std::string& given, bool for_init) {
  if (given.empty()) throw UsageError("give the home folder first: sarge HOME COMMAND");
  std::error_code ec;
  fs::path path = fs::absolute(given, ec).lexically_normal();
  if (ec) throw Error(fmt::format("cannot resolve home {}: {}", Quoted(given), ec.message()));
  bool exists = fs::exists(path, ec);
  if (ec)  // a symlink loop, a folder on the way that cannot be searched
    throw Error(fmt::format("cannot use home {}: {}", Quoted(given), ec.message()));
  if (!exists && fs::is_symlink(path, ec))
    throw Error(
        fmt::format("home {} is a symlink to {}, which does not exist; create that folder "
                    "first, or give another path",
                    Quoted(path.string()), Quoted(fs::read_symlink(path, ec).string())));
  const fs::path given_path = path;
  if (exists) path = fs::canonical(path, ec);
  if (exists && !fs::is_directory(path, ec))
    throw Error(
        fmt::format("home {} is not a folder; give the home folder, or a new path for "
                    "`sarge PATH init` to create",
                    Quoted(path.string())));
  // Before anything of the home is read: the owner's files are input.
  ActAsOwner(given_path, path);
  Home home = UsableHomePath(path);
  const std::string text = home.root.string();
  if (!for_init && !fs::is_directory(home.RecordsDir(), ec))
    throw Error(
        fmt::format("{} is not a sarge home (it has no etc/instances); create it with: "
                    "sarge {} init",
                    text, text));
  return home;
}

std::string Home::SupervisordDied() const {
  std::optional<std::string> text;
  try {
    text = ReadFileIfExists(PidFile());
  } catch (const Error&) {
    return "";
  }
  int pid = 0;
  if (!text || std::from_chars(text->data(), text->data() + text->size(), pid).ec != std::errc() ||
      pid <= 1 || ProbeProcess(pid) == ProcessState::kRunning)
    return "";
  return fmt::format(
      " (it died: pid {} is gone; what it ran may still run, and bin/supervisord replaces it)",
      pid);
}

std::string WhoActs() {
  const char* sudo_user = std::getenv("SUDO_USER");
  std::string user = ActingUser();
  if (sudo_user) user += fmt::format(" (sudo by {})", sudo_user);
  return user;
}

void LogAction(const Home& home, const std::string& what) {
  std::string user = WhoActs();
  // One line per action whatever `what` holds (paths and messages come from input).
  std::string text;
  for (unsigned char c : what)
    text +=
        c < 0x20 || c == 0x7f ? fmt::format("\\x{:02x}", c) : std::string(1, static_cast<char>(c));
  std::string line = fmt::format("{} user={}: {}\n", UtcNow(), user, text);
  Fd fd(::open(home.ActionLog().c_str(),
               O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0640));
  // Only a regular file: a FIFO planted there must not hold the command.
  struct stat st {};
  if (fd.valid() && ::fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode))
    (void)!::write(fd.get(), line.data(), line.size());
}

namespace {

// Makes the home's folders, or puts their modes right: set, not left to the
// umask. etc/ and var/run/ hold configuration values (secrets among them),
// var/ what the servers keep; the home and bin/ are for anyone to read, and
// the instance folders (static routes) for nginx. Files an older home made
// before sarge set its own modes (records 0644) become the owner's only.
void SetModes(const Home& home) {
  const std::pair<fs::path, mode_t> dirs[] = {{home.root, 0755},
                                              {home.root / "bin", 0755},
                                              {home.Etc(), 0700},
                                              {home.RecordsDir(), 0700},
                                              {home.ProgramsDir(), 0700},
                                              {home.PortsDir(), 0700},
                                              {home.NginxSitesDir(), 0700},
                                              {home.root / "var", 0755},
                                              {home.LogDir(), 0750},
                                              {home.RunDir(), 0700},
                                              // fcgi sockets: nginx's workers pass
                                              {home.TmpDir(), 0711},
                                              {home.DataDir(), 0700}};
  for (const auto& [dir, mode] : dirs) {
    MakeDirs(dir, mode, dir == home.LogDir());  // logs may be on another disk
    ChangeMode(dir, mode);
  }

  std::error_code ec;
  for (const fs::path& top : {home.Etc(), home.RunDir()})
    for (auto it = fs::recursive_directory_iterator(top, ec); !ec && it != fs::end(it);
         it.increment(ec))
      if (it->is_regular_file(ec) && !it->is_symlink(ec))
        ::chmod(it->path().c_str(), static_cast<mode_t>(it->status().permissions()) & 0700);
}

}  // namespace

void InitHome(const Home& home, const fs::path& sarge_binary) {
  std::string supervisord = FindProgram("supervisord");
  std::string supervisorctl = FindProgram("supervisorctl");
  if (supervisord.empty() || supervisorctl.empty())
    throw Error("supervisord is not installed; install it with: apt-get install supervisor");

  SetModes(home);

  WriteFileAtomicIfChanged(home.Bin("sarge"), SargeShortcut(home, sarge_binary), 0755);
  WriteFileAtomicIfChanged(home.Bin("supervisord"), SupervisordShortcut(home, supervisord), 0755);
  WriteFileAtomicIfChanged(home.Bin("supervisorctl"), SupervisorctlShortcut(home, supervisorctl),
                           0755);
  WriteSupervisordConf(home);
  WriteFileAtomicIfChanged(home.NginxSitesConf(), NginxSitesConf(home));
  struct stat st {};
  uid_t owner = ::stat(home.root.c_str(), &st) == 0 ? st.st_uid : ::geteuid();
  WriteFileAtomicIfChanged(home.SystemdUnitFile(), SystemdUnit(home, UserName(owner)));
  if (!fs::exists(home.SettingsFile())) WriteFileAtomic(home.SettingsFile(), DefaultSettingsYaml());
  LogAction(home, "init");
}

}  // namespace sarge
