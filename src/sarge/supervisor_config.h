// The files sarge generates for supervisord and the home's shortcuts.
// Every value written here passes through an escaping function that either
// makes it inert or refuses it: nothing from a configuration can add a line,
// a section or an interpolation to supervisord's configuration.
#pragma once

#include <string>
#include <string_view>

#include "sarge/home.h"
#include "sarge/processes.h"
#include "sarge/settings.h"

namespace sarge {

// `value` for a supervisord configuration value: '%' doubled (Python
// %-interpolation). Throws Error for characters that would end the value or
// start a comment (newlines, control characters, ';', '#'), and for white
// space at either end, which supervisord would strip.
std::string SupervisorValue(std::string_view value);

// `value` quoted for a POSIX shell (and supervisord's shlex-split command=).
std::string ShellQuote(std::string_view value);

// etc/supervisord.conf: socket, pid file, logs, and the include of every
// program file in etc/supervisor.d — or, with `only`, of that one file.
std::string SupervisordConf(const Home& home, const std::string& only = "");

// Writes etc/supervisord.conf (atomically, only if it differs): the full
// include, or with `only` the one program file (see lifecycle.cc).
void WriteSupervisordConf(const Home& home, const std::string& only = "");

// etc/supervisor.d/ID.conf: one [program:NAME] per process `counts` make
// (processes.h; web alone if empty), each running `bin/sarge launch NAME` in
// the instance folder, output to var/log/NAME.log, never started by itself.
std::string ProgramConf(const Home& home, const std::string& id, const Settings& settings,
                        const ProcessCounts& counts = {});

// The bin/ shortcuts.
std::string SargeShortcut(const Home& home, const fs::path& sarge_binary);
std::string SupervisordShortcut(const Home& home, const std::string& supervisord);
std::string SupervisorctlShortcut(const Home& home, const std::string& supervisorctl);

// etc/sarge-supervisord.service: a systemd unit running bin/supervisord as `user`.
std::string SystemdUnit(const Home& home, const std::string& user);

}  // namespace sarge
