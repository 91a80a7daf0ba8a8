// The command table rendered for the man page and the bash completion. The
// build runs `sarge generate-docs` and fills these into packaging/sarge.1.in
// and packaging/bash-completion.in, so neither can drift from the commands.
#pragma once

#include <map>
#include <string>

#include <CLI/CLI.hpp>

namespace sarge {

// roff for the man page's COMMANDS section: for each visible subcommand of
// `app` (hidden ones, in group "", are left out), a .TP entry with its
// synopsis and help, and its options other than --help indented below.
std::string ManPageCommands(const CLI::App& app, const std::map<std::string, std::string>& rests);

// bash that sets the tables packaging/bash-completion.in reads:
// _sarge_commands (the visible commands), _sarge_global_options, and
// associative arrays keyed by command: _sarge_options (every option),
// _sarge_valued_options (those that take a value) and _sarge_arguments (the
// positional arguments' names, "NAME..." for a command taking the rest).
std::string BashCompletionTable(const CLI::App& app);

// The man page's name for an option's value: N for a number, else the last
// word of its long name in capitals (--check-url: URL).
std::string ValueName(const CLI::Option& option);

// `text` safe in a roff text line: backslashes and hyphens escaped, a
// leading '.' or '\'' neutralised.
std::string RoffEscape(const std::string& text);

}  // namespace sarge
