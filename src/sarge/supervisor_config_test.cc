#include "sarge/supervisor_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sarge/error.h"

namespace sarge {
namespace {

using ::testing::HasSubstr;

TEST(SupervisorConfigTest, ValuesDoublePercentAndRefuseLineBreaksAndComments) {
  EXPECT_EQ(SupervisorValue("50%(here)s"), "50%%(here)s");
  for (const char* bad : {"a\nb", "a\rb", "a ;b", "a;b", "a #b", "x\x01"}) {
    EXPECT_THROW(SupervisorValue(bad), Error) << bad;
  }
}

// Found by fuzz/supervisor_value_fuzzer.cc: supervisord strips a value's
// white space (Python's str.strip), so such a value would not read back.
TEST(SupervisorConfigTest, ValuesRefuseWhiteSpaceSupervisordWouldStrip) {
  EXPECT_EQ(SupervisorValue("a b"), "a b");
  for (const char* bad : {" x", "x ", "x\xc2\xa0", "\xe3\x80\x80x"}) {
    try {
      SupervisorValue(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr("starts or ends with white space")) << bad;
    }
  }
}

TEST(SupervisorConfigTest, ShellQuoteSurvivesQuotes) {
  EXPECT_EQ(ShellQuote("it's"), "'it'\\''s'");
  EXPECT_EQ(ShellQuote("$(x)"), "'$(x)'");
}

TEST(SupervisorConfigTest, ProgramRunsSargeLaunchAndLogsToTheInstanceLog) {
  Home home{"/srv/app"};
  Settings settings;
  settings.log_max_bytes = "1MB";
  settings.log_backups = 3;
  std::string conf = ProgramConf(home, "web-abc123", settings);
  EXPECT_THAT(conf, HasSubstr("\n[program:web-abc123]\n"));
  EXPECT_THAT(conf, HasSubstr("\ncommand='/srv/app/bin/sarge' launch web-abc123\n"));
  EXPECT_THAT(conf, HasSubstr("\ndirectory=/srv/app/web-abc123\n"));
  EXPECT_THAT(conf, HasSubstr("\nautostart=false\n"));
  EXPECT_THAT(conf, HasSubstr("\nstopasgroup=true\nkillasgroup=true\n"));
  EXPECT_THAT(conf, HasSubstr("\nstdout_logfile=/srv/app/var/log/web-abc123.log\n"));
  EXPECT_THAT(conf, HasSubstr("\nstdout_logfile_maxbytes=1MB\nstdout_logfile_backups=3\n"));
}

TEST(SupervisorConfigTest, ProgramRefusesAnIdThatIsNotAName) {
  Home home{"/srv/app"};
  EXPECT_THROW(ProgramConf(home, "x\n[program:evil]", Settings{}), Error);
}

TEST(SupervisorConfigTest, SupervisordConfIncludesTheProgramsFolder) {
  std::string conf = SupervisordConf(Home{"/srv/app"});
  EXPECT_THAT(conf,
              HasSubstr("[unix_http_server]\nfile=/srv/app/var/run/supervisor.sock\nchmod=0700\n"));
  EXPECT_THAT(conf, HasSubstr("pidfile=/srv/app/var/run/supervisord.pid\n"));
  EXPECT_THAT(conf, HasSubstr("[include]\nfiles = /srv/app/etc/supervisor.d/*.conf\n"));
}

}  // namespace
}  // namespace sarge
