#include "sarge/release.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "sarge/error.h"
#include "sarge/names.h"
#include "sarge/privilege.h"

namespace sarge {
namespace {

using namespace std::chrono_literals;

constexpr auto kUnpackTimeout = 600s;

// The kind of an entry a release may not hold, or nullptr.
[[noreturn]] void Refuse(const fs::path& root, const fs::path& entry, const char* kind) {
  throw Error(fmt::format(
      "the release holds {}, {}; a release may hold only files, folders and symlinks: remove it "
      "from the release",
      Quoted(entry.lexically_normal().lexically_relative(root).string()), kind));
}

// Every entry under `root` (symlinks not followed), `root` itself first.
template <typename F>
void ForEachEntry(const fs::path& root, F&& visit) {
  std::error_code ec;
  visit(root);
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec))
    visit(it->path());
  if (ec)
    throw Error(fmt::format("cannot read the release in {}: {}", root.string(), ec.message()));
}

// Refuses what a release may not hold; with `strip`, also drops setuid,
// setgid and write bits for anyone but the owner (what tar leaves, with
// sarge's umask) and gives foreign-owned entries to this
// process's user (root unpacking a root-owned home's release).
void MakeSafe(const fs::path& root, bool strip) {
  uid_t uid = ::geteuid();
  gid_t gid = ::getegid();
  ForEachEntry(root, [&](const fs::path& entry) {
    struct stat st {};
    if (::lstat(entry.c_str(), &st) != 0)
      throw Error(fmt::format("cannot read {}: {}", entry.string(), std::strerror(errno)));
    // Symlinks stay: a release may hold them.
    if (const char* kind = SpecialKind(st.st_mode); kind && !S_ISLNK(st.st_mode))
      Refuse(root, entry, kind);
    if (!strip) return;
    if ((st.st_uid != uid || st.st_gid != gid) && ::lchown(entry.c_str(), uid, gid) != 0)
      throw Error(fmt::format("cannot give {} to the home's owner: {}", entry.string(),
                              std::strerror(errno)));
    if (S_ISLNK(st.st_mode)) return;  // a symlink's own mode means nothing
    mode_t mode = st.st_mode & 07777;
    mode_t safe = mode & ~(S_ISUID | S_ISGID | S_IWGRP | S_IWOTH);
    if (safe != mode) ChangeMode(entry, safe);
  });
}

// tar run by a user who is not root cannot make a device node: it says so
// and goes on. The entry it names is refused as the walk would have.
std::optional<std::string> DeviceTarRefused(const std::string& errors) {
  for (size_t start = 0; start < errors.size();) {
    size_t end = errors.find('\n', start);
    if (end == std::string::npos) end = errors.size();
    std::string_view line(errors.data() + start, end - start);
    constexpr std::string_view kPrefix = "tar: ", kMknod = ": Cannot mknod: ";
    size_t at = line.find(kMknod);
    if (line.starts_with(kPrefix) && at != std::string_view::npos)
      return std::string(line.substr(kPrefix.size(), at - kPrefix.size()));
    start = end + 1;
  }
  return std::nullopt;
}

// Moves what `staging` holds up into `dir`, and removes `staging`. A
// tarball made of a release's folder (`tar -czf r.tar.gz release-42/`)
// holds everything in one top-level folder and no `server`: that folder's
// content is moved up instead, so that `server` is where sarge runs it from.
void MoveUp(const fs::path& staging, const fs::path& dir) {
  std::vector<fs::path> entries;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(staging, ec)) entries.push_back(entry.path());
  fs::path from = staging;
  if (!ec && entries.size() == 1 && !fs::exists(staging / "server") &&
      !fs::is_symlink(entries[0]) && fs::is_directory(entries[0]))
    from = entries[0];
  for (auto it = fs::directory_iterator(from, ec); !ec && it != fs::end(it); it.increment(ec))
    fs::rename(it->path(), dir / it->path().filename(), ec);
  if (!ec) fs::remove_all(staging, ec);
  if (ec)
    throw Error(fmt::format("cannot move the release into {}: {}", dir.string(), ec.message()));
}

void Unpack(CommandRunner& runner, const fs::path& source, const fs::path& staging) {
  // --no-same-owner and --no-same-permissions: what comes out is this
  // user's, with this process's umask, even when root unpacks.
  CommandResult r = runner.Run({"tar", "-xzf", fs::absolute(source).string(), "-C",
                                staging.string(), "--no-same-owner", "--no-same-permissions"},
                               kUnpackTimeout);
  if (auto entry = DeviceTarRefused(r.errors)) Refuse(staging, staging / *entry, "a device node");
  if (r.exit_code != 0)
    throw Error(fmt::format("cannot unpack {}: tar exited with status {}", Quoted(source.string()),
                            r.exit_code),
                r.Both());
}

void Copy(const fs::path& source, const fs::path& staging) {
  MakeSafe(source, false);  // before anything is copied
  std::error_code ec;
  if (FsFault("copy", staging)) ec = std::error_code(errno, std::generic_category());
  if (!ec)
    fs::copy(source, staging,
             fs::copy_options::recursive | fs::copy_options::copy_symlinks |
                 fs::copy_options::overwrite_existing,
             ec);
  if (ec)
    throw Error(fmt::format("cannot copy {} into {}: {}", Quoted(source.string()),
                            staging.parent_path().string(), ec.message()));
}

}  // namespace

bool IsTarball(const fs::path& source) {
  std::string name = source.filename().string();
  return name.ends_with(".tar.gz") || name.ends_with(".tgz");
}

void CheckSource(const fs::path& source) {
  std::error_code ec;
  if (!fs::exists(source, ec))
    throw Error(fmt::format("source {} does not exist; give a folder or a .tar.gz",
                            Quoted(source.string())));
  bool folder = fs::is_directory(source, ec);
  if (!folder && !IsTarball(source))
    throw Error(
        fmt::format("source {} is neither a folder nor a .tar.gz file", Quoted(source.string())));
  if (::access(source.c_str(), folder ? R_OK | X_OK : R_OK) != 0)
    throw Error(fmt::format(
        "source {} cannot be read by {}, whom sarge runs as for this home: {}; put it where "
        "that user can read it",
        Quoted(source.string()), UserName(::geteuid()), std::strerror(errno)));
}

void InstallSource(const Home& home, CommandRunner& runner, const fs::path& source,
                   const std::string& id) {
  // Until the release is made safe, nobody else may reach it: a device node
  // or a setuid program is a danger from the moment it exists. tar and copy
  // set the modes of the folder they fill (a tarball's "./"), so they fill
  // one inside the instance's, which stays the owner's only meanwhile.
  fs::path dir = home.InstanceDir(id);
  fs::path staging = dir / ".sarge-release";
  ChangeMode(dir, 0700);
  if (MakeDir(staging, 0700) != 0)
    throw Error(fmt::format("cannot create {}: {}", staging.string(), std::strerror(errno)));
  try {
    if (IsTarball(source))
      Unpack(runner, source, staging);
    else
      Copy(source, staging);
    MakeSafe(staging, true);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(staging, ec);
    throw;
  }
  MoveUp(staging, dir);
  ChangeMode(dir, 0755);  // nginx's workers read static routes there
}

}  // namespace sarge
