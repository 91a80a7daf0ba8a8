// Bad input gets one line "sarge: error: …" on stderr, the right exit status
// (1 a failed command, 2 bad usage) and changes nothing on disk.
#include <algorithm>

#include "e2e_util.h"

namespace e2e {
namespace {

class Errors : public HomeTest {
 protected:
  // Runs `sarge HOME args…` and checks the exact message, the exit status,
  // an empty stdout and an unchanged home.
  void ExpectError(const std::vector<std::string>& args, int exit_code,
                   const std::string& message) {
    std::string command;
    for (const auto& a : args) command += " " + a;
    SCOPED_TRACE("sarge HOME" + command);
    Snapshot before = home_.Snap();
    Result r = home_.Sarge(args);
    EXPECT_EQ(r.exit_code, exit_code) << Describe(r);
    EXPECT_EQ(r.err, "sarge: error: " + message + "\n");
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(DiffSnapshots(before, home_.Snap()), "");
  }

  void ExpectNewError(const std::string& config, const std::string& message) {
    ExpectError({"new", config}, 1, "instance configuration" + message);
  }

  std::string NoInstance(const std::string& id) {
    return "no instance '" + id + "' in " + home_.str() + "; `sarge " + home_.str() +
           " list` shows them";
  }
};

TEST_F(Errors, MalformedJsonOrNotAnObject) {
  ExpectNewError("{bad",
                 " is not valid JSON: parse error at line 1, column 2: syntax error while "
                 "parsing object key - invalid literal; last read: '{b'; expected string literal");
  ExpectNewError("",
                 " is not valid JSON: parse error at line 1, column 1: syntax error while "
                 "parsing value - unexpected end of input; expected '[', '{', or a literal");
  ExpectNewError("[1]", " must be a JSON object, not a list");
  ExpectNewError("\"web\"", " must be a JSON object, not a string");
  ExpectNewError("null", " must be a JSON object, not null");
}

TEST_F(Errors, UnknownKeys) {
  ExpectNewError(R"({"servics": {}})", ": key 'servics' is unknown; did you mean 'services'?");
  ExpectNewError(R"({"application-name": "web"})",
                 ": key 'application-name' is unknown; did you mean 'application_name'?");
  ExpectNewError(R"({"zzzzzzzz": 1})",
                 ": key 'zzzzzzzz' is unknown; known keys are: application_name, prerun, "
                 "services, urlmap, nginx_options, env");
  ExpectNewError(R"({"services": {"web": {"type": "listen", "prot": 1}}})",
                 ": key 'services.web.prot' is unknown; did you mean 'port'?");
  ExpectNewError(R"({"services": {"web": {"type": "var-folder", "port": 1}}})",
                 ": key 'services.web.port' is unknown; known keys are: type");
}

TEST_F(Errors, WrongTypes) {
  ExpectNewError(R"({"application_name": 5})",
                 ": key 'application_name' must be a string, not a number");
  ExpectNewError(R"({"services": []})", ": key 'services' must be an object, not a list");
  ExpectNewError(R"({"services": {"web": "listen"}})",
                 ": key 'services.web' must be an object, not a string");
  ExpectNewError(R"({"services": {"web": {}}})",
                 ": key 'services.web.type' is missing; use var-folder, persistent-folder or "
                 "listen");
  ExpectNewError(R"({"env": {"A": 1}})", ": key 'env.A' must be a string, not a number");
  ExpectNewError(R"({"env": []})", ": key 'env' must be an object, not a list");
  ExpectNewError(R"({"prerun": 3})", ": key 'prerun' must be a string, not a number");
  ExpectNewError(R"({"services": {"web": {"type": "listen", "port": true}}})",
                 ": key 'services.web.port' must be a port number, not a boolean");
}

TEST_F(Errors, ApplicationNamesOutsideTheSafeCharacters) {
  for (const std::string name : {"a/b", "..", "a b", "", "../etc", "web.1"})
    ExpectNewError(json({{"application_name", name}}).dump(),
                   ": key 'application_name' '" + name +
                       "' is not valid: use letters, digits, '_' and '-' only");
}

TEST_F(Errors, UnknownServiceTypes) {
  ExpectNewError(R"({"services": {"web": {"type": "lisen"}}})",
                 ": key 'services.web.type' 'lisen' is not a service type; use var-folder, "
                 "persistent-folder or listen (did you mean 'listen'?)");
  ExpectNewError(R"({"services": {"web": {"type": "frobnicate"}}})",
                 ": key 'services.web.type' 'frobnicate' is not a service type; use "
                 "var-folder, persistent-folder or listen");
}

TEST_F(Errors, BadPorts) {
  for (const std::string port : {"0", "70000", "-1"})
    ExpectNewError(R"({"services": {"web": {"type": "listen", "port": )" + port + "}}}",
                   ": key 'services.web.port' " + port + " is not a port number (1-65535)");
  // A string is quoted as every other value is, and cut when it is long.
  for (const std::string port : {"abc", "", "80x"})
    ExpectNewError(R"({"services": {"web": {"type": "listen", "port": ")" + port + "\"}}}",
                   ": key 'services.web.port' '" + port + "' is not a port number (1-65535)");
  ExpectNewError(
      R"({"services": {"web": {"type": "listen", "port": ")" + std::string(150, '8') + "\"}}}",
      ": key 'services.web.port' '" + std::string(100, '8') +
          "'… (150 bytes) is not a port number (1-65535)");
}

