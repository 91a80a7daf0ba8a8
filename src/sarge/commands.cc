#include "sarge/commands.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "sarge/app_config.h"
#include "sarge/check.h"
#include "sarge/command_docs.h"
#include "sarge/config_command.h"
#include "sarge/deploy.h"
#include "sarge/duration.h"
#include "sarge/env.h"
#include "sarge/error.h"
#include "sarge/exec.h"
#include "sarge/help.h"
#include "sarge/home.h"
#include "sarge/instance_config.h"
#include "sarge/lifecycle.h"
#include "sarge/listing.h"
#include "sarge/names.h"
#include "sarge/processes.h"
#include "sarge/procfile.h"
#include "sarge/progress.h"
#include "sarge/records.h"
#include "sarge/release.h"
#include "sarge/releases.h"
#include "sarge/runtime_config.h"
#include "sarge/settings.h"
#include "sarge/status.h"
#include "sarge/supervisor_config.h"

namespace sarge {
namespace {

// Everything any command takes; each command's setup adds what it uses.
struct Args {
  std::string home;
  std::string id;
  std::string config_json;
  std::string label;
  std::vector<std::string> words;  // run's command
  int timeout = 0;                 // 0: the settings' value
  std::string source;
  std::string check_url;
  int keep = -1;  // -1: the settings' value
  std::string app;
  std::string to;          // rollback --to
  std::string process;     // restart's TYPE, logs' PROCESS
  std::string min_uptime;  // a duration; empty: the settings' value
  std::string watch;       // a duration; empty: the settings' value
  bool json_output = false;
  bool follow = false;
  int lines = 20;
  bool repair = false;
  bool force = false;       // stop, destroy: also the instance that serves
  bool man = false;         // generate-docs
  bool values = false;      // config --values
  bool no_restart = false;  // config --no-restart
};

std::optional<std::chrono::seconds> Timeout(const Args& a) {
  if (a.timeout <= 0) return std::nullopt;
  return std::chrono::seconds(a.timeout);
}

// A number from `min` to `max`, checked before CLI11 converts it, so that
// the message says what the option takes.
CLI::Validator Number(int min, int max) {
  return CLI::Validator(
      [min, max](std::string& text) -> std::string {
        if (AllDigits(text) && text.size() <= 9 && std::stoi(text) >= min && std::stoi(text) <= max)
          return {};
        return fmt::format("takes a number from {} to {}, not {}", min, max, Quoted(text));
      },
      "");
}

void TimeoutOption(CLI::App& app, Args& a, const char* what) {
  app.add_option("--timeout", a.timeout, what)->type_name("S")->check(Number(1, 3600));
}

void MinUptimeOption(CLI::App& app, Args& a) {
  app.add_option("--min-uptime", a.min_uptime,
                 "how long the server must stay up once it answers, e.g. 1.5 or 500ms "
                 "(default: deploy.min_uptime, 1 s)")
      ->type_name("DURATION");
}

// A duration option's value, checked; nullopt when it was not given.
std::optional<std::chrono::milliseconds> DurationOption(const char* name,
                                                        const std::string& value) {
  if (value.empty()) return std::nullopt;
  return DurationArgument(name, value);
}

// A row of the command table. `help` is the one line `sarge --help` shows;
// the rest make up `sarge help NAME`, with the arguments and options that
// `setup` declares (their metavariables set with type_name).
struct Command {
  const char* name;
  const char* help;
  void (*setup)(CLI::App&, Args&);
  int (*handler)(Args&, World&);
  bool hidden = false;
  const char* group = "";    // heading it is listed under in `sarge --help`
  const char* example = "";  // what follows `sarge /var/local/gardensale NAME`
  const char* details = "";  // a paragraph after the summary
  const char* rest = "";     // usage of words after the declared arguments
  const char* rest_help = "";
};

void NoArgs(CLI::App&, Args&) {}
void IdArg(CLI::App& app, Args& a) {
  app.add_option("ID", a.id, "instance id, e.g. web-jCCbfV")->required();
}

void AppArg(CLI::App& app, Args& a) {
  app.add_option("APP", a.app, "application name, e.g. web")->required();
}

// APP and how long its new instance may take: restart and rollback.
void AppWaitArgs(CLI::App& app, Args& a) {
  AppArg(app, a);
  TimeoutOption(app, a, "seconds to start and pass the check (default: deploy.timeout)");
  MinUptimeOption(app, a);
}

void IdForceArgs(CLI::App& app, Args& a) {
  IdArg(app, a);
  app.add_flag("--force", a.force, "also the instance that serves its application");
}

// What a command holds while it runs: its Env over the home, and, as the
// command needs, the home's lock and a connection to its supervisord.
enum class Needs {
  kNothing,         // reads only, no settings: list, status, logs, run, launch
  kLock,            // new, configure, check
  kSupervisorConf,  // destroy, resume: the lock, and supervisord.conf rewritten
  kSupervisord,     // and supervisord answering, checked before anything changes
};
class Session {
 public:
  // With `id`, an unknown instance fails first, with its own error.
  Session(World& world, Home home, Needs needs, const std::string& id = "")
      : home_(std::move(home)),
        supervisor_(world.supervisor(home_)),
        env_(MakeEnv(world, home_, *supervisor_)) {
    if (needs != Needs::kNothing) lock_.emplace(LockHome(env_));
    if (!id.empty()) LoadRecord(home_, id);
    // In case a killed command left it narrowed (supervisor_config.h).
    if (needs >= Needs::kSupervisorConf) WriteSupervisordConf(home_);
    if (needs == Needs::kSupervisord) supervisor_->Connect();
    // Commands that only read keep working with a sarge.yaml broken by hand
    // (launch among them: supervisord runs it at every restart).
    if (needs != Needs::kNothing) env_.settings = LoadSettings(home_);
  }
  Env& env() { return env_; }

