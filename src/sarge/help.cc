#include "sarge/help.h"

#include <cctype>
#include <sstream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

namespace sarge {
namespace {

constexpr const char* kExitStatus = "Exit status: 0 success, 1 the command failed, 2 bad usage.";
constexpr const char* kExampleHome = "/var/local/gardensale";
constexpr size_t kWidth = 80;
constexpr size_t kCommandColumn = 14;
constexpr size_t kOptionColumn = 20;

// Two columns: "  LEFT" padded to `column`, then `right` wrapped there; a
// LEFT too wide for its column gets a line of its own.
std::string Row(const std::string& left, const std::string& right, size_t column) {
  std::string line = "  " + left;
  if (line.size() + 2 > column)
    line += "\n" + std::string(column, ' ');
  else
    line += std::string(column - line.size(), ' ');
  return line + Wrap(right, column, column) + "\n";
}

// An option's metavariable: its type name without CLI11's validator text.
std::string Metavar(const CLI::Option& option) {
  std::string type = option.get_type_name();
  return type.substr(0, type.find(':'));
}

// "ID"; "-n N" (`all` false: the shortest name) or "-n, --lines N".
std::string OptionNames(const CLI::Option& option, bool all) {
  if (option.get_positional()) return option.get_name(true);
  std::string names;
  for (const auto& s : option.get_snames()) names += (names.empty() ? "-" : ", -") + s;
  if (all || names.empty())
    for (const auto& l : option.get_lnames()) names += (names.empty() ? "--" : ", --") + l;
  if (std::string metavar = Metavar(option); !metavar.empty()) names += " " + metavar;
  return names;
}

std::vector<const CLI::Option*> Declared(const CLI::App& app, bool positional) {
  return app.get_options([&](const CLI::Option* o) {
    return o != app.get_help_ptr() && o->get_positional() == positional;
  });
}

std::string Synopsis(const CommandText& command, const CLI::App& app) {
  std::string out = "sarge HOME " + command.name;
  for (const auto* o : Declared(app, true))
    out += o->get_required() ? " " + OptionNames(*o, false) : " [" + OptionNames(*o, false) + "]";
  if (!command.rest.empty()) out += " " + command.rest;
  for (const auto* o : Declared(app, false)) out += " [" + OptionNames(*o, false) + "]";
  return out;
}

std::string Sentence(std::string text) {
  if (!text.empty()) text[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(text[0])));
  return text + ".";
}

std::string Arguments(const CommandText& command, const CLI::App& app) {
  auto positionals = Declared(app, true);
  if (positionals.empty() && command.rest.empty()) return "";
  std::string out = "\nArguments:\n";
  for (const auto* o : positionals)
    out += Row(OptionNames(*o, true), o->get_description(), kOptionColumn);
  if (!command.rest.empty()) out += Row(command.rest, command.rest_help, kOptionColumn);
  return out;
}

std::string Options(const CLI::App& app) {
  std::string out = "\nOptions:\n";
  for (const auto* o : Declared(app, false))
    out += Row(OptionNames(*o, true), o->get_description(), kOptionColumn);
  return out + Row("-h, --help", "show this help", kOptionColumn);
}

std::string Example(const CommandText& command) {
  std::string example = fmt::format("sarge {} {} {}", kExampleHome, command.name, command.example);
  while (example.back() == ' ') example.pop_back();
  return "\nExample:\n  " + example + "\n";
}

}  // namespace

std::string Wrap(const std::string& text, size_t indent, size_t first_column) {
  std::string out, word;
  size_t column = first_column;
  std::istringstream words(text);
  while (words >> word) {
    if (!out.empty() && column + 1 + word.size() > kWidth) {
      out += "\n" + std::string(indent, ' ');
      column = indent;
    } else if (!out.empty()) {
      out += " ";
      ++column;
    }
    out += word;
    column += word.size();
  }
  return out;
}

std::string RenderCommandHelp(const CommandText& command, const CLI::App& app) {
  std::string about = Sentence(command.help);
  if (!command.details.empty()) about += " " + command.details;
  return "usage: " + Synopsis(command, app) + "\n\n" + Wrap(about, 0, 0) + "\n" +
         Arguments(command, app) + Options(app) + Example(command) + "\n" + kExitStatus + "\n";
}

std::string RenderGeneralHelp(const std::vector<CommandText>& commands) {
  std::string out =
      "usage: sarge HOME COMMAND [ARGS]\n\n" +
      Wrap(
          "Deploys applications on this server. HOME is a deployment's home folder (e.g. "
          "/var/local/gardensale): sarge keeps application instances in it, runs them under "
          "supervisord and points nginx at the one that should serve. HOME/bin/sarge COMMAND "
          "[ARGS] is the same with HOME filled in.",
          0, 0) +
      "\n";
  std::string group;
  for (const auto& c : commands) {
    if (c.hidden) continue;
    if (group != c.group) out += fmt::format("\n{}:\n", group = c.group);
    out += Row(c.name, c.help, kCommandColumn);
  }
  out += "\n" +
         Wrap(
             "`sarge help COMMAND` or `sarge COMMAND --help` shows a command's arguments, "
             "options and an example; `sarge --version` its version.",
             0, 0) +
         "\n";
  return out + "\n" + kExitStatus + "\n";
}

}  // namespace sarge
