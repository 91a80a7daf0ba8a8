#include "sarge/progress.h"

#include <sstream>
#include <stdexcept>

#include <gtest/gtest.h>

#include "sarge/test_util.h"

namespace sarge {
namespace {

using namespace std::chrono_literals;

const Step kCreate{"deploy web", "create instance", 1, 7};
const Step kStart{"start web-abc", "", 0, 0};

TEST(PlainProgressTest, NumberedStepsPrintALineWhenTheyBeginAndWhenTheyAreDone) {
  std::ostringstream out;
  testing::FakeClock clock;
  PlainProgress progress(out, clock);
  RunStep(progress, kCreate, [&] {
    progress.Say("new instance web-abc");
    clock.Sleep(12ms);
  });
  EXPECT_EQ(out.str(),
            "sarge: deploy web: [1/7] create instance\n"
            "sarge: new instance web-abc\n"
            "sarge: deploy web: [1/7] done in 12 ms\n");
}

TEST(PlainProgressTest, AStepThatIsNotNumberedPrintsOnlyItsNotes) {
  std::ostringstream out;
  testing::FakeClock clock;
  PlainProgress progress(out, clock);
  RunStep(progress, kStart, [&] { progress.Say("started web-abc (pid 42)"); });
  EXPECT_EQ(out.str(), "sarge: started web-abc (pid 42)\n");
}

TEST(PlainProgressTest, AFailedStepSaysNothingMoreAndTheErrorGoesOn) {
  std::ostringstream out;
  testing::FakeClock clock;
  PlainProgress progress(out, clock);
  EXPECT_THROW(RunStep(progress, kCreate, [] { throw std::runtime_error("no"); }),
               std::runtime_error);
  EXPECT_EQ(out.str(), "sarge: deploy web: [1/7] create instance\n");
}

TerminalStyle Style(bool colour, bool unicode, int width = 80) {
  return TerminalStyle{true, colour, unicode, width};
}

TEST(TerminalProgressTest, TheLiveLineIsRedrawnInPlaceAndReplacedByTheResult) {
  std::ostringstream out;
  testing::FakeClock clock;
  TerminalProgress progress(out, clock, Style(false, true), false);
  progress.Begin(kCreate);
  EXPECT_EQ(out.str(), "⠋ deploy web [1/7] create instance  0.0s");
  clock.Sleep(1234ms);
  progress.Tick();
  EXPECT_EQ(out.str(),
            "⠋ deploy web [1/7] create instance  0.0s"
            "\r\033[K⠙ deploy web [1/7] create instance  1.2s");
  out.str("");
  progress.End(true);
  EXPECT_EQ(out.str(), "\r\033[K✓ deploy web [1/7] create instance (1234 ms)\n");
}

TEST(TerminalProgressTest, NotesGoAboveTheLiveLine) {
  std::ostringstream out;
  testing::FakeClock clock;
  TerminalProgress progress(out, clock, Style(false, true), false);
  progress.Begin(kStart);
  out.str("");
  progress.Say("started web-abc (pid 42)");
  EXPECT_EQ(out.str(), "\r\033[Ksarge: started web-abc (pid 42)\n⠋ start web-abc  0.0s");
}

TEST(TerminalProgressTest, AFailedStepIsMarkedAsSuch) {
  std::ostringstream out;
  testing::FakeClock clock;
  TerminalProgress progress(out, clock, Style(false, false), false);
  EXPECT_THROW(RunStep(progress, kStart,
                       [&]() -> int {
                         clock.Sleep(5ms);
                         throw std::runtime_error("no");
                       }),
               std::runtime_error);
  EXPECT_EQ(out.str(), "| start web-abc  0.0s\r\033[Kfailed start web-abc (5 ms)\n");
}

TEST(TerminalProgressTest, ColourOnlyWhenAsked) {
  std::ostringstream plain, coloured;
  testing::FakeClock clock;
  TerminalProgress a(plain, clock, Style(false, true), false);
  TerminalProgress b(coloured, clock, Style(true, true), false);
  RunStep(a, kStart, [] {});
  RunStep(b, kStart, [] {});
  EXPECT_EQ(plain.str().find("\033[3"), std::string::npos) << plain.str();
  EXPECT_NE(coloured.str().find("\033[32m✓\033[0m start web-abc"), std::string::npos)
      << coloured.str();
}

TEST(TerminalProgressTest, TheLiveLineNeverWrapsOnANarrowTerminal) {
  std::ostringstream out;
  testing::FakeClock clock;
  TerminalProgress progress(out, clock, Style(false, false, 30), false);
  progress.Begin(Step{"deploy web", "let old nginx workers finish", 6, 7});
  EXPECT_EQ(out.str(), "| deploy web [6/7] l...  0.0s");
  EXPECT_LT(out.str().size(), 30u);
}

TEST(TerminalProgressTest, NestedStepsShowTheInnermostThenTheOuterAgain) {
  std::ostringstream out;
  testing::FakeClock clock;
  TerminalProgress progress(out, clock, Style(false, false), false);
  progress.Begin(kStart);
  progress.Begin(kCreate);
  out.str("");
  progress.End(true);
  EXPECT_EQ(out.str(), "\r\033[Kok deploy web [1/7] create instance (0 ms)\n| start web-abc  0.0s");
}

TEST(TerminalProgressTest, TheTickerAnimatesWhileAStepRuns) {
  std::ostringstream out;
  TerminalProgress progress(out, RealClock(), Style(false, false), true);
  progress.Begin(kStart);
  std::this_thread::sleep_for(350ms);
  progress.End(true);
  std::string text = out.str();
  EXPECT_NE(text.find("/ start web-abc"), std::string::npos) << text;
  EXPECT_EQ(text.substr(text.rfind('\r')).rfind("\r\033[Kok start web-abc (", 0), 0u) << text;
}

}  // namespace
}  // namespace sarge
