#include "sarge/processes.h"

#include <charconv>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sarge/error.h"
#include "sarge/fs.h"
#include "sarge/names.h"
#include "sarge/procfile.h"

namespace sarge {

std::string ProgramName(std::string_view id, std::string_view type, int index) {
  if (type == "web" && index == 1) return std::string(id);
  return fmt::format("{}.{}.{}", id, type, index);
}

std::string InstanceOfProgram(std::string_view program) {
  return std::string(program.substr(0, program.find('.')));
}

std::optional<Process> ParseProgram(std::string_view program) {
  std::string id = InstanceOfProgram(program);
  if (!IsSafeName(id)) return std::nullopt;
  if (id == program) return Process{"web", 1, id};
  std::string_view rest = program.substr(id.size() + 1);
  size_t dot = rest.rfind('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::string type(rest.substr(0, dot));
  std::string_view digits = rest.substr(dot + 1);
  if (!IsTypeName(type) || digits.empty() || digits.size() > 2 || !AllDigits(digits) ||
      digits[0] == '0')
    return std::nullopt;
  int index = std::stoi(std::string(digits));
  if (index > kMaxProcessesPerType || ProgramName(id, type, index) != program) return std::nullopt;
  return Process{type, index, std::string(program)};
}

std::vector<Process> ProcessesOf(std::string_view id, const ProcessCounts& counts) {
  std::vector<Process> out;
  auto add = [&](const std::string& type, int count) {
    for (int i = 1; i <= count; ++i) out.push_back({type, i, ProgramName(id, type, i)});
  };
  auto web = counts.find("web");
  add("web", web == counts.end() ? 1 : std::max(web->second, 1));
  for (const auto& [type, count] : counts)
    if (type != "web") add(type, count);
  return out;
}

std::vector<Process> ProcessesOf(const Record& record) {
  return ProcessesOf(record.id, record.processes);
}

namespace {

// A count as `scale` takes it: digits only, 0 to kMaxProcessesPerType.
std::optional<int> ParseCount(std::string_view text) {
  int n = -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty() || text[0] == '+' ||
      n < 0 || n > kMaxProcessesPerType)
    return std::nullopt;
  return n;
}

}  // namespace

ProcessCounts LoadScale(const Home& home, const std::string& app) {
  fs::path file = home.AppScaleFile(app);
  auto text = ReadFileIfExists(file);
  if (!text) return {};
  nlohmann::json value = nlohmann::json::parse(*text, nullptr, false);
  ProcessCounts counts;
  if (value.is_object())
    for (const auto& item : value.items())
      if (IsTypeName(item.key()) && item.value().is_number_integer() &&
          item.value().get<int64_t>() >= 0 && item.value().get<int64_t>() <= kMaxProcessesPerType)
        counts[item.key()] = item.value().get<int>();
  if (!value.is_object() || counts.size() != value.size())
    throw Error(fmt::format(
        "{} is not an object of process counts (0 to {}); remove it, then set them again with "
        "sarge {} scale {} TYPE=N",
        file.string(), kMaxProcessesPerType, home.root.string(), app));
  return counts;
}

void SaveScale(const Home& home, const std::string& app, const ProcessCounts& counts) {
  MakeDirs(home.AppDir(app), 0700);
  WriteFileAtomic(home.AppScaleFile(app), nlohmann::json(counts).dump(2) + "\n", 0600);
}

ProcessCounts CountsToStart(const Home& home, const Record& record) {
  ProcessCounts scale = LoadScale(home, record.application_name);
  auto procfile = ReadProcfile(home, record.id);
  if (!procfile) return {{"web", std::max(scale.contains("web") ? scale["web"] : 1, 1)}};
  ProcessCounts counts;
  for (const auto& type : procfile->types) {
    if (type.name == "release") continue;
    auto it = scale.find(type.name);
    counts[type.name] = it == scale.end() ? 1 : it->second;
  }
  counts["web"] = std::max(counts["web"], 1);
  return counts;
}

std::vector<std::string> ProgramsInFile(const Home& home, const std::string& id) {
  auto text = ReadFileIfExists(home.ProgramFile(id));
  if (!text) return {id};
  std::vector<std::string> programs;
  constexpr std::string_view kStart = "\n[program:";
  for (size_t at = text->find(kStart); at != std::string::npos; at = text->find(kStart, at + 1)) {
    size_t from = at + kStart.size(), end = text->find("]\n", from);
    if (end == std::string::npos) break;
    std::string program = text->substr(from, end - from);
    if (InstanceOfProgram(program) == id && ParseProgram(program))
      programs.push_back(std::move(program));
  }
  if (programs.empty()) programs.push_back(id);
  return programs;
}

ProcessCounts ParseScale(const std::vector<std::string>& words) {
  if (words.empty()) throw UsageError("give at least one TYPE=N, as in web=2 worker=1");
  ProcessCounts counts;
  for (const auto& word : words) {
    size_t eq = word.find('=');
    std::string type = word.substr(0, eq);
    if (eq == std::string::npos || !IsTypeName(type))
      throw Error(fmt::format("{} is not TYPE=N (a process type of the Procfile, as in worker=2)",
                              Quoted(word)));
    auto count = ParseCount(std::string_view(word).substr(eq + 1));
    if (!count)
      throw Error(fmt::format("{}: the number of {} processes must be a whole number from 0 to {}",
                              Quoted(word), type, kMaxProcessesPerType));
    if (type == "web" && *count == 0)
      throw Error(
          "web=0 would leave the application nothing to serve requests; scale web to 1 "
          "or more (stop an instance with sarge HOME stop ID)");
    if (counts.contains(type))
      throw Error(fmt::format("the process type {} is given twice", Quoted(type)));
    counts[type] = *count;
  }
  return counts;
}

}  // namespace sarge
