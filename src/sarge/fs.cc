#include "sarge/fs.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "sarge/error.h"

namespace sarge {
namespace {

[[noreturn]] void ThrowErrno(std::string_view what, const fs::path& path) {
  throw Error(fmt::format("cannot {} {}: {}", what, path.string(), std::strerror(errno)));
}

void WriteAll(int fd, std::string_view data, const fs::path& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) ThrowErrno("write", path);
    data.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

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

std::optional<std::string> ReadFileIfExists(const fs::path& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return std::nullopt;
    ThrowErrno("read", path);
  }
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

std::string ReadFile(const fs::path& path) {
  auto content = ReadFileIfExists(path);
  if (!content) throw Error(fmt::format("cannot read {}: it does not exist", path.string()));
  return *content;
}

void WriteFileAtomic(const fs::path& path, std::string_view content, mode_t mode) {
  fs::path tmp = path;
  tmp += fmt::format(".tmp-{}", ::getpid());
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd.valid()) ThrowErrno("create", tmp);
  try {
    WriteAll(fd.get(), content, tmp);
    if (::fchmod(fd.get(), mode) != 0) ThrowErrno("chmod", tmp);
    if (::fsync(fd.get()) != 0) ThrowErrno("fsync", tmp);
    if (::rename(tmp.c_str(), path.c_str()) != 0) ThrowErrno("rename into place", path);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  // The folder is not fsynced: after a power loss the rename may be lost,
  // leaving the old file or no file — both states the next command handles —
  // and each folder fsync costs as much as the whole command (3.8 ms
  // measured here).
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

void MakeDirs(const fs::path& path, mode_t mode) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) throw Error(fmt::format("cannot create {}: {}", path.string(), ec.message()));
  if (mode != 0755) ::chmod(path.c_str(), mode);
}

void RemoveAll(const fs::path& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) throw Error(fmt::format("cannot remove {}: {}", path.string(), ec.message()));
}

FileLock::FileLock(const fs::path& path, const std::function<void()>& on_wait) {
  fd_ = Fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd_.valid()) ThrowErrno("open lock file", path);
  if (::flock(fd_.get(), LOCK_EX | LOCK_NB) == 0) return;
  if (errno != EWOULDBLOCK) ThrowErrno("lock", path);
  if (on_wait) on_wait();
  while (::flock(fd_.get(), LOCK_EX) != 0) {
    if (errno != EINTR) ThrowErrno("lock", path);
  }
}

}  // namespace sarge
