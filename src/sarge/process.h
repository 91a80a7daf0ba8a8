// What /proc says of a process: the one reader of /proc/PID/stat, for the
// lifecycle's watch on a server, the front end's nginx workers and orphaned
// servers.
#pragma once

#include <optional>
#include <set>
#include <string_view>

namespace sarge {

// What /proc/PID/stat says of a process that exists: its state letter
// (field 3; Z a zombie, X being reaped), its parent (field 4) and its start
// time (field 22, clock ticks after boot).
struct ProcStat {
  char state = '?';
  int parent = 0;
  unsigned long long start_ticks = 0;
};
// The text of /proc/PID/stat, parsed; nullopt if it is not of that form.
// The command name (field 2) may hold spaces and parentheses, so fields are
// counted from the last ')'.
std::optional<ProcStat> ParseProcStat(std::string_view text);
// nullopt if the process is gone or /proc does not show it.
std::optional<ProcStat> ReadProcStat(int pid);

// Whether a process with this pid exists, a zombie included: kill(pid, 0).
bool PidExists(int pid);

// What became of process `pid`: gone, still running, or exited and waiting
// to be reaped by its parent (a zombie, which kill(pid, 0) still finds).
enum class ProcessState { kGone, kRunning, kExited };
// One read of /proc/PID/stat; kill(pid, 0) where /proc does not show it
// (not mounted, hidepid).
ProcessState ProbeProcess(int pid);

// The processes whose parent is `parent`.
std::set<int> ChildrenOf(int parent);

}  // namespace sarge
