#include "sarge/procfile.h"

#include <gtest/gtest.h>

#include "sarge/error.h"
#include "sarge/fs.h"
#include "sarge/test_util.h"

namespace sarge {
namespace {

std::string ErrorOf(std::string_view text) {
  try {
    CheckedProcfile(text, "Procfile");
  } catch (const Error& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(ProcfileTest, TypesAndCommandsInOrderCommentsAndBlankLinesSkipped) {
  Procfile p = ParseProcfile(
      "# processes\n\nweb:  gunicorn app:app -b 127.0.0.1:$WEB_PORT  \r\nrelease:./migrate "
      "--all\nclock-2: ./tick\n",
      "Procfile");
  ASSERT_EQ(p.types.size(), 3u);
  EXPECT_EQ(p.types[0].name, "web");
  EXPECT_EQ(p.types[0].command, "gunicorn app:app -b 127.0.0.1:$WEB_PORT");
  EXPECT_EQ(p.types[0].line, 3);
  EXPECT_EQ(p.Find("release")->command, "./migrate --all");
  EXPECT_EQ(p.Find("clock-2")->line, 5);
  EXPECT_EQ(p.Find("worker"), nullptr);
}

TEST(ProcfileTest, EveryMalformedLineIsAnErrorNamingIt) {
  EXPECT_EQ(ErrorOf("web: ./run\nworker ./work"),
            "Procfile line 2: 'worker ./work' is not TYPE: COMMAND");
  EXPECT_EQ(ErrorOf("-web: ./run"),
            "Procfile line 1: the process type '-web' must be lower-case letters, digits and '-' "
            "(at most 40), not starting with '-'");
  EXPECT_EQ(ErrorOf("w_b: ./run"),
            "Procfile line 1: the process type 'w_b' must be lower-case letters, digits and '-' "
            "(at most 40), not starting with '-'");
  EXPECT_EQ(ErrorOf(": ./run"),
            "Procfile line 1: the process type '' must be lower-case letters, digits and '-' (at "
            "most 40), not starting with '-'");
  EXPECT_EQ(ErrorOf("web: a\nweb: b"),
            "Procfile line 2: the process type 'web' is given twice (first on line 1)");
  EXPECT_EQ(ErrorOf("web:   \n"), "Procfile line 1: the process type 'web' has no command");
  EXPECT_EQ(ErrorOf(std::string("web: a\0b", 8)), "Procfile line 1: contains a NUL character");
  EXPECT_EQ(ErrorOf("release: ./m"),
            "Procfile has no web process: add a line `web: COMMAND`, or remove the Procfile to "
            "run the executable `server`");
  EXPECT_EQ(ErrorOf("worker: ./work\nclock: ./tick"),
            "Procfile has no web process: add a line `web: COMMAND`, or remove the Procfile to "
            "run the executable `server`");
  std::string many = "web: ./run\n";
  for (int i = 1; i < 32; ++i) many += "t" + std::to_string(i) + ": ./t\n";
  EXPECT_EQ(ParseProcfile(many, "Procfile").types.size(), 32u);
  EXPECT_EQ(ErrorOf(many + "one-more: ./x\n"),
            "Procfile line 33: more than 32 process types; each runs at least one process");
  EXPECT_EQ(ErrorOf(""),
            "Procfile has no web process: add a line `web: COMMAND`, or remove the "
            "Procfile to run the executable `server`");
}

TEST(ProcfileTest, AnInstancesProcfileIsReadOnlyAsARegularFile) {
  testing::TempHome temp;
  const std::string id = "web-abcdef";
  MakeDirs(temp.home.InstanceDir(id));
  EXPECT_EQ(ReadProcfile(temp.home, id), std::nullopt);
  WriteFileAtomic(temp.home.InstanceDir(id) / "Procfile", "web: ./run\n");
  ASSERT_TRUE(ReadProcfile(temp.home, id));
  EXPECT_EQ(ReadProcfile(temp.home, id)->Find("web")->command, "./run");
  fs::remove(temp.home.InstanceDir(id) / "Procfile");
  fs::create_symlink("/etc/passwd", temp.home.InstanceDir(id) / "Procfile");
  EXPECT_THROW(ReadProcfile(temp.home, id), Error);
  fs::remove(temp.home.InstanceDir(id) / "Procfile");
  WriteFileAtomic(temp.home.InstanceDir(id) / "Procfile",
                  "web: ./run\n#" + std::string(kMaxProcfileBytes, 'x') + "\n");
  EXPECT_THROW(ReadProcfile(temp.home, id), Error);
}

}  // namespace
}  // namespace sarge
