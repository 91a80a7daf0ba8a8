#include "sarge/command_docs.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include <fmt/format.h>

namespace sarge {
namespace {

std::vector<const CLI::App*> VisibleCommands(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App* sub) { return !sub->get_group().empty(); });
}

bool IsHelp(const CLI::App& command, const CLI::Option* option) {
  return option == command.get_help_ptr() || option == command.get_help_all_ptr();
}

std::vector<const CLI::Option*> Positionals(const CLI::App& command) {
  return command.get_options([](const CLI::Option* o) { return o->get_positional(); });
}

// Named options (not positionals); with `with_help`, --help too.
std::vector<const CLI::Option*> NamedOptions(const CLI::App& command, bool with_help) {
  return command.get_options([&](const CLI::Option* o) {
    return o->nonpositional() && (with_help || !IsHelp(command, o));
  });
}

bool TakesValue(const CLI::Option* option) { return option->get_items_expected_min() > 0; }

// "-n --lines": every spelling of an option, as typed.
std::vector<std::string> Spellings(const CLI::Option* option) {
  std::vector<std::string> spellings;
  for (const auto& s : option->get_snames()) spellings.push_back("-" + s);
  for (const auto& l : option->get_lnames()) spellings.push_back("--" + l);
  return spellings;
}

std::string Join(const std::vector<std::string>& words) {
  std::string joined;
  for (const auto& w : words) joined += (joined.empty() ? "" : " ") + w;
  return joined;
}

// --- roff --------------------------------------------------------------------

std::string Bold(const std::string& text) { return "\\fB" + RoffEscape(text) + "\\fR"; }
std::string Italic(const std::string& text) { return "\\fI" + RoffEscape(text) + "\\fR"; }

std::string ManOptionTerm(const CLI::Option* option) {
  std::string term;
  for (const auto& spelling : Spellings(option))
    term += (term.empty() ? "" : ", ") + Bold(spelling);
  if (TakesValue(option)) term += " " + Italic(ValueName(*option));
  return term;
}

// "[set|unset] APP [NAME=VALUE...]", its upper-case words in italics
// (metavariables), the rest as it is.
std::string ManWords(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    size_t end = i;
    while (end < text.size() &&
           (std::isupper(static_cast<unsigned char>(text[end])) || text[end] == '_'))
      ++end;
    if (end > i) {
      out += Italic(text.substr(i, end - i));
      i = end;
    } else {
      out += text[i] == '-' ? "\\-" : text[i] == '\\' ? "\\e" : std::string(1, text[i]);
      ++i;
    }
  }
  return out;
}

// "\fBstart\fR \fIID\fR [\fB\-\-timeout\fR \fIN\fR]"
std::string ManSynopsis(const CLI::App& command, const std::string& rest) {
  std::string line = Bold(command.get_name());
  for (const CLI::Option* p : Positionals(command))
    line += " " + (p->get_required() ? Italic(p->get_name()) : "[" + Italic(p->get_name()) + "]");
  if (!rest.empty()) line += " " + ManWords(rest);
  for (const CLI::Option* o : NamedOptions(command, false)) {
    std::string name = Spellings(o).back();  // the long one when there is one
    line += " [" + Bold(name) + (TakesValue(o) ? " " + Italic(ValueName(*o)) : "") + "]";
  }
  return line;
}

// A tagged paragraph whose text starts below the tag even when the tag is
// short (.br), so every entry has the same shape.
std::string ManEntry(const std::string& tag, const std::string& text) {
  return ".TP\n" + tag + "\n.br\n" + RoffEscape(text) + "\n";
}

std::string ManCommand(const CLI::App& command, const std::string& rest) {
  std::string entry = ManEntry(ManSynopsis(command, rest), command.get_description());
  auto options = NamedOptions(command, false);
  if (options.empty()) return entry;
  entry += ".RS\n";
  for (const CLI::Option* o : options) entry += ManEntry(ManOptionTerm(o), o->get_description());
  return entry + ".RE\n";
}

// --- bash --------------------------------------------------------------------

std::string BashQuote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// declare -gA NAME=(\n  [init]='...'\n ...)\n, one entry per command.
std::string BashTable(const std::string& name, const std::vector<const CLI::App*>& commands,
                      std::string (*value)(const CLI::App&)) {
  std::string table = "declare -gA " + name + "=(\n";
  for (const CLI::App* c : commands)
    table += fmt::format("  [{}]={}\n", c->get_name(), BashQuote(value(*c)));
  return table + ")\n";
}

std::string AllOptions(const CLI::App& command) {
  std::vector<std::string> words;
  for (const CLI::Option* o : NamedOptions(command, true))
    for (const auto& s : Spellings(o)) words.push_back(s);
  return Join(words);
}

std::string ValuedOptions(const CLI::App& command) {
  std::vector<std::string> words;
  for (const CLI::Option* o : NamedOptions(command, true))
    if (TakesValue(o))
      for (const auto& s : Spellings(o)) words.push_back(s);
  return Join(words);
}

std::string Arguments(const CLI::App& command) {
  std::vector<std::string> words;
  for (const CLI::Option* p : Positionals(command)) words.push_back(p->get_name());
  if (command.get_prefix_command()) words.push_back("COMMAND...");
  return Join(words);
}

}  // namespace

std::string RoffEscape(const std::string& text) {
  std::string escaped;
  for (char c : text) {
    if (c == '\\')
      escaped += "\\e";
    else if (c == '-')
      escaped += "\\-";
    else
      escaped += c;
  }
  if (!escaped.empty() && (escaped[0] == '.' || escaped[0] == '\'')) escaped = "\\&" + escaped;
  return escaped;
}

std::string ValueName(const CLI::Option& option) {
  // CLI11 appends its checks' descriptions: "N:INT in [0 - 1000]".
  std::string type = option.get_type_name();
  type = type.substr(0, type.find(':'));
  if (type.rfind("INT", 0) == 0 || type.rfind("UINT", 0) == 0) return "N";
  if (!type.empty() && type != "TEXT") return type;  // the table named it
  std::string name = option.get_lnames().empty() ? option.get_name() : option.get_lnames().back();
  name = name.substr(name.find_last_of('-') + 1);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return name;
}

std::string ManPageCommands(const CLI::App& app, const std::map<std::string, std::string>& rests) {
  std::string section;
  for (const CLI::App* command : VisibleCommands(app)) {
    auto rest = rests.find(command->get_name());
    section += ManCommand(*command, rest == rests.end() ? "" : rest->second);
  }
  return section;
}

std::string BashCompletionTable(const CLI::App& app) {
  auto commands = VisibleCommands(app);
  std::vector<std::string> names;
  for (const CLI::App* c : commands) names.push_back(c->get_name());
  std::vector<std::string> global;
  for (const CLI::Option* o :
       app.get_options([](const CLI::Option* o) { return o->nonpositional(); }))
    for (const auto& s : Spellings(o)) global.push_back(s);
  return "_sarge_commands=" + BashQuote(Join(names)) + "\n" +
         "_sarge_global_options=" + BashQuote(Join(global)) + "\n" +
         BashTable("_sarge_options", commands, AllOptions) +
         BashTable("_sarge_valued_options", commands, ValuedOptions) +
         BashTable("_sarge_arguments", commands, Arguments);
}

}  // namespace sarge
