// sarge on a terminal: the real binary under a pseudo-terminal. `start`
// shows a live step line that ends as "✓ start ID (N ms)"; colour only on a
// terminal that wants it (NO_COLOR, TERM=dumb); `status` colours its states.
#include <regex>

#include "e2e_util.h"

namespace e2e {
namespace {

std::string Escaped(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\033') {
      out += "\\e";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      out += c;
    }
  }
  return out;
}

class Terminal : public HomeTest {
 protected:
  void SetUp() override {
    HomeTest::SetUp();
    ASSERT_TRUE(home_.StartSupervisord());
    id_ = home_.New({{"application_name", "web"},
                     {"services", {{"web", {{"type", "listen"}, {"host", "127.0.0.1"}}}}}});
    ASSERT_FALSE(id_.empty());
    home_.WriteServer(id_, kHttpServer);
  }
  std::string id_;
};

const std::vector<std::string> kColourTerminal = {"TERM=xterm-256color", "LANG=C.UTF-8",
                                                  "LC_ALL=", "NO_COLOR="};

TEST_F(Terminal, StartShowsALiveStepThatEndsWithATick) {
  Result r = RunOnTerminal({home_.str(), "start", id_}, kColourTerminal);
  ASSERT_EQ(r.exit_code, 0) << Escaped(r.out);
  const std::string pid = std::to_string(ReadNumber(home_ / id_ / "server.pid"));
  // The live line first (spinner, label, time so far), then the note above
  // it, then the live line replaced by the result.
  const std::string live = "\033\\[36m(⠋|⠙|⠹|⠸|⠼|⠴|⠦|⠧|⠇|⠏)\033\\[0m start " + id_ +
                           "  \033\\[2m[0-9]+\\.[0-9]s\033\\[0m";
  EXPECT_TRUE(std::regex_match(
      r.out, std::regex(live + "(\r\033\\[K" + live + ")*" + "\r\033\\[Ksarge: started " + id_ +
                        " \\(pid " + pid + "\\)\n" + live + "(\r\033\\[K" + live + ")*" +
                        "\r\033\\[K\033\\[32m✓\033\\[0m start " + id_ +
                        " \033\\[2m\\([0-9]+ ms\\)\033\\[0m\n")))
      << Escaped(r.out);
}

TEST_F(Terminal, NoColourWithNoColorAndNoLiveLineOnADumbTerminal) {
  Result r = RunOnTerminal({home_.str(), "start", id_},
                           {"TERM=xterm", "LANG=C.UTF-8", "LC_ALL=", "NO_COLOR=1"});
  ASSERT_EQ(r.exit_code, 0) << Escaped(r.out);
  EXPECT_EQ(r.out.find("\033["), r.out.find("\033[K")) << "colour despite NO_COLOR\n"
                                                       << Escaped(r.out);
  EXPECT_TRUE(
      std::regex_search(r.out, std::regex("\r\033\\[K✓ start " + id_ + " \\([0-9]+ ms\\)\n$")))
      << Escaped(r.out);
  ASSERT_EQ(home_.Sarge({"stop", id_}).exit_code, 0);

  r = RunOnTerminal({home_.str(), "start", id_}, {"TERM=dumb", "LANG=C.UTF-8", "LC_ALL="});
  ASSERT_EQ(r.exit_code, 0) << Escaped(r.out);
  const std::string pid = std::to_string(ReadNumber(home_ / id_ / "server.pid"));
  EXPECT_EQ(r.out, "sarge: started " + id_ + " (pid " + pid + ")\n");
}

TEST_F(Terminal, AsciiMarksOutsideAUtf8Locale) {
  Result r = RunOnTerminal({home_.str(), "start", id_},
                           {"TERM=xterm", "LANG=C", "LC_ALL=", "LC_CTYPE=", "NO_COLOR=1"});
  ASSERT_EQ(r.exit_code, 0) << Escaped(r.out);
  EXPECT_TRUE(
      std::regex_search(r.out, std::regex("\r\033\\[Kok start " + id_ + " \\([0-9]+ ms\\)\n$")))
      << Escaped(r.out);
  EXPECT_EQ(r.out.find("\xe2"), std::string::npos) << Escaped(r.out);
}

TEST_F(Terminal, AFailedStartIsMarkedBeforeTheError) {
  home_.WriteServer(id_, kExitAtOnceServer);
  Result r = RunOnTerminal({home_.str(), "start", id_}, kColourTerminal);
  EXPECT_EQ(r.exit_code, 1) << Escaped(r.out);
  EXPECT_TRUE(std::regex_search(r.out, std::regex("\r\033\\[K\033\\[31m✗\033\\[0m start " + id_ +
                                                  " \033\\[2m\\([0-9]+ ms\\)\033\\[0m\nsarge: "
                                                  "error: " +
                                                  id_ + " did not start: ")))
      << Escaped(r.out);
}

TEST_F(Terminal, StatusColoursTheStateOnlyOnATerminal) {
  ASSERT_EQ(home_.Sarge({"start", id_}).exit_code, 0);
  ASSERT_TRUE(WaitFor([&] { return home_.ProgramState(id_) == "RUNNING"; }, 5s));
  Result r = RunOnTerminal({home_.str(), "status"}, kColourTerminal);
  ASSERT_EQ(r.exit_code, 0) << Escaped(r.out);
  EXPECT_NE(r.out.find("\033[1mID"), std::string::npos) << Escaped(r.out);
  EXPECT_NE(r.out.find("\033[32mRUNNING"), std::string::npos) << Escaped(r.out);
  r = RunOnTerminal({home_.str(), "status"}, {"TERM=xterm", "NO_COLOR=1"});
  EXPECT_EQ(r.out.find('\033'), std::string::npos) << Escaped(r.out);
  EXPECT_NE(r.out.find("RUNNING"), std::string::npos) << Escaped(r.out);
}

}  // namespace
}  // namespace e2e
