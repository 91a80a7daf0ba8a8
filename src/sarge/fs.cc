#include "sarge/fs.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "sarge/error.h"

namespace sarge {
namespace {

// What a person can do about a failed file operation, for the causes that
// are not a bug: said after the system's message.
std::string_view Advice(int error) {
  switch (error) {
    case ENOSPC:
    case EDQUOT:
      return "; free some space and run the command again";
    case EFBIG:
      return "; the file size limit (ulimit -f) is too small";
    case EROFS:
      return "; the file system is mounted read-only";
    case EACCES:
    case EPERM:
      return "; run sarge as the user that owns the home";
    default:
      return "";
  }
}

[[noreturn]] void ThrowErrno(std::string_view what, const fs::path& path, int error = errno) {
  throw Error(
      fmt::format("cannot {} {}: {}{}", what, path.string(), std::strerror(error), Advice(error)));
}

void WriteAll(int fd, std::string_view data, const fs::path& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) ThrowErrno("write", path);
    data.remove_prefix(static_cast<size_t>(n));
  }
}

FsFaultHook& FaultHook() {
  static FsFaultHook hook;
  return hook;
}

}  // namespace

void SetFsFaultHook(FsFaultHook hook) { FaultHook() = std::move(hook); }

bool FsFault(std::string_view step, const fs::path& path) {
  const FsFaultHook& hook = FaultHook();
  if (!hook || !hook(step, path)) return false;
  errno = EIO;
  return true;
}

int Unlink(const fs::path& path) { return FsFault("unlink", path) ? -1 : ::unlink(path.c_str()); }

void ChangeMode(const fs::path& path, mode_t mode) {
  if (::chmod(path.c_str(), mode) != 0)
    ThrowErrno(fmt::format("set the mode {:04o} of", mode), path);
}

const char* SpecialKind(mode_t mode) {
  if (S_ISLNK(mode)) return "a symlink";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device node";
  return nullptr;
}

void RemoveFile(const fs::path& path) {
  if (Unlink(path) != 0 && errno != ENOENT) ThrowErrno("remove", path);
}

int Symlink(const std::string& target, const fs::path& link) {
  return FsFault("symlink", link) ? -1 : ::symlink(target.c_str(), link.c_str());
}

int MakeDir(const fs::path& path, mode_t mode) {
  return FsFault("mkdir", path) ? -1 : ::mkdir(path.c_str(), mode);
}

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

int Fd::release() {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

namespace {

// Opens a file sarge reads: never through a symlink, and only a
// regular file (a FIFO would block the command for ever, holding the home's
// lock). -1 with errno ENOENT if it does not exist; throws otherwise.
int OpenOwnFile(int dir_fd, const char* name, const fs::path& path) {
  int fd = ::openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0 && errno == ELOOP)
    throw Error(fmt::format("{} is a symlink where sarge keeps a file of its own; remove it",
                            path.string()));
  if (fd < 0) {
    if (errno == ENOENT) return -1;
    ThrowErrno("read", path);
  }
  Fd owned(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) ThrowErrno("read", path);
  if (!S_ISREG(st.st_mode))
    throw Error(fmt::format(
        "{} is not a regular file (a folder, FIFO, socket or device) where sarge keeps a file of "
        "its own; remove it",
        path.string()));
  return owned.release();
}

}  // namespace

Fd OpenOwnFile(const fs::path& path) { return Fd(OpenOwnFile(AT_FDCWD, path.c_str(), path)); }

std::optional<std::string> ReadFileIfExists(const fs::path& path) {
  Fd fd(OpenOwnFile(AT_FDCWD, path.c_str(), path));
  if (!fd.valid()) return std::nullopt;
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) ThrowErrno("read", path);
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

bool ReadReplacedFileAt(int dir_fd, const fs::path& dir, const std::string& name,
                        std::string& out) {
  out.clear();
  Fd fd(OpenOwnFile(dir_fd, name.c_str(), dir / name));
  if (!fd.valid()) return false;
  size_t chunk = std::max<size_t>(out.capacity(), 4096);
  for (;;) {
    size_t at = out.size();
    out.resize(at + chunk);
    ssize_t n = ::read(fd.get(), out.data() + at, chunk);
    if (n < 0 && errno == EINTR) {
      out.resize(at);
      continue;
    }
    if (n < 0) ThrowErrno("read", dir / name);
    out.resize(at + static_cast<size_t>(n));
    if (static_cast<size_t>(n) < chunk) return true;
    chunk *= 2;
  }
}

