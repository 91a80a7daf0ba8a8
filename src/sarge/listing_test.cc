#include "sarge/listing.h"

#include <gtest/gtest.h>

#include "sarge/deploy.h"
#include "sarge/test_util.h"

namespace sarge {
namespace {

using nlohmann::json;

ProcessInfo Info(std::string state, int pid, int64_t start, int exitstatus, std::string spawnerr) {
  ProcessInfo info;
  info.name = info.group = "web-a";
  info.state = std::move(state);
  info.pid = pid;
  info.start = start;
  info.exitstatus = exitstatus;
  info.spawnerr = std::move(spawnerr);
  return info;
}

TEST(ListingTest, LiveStateSaysWhatApplies) {
  EXPECT_EQ(LiveState(nullptr, false), json({{"state", nullptr}}));
  EXPECT_EQ(LiveState(nullptr, true), json({{"state", "STOPPED"}}));
  ProcessInfo running = Info("RUNNING", 4242, 1764500000, 0, "");
  EXPECT_EQ(LiveState(&running, true),
            json({{"state", "RUNNING"}, {"pid", 4242}, {"started", 1764500000}}));
  ProcessInfo fatal = Info("FATAL", 0, 0, 127, "can't find command");
  EXPECT_EQ(
      LiveState(&fatal, true),
      json({{"state", "FATAL"}, {"exit_status", 127}, {"spawn_error", "can't find command"}}));
}

TEST(ListingTest, ListsEveryRecordInCreationOrderWithItsLiveState) {
  testing::FakeWorld w;
  const std::string config = R"({"application_name": "web"})";
  std::string first = NewCommand(w.env, config);
  std::string second = NewCommand(w.env, config);
  ProcessInfo running = Info("RUNNING", 4242, 1764500000, 0, "");
  running.name = running.group = second;
  w.supervisor.loaded[second] = running;
  json listed = ListInstances(w.home(), w.supervisor);
  ASSERT_EQ(listed["instances"].size(), 2u);
  EXPECT_EQ(listed["instances"][0]["id"], first);
  EXPECT_EQ(listed["instances"][0]["state"], "STOPPED");
  EXPECT_EQ(listed["instances"][1]["id"], second);
  EXPECT_EQ(listed["instances"][1]["pid"], 4242);
  EXPECT_FALSE(listed.contains("supervisord"));
  w.supervisor.unavailable = true;
  listed = ListInstances(w.home(), w.supervisor);
  EXPECT_EQ(listed["instances"][1]["state"], nullptr);
  EXPECT_EQ(listed["supervisord"], "not running");
}

}  // namespace
}  // namespace sarge
