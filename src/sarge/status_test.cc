#include "sarge/status.h"

#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sarge/records.h"
#include "sarge/test_util.h"

namespace sarge {
namespace {

using nlohmann::json;

json Listing() {
  return json::parse(R"({"instances": [
    {"id": "web-a", "meta": {"APPLICATION_NAME": "web", "CREATION_TIME": "x"},
     "config": {"services": {"web": {"type": "listen", "host": "127.0.0.1"}}},
     "ports": {"web": 20001}, "state": "RUNNING", "pid": 42, "started": 1000},
    {"id": "web-b", "meta": {"APPLICATION_NAME": "web", "CREATION_TIME": "y"},
     "config": {"services": {"web": {"type": "listen", "port": 8000}}},
     "ports": {}, "state": "FATAL", "exit_status": 3, "spawn_error": "Exited too quickly"},
    {"id": "job-c", "meta": {"APPLICATION_NAME": "job", "CREATION_TIME": "z"},
     "config": {"services": {}}, "ports": {}, "state": null}]})");
}

TEST(StatusTest, RowsSayStateUptimePortsAndWhichServes) {
  testing::TempHome t;
  WriteFileAtomic(t.home.NginxSite("web"), "# sarge: application web active web-a generation 3\n");
  json rows = StatusRows(t.home, Listing(), 1000 + 3725);
  // Uptime in seconds, ports as numbers: for scripts.
  EXPECT_EQ(
      rows[0],
      json::parse(R"({"id": "web-a", "application": "web", "process": "web.1", "state": "RUNNING",
      "pid": 42, "uptime": 3725, "ports": [20001], "active": true, "last_exit": ""})"));
  EXPECT_EQ(rows[1]["last_exit"], "exit status 3: Exited too quickly");
  EXPECT_EQ(rows[1]["ports"], json::array({8000}));
  EXPECT_EQ(rows[1]["uptime"], nullptr);
  EXPECT_EQ(rows[1]["active"], false);
  EXPECT_EQ(rows[2]["state"], "?");
}

TEST(StatusTest, TableIsAlignedAndUncolouredOffATerminal) {
  testing::TempHome t;
  std::string table = StatusTable(StatusRows(t.home, Listing(), 1010), false);
  EXPECT_EQ(table,
            "ID     APP  PROCESS  STATE    PID  UPTIME  PORTS  ACTIVE  LAST EXIT\n"
            "web-a  web  web.1    RUNNING  42   10s     20001\n"
            "web-b  web  web.1    FATAL    -    -       8000           exit status 3: Exited too "
            "quickly\n"
            "job-c  job  web.1    ?        -    -       -\n");
  EXPECT_EQ(table.find('\033'), std::string::npos);
  EXPECT_NE(StatusTable(StatusRows(t.home, Listing(), 1010), true).find("\033[32mRUNNING"),
            std::string::npos);
}

TEST(StatusTest, ShowLogPrintsTheLastLines) {
  testing::FakeWorld w;
  SaveRecord(w.home(), Record{"web-a", "web", UtcNow(), json::object(), {}, ""});
  WriteFileAtomic(w.home().InstanceLog("web-a"), "one\ntwo\nthree\n");
  std::ostringstream out;
  ShowLog(w.env, "web-a", "", 2, false, out);
  EXPECT_EQ(out.str(), "two\nthree\n");
}

TEST(StatusTest, ShowLogFindsTheLastLinesOfALongLog) {
  testing::FakeWorld w;
  SaveRecord(w.home(), Record{"web-a", "web", UtcNow(), json::object(), {}, ""});
  std::string log;
  for (int i = 0; i < 20000; ++i) log += "line " + std::to_string(i) + "\n";  // > 64 KiB
  WriteFileAtomic(w.home().InstanceLog("web-a"), log);
  std::ostringstream out;
  ShowLog(w.env, "web-a", "", 15000, false, out);
  EXPECT_EQ(out.str(), log.substr(log.find("line 5000\n")));
}

TEST(StatusTest, ShowLogOfNoLinesPrintsNothing) {
  testing::FakeWorld w;
  SaveRecord(w.home(), Record{"web-a", "web", UtcNow(), json::object(), {}, ""});
  WriteFileAtomic(w.home().InstanceLog("web-a"), "one\ntwo\n");
  std::ostringstream out;
  ShowLog(w.env, "web-a", "", 0, false, out);
  EXPECT_EQ(out.str(), "");
}

TEST(StatusTest, ShowLogCountsAnUnfinishedLastLine) {
  testing::FakeWorld w;
  SaveRecord(w.home(), Record{"web-a", "web", UtcNow(), json::object(), {}, ""});
  WriteFileAtomic(w.home().InstanceLog("web-a"), "one\ntwo\nthr");
  std::ostringstream out;
  ShowLog(w.env, "web-a", "", 2, false, out);
  EXPECT_EQ(out.str(), "two\nthr");
}

TEST(StatusTest, ShowLogOfAnInstanceThatNeverRanPrintsNothing) {
  testing::FakeWorld w;
  SaveRecord(w.home(), Record{"web-a", "web", UtcNow(), json::object(), {}, ""});
  std::ostringstream out;
  ShowLog(w.env, "web-a", "", 10, false, out);
  EXPECT_EQ(out.str(), "");
}

}  // namespace
}  // namespace sarge
