#include "sarge/help.h"

#include <gtest/gtest.h>
#include <CLI/CLI.hpp>

namespace sarge {
namespace {

TEST(HelpTest, WrapBreaksAtEightyColumnsWithAHangingIndent) {
  std::string text;
  for (int i = 0; i < 30; ++i) text += "word ";
  std::string wrapped = Wrap(text, 4, 10);
  EXPECT_EQ(wrapped,
            "word word word word word word word word word word word word word word\n"
            "    word word word word word word word word word word word word word word word\n"
            "    word");
}

TEST(HelpTest, CommandHelpSaysUsageArgumentsOptionsAndExample) {
  std::string id, text;
  int lines = 0;
  bool follow = false;
  CLI::App app{"tail it", "tail"};
  app.add_option("ID", id, "instance id")->required();
  app.add_option("FILE", text, "which file");
  app.add_option("-n,--lines", lines, "how many lines")->type_name("N")->check(CLI::Range(0, 9));
  app.add_flag("-f,--follow", follow, "keep going");
  app.add_option("--since", text, "from when")->type_name("TIME");
  CommandText command{"tail",
                      "print the end of a log",
                      "Inspect",
                      "web-jCCbfV -n 5",
                      "Reads var/log/ID.log.",
                      "",
                      "",
                      false};
  EXPECT_EQ(RenderCommandHelp(command, app),
            "usage: sarge HOME tail ID [FILE] [-n N] [-f] [--since TIME]\n"
            "\n"
            "Print the end of a log. Reads var/log/ID.log.\n"
            "\n"
            "Arguments:\n"
            "  ID                instance id\n"
            "  FILE              which file\n"
            "\n"
            "Options:\n"
            "  -n, --lines N     how many lines\n"
            "  -f, --follow      keep going\n"
            "  --since TIME      from when\n"
            "  -h, --help        show this help\n"
            "\n"
            "Example:\n"
            "  sarge /var/local/gardensale tail web-jCCbfV -n 5\n"
            "\n"
            "Exit status: 0 success, 1 the command failed, 2 bad usage.\n");
}

TEST(HelpTest, WordsAfterTheArgumentsAreDescribedToo) {
  std::string id;
  CLI::App app{"run", "run"};
  app.add_option("ID", id, "instance id")->required();
  CommandText command{"run", "run something", "", "", "", "[COMMAND...]", "what to run", false};
  std::string help = RenderCommandHelp(command, app);
  EXPECT_EQ(help.substr(0, help.find('\n')), "usage: sarge HOME run ID [COMMAND...]");
  EXPECT_NE(help.find("\n  [COMMAND...]      what to run\n"), std::string::npos) << help;
  EXPECT_NE(help.find("\nExample:\n  sarge /var/local/gardensale run\n"), std::string::npos)
      << help;
}

TEST(HelpTest, GeneralHelpGroupsCommandsAndLeavesHiddenOnesOut) {
  std::vector<CommandText> commands = {
      {"init", "make the home", "Set up", "", "", "", "", false},
      {"new", "create an instance", "Instances", "", "", "", "", false},
      {"start", "start it", "Instances", "", "", "", "", false},
      {"launch", "what supervisord runs", "", "", "", "", "", true}};
  std::string help = RenderGeneralHelp(commands);
  EXPECT_EQ(help.substr(0, help.find('\n')), "usage: sarge HOME COMMAND [ARGS]");
  EXPECT_NE(help.find("\nSet up:\n  init        make the home\n\nInstances:\n"
                      "  new         create an instance\n  start       start it\n"),
            std::string::npos)
      << help;
  EXPECT_EQ(help.find("launch"), std::string::npos) << help;
}

}  // namespace
}  // namespace sarge
