#include "sarge/names.h"

#include <gtest/gtest.h>

#include "sarge/error.h"

namespace sarge {
namespace {

TEST(NamesTest, SafeNamesAreLettersDigitsUnderscoreDash) {
  EXPECT_TRUE(IsSafeName("web-jCCbfV"));
  EXPECT_TRUE(IsSafeName("worker_2"));
  EXPECT_FALSE(IsSafeName(""));
  EXPECT_FALSE(IsSafeName("../etc"));
  EXPECT_FALSE(IsSafeName("a/b"));
  EXPECT_FALSE(IsSafeName("a b"));
  EXPECT_FALSE(IsSafeName("web\n[program:x]"));
  EXPECT_FALSE(IsSafeName(std::string(65, 'a')));
}

TEST(NamesTest, NewInstanceIdIsAppDashSixAlphanumerics) {
  std::string id = NewInstanceId("web");
  ASSERT_EQ(id.size(), 10u);
  EXPECT_EQ(id.substr(0, 4), "web-");
  for (char c : id.substr(4)) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c))) << id;
  EXPECT_NE(NewInstanceId("web"), NewInstanceId("web"));
}

TEST(NamesTest, EnvNameIsCapitalsWithUnderscores) {
  EXPECT_EQ(EnvName("web"), "WEB");
  EXPECT_EQ(EnvName("my-db_2"), "MY_DB_2");
}

TEST(NamesTest, ClosestMatchSuggestsTypos) {
  EXPECT_EQ(ClosestMatch("strat", {"start", "stop", "list"}), "start");
  EXPECT_EQ(ClosestMatch("web-jCCbfW", {"web-jCCbfV", "web-zzzzzz"}), "web-jCCbfV");
  EXPECT_EQ(ClosestMatch("frobnicate", {"start", "stop"}), "");
}

TEST(NamesTest, ClosestMatchCountsASwapOfNeighboursAsOneEdit) {
  EXPECT_EQ(ClosestMatch("lsit", {"init", "new", "list"}), "list");
  EXPECT_EQ(ClosestMatch("web-jCCbVf", {"web-jCCbfV", "web-zzzzzz"}), "web-jCCbfV");
  EXPECT_EQ(ClosestMatch("stpo", {"start", "stop"}), "stop");
}

TEST(NamesTest, QuotedEscapesControlCharacters) { EXPECT_EQ(Quoted("a\nb\x01"), "'a\\nb\\x01'"); }

TEST(NamesTest, CheckSafeNameSaysWhatIsAllowed) {
  try {
    CheckSafeName("instance id", "../etc");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "instance id '../etc' is not valid: use letters, digits, '_' and '-' only");
  }
}

}  // namespace
}  // namespace sarge
