#include "sarge/records.h"

#include <cstdlib>
#include <ctime>

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
