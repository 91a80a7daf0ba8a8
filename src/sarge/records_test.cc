#include "sarge/records.h"

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <fstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "sarge/error.h"
#include "sarge/test_util.h"

namespace sarge {
namespace {

TEST(RecordsTest, SavesLoadsAndListsInCreationOrder) {
  testing::TempHome t;
  SaveRecord(t.home,
             Record{"web-b", "web", "2026-01-02T00:00:00Z", {{"x", 1}}, {{"web", 20001}}, ""});
  SaveRecord(t.home, Record{"web-a", "web", "2026-01-03T00:00:00Z", {}, {}, ""});
  Record b = LoadRecord(t.home, "web-b");
  EXPECT_EQ(b.creation_time, "2026-01-02T00:00:00Z");
  EXPECT_EQ(b.ports.at("web"), 20001);
  EXPECT_EQ(b.config["x"], 1);
  auto all = LoadAllRecords(t.home);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, "web-b");
  EXPECT_EQ(ListIds(t.home), (std::vector<std::string>{"web-a", "web-b"}));
}

TEST(RecordsTest, UnknownIdSuggestsAClose) {
  testing::TempHome t;
  SaveRecord(t.home, Record{"web-jCCbfV", "web", UtcNow(), {}, {}, ""});
  try {
    LoadRecord(t.home, "web-jCCbfW");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "no instance 'web-jCCbfW' in " + t.home.root.string() +
                                         "; did you mean 'web-jCCbfV'?");
  }
  EXPECT_THROW(LoadRecord(t.home, "../etc"), Error);
}

TEST(RecordsTest, ListingSkipsTemporaryAndForeignFiles) {
  testing::TempHome t;
  SaveRecord(t.home, Record{"web-a", "web", UtcNow(), {}, {}, ""});
  WriteFileAtomic(t.home.RecordsDir() / "web-b.json.tmp-123", "{");
  WriteFileAtomic(t.home.RecordsDir() / "notes.txt", "hi");
  EXPECT_EQ(ListIds(t.home), std::vector<std::string>{"web-a"});
}

TEST(RecordsTest, AllRecordsComeInCreationOrder) {
  testing::TempHome t;
  // Same creation time for a and c: the id breaks the tie.
  SaveRecord(t.home, Record{"web-c", "web", "2026-01-02T00:00:00Z", {{"x", 1}}, {}, ""});
  SaveRecord(t.home, Record{"web-b", "web", "2026-01-03T00:00:00Z", {}, {{"web", 20001}}, ""});
  SaveRecord(t.home, Record{"web-a", "web", "2026-01-02T00:00:00Z", {}, {}, "/up"});
  std::vector<std::string> made;
  for (const Record& r : LoadAllRecords(t.home)) made.push_back(r.id + " " + r.ToJson().dump());
  EXPECT_EQ(made, (std::vector<std::string>{
                      "web-a " + LoadRecord(t.home, "web-a").ToJson().dump(),
                      "web-c " + LoadRecord(t.home, "web-c").ToJson().dump(),
                      "web-b " + LoadRecord(t.home, "web-b").ToJson().dump(),
                  }));
}

TEST(RecordsTest, ARecordOfManyPagesIsReadWhole) {
  // Read a page at a time, doubling: the text must not stop at 4096 bytes.
  testing::TempHome t;
  nlohmann::json env = nlohmann::json::object();
  for (int i = 0; i < 2000; ++i) env[fmt::format("VARIABLE_{}", i)] = std::string(20, 'v');
  SaveRecord(t.home, Record{"web-a", "web", UtcNow(), {{"env", env}}, {}, ""});
  ASSERT_GT(fs::file_size(t.home.RecordFile("web-a")), 50000u);
  auto all = LoadAllRecords(t.home);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].config["env"], env);
}

TEST(RecordsTest, ABrokenRecordIsSkippedWithAWarningAndTheOthersStay) {
  testing::TempHome t;
  SaveRecord(t.home, Record{"web-a", "web", UtcNow(), {}, {}, ""});
  WriteFileAtomic(t.home.RecordFile("web-b"), "{\"id\": ");
  WriteFileAtomic(t.home.RecordFile("web-c"), "{\"id\": \"web-c\"}");  // JSON, not a record
  ::testing::internal::CaptureStderr();
  auto all = LoadAllRecords(t.home);
  std::string err = ::testing::internal::GetCapturedStderr();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].id, "web-a");
  EXPECT_EQ(err, "sarge: warning: skipping " + t.home.RecordFile("web-b").string() +
                     ": [json.exception.parse_error.101] parse error at line 1, column 8: syntax "
                     "error while parsing value - unexpected end of input; expected '[', '{', or a "
                     "literal\n"
                     "sarge: warning: skipping " +
                     t.home.RecordFile("web-c").string() +
                     ": malformed instance record: [json.exception.out_of_range.403] key 'meta' "
                     "not found\n");
}

TEST(RecordsTest, RecordsComeInCreationOrderAndABrokenOneIsSkipped) {
  // Creation times run against the ids, two ids to a time (ties are broken
  // by id), so the order comes from the sort alone.
  testing::TempHome t;
  constexpr int kCount = 50;
  std::vector<std::pair<std::string, std::string>> expected;  // (time, id)
  for (int i = 0; i < kCount; ++i) {
    Record r{fmt::format("web-{:05}", i),
             "web",
             fmt::format("2026-01-01T00:00:00.{:06}Z", (kCount - i) / 2),
             {},
             {},
             ""};
    std::ofstream(t.home.RecordFile(r.id)) << r.ToJson().dump(2);
    if (i != 20) expected.emplace_back(r.creation_time, r.id);
  }
  std::ofstream(t.home.RecordFile("web-00020")) << "[";
  std::sort(expected.begin(), expected.end());
  ::testing::internal::CaptureStderr();
  std::vector<std::pair<std::string, std::string>> made;
  for (const Record& r : LoadAllRecords(t.home)) made.emplace_back(r.creation_time, r.id);
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(err, "sarge: warning: skipping " + t.home.RecordFile("web-00020").string() +
                     ": [json.exception.parse_error.101] parse error at line 1, column 2: syntax "
                     "error while parsing value - unexpected end of input; expected '[', '{', or "
                     "a literal\n");
  EXPECT_EQ(made, expected);
}

TEST(RecordsTest, UtcNowIsIso8601) {
  std::string now = UtcNow();
  ASSERT_EQ(now.size(), 27u) << now;
  EXPECT_EQ(now[4], '-');
  EXPECT_EQ(now[10], 'T');
  EXPECT_EQ(now[19], '.');
  EXPECT_EQ(now.back(), 'Z');
}

TEST(RecordsTest, UtcNowIsUtcWhateverTheTimeZone) {
  // Five hours east of UTC, spelled so that no time zone file is needed.
  const char* before = std::getenv("TZ");
  std::string saved = before ? before : "";
  ::setenv("TZ", "XXX-5", 1);
  ::tzset();
  std::string now = UtcNow();
  std::time_t expected = std::time(nullptr);
  if (before)
    ::setenv("TZ", saved.c_str(), 1);
  else
    ::unsetenv("TZ");
  ::tzset();
  std::tm parsed{};
  ASSERT_NE(::strptime(now.c_str(), "%Y-%m-%dT%H:%M:%S", &parsed), nullptr) << now;
  EXPECT_LE(std::abs(::timegm(&parsed) - expected), 2) << now;
}

}  // namespace
}  // namespace sarge
