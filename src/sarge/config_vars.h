// An application's variables (`config set APP KEY=VALUE`): kept the owner's
// only in etc/apps/APP/vars.json, copied into each new instance's own file
// (etc/vars/ID.json), which its server's environment gets over the
// configuration's env. So an instance keeps the values it was made with,
// and a rollback brings back those of its time. Values are never said:
// not in records, program files, the action log or error messages.
#pragma once

#include <istream>
#include <map>
#include <string>
#include <vector>

#include "sarge/home.h"

namespace sarge {

using Vars = std::map<std::string, std::string>;

// The application's variables; empty if it has none. Throws Error if the
// file cannot be read or is not an object of strings.
Vars LoadAppVars(const Home& home, const std::string& app);
void SaveAppVars(const Home& home, const std::string& app, const Vars& vars);

// The variables instance `id` was made with; empty if none.
Vars LoadInstanceVars(const Home& home, const std::string& id);
// Writes them (nothing if `vars` is empty); RemoveInstanceVars removes the
// file if it exists.
void SaveInstanceVars(const Home& home, const std::string& id, const Vars& vars);
void RemoveInstanceVars(const Home& home, const std::string& id);

// `KEY=VALUE` words, as `config set` takes them. Throws Error naming the
// word's key (never its value) if one is not of that form.
Vars ParseAssignments(const std::vector<std::string>& words);
// NAME=VALUE lines from `in` (standard input: values kept off the command
// line), as ParseAssignments takes words; empty lines are skipped. Throws
// Error past 1 MiB.
Vars ReadAssignments(std::istream& in);

// Throws Error unless `name` may be an application's variable: an
// environment variable's name that neither sarge nor one of `reserved` (the
// names its services define) sets.
void CheckVarName(const std::string& name, const std::vector<std::string>& reserved);

}  // namespace sarge
