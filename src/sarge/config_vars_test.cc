#include "sarge/config_vars.h"

#include <sys/stat.h>

#include <sstream>

#include <gtest/gtest.h>

#include "sarge/error.h"
#include "sarge/fs.h"
#include "sarge/test_util.h"

namespace sarge {
namespace {

TEST(ConfigVars, AreKeptTheOwnersOnlyAndReadBack) {
  testing::TempHome temp;
  EXPECT_TRUE(LoadAppVars(temp.home, "web").empty());
  SaveAppVars(temp.home, "web", {{"A", "1"}, {"B", "two words\nand a line"}});
  EXPECT_EQ(LoadAppVars(temp.home, "web"), (Vars{{"A", "1"}, {"B", "two words\nand a line"}}));
  struct stat st {};
  ASSERT_EQ(::stat(temp.home.AppVarsFile("web").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  SaveInstanceVars(temp.home, "web-abcdef", {});  // nothing to keep: no file
  EXPECT_FALSE(fs::exists(temp.home.VarsFile("web-abcdef")));
  SaveInstanceVars(temp.home, "web-abcdef", {{"A", "1"}});
  ASSERT_EQ(::stat(temp.home.VarsDir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_EQ(LoadInstanceVars(temp.home, "web-abcdef"), (Vars{{"A", "1"}}));
  RemoveInstanceVars(temp.home, "web-abcdef");
  RemoveInstanceVars(temp.home, "web-abcdef");  // gone already: harmless
  EXPECT_TRUE(LoadInstanceVars(temp.home, "web-abcdef").empty());
}

TEST(ConfigVars, AFileThatIsNotAnObjectOfStringsIsAnError) {
  testing::TempHome temp;
  for (const char* text : {"[]", "{\"A\": 1}", "not json"}) {
    MakeDirs(temp.home.AppDir("web"));
    WriteFileAtomic(temp.home.AppVarsFile("web"), text);
    try {
      LoadAppVars(temp.home, "web");
      ADD_FAILURE() << text;
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()),
                temp.home.AppVarsFile("web").string() +
                    " is not an object of strings; restore it from a backup or remove it");
    }
  }
}

TEST(ConfigVars, AssignmentsAreParsedAndABadOneNeverShowsItsText) {
  EXPECT_EQ(ParseAssignments({"A=1", "B=x=y", "C="}), (Vars{{"A", "1"}, {"B", "x=y"}, {"C", ""}}));
  for (const char* word : {"hunter2", "=hunter2"}) {
    try {
      ParseAssignments({"A=1", word});
      ADD_FAILURE() << word;
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()),
                "variable 2 of 2 is not NAME=VALUE (not shown, in case it is a secret); give each "
                "as NAME=VALUE");
    }
  }
  EXPECT_THROW(ParseAssignments({"BIG=" + std::string(32 * 1024 + 1, 'x')}), Error);
}

TEST(ConfigVars, StandardInputGivesOneAssignmentPerLine) {
  std::istringstream in("A=1\r\n\nB=x=y\n");
  EXPECT_EQ(ReadAssignments(in), (Vars{{"A", "1"}, {"B", "x=y"}}));
  std::istringstream empty("\n\n");
  EXPECT_THROW(ReadAssignments(empty), Error);
  std::istringstream huge("A=" + std::string(1024 * 1024, 'x'));
  EXPECT_THROW(ReadAssignments(huge), Error);
}

TEST(ConfigVars, NamesSargeOrAServiceDefinesAreRefused) {
  EXPECT_NO_THROW(CheckVarName("DATABASE_URL", {"WEB_PORT"}));
  auto message = [](const std::string& name) {
    try {
      CheckVarName(name, {"WEB_PORT", "WEB_HOST"});
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  };
  EXPECT_EQ(message("WEB_PORT"),
            "WEB_PORT is defined by one of the application's services; choose another name");
  EXPECT_EQ(message("SARGE_HOME"),
            "SARGE_HOME is set by sarge for every instance; choose "
            "another name");
  EXPECT_EQ(message("1X"),
            "'1X' is not a valid environment variable name: use letters, digits and '_', not "
            "starting with a digit");
}

}  // namespace
}  // namespace sarge
