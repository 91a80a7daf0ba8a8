// `sarge HOME check [--repair]`: the home's invariants, verified, and what an
// interrupted command left behind, finished or undone.
#pragma once

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "sarge/front_end.h"
#include "sarge/lifecycle.h"

namespace sarge {

struct Finding {
  std::string problem;  // what is wrong, one line
  std::string repair;   // what --repair did, empty if it did nothing
  bool repairable = false;
};

// Checks, holding the home's lock (the caller takes it):
//  - no temporary file of an interrupted write is left;
//  - every record reads and has its folder, every instance folder its
//    record (an interrupted destroy or new);
//  - every program file, port claim, runtime and scratch folder belongs to
//    a record;
//  - supervisord (when it runs) has no program without a record and runs
//    every instance whose record says so (a stopped program it keeps loaded,
//    as a failed start leaves it, is no problem; --repair unloads it);
//  - every application's front end routes to an instance that exists and
//    runs, and nginx serves what its site file says;
//  - no deploy was cut off (var/run/deploys/ID): before its switch it is
//    undone (the new instance destroyed, the site file put back to what
//    nginx serves), after it finished (the previous instances stopped, as
//    many kept as sarge.yaml says). Whether it switched is what nginx
//    answers when it is configured, else the site file: the instance nginx
//    serves is never stopped.
// With `repair`, fixes what can be fixed without losing anything a person
// made; the rest is reported with what to do.
std::vector<Finding> CheckHome(Env& env, bool repair);

// `check`: prints each finding on `out`, with `repair` fixing what it can
// (noted in the action log). Returns 0 if the home is consistent; throws
// Error if problems remain.
int CheckCommand(Env& env, bool repair, std::ostream& out);

}  // namespace sarge
