// What a person wants to see: `status` (a table of instances) and `logs`
// (an instance's log, followed live).
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sarge/env.h"
#include "sarge/home.h"

namespace sarge {

// One row per instance of `list` (the JSON of ListInstances) with what the
// front end routes to: id, application, state, pid, uptime (seconds, or
// null when not running), ports (numbers), active, last exit reason. `now`
// is the current unix time, for uptimes.
nlohmann::json StatusRows(const Home& home, const nlohmann::json& listing, int64_t now);

// The rows as an aligned table; ANSI colour for the state if `colour`.
std::string StatusTable(const nlohmann::json& rows, bool colour);

// `cells` (a header row, then the rows) in columns two spaces apart, no
// trailing blanks; with `colour`, the header in bold and the cells of
// `state_column` coloured by state.
std::string AlignedTable(const std::vector<std::vector<std::string>>& cells, bool colour,
                         int state_column = -1);

// Writes the last `lines` lines of the instance's log to `out` (none for
// 0), however long the log; with `follow`, keeps writing what is appended,
// across rotation (the file renamed and reopened, or truncated), until the
// process is interrupted or `out` fails. `id` may be an application's name:
// the log of the instance that serves it. `process` picks another process's
// log than the first web one's: TYPE (its first) or TYPE.N. Throws Error for
// an unknown id or process.
void ShowLog(Env& env, const std::string& id, const std::string& process, int lines, bool follow,
             std::ostream& out);

// `status`: the rows of every instance (or only those of `id`: an
// instance's id, else an application's name) on `out`, as a
// table (coloured if `colour`) or as JSON. Returns 1, having said how to
// start it, when supervisord is not running: the states are unknown.
int StatusCommand(Env& env, const std::string& id, bool json_output, bool colour,
                  std::ostream& out);

}  // namespace sarge
