// Small filesystem helpers: whole-file reads, atomic writes, RAII handles.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace sarge {

namespace fs = std::filesystem;

// Owns a file descriptor; closes it on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release();

 private:
  int fd_ = -1;
};

// Opens a file of sarge's own in a home for reading (a record, a log):
// never through a symlink, and only a regular file, so that nothing planted
// there makes sarge read another file or wait for ever (a FIFO). Invalid if
// it does not exist; throws Error naming the path for a symlink or anything
// not a regular file, and for other errors.
Fd OpenOwnFile(const fs::path& path);

// Returns the file's contents; throws Error naming the path if it cannot be
// read. Opened as OpenOwnFile does.
std::string ReadFile(const fs::path& path);

// Like ReadFile, but returns nullopt when the file does not exist.
std::optional<std::string> ReadFileIfExists(const fs::path& path);

// Reads `name` in `dir`, open as `dir_fd`, for folders of many small files
// replaced only by rename: it stops at the first short read, which on Linux
// a regular file gives only at its end, and so saves the read that would
// return 0. The text goes into `out`, whose capacity is reused from one file
// to the next; false if the file does not exist.
bool ReadReplacedFileAt(int dir_fd, const fs::path& dir, const std::string& name, std::string& out);

// Replaces `path` with `content` atomically: writes "<path>.tmp-<pid>", fsyncs
// it and renames it over `path`. A reader, or a crash, sees the old or the
// new file, never a half-written one. `mode` is the new file's mode: by
// default the owner's only, as everything under etc/ holds configuration.
void WriteFileAtomic(const fs::path& path, std::string_view content, mode_t mode = 0600);

// Whether a replaced file must survive a power loss. kRebuilt is for a file
// sarge computes again from the records whenever it finds it missing or
// unreadable (an instance's appcfg.json): it is not fsynced, which saves a
// command the cost of one fsync (0.2-1.4 ms here), and after a power loss it
// may be empty until the next command that needs it rewrites it.
enum class Durability { kSynced, kRebuilt };

// A file replaced atomically in two steps, so a command can write it, do
// something else that may fail, and only then put it in place. The
// constructor writes "<path>.tmp-<pid>" and fsyncs it unless `durability`
// says otherwise (throws Error naming `path` if it cannot); Commit() renames
// it over `path`. Destroyed without Commit(), it removes the temporary file
// and `path` is as it was.
class AtomicFile {
 public:
  AtomicFile(const fs::path& path, std::string_view content, mode_t mode = 0600,
             Durability durability = Durability::kSynced);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  void Commit();

 private:
  fs::path path_, tmp_;
  bool committed_ = false;
};

// WriteFileAtomic unless the file already holds exactly `content`.
// Returns true when it wrote.
bool WriteFileAtomicIfChanged(const fs::path& path, std::string_view content, mode_t mode = 0600);

// True for the temporary names WriteFileAtomic uses, so scans can skip them.
bool IsTempFileName(std::string_view name);

// Creates `path` and its parents, then gives it `mode` (0755 is left to the
// umask); throws Error on failure, and for a symlink at `path` unless
// `symlink_ok` (a folder an operator may put on another disk: var/log,
// var/data/NAME). Returns the highest folder it created, empty when `path`
// was there already.
fs::path MakeDirs(const fs::path& path, mode_t mode = 0755, bool symlink_ok = false);

// Removes `path` recursively if it exists; throws Error on failure.
void RemoveAll(const fs::path& path);

// Removes the file `path` through the fault seam below; one already gone is
// no error. Throws Error naming it, with what to do, otherwise.
void RemoveFile(const fs::path& path);

// Gives `path` `mode` (chmod); throws Error naming it, with what to do.
void ChangeMode(const fs::path& path, mode_t mode);

// What an entry of `mode` is when it is neither a regular file nor a
// folder: "a symlink", "a FIFO", "a socket", "a device node"; nullptr for
// a file or a folder.
const char* SpecialKind(mode_t mode);

// unlink(2), symlink(2) and mkdir(2) through the fault seam below: -1 with
// errno set on failure, as the system calls.
int Unlink(const fs::path& path);
int Symlink(const std::string& target, const fs::path& link);
int MakeDir(const fs::path& path, mode_t mode);

// The filesystem's fault seam, for tests (LevelDB's fault-injection Env in
// miniature). Every change sarge makes to its home goes through one of the
// functions of this file, and each first asks FsFault(step, path): while a
// test's hook answers true, that step fails as if its system call had
// failed with EIO. Without a hook (always, outside tests) it costs one test
// of an empty std::function.
using FsFaultHook = std::function<bool(std::string_view step, const fs::path& path)>;
void SetFsFaultHook(FsFaultHook hook);
// True (with errno set to EIO) when the hook wants this step to fail.
bool FsFault(std::string_view step, const fs::path& path);

// An exclusive advisory lock (flock) held for the object's lifetime.
class FileLock {
 public:
  // Blocks until the lock on `path` is held. If another process holds it,
  // `on_wait` is called once before blocking (to tell the user why).
  FileLock(const fs::path& path, const std::function<void()>& on_wait);

 private:
  Fd fd_;
};

}  // namespace sarge