TEST_F(Errors, UnknownAndPathLikeIds) {
  const std::string id = home_.New({{"application_name", "web"}});
  ASSERT_FALSE(id.empty());
  std::string typo = id;
  typo.back() = typo.back() == 'x' ? 'y' : 'x';
  for (const std::string command : {"configure", "start", "stop", "destroy", "run"}) {
    ExpectError({command, "web-AAAAAA"}, 1, NoInstance("web-AAAAAA") + "");
    ExpectError({command, typo}, 1,
                "no instance '" + typo + "' in " + home_.str() + "; did you mean '" + id + "'?");
    for (const std::string& bad :
         std::vector<std::string>{"../etc", "a/b", "..", ".", "/tmp", "etc/instances/" + id})
      ExpectError({command, bad}, 1,
                  "instance id '" + bad + "' is not valid: use letters, digits, '_' and '-' only");
  }
}

TEST_F(Errors, UnknownCommandsAndMissingArguments) {
  ExpectError({"strat", "web-abcdef"}, 2, "unknown command 'strat'; did you mean 'start'?");
  ExpectError({"destory"}, 2, "unknown command 'destory'; did you mean 'destroy'?");
  ExpectError({"frobnicate"}, 2, "unknown command 'frobnicate'; `sarge --help` lists the commands");
  ExpectError({}, 2,
              "give a command after the home: sarge HOME COMMAND; `sarge --help` lists the "
              "commands");
  ExpectError({"new"}, 2, "new: CONFIG_JSON is required; `sarge new --help` shows its usage");
  ExpectError({"start"}, 2, "start: ID is required; `sarge start --help` shows its usage");
  ExpectError({"list", "extra"}, 2,
              "list: unexpected argument 'extra'; `sarge list --help` shows its usage");
  // An argument is escaped and cut: the message stays one line.
  ExpectError({"list", "--a\nb"}, 2,
              "list: unknown option '--a\\nb'; `sarge list --help` shows its usage");
  ExpectError({"list", "--" + std::string(3000, 'x')}, 2,
              "list: unknown option '--" + std::string(98, 'x') +
                  "'… (3002 bytes); `sarge list --help` shows its usage");
  // CLI11's own messages, in sarge's words: a mistyped option gets the
  // closest one, a bad number says what the option takes.
  ExpectError({"start", "web-abcdef", "--timout", "3"}, 2,
              "start: unknown option '--timout'; did you mean '--timeout'?");
  ExpectError({"logs", "web-abcdef", "-n", "abc"}, 2,
              "logs: --lines: takes a number from 0 to 1000000, not 'abc'; `sarge logs --help` "
              "shows its usage");
  ExpectError({"logs", "web-abcdef", "-n"}, 2,
              "logs: --lines needs a value; `sarge logs --help` shows its usage");
}

