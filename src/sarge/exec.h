// Replacing the sarge process with an instance's server (`launch`, which
// supervisord runs) or a shell in its environment (`run`).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "sarge/env.h"
#include "sarge/home.h"
#include "sarge/records.h"

namespace sarge {

// The argv that runs a process of `type` of an instance: its Procfile's
// command for that type (as `bash -c`), else (web) the executable `server`,
// or bash sourcing the prerun file first. Values are passed as arguments,
// never spliced into the script text. Throws Error for a type it lacks.
std::vector<std::string> ServerArgv(const Home& home, const Record& record,
                                    const std::string& type = "web");

// The argv for `run`: `command` (joined with spaces, as ssh does) run the way
// `bash -c` would after sourcing prerun; without a command, an interactive
// bash on a terminal, else bash reading commands from stdin.
std::vector<std::string> RunArgv(const Home& home, const Record& record,
                                 const std::vector<std::string>& command, bool stdin_is_tty);

// chdir()s into the instance folder and execs `argv` with the inherited
// environment plus `extra`. Throws Error if it cannot.
[[noreturn]] void ExecInInstance(const Home& home, const std::string& id,
                                 const std::vector<std::string>& argv,
                                 const std::map<std::string, std::string>& extra);

// `run`: replaces this process with bash in the instance, given an Env
// without the home's lock (taken only if the runtime configuration must be
// written again).
[[noreturn]] void RunInInstance(Env& env, const std::string& id,
                                const std::vector<std::string>& command, bool stdin_is_tty);
// `launch`: replaces this process with one of an instance's processes
// (what supervisord runs; `program` as processes.h names it: ID, or
// ID.TYPE.N), as RunInInstance, with SARGE_PROCESS=TYPE.N.
[[noreturn]] void LaunchServer(Env& env, const std::string& program);

}  // namespace sarge
