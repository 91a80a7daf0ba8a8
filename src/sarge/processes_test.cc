#include "sarge/processes.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sarge/error.h"
#include "sarge/fs.h"
#include "sarge/supervisor_config.h"
#include "sarge/test_util.h"

namespace sarge {
namespace {

std::vector<std::string> Programs(const std::vector<Process>& processes) {
  std::vector<std::string> out;
  for (const auto& p : processes) out.push_back(p.program + "=" + p.Label());
  return out;
}

std::string ErrorOf(const std::vector<std::string>& words) {
  try {
    ParseScale(words);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ProcessesTest, TheFirstWebProcessIsNamedAfterTheInstanceAndTheOthersAfterTheirType) {
  EXPECT_EQ(Programs(ProcessesOf("web-abc123", {})), std::vector<std::string>{"web-abc123=web.1"});
  EXPECT_EQ(
      Programs(ProcessesOf("web-abc123", {{"worker", 2}, {"clock", 0}, {"web", 2}})),
      (std::vector<std::string>{"web-abc123=web.1", "web-abc123.web.2=web.2",
                                "web-abc123.worker.1=worker.1", "web-abc123.worker.2=worker.2"}));
  EXPECT_EQ(InstanceOfProgram("web-abc123.worker.2"), "web-abc123");
  EXPECT_EQ(InstanceOfProgram("web-abc123"), "web-abc123");
  EXPECT_EQ(ParseProgram("web-abc123.worker.2")->Label(), "worker.2");
  EXPECT_EQ(ParseProgram("web-abc123")->Label(), "web.1");
  for (const char* bad : {"web-abc123./tmp/x.1", "web-abc123.../x.1", "web-abc123.web.1",
                          "web-abc123.worker.0", "web-abc123.worker.33", "web-abc123.worker",
                          "web-abc123.Worker.1", "../x", "web-abc123.worker.01"})
    EXPECT_EQ(ParseProgram(bad), std::nullopt) << bad;
}

TEST(ProcessesTest, ScaleWordsAreCheckedNamingTheWord) {
  EXPECT_EQ(ParseScale({"web=2", "worker=0"}), (ProcessCounts{{"web", 2}, {"worker", 0}}));
  EXPECT_EQ(ErrorOf({"worker"}),
            "'worker' is not TYPE=N (a process type of the Procfile, as in worker=2)");
  EXPECT_EQ(ErrorOf({"Worker=1"}),
            "'Worker=1' is not TYPE=N (a process type of the Procfile, as in worker=2)");
  for (const char* count : {"worker=", "worker=-1", "worker=+1", "worker=33", "worker=1x"})
    EXPECT_EQ(ErrorOf({count}), "'" + std::string(count) +
                                    "': the number of worker processes must be a whole number "
                                    "from 0 to 32");
  EXPECT_EQ(ErrorOf({"web=0"}),
            "web=0 would leave the application nothing to serve requests; scale web to 1 or more "
            "(stop an instance with sarge HOME stop ID)");
  EXPECT_EQ(ErrorOf({"worker=1", "worker=2"}), "the process type 'worker' is given twice");
  EXPECT_THROW(ParseScale({}), UsageError);
}

TEST(ProcessesTest, CountsComeFromTheProcfileAndTheApplicationsScale) {
  testing::TempHome t;
  Record record{"web-abc123", "web", UtcNow(), nlohmann::json::object(), {}, ""};
  MakeDirs(t.home.InstanceDir(record.id));
  EXPECT_EQ(CountsToStart(t.home, record), (ProcessCounts{{"web", 1}}));
  WriteFileAtomic(t.home.InstanceDir(record.id) / "Procfile",
                  "web: ./run\nworker: ./work\nrelease: ./migrate\nclock: ./tick\n");
  EXPECT_EQ(CountsToStart(t.home, record),
            (ProcessCounts{{"clock", 1}, {"web", 1}, {"worker", 1}}));
  SaveScale(t.home, "web", {{"worker", 3}, {"clock", 0}, {"gone", 2}});
  EXPECT_EQ(CountsToStart(t.home, record),
            (ProcessCounts{{"clock", 0}, {"web", 1}, {"worker", 3}}));
  WriteFileAtomic(t.home.AppScaleFile("web"), "{\"worker\": 99}");
  try {
    LoadScale(t.home, "web");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              t.home.AppScaleFile("web").string() +
                  " is not an object of process counts (0 to 32); remove it, then set them again "
                  "with sarge " +
                  t.home.root.string() + " scale web TYPE=N");
  }
}

TEST(ProcessesTest, TheProgramFileHasOneProgramPerProcessAndSaysWhichItHas) {
  testing::TempHome t;
  const std::string id = "web-abc123";
  EXPECT_EQ(ProgramsInFile(t.home, id), std::vector<std::string>{id});
  std::string conf = ProgramConf(t.home, id, Settings{}, {{"worker", 2}});
  EXPECT_THAT(conf, ::testing::HasSubstr("\n[program:web-abc123.worker.2]\ncommand='" +
                                         t.home.Bin("sarge").string() +
                                         "' launch web-abc123.worker.2\ndirectory=" +
                                         t.home.InstanceDir(id).string() + "\n"));
  EXPECT_THAT(conf,
              ::testing::HasSubstr(
                  "\nstdout_logfile=" + t.home.InstanceLog("web-abc123.worker.2").string() + "\n"));
  MakeDirs(t.home.ProgramsDir());
  WriteFileAtomic(t.home.ProgramFile(id), conf + "[program:other-abc123]\n");
  EXPECT_EQ(ProgramsInFile(t.home, id),
            (std::vector<std::string>{id, id + ".worker.1", id + ".worker.2"}));
}

}  // namespace
}  // namespace sarge
