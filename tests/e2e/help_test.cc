// The command line's own texts: help for every command, generated from the
// one command table, the version, and "did you mean" for a mistyped
// command. Usage errors exit 2 with one line; help and version exit 0.
#include <map>

#include "e2e_util.h"

namespace e2e {
namespace {

constexpr const char* kExitStatus = "Exit status: 0 success, 1 the command failed, 2 bad usage.\n";

// The first line of `sarge help NAME` for every command an operator uses.
const std::map<std::string, std::string> kUsage = {
    {"init", "usage: sarge HOME init"},
    {"resume", "usage: sarge HOME resume"},
    {"new", "usage: sarge HOME new CONFIG_JSON"},
    {"configure", "usage: sarge HOME configure ID"},
    {"start", "usage: sarge HOME start ID [--timeout S] [--min-uptime DURATION]"},
    {"stop", "usage: sarge HOME stop ID [--force]"},
    {"destroy", "usage: sarge HOME destroy ID [--force]"},
    {"run", "usage: sarge HOME run ID [COMMAND...]"},
    {"deploy",
     "usage: sarge HOME deploy CONFIG SOURCE [--check-url URL] [--timeout S] "
     "[--min-uptime DURATION] [--watch DURATION] [--keep N] [--label LABEL]"},
    {"activate", "usage: sarge HOME activate ID"},
    {"rollback", "usage: sarge HOME rollback APP [--to ID] [--timeout S] [--min-uptime DURATION]"},
    {"releases", "usage: sarge HOME releases APP [--json]"},
    {"status", "usage: sarge HOME status [ID] [--json]"},
    {"logs", "usage: sarge HOME logs ID [PROCESS] [-n N] [-f]"},
    {"scale", "usage: sarge HOME scale APP TYPE=N... [--timeout S] [--min-uptime DURATION]"},
    {"restart", "usage: sarge HOME restart APP [TYPE] [--timeout S] [--min-uptime DURATION]"},
    {"list", "usage: sarge HOME list"},
};

std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(Help, GeneralHelpListsEveryCommandWithItsExitStatuses) {
  for (const std::string flag : {"--help", "-h"}) {
    Result r = RunSarge({flag});
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
    EXPECT_EQ(r.err, "");
    EXPECT_EQ(FirstLine(r.out), "usage: sarge HOME COMMAND [ARGS]");
    for (const auto& [name, usage] : kUsage)
      EXPECT_TRUE(Contains(r.out, "\n  " + name + " ")) << name << "\n" << r.out;
    EXPECT_FALSE(Contains(r.out, "launch")) << "the command supervisord runs is not for people";
    EXPECT_TRUE(Contains(
        r.out,
        "\n  deploy      roll out SOURCE: new instance, start, check, switch, stop the old\n"))
        << r.out;
    EXPECT_TRUE(Contains(r.out, "`sarge help COMMAND`")) << r.out;
    EXPECT_TRUE(r.out.ends_with(std::string("\n\n") + kExitStatus)) << r.out;
    for (const auto& line : Lines(r.out)) EXPECT_LE(line.size(), 80u) << line;
  }
  EXPECT_EQ(RunSarge({"help"}).out, RunSarge({"--help"}).out);
}

TEST(Help, EachCommandSaysItsArgumentsOptionsAndAnExample) {
  for (const auto& [name, usage] : kUsage) {
    SCOPED_TRACE(name);
    Result r = RunSarge({"help", name});
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
    EXPECT_EQ(r.err, "");
    EXPECT_EQ(FirstLine(r.out), usage);
    EXPECT_TRUE(Contains(r.out, "\nOptions:\n")) << r.out;
    EXPECT_TRUE(Contains(r.out, "\n  -h, --help        show this help\n")) << r.out;
    EXPECT_TRUE(Contains(r.out, "\nExample:\n  sarge /var/local/gardensale " + name)) << r.out;
    EXPECT_TRUE(r.out.ends_with(std::string("\n\n") + kExitStatus)) << r.out;
    // Narrow enough for any terminal, but for the usage line, which is
    // kept whole.
    auto lines = Lines(r.out);
    for (size_t i = 1; i < lines.size(); ++i) EXPECT_LE(lines[i].size(), 80u) << lines[i];
  }
}

TEST(Help, DeployHelpInFull) {
  Result r = RunSarge({"help", "deploy"});
  EXPECT_EQ(r.out,
            "usage: sarge HOME deploy CONFIG SOURCE [--check-url URL] [--timeout S] "
            "[--min-uptime DURATION] [--watch DURATION] [--keep N] [--label LABEL]\n"
            "\n"
            "Roll out SOURCE: new instance, start, check, switch, stop the old. Creates an\n"
            "instance, installs SOURCE in it, starts it, waits until it is healthy (its check\n"
            "answers and it stays up for --min-uptime), points nginx at it, lets the old\n"
            "nginx workers finish and stops the application's previous instances. On any\n"
            "failure before the switch the new instance is removed and the old one keeps\n"
            "serving; with --watch, also when it fails in that time after the switch. Prints\n"
            "the new id.\n"
            "\n"
            "Arguments:\n"
            "  CONFIG            an application's name (its configuration is the source's\n"
            "                    sarge.json, else the one it was last deployed with), or the\n"
            "                    instance configuration as for new (- for standard input,\n"
            "                    @FILE for a file), whose keys override the source's\n"
            "                    sarge.json\n"
            "  SOURCE            a folder (copied in) or a .tar.gz (unpacked)\n"
            "\n"
            "Options:\n"
            "  --check-url URL   must answer 2xx or 3xx before the switch, e.g.\n"
            "                    http://127.0.0.1:$WEB_PORT/health\n"
            "  --timeout S       seconds to start and pass the check (default: deploy.timeout\n"
            "                    in sarge.yaml)\n"
            "  --min-uptime DURATION\n"
            "                    how long the server must stay up once it answers, e.g. 1.5\n"
            "                    or 500ms (default: deploy.min_uptime, 1 s)\n"
            "  --watch DURATION  after the switch, keep the previous instance running this\n"
            "                    long and switch back if the new one exits or fails its\n"
            "                    check, e.g. 30s (default: deploy.watch, 0)\n"
            "  --keep N          previous instances to keep for rollback (default:\n"
            "                    deploy.keep)\n"
            "  --label LABEL     a free text kept with the new instance: a version, a commit\n"
            "  -h, --help        show this help\n"
            "\n"
            "Example:\n"
            "  sarge /var/local/gardensale deploy \\\n"
            "      '{\"application_name\": \"web\", \"services\": {\"web\": {\"type\": "
            "\"listen\"}}}' \\\n"
            "      release-42.tar.gz --check-url 'http://127.0.0.1:$WEB_PORT/health'\n"
            "\n" +
                std::string(kExitStatus));
}

// The same help wherever the request is made: before or after the home,
// as `help COMMAND` or `COMMAND --help`, and through the home's bin/sarge.
TEST(Help, EveryWayOfAskingGivesTheSameText) {
  TempHome home;
  ASSERT_TRUE(home.Init());
  const std::string expected = RunSarge({"help", "deploy"}).out;
  const std::string bin = (home / "bin/sarge").string();
  for (const auto& args :
       std::vector<std::vector<std::string>>{{SARGE_BINARY, "deploy", "--help"},
                                             {SARGE_BINARY, "deploy", "-h"},
                                             {SARGE_BINARY, "deploy", "x.tar.gz", "--help"},
                                             {SARGE_BINARY, home.str(), "deploy", "--help"},
                                             {SARGE_BINARY, home.str(), "help", "deploy"},
                                             {bin, "deploy", "--help"},
                                             {bin, "help", "deploy"}}) {
    Result r = RunProgram(args);
    SCOPED_TRACE(args[1] + " " + args[2]);
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
    EXPECT_EQ(r.out, expected);
    EXPECT_EQ(r.err, "");
  }
  const std::string general = RunSarge({"--help"}).out;
  EXPECT_EQ(RunSarge({home.str(), "--help"}).out, general);
  EXPECT_EQ(RunProgram({bin, "--help"}).out, general);
  EXPECT_EQ(RunProgram({bin, "help"}).out, general);
}

TEST(Help, VersionIsOneLine) {
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"--version"}, {"/x", "--version"}}) {
    Result r = RunSarge(args);
    EXPECT_EQ(r.exit_code, 0) << Describe(r);
    EXPECT_EQ(r.out, std::string("sarge ") + SARGE_VERSION + "\n");
    EXPECT_EQ(r.err, "");
  }
}

