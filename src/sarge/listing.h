// What `list` and `status` say of one instance: its record with the live
// state from supervisord merged in.
#pragma once

#include <nlohmann/json.hpp>

#include "sarge/records.h"
#include "sarge/supervisor.h"

namespace sarge {

// The live members of an instance: "state" (null when supervisord is not
// running, STOPPED when it has not loaded the program), and "pid",
// "started" (unix time), "exit_status" and "spawn_error" when they apply.
nlohmann::json LiveState(const ProcessInfo* info, bool supervisord_up);

// The record's JSON with LiveState merged in.
nlohmann::json Describe(Record&& record, const ProcessInfo* info, bool supervisord_up);

// `list`: {"instances": [...]} with each record and, if supervisord
// answers, its live state and pid ("state": null when supervisord is not
// running). An instance with processes besides its first web one has
// "processes": [{"process": "worker.1", "program", live state}, ...], the
// first web process's state repeated first.
nlohmann::json ListInstances(const Home& home, Supervisor& supervisor);

}  // namespace sarge