TEST(ErrorsWithoutHome, HomeNeverInitialisedIsReportedAndLeftAlone) {
  TempHome tmp;
  const std::string missing = tmp.str() + "/nothere/home";
  const std::vector<std::vector<std::string>> commands = {{"list"},
                                                          {"new", "{}"},
                                                          {"configure", "web-abcdef"},
                                                          {"start", "web-abcdef"},
                                                          {"stop", "web-abcdef"},
                                                          {"destroy", "web-abcdef"},
                                                          {"run", "web-abcdef", "true"}};
  for (const std::string& home : {missing, tmp.str()}) {
    for (const auto& command : commands) {
      std::vector<std::string> args = {home};
      args.insert(args.end(), command.begin(), command.end());
      SCOPED_TRACE(home + " " + command[0]);
      Result r = RunSarge(args);
      EXPECT_EQ(r.exit_code, 1) << Describe(r);
      EXPECT_EQ(r.err, "sarge: error: " + home +
                           " is not a sarge home (it has no etc/instances); create it with: "
                           "sarge " +
                           home + " init\n");
      EXPECT_EQ(r.out, "");
    }
  }
  EXPECT_FALSE(fs::exists(tmp.str() + "/nothere"));
  EXPECT_TRUE(fs::is_empty(tmp.root())) << "something was created in an uninitialised home";
}

// supervisord not running: start and stop say how to start it and change
// nothing (an instance that was never started has no runtime files yet).
class SupervisordNotRunning : public Errors {
 protected:
  std::string NotRunning() {
    return "supervisord is not running for " + home_.str() + "; start it with " + home_.str() +
           "/bin/supervisord";
  }
  std::string NewWithServer() {
    std::string id = home_.New({{"services", {{"web", {{"type", "listen"}}}}}});
    if (!id.empty()) home_.WriteServer(id, kHttpServer);
    return id;
  }
};

TEST_F(SupervisordNotRunning, StartSaysHowToStartItAndChangesNothing) {
  const std::string id = NewWithServer();
  ASSERT_FALSE(id.empty());
  ExpectError({"start", id}, 1, NotRunning());
}

TEST_F(SupervisordNotRunning, StopSaysHowToStartIt) {
  const std::string id = NewWithServer();
  ASSERT_FALSE(id.empty());
  ExpectError({"stop", id}, 1, NotRunning());
}

// Error messages stay on one line whatever the bad input holds.
TEST_F(Errors, MessagesForKeysWithNewlinesStayOnOneLine) {
  for (const std::string config :
       {R"({"services": {"web\n[program:evil]": {"type": "listen"}}})",
        R"({"env": {"X\n[program:evil]": "v"}})", R"({"unknown\n[program:evil]": 1})",
        R"({"services": {"web": {"type": "listen", "x\ny": 1}}})"}) {
    SCOPED_TRACE(config);
    Snapshot before = home_.Snap();
    Result r = home_.Sarge({"new", config});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_EQ(r.err.rfind("sarge: error: instance configuration: key '", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "not one line:\n" << r.err;
    EXPECT_EQ(DiffSnapshots(before, home_.Snap()), "");
  }
}

// A sarge.yaml broken by hand stops the commands that use it, not those
// that only read the home: list, status, logs, run, and launch, which
// supervisord runs at every restart of a server.
TEST_F(Errors, ABrokenSargeYamlStopsNoCommandThatOnlyReads) {
  const std::string id = home_.New({{"application_name", "web"}});
  ASSERT_EQ(home_.Sarge({"configure", id}).exit_code, 0);
  WriteFile(home_ / "etc/sarge.yaml", "deploy: [\n");
  Result list = home_.Sarge({"list"});
  EXPECT_EQ(list.exit_code, 0) << Describe(list);
  Result status = home_.Sarge({"status", "--json"});
  EXPECT_NE(status.out.find(id), std::string::npos) << Describe(status);
  EXPECT_EQ(status.err.find("sarge.yaml"), std::string::npos) << Describe(status);
  Result logs = home_.Sarge({"logs", id});
  EXPECT_EQ(logs.exit_code, 0) << Describe(logs);
  Result run = home_.Sarge({"run", id, "echo ran"});
  EXPECT_EQ(run.exit_code, 0) << Describe(run);
  EXPECT_EQ(run.out, "ran\n");
  Result configure = home_.Sarge({"configure", id});  // uses the settings
  EXPECT_EQ(configure.exit_code, 1);
  EXPECT_EQ(configure.err.rfind("sarge: error: " + home_.str() + "/etc/sarge.yaml", 0), 0u)
      << Describe(configure);
}

}  // namespace
}  // namespace e2e