// A usage error: exit 2, one line on stderr, nothing on stdout.
void ExpectUsageError(const std::vector<std::string>& args, const std::string& message) {
  std::string command;
  for (const auto& a : args) command += " " + a;
  SCOPED_TRACE("sarge" + command);
  Result r = RunSarge(args);
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
  EXPECT_EQ(r.err, "sarge: error: " + message + "\n");
  EXPECT_EQ(r.out, "");
}

TEST(Help, MistypedCommandsGetASuggestion) {
  TempHome home;
  ASSERT_TRUE(home.Init());
  ExpectUsageError({home.str(), "lsit"}, "unknown command 'lsit'; did you mean 'list'?");
  ExpectUsageError({home.str(), "stauts"}, "unknown command 'stauts'; did you mean 'status'?");
  ExpectUsageError({home.str(), "depoly", "{}", "src"},
                   "unknown command 'depoly'; did you mean 'deploy'?");
  ExpectUsageError({home.str(), "hlep"}, "unknown command 'hlep'; did you mean 'help'?");
  ExpectUsageError({"help", "rollbak"}, "unknown command 'rollbak'; did you mean 'rollback'?");
  ExpectUsageError({"help", "xyzzy"}, "unknown command 'xyzzy'; `sarge --help` lists the commands");
}