std::string ReadFile(const fs::path& path) {
  auto content = ReadFileIfExists(path);
  if (!content) throw Error(fmt::format("cannot read {}: it does not exist", path.string()));
  return *content;
}

AtomicFile::AtomicFile(const fs::path& path, std::string_view content, mode_t mode,
                       Durability durability)
    : path_(path), tmp_(path) {
  tmp_ += fmt::format(".tmp-{}", ::getpid());
  // Errors name `path`, the file the person knows, not the temporary one.
  if (FsFault("write", path)) ThrowErrno("write", path);
  // A new file, never one planted under the temporary name (a symlink):
  // one left by a killed command of the same pid is removed first.
  constexpr int kFlags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  Fd fd(::open(tmp_.c_str(), kFlags, mode));
  if (!fd.valid() && errno == EEXIST && ::unlink(tmp_.c_str()) == 0)
    fd = Fd(::open(tmp_.c_str(), kFlags, mode));
  if (!fd.valid()) ThrowErrno("write", path);
  try {
    WriteAll(fd.get(), content, path);
    if (::fchmod(fd.get(), mode) != 0) ThrowErrno("write", path);
    if (durability == Durability::kSynced && ::fsync(fd.get()) != 0) ThrowErrno("write", path);
  } catch (...) {
    ::unlink(tmp_.c_str());
    throw;
  }
}

AtomicFile::~AtomicFile() {
  if (!committed_) ::unlink(tmp_.c_str());
}

void AtomicFile::Commit() {
  if (FsFault("rename", path_) || ::rename(tmp_.c_str(), path_.c_str()) != 0)
    ThrowErrno("rename into place", path_);
  committed_ = true;
  // The folder is not fsynced: after a power loss the rename may be lost,
  // leaving the old file or no file — both states the next command handles —
  // and each folder fsync costs as much as the whole command (3.8 ms
  // measured here).
}

void WriteFileAtomic(const fs::path& path, std::string_view content, mode_t mode) {
  AtomicFile(path, content, mode).Commit();
}

bool WriteFileAtomicIfChanged(const fs::path& path, std::string_view content, mode_t mode) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 07777) == mode) {
    auto old = ReadFileIfExists(path);
    if (old && *old == content) return false;
  }
  WriteFileAtomic(path, content, mode);
  return true;
}

bool IsTempFileName(std::string_view name) { return name.find(".tmp-") != std::string_view::npos; }

fs::path MakeDirs(const fs::path& path, mode_t mode, bool symlink_ok) {
  if (FsFault("create", path)) ThrowErrno("create", path);
  fs::path first_missing;
  // Usually only the last folder is missing: one mkdir, and no stat of it
  // and its parents before and after, as fs::create_directories makes.
  std::error_code ec;
  int error = ::mkdir(path.c_str(), 0777) == 0 ? 0 : errno;
  if (error == EEXIST && !symlink_ok && fs::is_symlink(path, ec))
    throw Error(
        fmt::format("{} is a symlink where sarge keeps a folder; remove it (sarge HOME "
                    "check --repair does)",
                    path.string()));
  if (error == 0) {
    first_missing = path;
  } else if (error == EEXIST && fs::is_directory(path, ec)) {
    // There already: nothing created.
  } else {
    if (error != ENOENT && error != EEXIST) ThrowErrno("create", path, error);
    for (fs::path p = path; !p.empty() && p != p.parent_path(); p = p.parent_path()) {
      if (fs::exists(p, ec) || ec) break;
      first_missing = p;
    }
    fs::create_directories(path, ec);
    if (ec) ThrowErrno("create", path, ec.value());
  }
  if (mode != 0755) ::chmod(path.c_str(), mode);
  return first_missing;
}

void RemoveAll(const fs::path& path) {
  if (FsFault("remove", path)) ThrowErrno("remove", path);
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) ThrowErrno("remove", path, ec.value());
}

FileLock::FileLock(const fs::path& path, const std::function<void()>& on_wait) {
  fd_ = Fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600));
  if (!fd_.valid()) ThrowErrno("open lock file", path);
  if (::flock(fd_.get(), LOCK_EX | LOCK_NB) == 0) return;
  if (errno != EWOULDBLOCK) ThrowErrno("lock", path);
  if (on_wait) on_wait();
  while (::flock(fd_.get(), LOCK_EX) != 0) {
    if (errno != EINTR) ThrowErrno("lock", path);
  }
}

}  // namespace sarge
