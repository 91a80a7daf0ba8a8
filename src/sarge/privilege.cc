#include "sarge/privilege.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <optional>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "sarge/error.h"
#include "sarge/fs.h"
#include "sarge/names.h"

namespace sarge {
namespace {

// Set by ActAsOwner when root became the home's owner.
bool g_switched = false;

struct Account {
  std::string name;
  gid_t gid = 0;
  std::string dir;
};

// The passwd entry of `uid`, read from /etc/passwd. Not through NSS: a
// static binary's NSS loads the system's modules (libnss_systemd), built
// for another libc, and crashes in them; and NSS costs every command more
// than the rest of its logging (nsswitch.conf, two nscd connections).
std::optional<Account> FindAccount(uid_t uid) {
  FILE* file = std::fopen("/etc/passwd", "re");
  if (!file) return std::nullopt;
  passwd entry;
  passwd* found = nullptr;
  char buffer[4096];
  std::optional<Account> account;
  while (::fgetpwent_r(file, &entry, buffer, sizeof buffer, &found) == 0)
    if (found->pw_uid == uid) {
      account = Account{found->pw_name, found->pw_gid, found->pw_dir};
      break;
    }
  std::fclose(file);
  return account;
}

// The owner's groups: the primary one and those of /etc/group that list
// the name (as initgroups finds them, without NSS, see above).
std::vector<gid_t> GroupsOf(const Account& account) {
  std::vector<gid_t> groups{account.gid};
  FILE* file = std::fopen("/etc/group", "re");
  if (!file) return groups;
  group entry;
  group* found = nullptr;
  std::vector<char> buffer(1 << 16);
  while (::fgetgrent_r(file, &entry, buffer.data(), buffer.size(), &found) == 0)
    for (char** member = found->gr_mem; *member; ++member)
      if (account.name == *member && found->gr_gid != account.gid) {
        groups.push_back(found->gr_gid);
        break;
      }
  std::fclose(file);
  return groups;
}

[[noreturn]] void CannotSwitch(const fs::path& home, const std::string& owner, const char* what) {
  throw Error(fmt::format("cannot become {}, the owner of {}: {} failed: {}", owner, home.string(),
                          what, std::strerror(errno)));
}

// What root's environment passes on to the owner's programs (hooks, tar,
// `run`): the terminal's and the locale's, no tokens, no root's folders.
void KeepOnlyHarmlessEnvironment() {
  static constexpr std::string_view kKept[] = {"PATH", "TERM",     "LANG",    "LANGUAGE",
                                               "TZ",   "NO_COLOR", "COLUMNS", "SUDO_USER"};
  std::vector<std::string> unset;
  for (char** e = environ; *e; ++e) {
    std::string_view entry(*e);
    std::string_view name = entry.substr(0, entry.find('='));
    bool kept = name.starts_with("LC_") ||
                std::find(std::begin(kKept), std::end(kKept), name) != std::end(kKept);
    if (!kept) unset.emplace_back(name);
  }
  for (const auto& name : unset) ::unsetenv(name.c_str());
}

void BecomeAccount(const fs::path& home, uid_t uid, const Account& owner) {
  std::vector<gid_t> groups = GroupsOf(owner);
  if (::setgroups(groups.size(), groups.data()) != 0) CannotSwitch(home, owner.name, "setgroups");
  if (::setresgid(owner.gid, owner.gid, owner.gid) != 0)
    CannotSwitch(home, owner.name, "setresgid");
  if (::setresuid(uid, uid, uid) != 0) CannotSwitch(home, owner.name, "setresuid");
  // Irreversible, or nothing: root must not be one call away.
  if (::setuid(0) == 0 || ::geteuid() != uid || ::getegid() != owner.gid)
    throw Error(fmt::format("cannot drop root for {}, the owner of {}; nothing was done",
                            owner.name, home.string()));
  KeepOnlyHarmlessEnvironment();
  ::setenv("HOME", owner.dir.c_str(), 1);
  ::setenv("USER", owner.name.c_str(), 1);
  ::setenv("LOGNAME", owner.name.c_str(), 1);
  g_switched = true;
}

// Root keeps root only on a home nobody else can put another folder in
// place of: every entry on its path (each symlink, each folder above the
// home) root's, and each folder above it writable by root alone or sticky
// (as /tmp), as sshd's StrictModes asks of a user's files. Otherwise a
// user who owns a folder on the way could swap the home between sarge's
// look at it and its use, and have root run that user's hooks.
void CheckRootsPath(const fs::path& home, const fs::path& path) {
  fs::path prefix;
  for (auto part = path.begin(); part != path.end(); ++part) {
    prefix /= *part;
    struct stat st {};
    if (::lstat(prefix.c_str(), &st) != 0) {
      if (errno == ENOENT) return;  // `init` makes the rest, as root
      throw Error(fmt::format("cannot use home {}: {}: {}", home.string(), prefix.string(),
                              std::strerror(errno)));
    }
    if (st.st_uid != 0) {
      std::string user = UserName(st.st_uid);
      throw Error(fmt::format(
          "{} is on the path of home {} and belongs to {}, who could put another folder in its "
          "place; run sarge as {}, or keep a home of root's on a path only root can change",
          prefix.string(), home.string(), user, user));
    }
    bool above = std::next(part) != path.end();
    if (above && S_ISDIR(st.st_mode) && (st.st_mode & (S_IWGRP | S_IWOTH)) &&
        !(st.st_mode & S_ISVTX))
      throw Error(fmt::format(
          "{} is on the path of home {} and others may change it (mode {:04o}); keep a home of "
          "root's on a path only root can change (chmod go-w {})",
          prefix.string(), home.string(), st.st_mode & 07777, prefix.string()));
  }
}

}  // namespace

std::string UserName(uid_t uid) {
  auto account = FindAccount(uid);
  return account ? account->name : std::to_string(uid);
}

void ActAsOwner(const fs::path& given, const fs::path& home) {
  uid_t me = ::geteuid();
  struct stat st {};
  if (::stat(home.c_str(), &st) != 0) {
    if (errno != ENOENT)
      throw Error(
          fmt::format("cannot use home {}: {}", Quoted(home.string()), std::strerror(errno)));
    if (me == 0) CheckRootsPath(home, given);  // a home `init` is to make, root's
    return;
  }
  if (me == 0 && st.st_uid == 0) {
    CheckRootsPath(home, given);
    CheckRootsPath(home, home);
    return;
  }
  if (st.st_uid == me) return;
  auto owner = FindAccount(st.st_uid);
  if (!owner)
    throw Error(fmt::format(
        "{} belongs to uid {}, which is no user of this system; give the home to the user who "
        "runs its applications (chown -R USER {})",
        home.string(), st.st_uid, home.string()));
  if (me != 0)
    throw Error(fmt::format("{} belongs to {}; run sarge as {} (sudo -u {} sarge {} …)",
                            home.string(), owner->name, owner->name, owner->name, home.string()));
  BecomeAccount(home, st.st_uid, *owner);
}

std::string ActingUser() {
  std::string user = UserName(::geteuid());
  return g_switched ? fmt::format("root (as {})", user) : user;
}

}  // namespace sarge
