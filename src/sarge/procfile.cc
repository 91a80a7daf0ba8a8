#include "sarge/procfile.h"

#include <sys/stat.h>

#include <fmt/format.h>

#include "sarge/error.h"
#include "sarge/fs.h"
#include "sarge/names.h"

namespace sarge {
namespace {

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r'))
    text.remove_suffix(1);
  return text;
}

}  // namespace

bool IsTypeName(std::string_view name) {
  if (name.empty() || name.size() > kMaxTypeName || name[0] == '-') return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return true;
}

const ProcessType* Procfile::Find(std::string_view type) const {
  for (const auto& t : types)
    if (t.name == type) return &t;
  return nullptr;
}

Procfile ParseProcfile(std::string_view text, const std::string& where) {
  Procfile procfile;
  int number = 0;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = Trim(text.substr(start, end - start));
    start = end + 1;
    ++number;
    if (line.empty() || line.front() == '#') continue;
    auto fail = [&](const std::string& what) {
      throw Error(fmt::format("{} line {}: {}", where, number, what));
    };
    if (line.find('\0') != std::string_view::npos) fail("contains a NUL character");
    size_t colon = line.find(':');
    if (colon == std::string_view::npos)
      fail(fmt::format("{} is not TYPE: COMMAND", Quoted(std::string(line))));
    std::string name(Trim(line.substr(0, colon)));
    std::string command(Trim(line.substr(colon + 1)));
    if (!IsTypeName(name))
      fail(fmt::format(
          "the process type {} must be lower-case letters, digits and '-' (at most {}), not "
          "starting with '-'",
          Quoted(name), kMaxTypeName));
    if (command.empty()) fail(fmt::format("the process type {} has no command", Quoted(name)));
    if (const ProcessType* first = procfile.Find(name))
      fail(fmt::format("the process type {} is given twice (first on line {})", Quoted(name),
                       first->line));
    if (procfile.types.size() == kMaxProcessTypes)
      fail(fmt::format("more than {} process types; each runs at least one process",
                       kMaxProcessTypes));
    procfile.types.push_back({name, command, number});
  }
  return procfile;
}

Procfile CheckedProcfile(std::string_view text, const std::string& where) {
  Procfile procfile = ParseProcfile(text, where);
  if (!procfile.Find("web"))
    throw Error(
        fmt::format("{} has no web process: add a line `web: COMMAND`, or remove the "
                    "Procfile to run the executable `server`",
                    where));
  return procfile;
}

std::optional<Procfile> ReadProcfile(const Home& home, const std::string& id) {
  fs::path file = home.InstanceDir(id) / "Procfile";
  Fd fd = OpenOwnFile(file);  // a symlink or a FIFO is refused
  if (!fd.valid()) return std::nullopt;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || static_cast<size_t>(st.st_size) > kMaxProcfileBytes)
    throw Error(fmt::format("{} is larger than 64 KiB", file.string()));
  return CheckedProcfile(ReadFile(file), file.string());
}

}  // namespace sarge
