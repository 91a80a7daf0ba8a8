#include "sarge/process.h"

#include <dirent.h>
#include <signal.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <string>

#include <fmt/format.h>

#include "sarge/error.h"
#include "sarge/fs.h"

namespace sarge {

namespace {

// The number at `text[at]`; false if there is none.
template <typename Number>
bool ParseNumber(std::string_view text, size_t at, Number& out) {
  const char* begin = text.data() + at;
  auto [end, ec] = std::from_chars(begin, text.data() + text.size(), out);
  return ec == std::errc() && end != begin;
}

}  // namespace

std::optional<ProcStat> ParseProcStat(std::string_view text) {
  size_t pos = text.rfind(") ");
  if (pos == std::string_view::npos || pos + 2 >= text.size()) return std::nullopt;
  ProcStat out;
  out.state = text[pos + 2];
  ++pos;  // at the space before field 3
  // Each pass finds the space before field `field`.
  for (int field = 4; field <= 22; ++field) {
    pos = text.find(' ', pos + 1);
    if (pos == std::string_view::npos) return std::nullopt;
    if (field == 4 && !ParseNumber(text, pos + 1, out.parent)) return std::nullopt;
  }
  if (!ParseNumber(text, pos + 1, out.start_ticks)) return std::nullopt;
  return out;
}

std::optional<ProcStat> ReadProcStat(int pid) {
  if (pid <= 0) return std::nullopt;
  std::optional<std::string> text;
  try {
    text = ReadFileIfExists(fmt::format("/proc/{}/stat", pid));
  } catch (const Error&) {
    return std::nullopt;  // it went while being read
  }
  return text ? ParseProcStat(*text) : std::nullopt;
}

bool PidExists(int pid) { return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM); }

ProcessState ProbeProcess(int pid) {
  if (pid <= 0) return ProcessState::kGone;
  auto stat = ReadProcStat(pid);
  if (!stat) return PidExists(pid) ? ProcessState::kRunning : ProcessState::kGone;
  return stat->state == 'Z'   ? ProcessState::kExited
         : stat->state == 'X' ? ProcessState::kGone
                              : ProcessState::kRunning;
}

std::set<int> ChildrenOf(int parent) {
  std::set<int> children;
  DIR* proc = ::opendir("/proc");
  if (!proc) return children;
  while (dirent* entry = ::readdir(proc)) {
    int pid = std::atoi(entry->d_name);
    if (pid <= 0) continue;
    auto stat = ReadProcStat(pid);
    if (stat && stat->parent == parent) children.insert(pid);
  }
  ::closedir(proc);
  return children;
}

}  // namespace sarge
