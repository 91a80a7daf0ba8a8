#include "sarge/listing.h"

#include <sstream>

#include <gtest/gtest.h>

#include "sarge/deploy.h"
#include "sarge/test_util.h"

namespace sarge {
namespace {

using nlohmann::json;

// Describe's JSON as it stands inside `list`'s output.
std::string AsListed(const json& value) {
  std::string text = value.dump(2), out;
  for (char c : text) {
    out += c;
    if (c == '\n') out += "    ";
  }
  return out;
}

Record SomeRecord() {
  Record r{"web-a",
           "web",
           "2026-01-02T00:00:00.000001Z",
           {{"application_name", "web"},
            {"env", {{"QUOTE", "a \"b\"\n\tc ✓"}, {"EMPTY", ""}}},
            {"services", {{"web", {{"type", "listen"}}}}},
            {"urlmap", json::array()},
            {"nginx_options", json::object()}},
           {{"web", 20001}, {"admin", 20002}},
           ""};
  return r;
}

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

TEST(ListingTest, TheTextIsDescribesJsonForEveryKindOfState) {
  const ProcessInfo states[] = {
      Info("RUNNING", 4242, 1764500000, 0, ""),
      Info("STARTING", 4242, 0, 0, ""),
      Info("STOPPED", 0, 1764500000, 0, ""),
      Info("EXITED", 0, 1764500000, 3, ""),
      Info("BACKOFF", 0, 0, 1, "Exited too quickly (process log may have details)"),
      Info("FATAL", 0, 0, 127, "can't find command \"x\""),
      Info("STOPPING", 4243, 1764500000, 0, ""),
  };
  for (bool check_url : {false, true}) {
    for (bool autostart : {false, true}) {
      Record record = SomeRecord();
      if (check_url) record.check_url = "/health";
      record.autostart = autostart;
      ListedInstance listed{Record(record)};
      EXPECT_EQ(listed.id(), "web-a");
      std::string text;
      listed.AppendTo(text, nullptr, false);
      EXPECT_EQ(text, AsListed(Describe(Record(record), nullptr, false)));
      EXPECT_NE(text.find("\"state\": null"), std::string::npos) << text;
      text.clear();
      listed.AppendTo(text, nullptr, true);
      EXPECT_EQ(text, AsListed(Describe(Record(record), nullptr, true)));
      for (const auto& info : states) {
        text.clear();
        listed.AppendTo(text, &info, true);
        EXPECT_EQ(text, AsListed(Describe(Record(record), &info, true))) << info.state;
      }
    }
  }
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

// `list` streams its output; it must read exactly as the whole tree would.
TEST(ListingTest, StreamedListingEqualsTheWholeTreeDumped) {
  testing::FakeWorld w;
  for (int n = 0; n < 3; ++n) {
    std::ostringstream streamed;
    WriteListing(w.home(), w.supervisor, streamed);
    EXPECT_EQ(streamed.str(), ListInstances(w.home(), w.supervisor).dump(2) + "\n")
        << n << " instances";
    NewCommand(w.env, R"({"application_name": "web", "services": {"web": {"type": "listen"}},
                            "env": {"A": "line\nbreak \"quoted\""}})");
  }
}

// Past 64 KiB the text goes out in chunks; none may be lost or repeated.
TEST(ListingTest, ALongListingEqualsTheWholeTreeDumped) {
  testing::FakeWorld w;
  std::string config =
      R"({"application_name": "web", "env": {"A": ")" + std::string(1000, 'x') + "\"}}";
  for (int n = 0; n < 200; ++n) NewCommand(w.env, config);
  std::ostringstream streamed;
  WriteListing(w.home(), w.supervisor, streamed);
  EXPECT_GT(streamed.str().size(), 2 * 64 * 1024);
  EXPECT_EQ(streamed.str(), ListInstances(w.home(), w.supervisor).dump(2) + "\n");
}

}  // namespace
}  // namespace sarge
