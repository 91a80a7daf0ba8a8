#include "sarge/commands.h"

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "sarge/deploy.h"
#include "sarge/error.h"
#include "sarge/exec.h"
#include "sarge/home.h"
#include "sarge/instance_config.h"
#include "sarge/instances.h"
#include "sarge/names.h"
#include "sarge/records.h"
#include "sarge/status.h"

namespace sarge {
namespace {

// Everything any command takes; each command's setup adds what it uses.
struct Args {
  std::string home;
  std::string id;
  std::string config_json;
  std::vector<std::string> words;  // run's command
  int timeout = 0;                 // 0: the settings' value
  std::string source;
  std::string check_url;
  int keep = -1;  // -1: the settings' value
  std::string app;
  bool json_output = false;
  bool follow = false;
  int lines = 20;
};

std::optional<std::chrono::seconds> Timeout(const Args& a) {
  if (a.timeout <= 0) return std::nullopt;
  return std::chrono::seconds(a.timeout);
}

void TimeoutOption(CLI::App& app, Args& a, const char* what) {
  app.add_option("--timeout", a.timeout, what)->check(CLI::Range(1, 3600));
}

struct Command {
  const char* name;
  const char* help;
  void (*setup)(CLI::App&, Args&);
  int (*handler)(Args&);
  bool hidden = false;
};

void NoArgs(CLI::App&, Args&) {}
void IdArg(CLI::App& app, Args& a) {
  app.add_option("ID", a.id, "instance id, e.g. web-jCCbfV")->required();
}

int DoInit(Args& a) {
  Home home = OpenHome(a.home, true);
  InitHome(home, fs::read_symlink("/proc/self/exe"));
  std::cerr << fmt::format("sarge: home {} is ready; start supervisord with {}\n",
                           home.root.string(), home.Bin("supervisord").string());
  return 0;
}

int DoNew(Args& a) {
  Home home = OpenHome(a.home, false);
  std::cout << NewInstance(home, ReadConfigArgument(a.config_json, std::cin)) << "\n";
  return 0;
}

int DoList(Args& a) {
  WriteListing(OpenHome(a.home, false), std::cout);
  return 0;
}

int DoConfigure(Args& a) {
  std::cout << ConfigureInstance(OpenHome(a.home, false), a.id).dump(2) << "\n";
  return 0;
}

int DoStart(Args& a) {
  StartInstanceCommand(OpenHome(a.home, false), a.id, Timeout(a));
  return 0;
}

int DoStatus(Args& a) {
  Home home = OpenHome(a.home, false);
  nlohmann::json listing = ListInstances(home);
  if (!a.id.empty()) {
    LoadRecord(home, a.id);  // a clear error for an unknown id
    nlohmann::json only = nlohmann::json::array();
    for (auto& i : listing["instances"])
      if (i["id"] == a.id) only.push_back(std::move(i));
    listing["instances"] = std::move(only);
  }
  nlohmann::json rows = StatusRows(home, listing, std::time(nullptr));
  if (a.json_output) {
    std::cout << rows.dump(2) << "\n";
  } else {
    if (listing.contains("supervisord"))
      std::cerr << fmt::format("sarge: supervisord is not running; start it with {}\n",
                               home.StartSupervisordHint());
    std::cout << StatusTable(rows, ::isatty(STDOUT_FILENO) == 1);
  }
  return 0;
}

int DoLogs(Args& a) {
  ShowLog(OpenHome(a.home, false), a.id, a.lines, a.follow, std::cout);
  return 0;
}

int DoResume(Args& a) { return ResumeCommand(OpenHome(a.home, false)) == 0 ? 0 : 1; }

int DoActivate(Args& a) {
  ActivateCommand(OpenHome(a.home, false), a.id);
  return 0;
}

int DoDeploy(Args& a) {
  Home home = OpenHome(a.home, false);
  DeployOptions options{ReadConfigArgument(a.config_json, std::cin), a.source, a.check_url,
                        Timeout(a), std::nullopt};
  if (a.keep >= 0) options.keep = a.keep;
  std::cout << DeployCommand(home, options) << "\n";
  return 0;
}

int DoRollback(Args& a) {
  std::cout << RollbackCommand(OpenHome(a.home, false), a.app, Timeout(a)) << "\n";
  return 0;
}

int DoStop(Args& a) {
  StopInstanceCommand(OpenHome(a.home, false), a.id);
  return 0;
}

int DoDestroy(Args& a) {
  DestroyInstanceCommand(OpenHome(a.home, false), a.id);
  return 0;
}

int DoRun(Args& a) {
  RunInInstance(OpenHome(a.home, false), a.id, a.words, ::isatty(STDIN_FILENO) == 1);
}

int DoLaunch(Args& a) { LaunchServer(OpenHome(a.home, false), a.id); }

const std::vector<Command>& Commands() {
  static const std::vector<Command> commands = {
      {"init", "make or refresh the home folder", NoArgs, DoInit},
      {"new", "create an instance from a JSON configuration; print its id",
       [](CLI::App& app, Args& a) {
         app.add_option("CONFIG_JSON", a.config_json,
                        R"(instance configuration, e.g. '{"application_name": "web"}', )"
                        "or - to read it from standard input")
             ->required();
       },
       DoNew},
      {"list", "print every instance as JSON, with its live state", NoArgs, DoList},
      {"status", "a table of instances: state, pid, uptime, ports, which one serves",
       [](CLI::App& app, Args& a) {
         app.add_option("ID", a.id, "only this instance");
         app.add_flag("--json", a.json_output, "the same rows as JSON");
       },
       DoStatus},
      {"logs", "print the end of an instance's log; with -f, follow it",
       [](CLI::App& app, Args& a) {
         IdArg(app, a);
         app.add_option("-n,--lines", a.lines, "how many lines (default 20)")
             ->check(CLI::Range(0, 1000000));
         app.add_flag("-f,--follow", a.follow,
                      "keep printing new lines, across rotation, until interrupted");
       },
       DoLogs},
      {"configure", "(re)compute the instance's runtime configuration (var/run/ID/appcfg.json)",
       IdArg, DoConfigure},
      {"start", "configure, start under supervisord, return once it is up",
       [](CLI::App& app, Args& a) {
         IdArg(app, a);
         app.add_option("--timeout", a.timeout,
                        "seconds to wait for it to be up (default: "
                        "start_timeout in sarge.yaml)")
             ->check(CLI::Range(1, 3600));
       },
       DoStart},
      {"stop", "stop the instance's processes; it stays defined", IdArg, DoStop},
      {"destroy", "stop the instance if running and remove everything of it", IdArg, DoDestroy},
      {"activate",
       "point the front end for the instance's application at it (nginx tested, reloaded)", IdArg,
       DoActivate},
      {"deploy",
       "rolling deployment: new instance from SOURCE, start, check, switch, retire the old",
       [](CLI::App& app, Args& a) {
         app.add_option("CONFIG_JSON", a.config_json,
                        "instance configuration, as for new (- reads it from standard input)")
             ->required();
         app.add_option("SOURCE", a.source, "a folder (copied in) or a .tar.gz (unpacked)")
             ->required();
         app.add_option(
             "--check-url", a.check_url,
             "must answer 200 before the switch, e.g. http://127.0.0.1:$WEB_PORT/health");
         TimeoutOption(
             app, a, "seconds to start and pass the check (default: deploy.timeout in sarge.yaml)");
         app.add_option("--keep", a.keep,
                        "previous instances to keep for rollback (default: deploy.keep)")
             ->check(CLI::Range(0, 1000));
       },
       DoDeploy},
      {"rollback", "switch back to the newest previous instance of APP and stop the current one",
       [](CLI::App& app, Args& a) {
         app.add_option("APP", a.app, "application name, e.g. web")->required();
         TimeoutOption(app, a, "seconds to start and pass the check (default: deploy.timeout)");
       },
       DoRollback},
      {"run", "bash in the instance folder with its environment; with COMMAND, run it",
       [](CLI::App& app, Args& a) {
         IdArg(app, a);
         app.prefix_command();
         (void)a;
       },
       DoRun},
      {"resume",
       "start the instances that were running when supervisord stopped (bin/supervisord runs it)",
       NoArgs, DoResume},
      {"launch", "run the instance's server in the foreground (what supervisord runs)", IdArg,
       DoLaunch, true},
  };
  return commands;
}

std::vector<std::string> CommandNames() {
  std::vector<std::string> names;
  for (const auto& c : Commands())
    if (!c.hidden) names.push_back(c.name);
  return names;
}

[[noreturn]] void UnknownCommand(const std::string& word) {
  std::string hint = ClosestMatch(word, CommandNames());
  throw UsageError(fmt::format("unknown command {}; {}", Quoted(word),
                               hint.empty() ? "`sarge --help` lists the commands"
                                            : fmt::format("did you mean '{}'?", hint)));
}

// Turns a CLI11 parse error into a one-line UsageError.
[[noreturn]] void ReportParseError(const CLI::ParseError& e, const Args& args,
                                   const CLI::App* command) {
  if (!command) {
    if (args.home.empty())
      throw UsageError(
          "give the home folder and a command: sarge HOME COMMAND; `sarge --help` lists the "
          "commands");
    auto* extras = dynamic_cast<const CLI::ExtrasError*>(&e);
    if (extras || dynamic_cast<const CLI::RequiredError*>(&e)) {
      (void)extras;
      throw UsageError(
          "give a command after the home: sarge HOME COMMAND; `sarge --help` lists the commands");
    }
  }
  std::string where = command ? fmt::format("{}: ", command->get_name()) : "";
  std::string message = e.what();
  throw UsageError(fmt::format("{}{}; `sarge {} --help` shows its usage", where, message,
                               command ? command->get_name() : ""));
}

}  // namespace

int RunCommandLine(int argc, char** argv) {
  CLI::App app{"sarge: deploy applications on this server under supervisord, behind nginx",
               "sarge"};
  app.set_version_flag("--version", std::string("sarge ") + SARGE_VERSION);
  app.footer("Exit status: 0 success, 1 the command failed, 2 bad usage.");
  Args args;
  app.add_option("HOME", args.home, "the home folder, e.g. /var/local/gardensale");
  app.require_subcommand(0, 1);
  std::vector<CLI::App*> subcommands;
  for (const auto& command : Commands()) {
    CLI::App* sub = app.add_subcommand(command.name, command.help);
    if (command.hidden) sub->group("");
    command.setup(*sub, args);
    subcommands.push_back(sub);
  }
  // A word where the command belongs that is not a command.
  if (argc >= 3 && argv[1][0] != '-' && argv[2][0] != '-') {
    auto names = CommandNames();
    std::string word = argv[2];
    bool known = false;
    for (const auto& c : Commands()) known = known || word == c.name;
    if (!known) UnknownCommand(word);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return 0;
  } catch (const CLI::CallForVersion&) {
    std::cout << app.version() << "\n";
    return 0;
  } catch (const CLI::ParseError& e) {
    const CLI::App* command = nullptr;
    for (auto* sub : subcommands)
      if (sub->parsed()) command = sub;
    ReportParseError(e, args, command);
  }
  for (size_t i = 0; i < subcommands.size(); ++i) {
    if (!subcommands[i]->parsed()) continue;
    if (Commands()[i].name == std::string("run")) args.words = subcommands[i]->remaining();
    return Commands()[i].handler(args);
  }
  if (args.home.empty()) {
    std::cout << app.help();
    return 2;
  }
  throw UsageError(
      "give a command after the home: sarge HOME COMMAND; `sarge --help` lists the commands");
}

}  // namespace sarge