 private:
  static Env MakeEnv(World& world, const Home& home, Supervisor& supervisor) {
    return Env{home,         Settings{},   supervisor,    world.clock,
               world.runner, world.system, world.progress};
  }
  Home home_;
  std::unique_ptr<Supervisor> supervisor_;
  Env env_;
  std::optional<FileLock> lock_;
};

int DoInit(Args& a, World& w) {
  Home home = OpenHome(a.home, true);
  InitHome(home, fs::read_symlink("/proc/self/exe"));
  w.progress.Say(fmt::format("home {} is ready; start supervisord with {}", home.root.string(),
                             home.Bin("supervisord").string()));
  return 0;
}

int DoNew(Args& a, World& w) {
  std::string config = ReadConfigArgument(a.config_json, std::cin);  // as the caller
  ParseInstanceConfig(config);  // bad input fails before the lock is taken
  Session session(w, OpenHome(a.home, false), Needs::kLock);
  std::cout << NewCommand(session.env(), config) << "\n";
  return 0;
}

int DoList(Args& a, World& w) {
  Session session(w, OpenHome(a.home, false), Needs::kNothing);
  std::cout << ListInstances(session.env().home, session.env().supervisor).dump(2) << "\n";
  return 0;
}

int DoConfigure(Args& a, World& w) {
  CheckSafeName("instance id", a.id);
  Session session(w, OpenHome(a.home, false), Needs::kLock);
  std::cout << ConfigureCommand(session.env(), a.id).dump(2) << "\n";
  return 0;
}

int DoStart(Args& a, World& w) {
  auto min_uptime = DurationOption("--min-uptime", a.min_uptime);
  CheckSafeName("instance id", a.id);
  Session session(w, OpenHome(a.home, false), Needs::kSupervisord, a.id);
  StartCommand(session.env(), a.id, Timeout(a), min_uptime);
  return 0;
}

int DoStatus(Args& a, World& w) {
  Session session(w, OpenHome(a.home, false), Needs::kNothing);
  return StatusCommand(session.env(), a.id, a.json_output, DetectTerminal(STDOUT_FILENO).colour,
                       std::cout);
}

int DoLogs(Args& a, World& w) {
  Session session(w, OpenHome(a.home, false), Needs::kNothing);
  ShowLog(session.env(), a.id, a.process, a.lines, a.follow, std::cout);
  return 0;
}

int DoCheck(Args& a, World& w) {
  Session session(w, OpenHome(a.home, false), Needs::kLock);
  return CheckCommand(session.env(), a.repair, std::cout);
}

int DoResume(Args& a, World& w) {
  Session session(w, OpenHome(a.home, false), Needs::kSupervisorConf);
  return ResumeCommand(session.env()) == 0 ? 0 : 1;
}

int DoActivate(Args& a, World& w) {
  CheckSafeName("instance id", a.id);
  Session session(w, OpenHome(a.home, false), Needs::kSupervisord, a.id);
  ActivateCommand(session.env(), a.id);
  return 0;
}

int DoDeploy(Args& a, World& w) {
  DeployOptions options;
  options.source = a.source;
  options.check_url = a.check_url;
  options.timeout = Timeout(a);
  options.min_uptime = DurationOption("--min-uptime", a.min_uptime);
  options.watch = DurationOption("--watch", a.watch);
  if (a.keep >= 0) options.keep = a.keep;
  // Read before the home is opened, as the caller: sarge run by root on an
  // owner's home becomes the owner there (privilege.h).
  options.config_json = ReadConfigArgument(a.config_json, std::cin);
  options.label = a.label;
  // Bad input fails before the lock and the action log.
  Home home = OpenHome(a.home, false);
  CheckSource(options.source);
  SourceFiles files = ReadSourceFiles(home, w.runner, options.source);
  options.config_json = DeployConfig(home, options.config_json, options.source, files.config);
  if (files.procfile) {
    Procfile procfile = CheckedProcfile(
        *files.procfile, fmt::format("the Procfile of {}", Quoted(options.source.string())));
    options.release_command = procfile.Find("release") != nullptr;
  }
  CheckDeployInput(home, options);
  Session session(w, home, Needs::kSupervisord);
  std::cout << DeployCommand(session.env(), options) << "\n";
  return 0;
}

int DoRollback(Args& a, World& w) {
  RollbackOptions options{a.app, a.to, Timeout(a), DurationOption("--min-uptime", a.min_uptime)};
  CheckSafeName("application name", options.app);
  if (!options.to.empty()) CheckSafeName("instance id", options.to);
  Session session(w, OpenHome(a.home, false), Needs::kSupervisord);
  std::cout << RollbackCommand(session.env(), options) << "\n";
  return 0;
}

int DoRestart(Args& a, World& w) {
  RestartOptions options{.app = a.app,
                         .timeout = Timeout(a),
                         .min_uptime = DurationOption("--min-uptime", a.min_uptime)};
  CheckSafeName("application name", options.app);
  if (!a.process.empty() && !IsTypeName(a.process))
    throw UsageError(fmt::format("{} is not a process type (as in worker)", Quoted(a.process)));
  Session session(w, OpenHome(a.home, false), Needs::kSupervisord);
  if (!a.process.empty()) {
    RestartTypeInPlace(session.env(), options, a.process);
    return 0;
  }
  std::cout << RestartCommand(session.env(), options) << "\n";
  return 0;
}

int DoScale(Args& a, World& w) {
  ScaleChange change{.app = a.app,
                     .counts = ParseScale(a.words),
                     .timeout = Timeout(a),
                     .min_uptime = DurationOption("--min-uptime", a.min_uptime)};
  CheckSafeName("application name", change.app);
  Home home = OpenHome(a.home, false);
  CheckHasInstances(home, change.app);  // before asking for supervisord
  Session session(w, std::move(home), Needs::kSupervisord);
  std::cout << ScaleCommand(session.env(), change) << "\n";
  return 0;
}

// `config APP`, `config set APP NAME=VALUE…`, `config unset APP NAME…`.
int DoConfig(Args& a, World& w) {
  const std::string usage =
      "give `config APP`, `config set APP NAME=VALUE…` or `config unset APP NAME…`";
  std::vector<std::string>& words = a.words;
  if (words.empty()) throw UsageError(fmt::format("config needs an application; {}", usage));
  const std::string action = words[0] == "set" || words[0] == "unset" ? words[0] : "";
  if (action.empty()) {
    if (words.size() > 1)
      throw UsageError(fmt::format("{} is not set or unset; {}", Quoted(words[0]), usage));
    CheckSafeName("application name", words[0]);
    Session session(w, OpenHome(a.home, false), Needs::kNothing);
    std::cout << ConfigList(session.env().home, words[0], a.values);
    return 0;
  }
  if (words.size() < 3)
    throw UsageError(fmt::format("config {} needs an application and at least one {}; {}", action,
                                 action == "set" ? "NAME=VALUE" : "NAME", usage));
  if (a.values) throw UsageError("--values is for `config APP`, which lists the variables");
  ConfigChange change;
  change.app = words[1];
  CheckSafeName("application name", change.app);
  std::vector<std::string> rest(words.begin() + 2, words.end());
  if (action == "set") {
    // `-`: NAME=VALUE lines on standard input, off the process list.
    change.set =
        rest == std::vector<std::string>{"-"} ? ReadAssignments(std::cin) : ParseAssignments(rest);
  } else {
    for (const auto& name : rest) CheckVarName(name, {});
    change.unset = rest;
  }
  change.restart = !a.no_restart;
  change.timeout = Timeout(a);
  change.min_uptime = DurationOption("--min-uptime", a.min_uptime);
  Session session(w, OpenHome(a.home, false), change.restart ? Needs::kSupervisord : Needs::kLock);
  std::cout << ConfigChangeCommand(session.env(), change) << "\n";
  return 0;
}

int DoReleases(Args& a, World& w) {
  CheckSafeName("application name", a.app);
  Session session(w, OpenHome(a.home, false), Needs::kNothing);
  nlohmann::json releases = ReleasesJson(session.env().home, a.app);
  if (releases["releases"].empty())
    throw Error(fmt::format("application {} has no releases in {}; deploy it first", Quoted(a.app),
                            a.home));
  std::cout << (a.json_output ? releases.dump(2) + "\n" : ReleasesTable(releases));
  return 0;
}

int DoStop(Args& a, World& w) {
  CheckSafeName("instance id", a.id);
  Session session(w, OpenHome(a.home, false), Needs::kSupervisord, a.id);
  StopCommand(session.env(), a.id, a.force);
  return 0;
}

int DoDestroy(Args& a, World& w) {
  CheckSafeName("instance id", a.id);
  Session session(w, OpenHome(a.home, false), Needs::kSupervisorConf, a.id);
  DestroyCommand(session.env(), a.id, a.force);
  return 0;
}

int DoRun(Args& a, World& w) {
  Session session(w, OpenHome(a.home, false), Needs::kNothing);
  RunInInstance(session.env(), a.id, a.words, ::isatty(STDIN_FILENO) == 1);
}

int DoLaunch(Args& a, World& w) {
  Session session(w, OpenHome(a.home, false), Needs::kNothing);
  LaunchServer(session.env(), a.id);
}

const std::vector<Command>& Commands();

// The command table as CLI11 sees it, rendered for the man page or the
// bash completion.
int DoGenerateDocs(Args& a, World&) {
  CLI::App app{"sarge", "sarge"};
  app.set_version_flag("--version", std::string("sarge ") + SARGE_VERSION);
  Args scratch;
  std::map<std::string, std::string> rests;  // words after the declared arguments
  for (const auto& c : Commands()) {
    CLI::App* sub = app.add_subcommand(c.name, c.help);
    if (c.hidden) sub->group("");
    c.setup(*sub, scratch);
    if (*c.rest != '\0') rests[c.name] = c.rest;
  }
  std::cout << (a.man ? ManPageCommands(app, rests) : BashCompletionTable(app));
  return 0;
}

const std::vector<Command>& Commands() {
  static const std::vector<Command> commands = {
      {.name = "init",
       .help = "make or refresh the home folder",
       .setup = NoArgs,
       .handler = DoInit,
       .group = "Set up",

       .details = "Creates HOME/bin, etc and var, and writes etc/sarge.yaml unless it exists. "
                  "Safe to run again: it refreshes what it generates and never overwrites a "
                  "setting the operator edited."},
      {.name = "resume",
       .help = "start the instances that were running when supervisord stopped",
       .setup = NoArgs,
       .handler = DoResume,
       .group = "Set up",

       .details = "HOME/bin/supervisord runs it after starting supervisord, at boot. Instances "
                  "that were stopped stay stopped. Exits 1 if any failed to start."},
      {.name = "new",
       .help = "create an instance from a JSON configuration; print its id",
       .setup =
           [](CLI::App& app, Args& a) {
             app.add_option("CONFIG_JSON", a.config_json,
                            R"(instance configuration, e.g. '{"application_name": "web"}', )"
                            "- to read it from standard input, or @FILE to read it from FILE")
                 ->required();
           },
       .handler = DoNew,
       .group = "Instances",
       .example = "\\\n      "
                  R"('{"application_name": "web", "services": {"web": {"type": "listen"}}}')",
       .details = "Prints the id (the application name, a dash and six letters and digits) on "
                  "stdout and creates the folder HOME/ID, where the application's code and its "
                  "executable `server` go. docs/configuration.md lists every key."},
      {.name = "configure",
       .help = "write the instance's runtime configuration, var/run/ID/appcfg.json",
       .setup = IdArg,
       .handler = DoConfigure,
       .group = "Instances",
       .example = "web-jCCbfV",
       .details = "Prints the runtime configuration it wrote."},
      {.name = "start",
       .help = "configure, start under supervisord, return once it is up",
       .setup =
           [](CLI::App& app, Args& a) {
             IdArg(app, a);
             TimeoutOption(app, a,
                           "seconds to wait for it to be up (default: start_timeout in "
                           "sarge.yaml)");
             MinUptimeOption(app, a);
           },
       .handler = DoStart,
       .group = "Instances",
       .example = "web-jCCbfV --timeout 60",
       .details = "Up means every listen port accepts connections (or, without listen "
                  "services, supervisord says RUNNING), and then the server stays up for "
                  "--min-uptime. If the server exits or is not up in time, it is stopped and "
                  "the error shows the last lines of its log."},
      {.name = "stop",
       .help = "stop the instance's processes; it stays defined",
       .setup = IdForceArgs,
       .handler = DoStop,
       .group = "Instances",
       .example = "web-jCCbfV",
       .details = "The instance its application's front end routes to is refused without "
                  "--force: deploy, activate or roll back to another one first."},
      {.name = "destroy",
       .help = "stop the instance if running and remove everything of it",
       .setup = IdForceArgs,
       .handler = DoDestroy,
       .group = "Instances",
       .example = "web-jCCbfV",
       .details = "Removes its folder, runtime files, supervisord program, front-end route and "
                  "record. The instance its application's front end routes to is refused "
                  "without --force."},
      {.name = "run",
       .help = "a shell (or COMMAND) in the instance folder, with its environment",
       .setup =
           [](CLI::App& app, Args& a) {
             IdArg(app, a);
             app.prefix_command();
           },
       .handler = DoRun,
       .group = "Instances",
       .example = R"(web-jCCbfV 'echo $WEB_PORT')",
       .details = "Runs bash there with the instance's environment (its services as "
                  "variables, SARGEAPP_CFG, env) after sourcing its prerun file; with COMMAND, "
                  "runs it as `bash -c` would.",
       .rest = "[COMMAND...]",
       .rest_help = "a command line, run as `bash -c` would; without it, an interactive shell"},
      {.name = "deploy",
       .help = "roll out SOURCE: new instance, start, check, switch, stop the old",
       .setup =
           [](CLI::App& app, Args& a) {
             app.add_option("CONFIG", a.config_json,
                            "an application's name (its configuration is the source's "
                            "sarge.json, else the one it was last deployed with), or the "
                            "instance configuration as for new (- for standard input, @FILE for "
                            "a file), whose keys override the source's sarge.json")
                 ->required();
             app.add_option("SOURCE", a.source, "a folder (copied in) or a .tar.gz (unpacked)")
                 ->required();
             app.add_option("--check-url", a.check_url,
                            "must answer 2xx or 3xx before the switch, e.g. "
                            "http://127.0.0.1:$WEB_PORT/health")
                 ->type_name("URL");
             TimeoutOption(app, a,
                           "seconds to start and pass the check (default: deploy.timeout in "
                           "sarge.yaml)");
             MinUptimeOption(app, a);
             app.add_option("--watch", a.watch,
                            "after the switch, keep the previous instance running this long and "
                            "switch back if the new one exits or fails its check, e.g. 30s "
                            "(default: deploy.watch, 0)")
                 ->type_name("DURATION");
             app.add_option("--keep", a.keep,
                            "previous instances to keep for rollback (default: deploy.keep)")
                 ->type_name("N")
                 ->check(Number(0, 1000));
             app.add_option("--label", a.label,
                            "a free text kept with the new instance: a version, a commit")
                 ->type_name("LABEL");
           },
       .handler = DoDeploy,
       .group = "Deploy",
       .example = "\\\n      "
                  R"('{"application_name": "web", "services": {"web": {"type": "listen"}}}' \)"
                  "\n      "
                  R"(release-42.tar.gz --check-url 'http://127.0.0.1:$WEB_PORT/health')",
       .details = "Creates an instance, installs SOURCE in it, starts it, waits until it is "
                  "healthy (its check answers and it stays up for --min-uptime), points nginx "
                  "at it, lets the old nginx workers finish and stops the application's "
                  "previous instances. On any failure before the switch the new instance is "
                  "removed and the old one keeps serving; with --watch, also when it fails in "
                  "that time after the switch. Prints the new id."},
      {.name = "activate",
       .help = "route the application's front end (nginx) to this instance",
       .setup = IdArg,
       .handler = DoActivate,
       .group = "Deploy",
       .example = "web-jCCbfV",
       .details = "The instance must be running. The nginx site is rewritten, tested and "
                  "reloaded, and the switch confirmed; on failure the old site is put back."},
      {.name = "rollback",
       .help = "switch APP back to its previous instance; stop the current one",
       .setup =
           [](CLI::App& app, Args& a) {
             AppArg(app, a);
             app.add_option("--to", a.to,
                            "the instance or release (v3) to go back to (default: the one that "
                            "served before the current one)")
                 ->type_name("ID");
             TimeoutOption(app, a, "seconds to start and pass the check (default: deploy.timeout)");
             MinUptimeOption(app, a);
           },
       .handler = DoRollback,
       .group = "Deploy",
       .example = "web",
       .details = "Goes back to the instance that served APP before the current one (sarge "
                  "keeps each application's activation history), or to --to. Prints the id it "
                  "switched to. If that instance does not start or pass its check, the current "
                  "one keeps serving."},
      {.name = "restart",
       .help = "restart APP with no downtime: a new instance of the same release, checked, "
               "switched",
       .setup =
           [](CLI::App& app, Args& a) {
             AppWaitArgs(app, a);
             app.add_option("TYPE", a.process,
                            "only this process type's processes, in place (not web)");
           },
       .handler = DoRestart,
       .group = "Deploy",
       .example = "web",
       .details = "A deploy of the files installed in the instance that serves APP, with its "
                  "configuration, check URL and label, the application's variables and process "
                  "counts as they are now (`config`, `scale`): a new instance starts, passes its "
                  "check, the front end switches to it and the old one stops. If it fails, the "
                  "old one keeps serving. Prints the new id. With TYPE (a process type of the "
                  "Procfile other than web, such as worker), that type's processes of the "
                  "instance that serves are restarted in place instead, one after another, each "
                  "up before the next."},
      {.name = "scale",
       .help = "how many processes of each Procfile type APP runs (then restart it)",
       .setup = AppWaitArgs,
       .handler = DoScale,
       .group = "Deploy",
       .example = "web worker=2 clock=1",
       .details = "Counts are kept for the application (etc/apps/APP/scale.json) and apply to "
                  "every later deploy, restart and rollback; a type never scaled runs one "
                  "process. The change is applied by a restart with no downtime (as `restart`); "
                  "if that fails, the previous counts are restored and the old instance keeps "
                  "serving. Each process is a supervisord program of the instance, ID.TYPE.N, "
                  "with the instance's environment and SARGE_PROCESS=TYPE.N, and its own log, "
                  "var/log/ID.TYPE.N.log.",
       .rest = "TYPE=N...",
       .rest_help = "a process type of the Procfile and how many of it to run, 0 to 32 (web: 1 "
                    "to 32)"},
      {.name = "config",
       .help = "an application's variables: list, set or unset them (then restart it)",
       .setup =
           [](CLI::App& app, Args& a) {
             app.add_flag("--values", a.values, "list the values too, not only the names");
             app.add_flag("--no-restart", a.no_restart,
                          "change the variables only; they apply from the next deploy or "
                          "restart");
             TimeoutOption(app, a, "seconds for the restart to start and pass the check");
             MinUptimeOption(app, a);
           },
       .handler = DoConfig,
       .group = "Deploy",
       .example = "set web DATABASE_URL=postgres://db/web SECRET_KEY=s3cr3t",
       .details = "Variables are kept the owner's only (etc/apps/APP/vars.json) and given to "
                  "the application's servers over the configuration's env; their values "
                  "appear nowhere else (not in list, status, records or logs). A change "
                  "restarts the instance that serves APP with no downtime (as `restart`); if "
                  "that fails, the previous values are restored and the old instance keeps "
                  "serving. Each instance keeps the values it was started with, so a rollback "
                  "brings back the values of its time.",
       .rest = "[set|unset] APP [NAME=VALUE...|NAME...]",
       .rest_help = "APP alone lists its variables; set or unset changes them; `set APP -` "
                    "reads NAME=VALUE lines from standard input, off the process list"},
      {.name = "releases",
       .help = "an application's releases, newest first, and which one serves",
       .setup =
           [](CLI::App& app, Args& a) {
             AppArg(app, a);
             app.add_flag("--json", a.json_output, "the same as JSON");
           },
       .handler = DoReleases,
       .group = "Deploy",
       .example = "web",
       .details = "Every deploy, rollback, restart, config change and scale of APP is a release, "
                  "numbered v1, v2, …: when, "
                  "who, the label, the instance and the outcome. SERVING marks the one the "
                  "front end routes to; `rollback APP --to vN` goes back to a kept one."},
      {.name = "status",
       .help = "a table of instances, a row per process: state, pid, uptime, ports, which one "
               "serves",
       .setup =
           [](CLI::App& app, Args& a) {
             app.add_option("ID", a.id, "only this instance, or this application's instances");
             app.add_flag("--json", a.json_output, "the same rows as JSON");
           },
       .handler = DoStatus,
       .group = "Inspect",

       .details = "ACTIVE marks the instance the front end routes its application to; LAST "
                  "EXIT says why a stopped or failed one ended."},
      {.name = "logs",
       .help = "print the end of an instance's log; with -f, follow it",
       .setup =
           [](CLI::App& app, Args& a) {
             app.add_option("ID", a.id,
                            "instance id, or an application's name for the instance that serves it")
                 ->required();
             app.add_option("PROCESS", a.process,
                            "which process: TYPE (its first) or TYPE.N (default web)");
             app.add_option("-n,--lines", a.lines, "how many lines (default 20)")
                 ->type_name("N")
                 ->check(Number(0, 1000000));
             app.add_flag("-f,--follow", a.follow,
                          "keep printing new lines, across rotation, until interrupted");
           },
       .handler = DoLogs,
       .group = "Inspect",
       .example = "web-jCCbfV -n 100 -f",
       .details = "The log is HOME/var/log/ID.log: what the server wrote on stdout and stderr; "
                  "another process's is HOME/var/log/ID.TYPE.N.log."},
      {
          .name = "list",
          .help = "print every instance as JSON, with its live state",
          .setup = NoArgs,
          .handler = DoList,
          .group = "Inspect",
      },
      {.name = "check",
       .help = "verify the home; with --repair, finish or undo what an interrupted command left",
       .setup =
           [](CLI::App& app, Args& a) {
             app.add_flag("--repair", a.repair, "fix what can be fixed without losing anything");
           },
       .handler = DoCheck,
       .group = "Inspect",
       .example = "--repair",
       .details = "Checks that every record has its folder and every folder its record, that no "
                  "temporary file, program file, port claim or runtime folder is left without an "
                  "instance, that supervisord holds no program without a record, and that every "
                  "front end routes to a running instance. --repair finishes an interrupted "
                  "destroy, removes what belongs to nothing, and finishes or undoes a deploy "
                  "that was killed. Prints each finding; exits 1 while problems remain."},
      {.name = "launch",
       .help = "run the instance's server in the foreground (what supervisord runs)",
       .setup = IdArg,
       .handler = DoLaunch,
       .hidden = true,
       .example = "web-jCCbfV"},
      {.name = "generate-docs",
       .help = "print the command table as the man page's COMMANDS section (--man) or the bash "
               "completion's tables (--bash); the build fills both in from it",
       .setup =
           [](CLI::App& app, Args& a) {
             auto* man = app.add_flag("--man", a.man, "the man page's COMMANDS section, roff");
             app.add_flag("--bash")
                 ->description("the bash completion's tables (the default)")
                 ->excludes(man);
           },
       .handler = DoGenerateDocs,
       .hidden = true},
  };
  return commands;
}

const Command* FindCommand(const std::string& name) {
  for (const auto& c : Commands())
    if (name == c.name) return &c;
  return nullptr;
}

std::vector<std::string> CommandNames() {
  std::vector<std::string> names;
  for (const auto& c : Commands())
    if (!c.hidden) names.push_back(c.name);
  names.push_back("help");
  return names;
}

bool IsHelpFlag(const std::string& word) { return word == "-h" || word == "--help"; }

[[noreturn]] void UnknownCommand(const std::string& word) {
  std::string hint = ClosestMatch(word, CommandNames());
  throw UsageError(fmt::format("unknown command {}; {}", Quoted(word),
                               hint.empty() ? "`sarge --help` lists the commands"
                                            : fmt::format("did you mean '{}'?", hint)));
}

// --- Help --------------------------------------------------------------------

CommandText TextOf(const Command& c) {
  return CommandText{c.name, c.help, c.group, c.example, c.details, c.rest, c.rest_help, c.hidden};
}

std::string CommandHelp(const Command& command) {
  Args scratch;
  CLI::App app{command.help, command.name};
  command.setup(app, scratch);
  return RenderCommandHelp(TextOf(command), app);
}

std::string GeneralHelp() {
  std::vector<CommandText> texts;
  for (const auto& c : Commands()) texts.push_back(TextOf(c));
  return RenderGeneralHelp(texts);
}

int PrintHelp(const std::string& text) {
  std::cout << text;
  return 0;
}

// --- Dispatch ----------------------------------------------------------------

// `sarge help [COMMAND]`, from `words[at]` on.
int Help(const std::vector<std::string>& words, size_t at) {
  if (words.size() <= at || words[at] == "help") return PrintHelp(GeneralHelp());
  if (words.size() > at + 1)
    throw UsageError("help takes one command: sarge help COMMAND; `sarge --help` lists them");
  const Command* command = FindCommand(words[at]);
  if (!command) UnknownCommand(words[at]);
  return PrintHelp(CommandHelp(*command));
}

// What every word in the place of the home or the command can also be: a
// request for help or the version. Returns the exit status if it was one.
std::optional<int> HelpOrVersion(const std::vector<std::string>& words, size_t at) {
  const std::string& word = words[at];
  if (IsHelpFlag(word)) return PrintHelp(GeneralHelp());
  if (word == "--version") return PrintHelp(fmt::format("sarge {}\n", SARGE_VERSION));
  if (word == "help") return Help(words, at + 1);
  if (word.starts_with("-"))
    throw UsageError(
        fmt::format("unknown option {}; `sarge --help` shows the usage", Quoted(word)));
  return std::nullopt;
}

// "--name" and "-n" for each of the command's options.
std::vector<std::string> OptionNames(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::Option* option : app.get_options()) {
    for (const auto& name : option->get_lnames()) names.push_back("--" + name);
    for (const auto& name : option->get_snames()) names.push_back("-" + name);
  }
  return names;
}

[[noreturn]] void BadUsage(const Command& command, const std::string& problem) {
  throw UsageError(fmt::format("{}: {}; `sarge {} --help` shows its usage", command.name, problem,
                               command.name));
}

// The first word CLI11 did not take: an option the command does not have
// (with the closest one it does), or an argument too many.
// Refuses the first word CLI11 did not take: an unknown option, or with
// `words_taken` false, any word.
void RefuseExtras(const Command& command, const CLI::App& app, bool words_taken) {
  std::vector<std::string> extras = app.remaining();
  auto is_word = [](const std::string& w) { return !w.starts_with("-") || w == "-"; };
  if (words_taken) std::erase_if(extras, is_word);
  if (extras.empty()) return;
  const std::string& word = extras.front();
  if (is_word(word)) BadUsage(command, "unexpected argument " + Quoted(word));
  std::string name = word.substr(0, word.find('='));
  std::string hint = ClosestMatch(name, OptionNames(app));
  if (hint.empty()) BadUsage(command, "unknown option " + Quoted(name));
  throw UsageError(
      fmt::format("{}: unknown option {}; did you mean '{}'?", command.name, Quoted(name), hint));
}

// Parses the command's own arguments, `words` after its name, and runs it.
int RunCommand(const Command& command, Args& args, World& world, std::vector<std::string> words) {
  CLI::App app{command.help, command.name};
  command.setup(app, args);
  if (!app.get_prefix_command()) app.allow_extras();  // refused below, in sarge's words
  std::reverse(words.begin(), words.end());           // CLI11 takes them last first
  try {
    app.parse(words);
  } catch (const CLI::CallForHelp&) {
    return PrintHelp(CommandHelp(command));
  } catch (const CLI::ArgumentMismatch& e) {
    // "--lines: 1 required N missing": an option given without its value.
    std::string what = e.what();
    BadUsage(command, Excerpt(what.substr(0, what.find(':')), kExcerptMax) + " needs a value");
  } catch (const CLI::ParseError& e) {
    // CLI11's message quotes the argument as given: escaped and cut, it
    // stays one short line whatever the argument holds.
    BadUsage(command, Excerpt(e.what(), kExcerptMax));
  }
  // run's command, config's words; the other commands take none.
  if (!app.get_prefix_command()) RefuseExtras(command, app, *command.rest != '\0');
  args.words = app.remaining();
  return command.handler(args, world);
}

// `sarge COMMAND …` without a home: help for it, or the home is missing.
int CommandWithoutHome(const Command& command, const std::vector<std::string>& words) {
  if (std::any_of(words.begin() + 1, words.end(), IsHelpFlag))
    return PrintHelp(CommandHelp(command));
  throw UsageError(fmt::format(
      "give the home folder before the command: sarge HOME {}; `sarge {} --help` shows its usage",
      command.name, command.name));
}

}  // namespace

int RunCommandLine(int argc, char** argv, World& world) {
  std::vector<std::string> words(argv + 1, argv + argc);
  if (words.empty())
    throw UsageError(
        "give the home folder and a command: sarge HOME COMMAND; `sarge --help` lists the "
        "commands");
  if (auto status = HelpOrVersion(words, 0)) return *status;
  // A command first is a command without its home, unless a command follows
  // (a home folder that happens to be called `list`).
  const Command* first = FindCommand(words[0]);
  Args args;
  if (first && first->name == std::string("generate-docs"))  // needs no home
    return RunCommand(*first, args, world,
                      std::vector<std::string>(words.begin() + 1, words.end()));
  if (first && (words.size() == 1 || (!FindCommand(words[1]) && words[1] != "help")))
    return CommandWithoutHome(*first, words);
  args.home = words[0];
  if (words.size() == 1)
    throw UsageError(
        "give a command after the home: sarge HOME COMMAND; `sarge --help` lists the commands");
  if (auto status = HelpOrVersion(words, 1)) return *status;
  const Command* command = FindCommand(words[1]);
  if (!command) UnknownCommand(words[1]);
  return RunCommand(*command, args, world,
                    std::vector<std::string>(words.begin() + 2, words.end()));
}

}  // namespace sarge
