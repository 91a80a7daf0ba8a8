#include "sarge/command_docs.h"

#include <gtest/gtest.h>

namespace sarge {
namespace {

// A command line shaped like sarge's: positionals required and optional,
// options with and without values, a prefix command, a hidden command.
struct SampleCommandLine {
  CLI::App app{"sample", "sarge"};
  std::string home, id, url;
  int timeout = 0, lines = 0;
  bool json = false, follow = false;

  SampleCommandLine() {
    app.set_version_flag("--version", "sarge 1");
    app.add_option("HOME", home, "the home");
    CLI::App* start = app.add_subcommand("start", "start it; return once it is up");
    start->add_option("ID", id, "instance id")->required();
    start->add_option("--timeout", timeout, "seconds to wait")->check(CLI::Range(1, 3600));
    CLI::App* status = app.add_subcommand("status", "a table");
    status->add_option("ID", id, "only this instance");
    status->add_flag("--json", json, "the rows as JSON");
    CLI::App* logs = app.add_subcommand("logs", "the log's end; with -f, follow it");
    logs->add_option("ID", id, "instance id")->required();
    logs->add_option("-n,--lines", lines, "how many lines");
    logs->add_flag("-f,--follow", follow, "keep printing");
    CLI::App* deploy = app.add_subcommand("deploy", "roll out");
    deploy->add_option("--check-url", url, "must answer 200");
    CLI::App* run = app.add_subcommand("run", "bash in the instance folder");
    run->add_option("ID", id, "instance id")->required();
    run->prefix_command();
    app.add_subcommand("launch", "what supervisord runs")->group("");
  }
};

TEST(CommandDocsTest, ManPageHasOneEntryPerVisibleCommandWithItsOptions) {
  SampleCommandLine cli;
  EXPECT_EQ(ManPageCommands(cli.app, {{"run", "[COMMAND...]"}}),
            ".TP\n"
            "\\fBstart\\fR \\fIID\\fR [\\fB\\-\\-timeout\\fR \\fIN\\fR]\n"
            ".br\n"
            "start it; return once it is up\n"
            ".RS\n"
            ".TP\n"
            "\\fB\\-\\-timeout\\fR \\fIN\\fR\n"
            ".br\n"
            "seconds to wait\n"
            ".RE\n"
            ".TP\n"
            "\\fBstatus\\fR [\\fIID\\fR] [\\fB\\-\\-json\\fR]\n"
            ".br\n"
            "a table\n"
            ".RS\n"
            ".TP\n"
            "\\fB\\-\\-json\\fR\n"
            ".br\n"
            "the rows as JSON\n"
            ".RE\n"
            ".TP\n"
            "\\fBlogs\\fR \\fIID\\fR [\\fB\\-\\-lines\\fR \\fIN\\fR] [\\fB\\-\\-follow\\fR]\n"
            ".br\n"
            "the log's end; with \\-f, follow it\n"
            ".RS\n"
            ".TP\n"
            "\\fB\\-n\\fR, \\fB\\-\\-lines\\fR \\fIN\\fR\n"
            ".br\n"
            "how many lines\n"
            ".TP\n"
            "\\fB\\-f\\fR, \\fB\\-\\-follow\\fR\n"
            ".br\n"
            "keep printing\n"
            ".RE\n"
            ".TP\n"
            "\\fBdeploy\\fR [\\fB\\-\\-check\\-url\\fR \\fIURL\\fR]\n"
            ".br\n"
            "roll out\n"
            ".RS\n"
            ".TP\n"
            "\\fB\\-\\-check\\-url\\fR \\fIURL\\fR\n"
            ".br\n"
            "must answer 200\n"
            ".RE\n"
            ".TP\n"
            "\\fBrun\\fR \\fIID\\fR [\\fICOMMAND\\fR...]\n"
            ".br\n"
            "bash in the instance folder\n");
}

TEST(CommandDocsTest, CompletionTablesListCommandsOptionsValuesAndArguments) {
  SampleCommandLine cli;
  EXPECT_EQ(BashCompletionTable(cli.app),
            "_sarge_commands='start status logs deploy run'\n"
            "_sarge_global_options='-h --help --version'\n"
            "declare -gA _sarge_options=(\n"
            "  [start]='-h --help --timeout'\n"
            "  [status]='-h --help --json'\n"
            "  [logs]='-h --help -n --lines -f --follow'\n"
            "  [deploy]='-h --help --check-url'\n"
            "  [run]='-h --help'\n"
            ")\n"
            "declare -gA _sarge_valued_options=(\n"
            "  [start]='--timeout'\n"
            "  [status]=''\n"
            "  [logs]='-n --lines'\n"
            "  [deploy]='--check-url'\n"
            "  [run]=''\n"
            ")\n"
            "declare -gA _sarge_arguments=(\n"
            "  [start]='ID'\n"
            "  [status]='ID'\n"
            "  [logs]='ID'\n"
            "  [deploy]=''\n"
            "  [run]='ID COMMAND...'\n"
            ")\n");
}

TEST(CommandDocsTest, RoffEscapeKeepsTextInertAndOptionsAsMinusSigns) {
  EXPECT_EQ(RoffEscape("with -f, follow"), "with \\-f, follow");
  EXPECT_EQ(RoffEscape("a \\fB b"), "a \\efB b");
  EXPECT_EQ(RoffEscape(".SH injected"), "\\&.SH injected");
  EXPECT_EQ(RoffEscape("'br"), "\\&'br");
  EXPECT_EQ(RoffEscape("(re)compute"), "(re)compute");
  EXPECT_EQ(RoffEscape(""), "");
}

TEST(CommandDocsTest, ValueNameIsNForNumbersElseTheLastWordOfTheName) {
  SampleCommandLine cli;
  EXPECT_EQ(ValueName(*cli.app.get_subcommand("start")->get_option("--timeout")), "N");
  EXPECT_EQ(ValueName(*cli.app.get_subcommand("logs")->get_option("--lines")), "N");
  EXPECT_EQ(ValueName(*cli.app.get_subcommand("deploy")->get_option("--check-url")), "URL");
}

}  // namespace
}  // namespace sarge
