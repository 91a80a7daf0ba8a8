// A release's Procfile end to end (issue 25, section 2): its web command is
// the server, its release command runs once per deploy before the new
// instance starts, and a malformed one is refused before anything is made.
#include "deploy_fixture.h"

namespace e2e {
namespace {

using Procfile = DeployTest;

// Serves VERSION and what the release command left in migrated.txt (read
// once, at start: a file the release command had not written yet fails it).
const std::string kApp = BodyServer(R"PY(
body = ("%s%s %s\n" % (open("VERSION").read().strip(), os.environ.get("SUFFIX", ""),
                      open("migrated.txt").read().strip())).encode()
)PY");

// An executable `server` that fails: what runs must be the Procfile's web.
const char* const kNotTheServer = "#!/bin/sh\necho 'not the server' >&2\nexit 7\n";

TEST_F(Procfile, ItsWebCommandServesAndItsReleaseCommandRunsBeforeTheStart) {
  fs::path v1 = Source("v1", kNotTheServer,
                       {{"VERSION", "v1"},
                        {"app.py", kApp},
                        {"prerun.sh", "export SUFFIX=-pre\n"},
                        {"Procfile",
                         "# the processes\n"
                         "web: exec python3 -u app.py\n"
                         "release: echo \"migrated on port $WEB_PORT by $GREETING$SUFFIX\" > "
                         "migrated.txt\n"}});
  json config = Config();
  config["prerun"] = "prerun.sh";  // sourced before the web and the release command
  config["env"] = {{"GREETING", "the release command"}};
  Result r = Deploy(config, v1);
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  const std::string id = LastLine(r.out);
  EXPECT_NE(r.err.find("sarge: deploy web: [3/8] release command\n"), std::string::npos) << r.err;
  const int port = home_.AppCfg(id)["WEB_PORT"].get<int>();
  const std::string served =
      "v1-pre migrated on port " + std::to_string(port) + " by the release command-pre\n";
  EXPECT_EQ(Served(), served);

  // A release command that fails fails the deploy, which is undone: the
  // old instance's processes were never touched.
  const pid_t before = home_.ListEntry(id)["pid"].get<pid_t>();
  fs::path v2 =
      Source("v2", kNotTheServer,
             {{"VERSION", "v2"},
              {"app.py", kApp},
              {"prerun.sh", ""},
              {"Procfile", "web: python3 app.py\nrelease: echo cannot migrate; exit 3\n"}});
  r = Deploy(config, v2);
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_TRUE(std::regex_search(
      r.err, std::regex("\nsarge: error: deploy failed at 'release command': the release command "
                        "'echo cannot migrate; exit 3' exited with status 3; web-[A-Za-z0-9]{6} "
                        "was removed and the front end is unchanged\ncannot migrate\n")))
      << r.err;
  EXPECT_EQ(Served(), served);
  EXPECT_EQ(home_.List()["instances"].size(), 1u);
  EXPECT_EQ(home_.ListEntry(id)["pid"].get<pid_t>(), before);
}

TEST_F(Procfile, AMalformedOneIsRefusedNamingTheLineAndNothingIsMade) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"web: ./run\nworker ./work\n", " line 2: 'worker ./work' is not TYPE: COMMAND"},
      {"web: ./run\nWeb: ./other\n",
       " line 2: the process type 'Web' must be lower-case letters, digits and '-' (at most 40), "
       "not starting with '-'"},
      {"web: ./run\n\nweb: ./again\n",
       " line 3: the process type 'web' is given twice (first on line 1)"},
      {"web:\n", " line 1: the process type 'web' has no command"},
      {"release: ./migrate\n",
       " has no web process: add a line `web: COMMAND`, or remove the Procfile to run the "
       "executable `server`"},
  };
  int n = 0;
  for (const auto& [text, error] : cases) {
    fs::path source = Source("bad" + std::to_string(++n), kNotTheServer, {{"Procfile", text}});
    Result r = Deploy(Config(), source);
    EXPECT_EQ(r.exit_code, 1) << Describe(r);
    EXPECT_EQ(r.err, "sarge: error: the Procfile of '" + source.string() + "'" + error + "\n")
        << text;
  }
  EXPECT_TRUE(home_.List()["instances"].empty());
  EXPECT_FALSE(fs::exists(home_ / "etc/apps/web/releases.json"));
}

}  // namespace
}  // namespace e2e
