#include "sarge/orphans.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "sarge/error.h"
#include "sarge/fs.h"
#include "sarge/names.h"
#include "sarge/process.h"
#include "sarge/processes.h"

namespace sarge {
using namespace std::chrono_literals;

fs::path ServerPidFile(const Home& home, const std::string& program) {
  std::string id = InstanceOfProgram(program);
  if (id == program) return home.RuntimeDir(id) / "server.pid";
  return home.RuntimeDir(id) / (program.substr(id.size() + 1) + ".pid");
}

void RememberServer(const Home& home, const std::string& program) {
  int pid = static_cast<int>(::getpid());
  auto stat = ReadProcStat(pid);
  if (!stat) return;  // no /proc: orphans cannot be told from reused pids
  // Written in place, not through a temporary file and a rename: launch
  // holds no lock, and a `check` running meanwhile must not find a
  // temporary file (nor one left if launch is killed mid-write). A reader
  // that sees it half-written finds no orphan, which is what it was.
  std::string line = fmt::format("{} {}\n", pid, stat->start_ticks);
  Fd fd(::open(ServerPidFile(home, program).c_str(),
               O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600));
  if (fd.valid()) (void)!::write(fd.get(), line.data(), line.size());
}

std::optional<int> LiveServer(const Home& home, const std::string& program) {
  std::optional<std::string> text;
  try {
    text = ReadFileIfExists(ServerPidFile(home, program));
  } catch (const Error&) {
    return std::nullopt;
  }
  if (!text) return std::nullopt;
  int pid = 0;
  unsigned long long ticks = 0;
  const char* p = text->data();
  const char* end = p + text->size();
  auto r1 = std::from_chars(p, end, pid);
  if (r1.ec != std::errc() || pid <= 1 || r1.ptr == end || *r1.ptr != ' ') return std::nullopt;
  auto r2 = std::from_chars(r1.ptr + 1, end, ticks);
  if (r2.ec != std::errc()) return std::nullopt;
  auto now = ReadProcStat(pid);
  if (!now || now->start_ticks != ticks || now->state == 'Z') return std::nullopt;
  // The file is in a folder the instance's server can write: only a process
  // of this user running from the instance's folder is taken for its server.
  struct stat proc;
  if (::stat(fmt::format("/proc/{}", pid).c_str(), &proc) != 0 || proc.st_uid != ::geteuid())
    return std::nullopt;
  std::error_code ec;
  if (fs::read_symlink(fmt::format("/proc/{}/cwd", pid), ec) !=
      home.InstanceDir(InstanceOfProgram(program)))
    return std::nullopt;
  return pid;
}

namespace {

// The inodes of the sockets listening on TCP `ports`.
std::set<std::string> ListeningSockets(const std::set<int>& ports) {
  std::set<std::string> inodes;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::optional<std::string> text;
    try {
      text = ReadFileIfExists(table);
    } catch (const Error&) {
    }
    std::istringstream lines(text.value_or(""));
    std::string line;
    std::getline(lines, line);  // the heading
    // "sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode …"
    while (std::getline(lines, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state, skip, inode;
      fields >> slot >> local >> remote >> state >> skip >> skip >> skip >> skip >> skip >> inode;
      // "0100007F:1F90": the port in hexadecimal after the colon.
      auto colon = local.rfind(':');
      if (state != "0A" || colon == std::string::npos) continue;
      if (ports.contains(static_cast<int>(std::strtol(local.c_str() + colon + 1, nullptr, 16))))
        inodes.insert(inode);
    }
  }
  return inodes;
}

// The parent of `pid`, or 0.
int ParentOf(int pid) {
  auto stat = ReadProcStat(pid);
  return stat ? stat->parent : 0;
}

bool RunsFrom(const fs::path& proc, const fs::path& dir) {
  std::error_code ec;
  fs::path cwd = fs::read_symlink(proc / "cwd", ec);
  if (ec) return false;
  auto [end, at] = std::mismatch(dir.begin(), dir.end(), cwd.begin(), cwd.end());
  return end == dir.end();
}

bool Holds(const fs::path& proc, const std::set<std::string>& sockets) {
  std::error_code ec;
  for (const auto& fd : fs::directory_iterator(proc / "fd", ec)) {
    std::error_code link_ec;
    std::string target = fs::read_symlink(fd.path(), link_ec).string();
    if (target.starts_with("socket:[") && sockets.contains(target.substr(8, target.size() - 9)))
      return true;
  }
  return false;
}

}  // namespace

bool DescendsFrom(int pid, int ancestor) {
  for (int depth = 0; pid > 1 && depth < 64; ++depth, pid = ParentOf(pid))
    if (pid == ancestor) return true;
  return false;
}

namespace {

// The processes of this user running from `dir` that are not `supervisor`'s
// descendants and for which `keep(pid, proc)` holds.
template <typename Keep>
std::vector<int> ProcessesOutside(const fs::path& dir, int supervisor, Keep keep) {
  std::vector<int> pids;
  std::error_code ec;
  for (const auto& proc : fs::directory_iterator("/proc", ec)) {
    std::string name = proc.path().filename().string();
    struct stat st;
    if (!AllDigits(name) || ::stat(proc.path().c_str(), &st) != 0 || st.st_uid != ::geteuid())
      continue;
    int pid = std::stoi(name);
    if (RunsFrom(proc.path(), dir) && keep(pid, proc.path()) && !DescendsFrom(pid, supervisor))
      pids.push_back(pid);
  }
  return pids;
}

}  // namespace

std::vector<int> StrayListeners(const fs::path& dir, int supervisor, const std::set<int>& ports) {
  std::set<std::string> sockets = ListeningSockets(ports);
  if (sockets.empty()) return {};
  return ProcessesOutside(dir, supervisor,
                          [&](int, const fs::path& proc) { return Holds(proc, sockets); });
}

std::vector<int> StraysStartedSince(const fs::path& dir, int supervisor, unsigned long long since) {
  const int self = static_cast<int>(::getpid());
  return ProcessesOutside(dir, supervisor, [&](int pid, const fs::path&) {
    auto stat = ReadProcStat(pid);
    return stat && stat->state != 'Z' && stat->start_ticks >= since && !DescendsFrom(pid, self);
  });
}

void StopOrphan(Env& env, int pid, std::chrono::milliseconds grace) {
  // The group first (the server's own children), then the pid itself in
  // case it left its group.
  auto signal_all = [&](int sig) {
    env.system.Signal(-pid, sig);
    env.system.Signal(pid, sig);
  };
  auto runs = [&] { return env.system.Process(pid) == ProcessState::kRunning; };
  signal_all(SIGTERM);
  auto deadline = env.clock.Now() + grace;
  while (runs() && env.clock.Now() < deadline) env.clock.Sleep(10ms);
  if (!runs()) return;
  signal_all(SIGKILL);
  deadline = env.clock.Now() + 2s;
  while (runs() && env.clock.Now() < deadline) env.clock.Sleep(10ms);
  if (runs())
    throw Error(fmt::format("the orphan server process {} survived SIGKILL; stop it by hand", pid));
}

}  // namespace sarge