TEST(Help, UsageMistakesSayWhatToType) {
  ExpectUsageError({},
                   "give the home folder and a command: sarge HOME COMMAND; `sarge --help` "
                   "lists the commands");
  ExpectUsageError({"list"},
                   "give the home folder before the command: sarge HOME list; `sarge "
                   "list --help` shows its usage");
  ExpectUsageError({"start", "web-abcdef"},
                   "give the home folder before the command: sarge HOME start; `sarge start "
                   "--help` shows its usage");
  ExpectUsageError({"--frobnicate"},
                   "unknown option '--frobnicate'; `sarge --help` shows the usage");
  ExpectUsageError({"/x", "--frobnicate"},
                   "unknown option '--frobnicate'; `sarge --help` shows the usage");
  ExpectUsageError({"help", "deploy", "start"},
                   "help takes one command: sarge help COMMAND; `sarge --help` lists them");
  ExpectUsageError({"/x", "start", "web-abcdef", "--bogus"},
                   "start: unknown option '--bogus'; `sarge start --help` shows its usage");
}

// A home folder that happens to be called like a command still works.
TEST(Help, AHomeNamedLikeACommandIsAHome) {
  TempHome home;
  const std::string list_home = home.str() + "/list";
  Result r = RunSarge({list_home, "init"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  r = RunProgram({"/bin/sh", "-c", "cd " + home.str() + " && " + SARGE_BINARY + " list list"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_TRUE(Contains(r.out, "\"instances\": []")) << r.out;
}

// `run ID COMMAND --help`: the --help is the command's, not sarge's.
TEST(Help, RunPassesHelpToTheCommand) {
  TempHome home;
  ASSERT_TRUE(home.Init());
  const std::string id = home.New({{"application_name", "web"}});
  ASSERT_FALSE(id.empty());
  Result r = home.Sarge({"run", id, "echo", "--help"});
  EXPECT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(r.out, "--help\n");
  r = home.Sarge({"run", "--help"});
  EXPECT_EQ(FirstLine(r.out), "usage: sarge HOME run ID [COMMAND...]");
}

}  // namespace
}  // namespace e2e
