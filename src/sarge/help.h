// The command line's help texts, rendered from what the command table says
// of each command and from the arguments the command declares on CLI11, so
// the help can never disagree with what is parsed.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace sarge {

// What a row of the command table says about its command, for people.
struct CommandText {
  std::string name;
  std::string help;       // one line, lower case, no full stop
  std::string group;      // heading in the general help
  std::string example;    // the words after `sarge /var/local/gardensale NAME`
  std::string details;    // a paragraph after the one line
  std::string rest;       // usage of words after the declared arguments, e.g. "[COMMAND...]"
  std::string rest_help;  // what those words are
  bool hidden = false;    // left out of the general help
};

// `sarge help NAME`: the usage line ("usage: sarge HOME NAME ARG [--opt V]"),
// a paragraph, the arguments and options `app` declares (with their
// metavariables, set by type_name), an example and the exit statuses.
std::string RenderCommandHelp(const CommandText& command, const CLI::App& app);

// `sarge --help`: the usage, what sarge is, the commands that are not
// hidden under their group headings, and the exit statuses.
std::string RenderGeneralHelp(const std::vector<CommandText>& commands);

// `text`'s words in lines of at most 80 columns: the first continues from
// `first_column`, the others start after `indent` spaces.
std::string Wrap(const std::string& text, size_t indent, size_t first_column);

}  // namespace sarge
