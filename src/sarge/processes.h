// An instance's processes: one supervisord program each, from the types of
// its Procfile (`web` alone without one) and the application's scale
// (`scale APP TYPE=N`, etc/apps/APP/scale.json). The first web process is
// the program named after the instance (as before Procfiles had types);
// every other is `ID.TYPE.N` (an id has no '.', so the names never clash),
// its log var/log/ID.TYPE.N.log, its pid file var/run/ID/TYPE.N.pid.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sarge/home.h"
#include "sarge/records.h"

namespace sarge {

// How many processes of each type; `web` at least one.
using ProcessCounts = std::map<std::string, int>;

// The most processes of one type.
inline constexpr int kMaxProcessesPerType = 32;

struct Process {
  std::string type;
  int index = 1;        // 1-based
  std::string program;  // supervisord's name for it
  std::string Label() const { return type + "." + std::to_string(index); }  // "worker.2"
};

// The program of process `index` of `type` in the instance `id`.
std::string ProgramName(std::string_view id, std::string_view type, int index);

// The instance a program belongs to (its name up to the first '.').
std::string InstanceOfProgram(std::string_view program);

// The process `program` names, if it is a name ProgramName gives (an
// instance id; or ID.TYPE.N with a type name and N from 1 to
// kMaxProcessesPerType); nullopt for anything else (a path, a '..').
std::optional<Process> ParseProgram(std::string_view program);

// The processes `counts` make, web first, then the other types by name.
std::vector<Process> ProcessesOf(std::string_view id, const ProcessCounts& counts);

// The processes of the instance as it was last started (record.processes;
// web alone if it never was).
std::vector<Process> ProcessesOf(const Record& record);

// The application's counts as `scale` set them (type -> N); empty if never.
// Throws Error naming the file if it is malformed.
ProcessCounts LoadScale(const Home& home, const std::string& app);
void SaveScale(const Home& home, const std::string& app, const ProcessCounts& counts);

// The counts the instance runs with when it starts now: each process type
// of its Procfile (`release` is no process) as the application's scale
// says, 1 for a type it does not name; `web` alone (as scaled) without a
// Procfile.
ProcessCounts CountsToStart(const Home& home, const Record& record);

// The programs etc/supervisor.d/ID.conf defines (what supervisord was
// given for the instance); just `id` if there is no such file.
std::vector<std::string> ProgramsInFile(const Home& home, const std::string& id);

// `TYPE=N` words of `scale`: checked (a type name, N a whole number from 0
// to kMaxProcessesPerType, web at least 1). Throws Error naming the word.
ProcessCounts ParseScale(const std::vector<std::string>& words);

}  // namespace sarge
