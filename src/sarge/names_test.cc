#include "sarge/names.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

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

TEST(NamesTest, EveryPositionOfAnIdTakesEveryCharacter) {
  // The six characters come from one draw: each position must still range
  // over all 62. In 2000 ids a character is missed at a position with a
  // probability of about 1e-14.
  std::vector<std::set<char>> seen(6);
  for (int i = 0; i < 2000; ++i) {
    std::string id = NewInstanceId("a");
    for (size_t p = 0; p < 6; ++p) seen[p].insert(id[2 + p]);
  }
  for (size_t p = 0; p < 6; ++p) EXPECT_EQ(seen[p].size(), 62u) << "position " << p;
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

TEST(NamesTest, PrintableEscapesWhatIsNotPlainUtf8) {
  EXPECT_EQ(Printable("plain h\xc3\xa9 \xe2\x9c\x93"), "plain h\xc3\xa9 \xe2\x9c\x93");
  EXPECT_EQ(Printable("a\r\tb\x7f"), "a\\r\\tb\\x7f");
  EXPECT_EQ(Printable("\xff\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80"),
            "\\xff\\xc0\\xaf\\xed\\xa0\\x80\\xf4\\x90\\x80\\x80");  // invalid, overlong, surrogate,
                                                                    // past U+10FFFF
  EXPECT_EQ(Printable("\xc3"), "\\xc3");                            // cut short
  EXPECT_EQ(Printable("\xc2\x85|\xe2\x80\xa8|\xe2\x80\xae|\xef\xbb\xbf"),  // NEL, LS, RLO, BOM
            "\\u0085|\\u2028|\\u202e|\\ufeff");
}

TEST(NamesTest, QuotedCutsLongValuesAtACharacterBoundary) {
  EXPECT_EQ(Quoted(std::string(100, 'a')), "'" + std::string(100, 'a') + "'");
  EXPECT_EQ(Quoted(std::string(101, 'a')), "'" + std::string(100, 'a') + "'… (101 bytes)");
  // 99 bytes, then a two-byte character that would straddle the cut.
  EXPECT_EQ(Quoted(std::string(99, 'a') + "\xc3\xa9" + "zz"),
            "'" + std::string(99, 'a') + "'… (103 bytes)");
}

TEST(NamesTest, ExcerptCutsAndEscapes) {
  EXPECT_EQ(Excerpt("short\n", 10), "short\\n");
  EXPECT_EQ(Excerpt(std::string(20, 'x'), 10), std::string(10, 'x') + "…");
}

TEST(NamesTest, KeepEndStartsAtACharacter) {
  EXPECT_EQ(KeepEnd("abc", 5), "abc");
  EXPECT_EQ(KeepEnd("abcdef", 3), "def");
  EXPECT_EQ(KeepEnd("a\xc3\xa9", 2), "\xc3\xa9");
  EXPECT_EQ(KeepEnd("a\xc3\xa9", 1), "");  // half of 'é' is not kept
}

TEST(NamesTest, MessageLineIsOneBoundedLineThatKeepsTheAdvice) {
  EXPECT_EQ(MessageLine("no such instance 'a'; `sarge HOME list` shows them"),
            "no such instance 'a'; `sarge HOME list` shows them");
  EXPECT_EQ(MessageLine("two\nlines\x1b[2J"), "two\\nlines\\x1b[2J");
  EXPECT_EQ(MessageLine(std::string(kMessageMax, 'a')), std::string(kMessageMax, 'a'));

  // Too long: its start and its end (the advice) are kept around "…".
  std::string advice = "; give a shorter value";
  std::string line = MessageLine("bad value " + std::string(5000, 'x') + advice);
  EXPECT_EQ(line.size(), kMessageMax);
  EXPECT_TRUE(line.starts_with("bad value xxx"));
  EXPECT_TRUE(line.ends_with("xxx" + advice));
  EXPECT_NE(line.find("x…x"), std::string::npos);

  // Cuts fall between characters: 'é' is two bytes and 5001 of them cannot
  // be cut evenly; newlines escaped first count as the two bytes they print.
  std::string accents;
  for (int i = 0; i < 5001; ++i) accents += "\xc3\xa9";
  line = MessageLine(accents + "\n");
  EXPECT_LE(line.size(), kMessageMax);
  EXPECT_EQ(Printable(line), line);
  EXPECT_TRUE(line.ends_with("\xc3\xa9\\n"));
}

TEST(NamesTest, ValidUtf8ReplacesBadBytes) {
  EXPECT_EQ(ValidUtf8("ok \xc3\xa9"), "ok \xc3\xa9");
  EXPECT_EQ(ValidUtf8("a\xff"
                      "b"),
            "a\xef\xbf\xbd"
            "b");
}

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
