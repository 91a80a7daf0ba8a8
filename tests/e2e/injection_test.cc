// Nothing in an instance configuration can inject lines into supervisord's
// configuration or run a shell command: hostile values are either rejected
// (nothing changed) or reach the server byte for byte.
#include <algorithm>

#include "e2e_util.h"

namespace e2e {
namespace {

// A prerun path meant to break supervisord's configuration or run a shell
// command.
const char* const kHostilePrerun =
    "pre;run %s %% #x '\"$(touch pwned-4)`touch pwned-5`[program:x] .sh";

class Injection : public HomeTest {
 protected:
  void SetUp() override {
    HomeTest::SetUp();
    ASSERT_TRUE(home_.StartSupervisord());
  }

  // A path that an injected `touch` would create.
  std::string Pwned(int n) const { return home_.str() + "/pwned-" + std::to_string(n); }

  // etc/supervisor.d holds one file per instance with one section,
  // [program:ID]; supervisord and supervisorctl know exactly these programs.
  void ExpectOnlyPrograms(std::vector<std::string> ids) {
    std::sort(ids.begin(), ids.end());
    std::vector<std::string> files;
    for (const auto& entry : fs::directory_iterator(home_ / "etc/supervisor.d")) {
      const std::string name = entry.path().filename().string();
      files.push_back(name);
      std::vector<std::string> sections;
      for (const auto& line : Lines(ReadFile(entry.path())))
        if (line.find('[') != std::string::npos) sections.push_back(line);
      const std::string id = name.substr(0, name.size() - 5);
      EXPECT_EQ(sections, std::vector<std::string>{"[program:" + id + "]"}) << name;
    }
    std::sort(files.begin(), files.end());
    std::vector<std::string> expected_files;
    for (const auto& id : ids) expected_files.push_back(id + ".conf");
    EXPECT_EQ(files, expected_files);
    EXPECT_EQ(home_.ProgramNames(), ids);
    Result r = RunProgram({(home_ / "bin/supervisorctl").string(), "status"});
    std::vector<std::string> listed;
    for (const auto& line : Lines(r.out)) listed.push_back(line.substr(0, line.find(' ')));
    std::sort(listed.begin(), listed.end());
    EXPECT_EQ(listed, ids) << Describe(r);
  }

  void ExpectNothingPwned(const std::vector<fs::path>& also = {}) {
    for (int n = 0; n < 10; ++n) EXPECT_FALSE(fs::exists(Pwned(n))) << Pwned(n);
    for (const auto& path : also) EXPECT_FALSE(fs::exists(path)) << path;
  }

  // Environment values meant to break supervisord's configuration or run a
  // shell command.
  std::map<std::string, std::string> HostileEnv() const {
    return {
        {"NEWLINES", "line1\nline2\n[program:evil]\ncommand=/usr/bin/touch " + Pwned(1) + "\n"},
        {"PERCENT", "100% %(here)s %(ENV_HOME)s %% %"},
        {"COMMENTS", "a ; b # c ;d #e"},
        {"QUOTES", "it's \"quoted\" `and` \\back\\slashed\\"},
        {"SUBSHELL", "$(touch " + Pwned(2) + ") `touch " + Pwned(3) + "` ${HOME} $SARGE_HOME"},
        {"SUPERVISOR_SYNTAX", "x\",EVIL=\"1"},
        {"SECTION", "[program:x]\n[include]\nfiles=/etc/*"},
        {"SPACES", "  leading and trailing  \n"},
        {"CONTROL", "a\rb\tc\x01\x7f"},
        {"UNICODE", "h\xc3\xa9 \xe2\x9c\x93"},
        {"EMPTY", ""},
    };
  }

  // Makes the instance with the hostile env and prerun, checks `list`
  // stores them as given, and writes its prerun script and server.
  void NewHostileInstance() {
    const json config = {{"application_name", "web"},
                         {"prerun", kHostilePrerun},
                         {"services", {{"web", {{"type", "listen"}}}}},
                         {"env", env_}};
    id_ = home_.New(config);
    ASSERT_FALSE(id_.empty());
    json stored = home_.ListEntry(id_)["config"];
    EXPECT_EQ(stored["env"], json(env_));
    EXPECT_EQ(stored["prerun"], kHostilePrerun);
    WriteFile(home_ / id_ / kHostilePrerun, "export FROM_PRERUN=ok\n");
    home_.WriteServer(id_, kHttpServer);
  }

  // The server's environment, as it wrote it: every value byte for byte.
  void ExpectTheServerSawEveryValue() {
    auto seen = ParseEnvBin(ReadFile(home_ / id_ / "env.bin"));
    for (const auto& [key, value] : env_) EXPECT_EQ(seen[key], value) << key;
    EXPECT_EQ(seen["FROM_PRERUN"], "ok");
    EXPECT_FALSE(seen.contains("EVIL"));
  }

  // And `run` sees the same.
  void ExpectRunSeesEveryValue() {
    for (const auto& [key, value] : env_) {
      Result r = home_.Sarge({"run", id_, "printf %s \"$" + key + "\""});
      EXPECT_EQ(r.exit_code, 0) << Describe(r);
      EXPECT_EQ(r.out, value) << key;
    }
    Result r = home_.Sarge({"run", id_, "echo $FROM_PRERUN"});
    EXPECT_EQ(r.out, "ok\n") << Describe(r);
  }

  const std::map<std::string, std::string> env_ = HostileEnv();
  std::string id_;  // the instance with env_ made by NewHostileInstance
};

TEST_F(Injection, HostileEnvValuesAndPrerunPathReachTheServerByteForByte) {
  ASSERT_NO_FATAL_FAILURE(NewHostileInstance());
  Result r = home_.Sarge({"start", id_});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  ExpectTheServerSawEveryValue();
  ExpectRunSeesEveryValue();
  ExpectOnlyPrograms({id_});
  ExpectNothingPwned({home_ / id_ / "pwned-4", home_ / id_ / "pwned-5"});

  // Stopping and starting again reads the same values.
  ASSERT_EQ(home_.Sarge({"stop", id_}).exit_code, 0);
  fs::remove(home_ / id_ / "env.bin");
  ASSERT_EQ(home_.Sarge({"start", id_}).exit_code, 0);
  auto seen = ParseEnvBin(ReadFile(home_ / id_ / "env.bin"));
  for (const auto& [key, value] : env_) EXPECT_EQ(seen[key], value) << key;
  ExpectOnlyPrograms({id_});
}

TEST_F(Injection, HostileNamesAreRejectedAndChangeNothing) {
  const std::string touch = "$(touch " + Pwned(6) + ")";
  const std::vector<json> configs = {
      {{"application_name", "x\n[program:evil]\ncommand=/usr/bin/touch " + Pwned(7)}},
      {{"application_name", "a;b"}},
      {{"application_name", "a%b"}},
      {{"application_name", "a'b"}},
      {{"application_name", touch}},
      {{"application_name", "[program:x]"}},
      {{"services",
        {{"web\n[program:evil]\ncommand=/usr/bin/touch " + Pwned(8), {{"type", "listen"}}}}}},
      {{"services", {{"a;b", {{"type", "listen"}}}}}},
      {{"services", {{"a%b", {{"type", "var-folder"}}}}}},
      {{"services", {{"[program:x]", {{"type", "var-folder"}}}}}},
      {{"services", {{touch, {{"type", "persistent-folder"}}}}}},
      {{"services", {{"..", {{"type", "persistent-folder"}}}}}},
      {{"services", {{"web", {{"type", "listen"}, {"host", "127.0.0.1\n[program:x]"}}}}}},
      {{"services", {{"web", {{"type", "listen"}, {"host", touch}}}}}},
      {{"services", {{"web", {{"type", "listen"}, {"port", "80\n[program:x]"}}}}}},
      {{"env", {{"X\n[program:evil]", "v"}}}},
      {{"env", {{"A=B", "v"}}}},
      {{"env", {{touch, "v"}}}},
      {{"env", {{"NUL", std::string("a\0b", 3)}}}},
      {{"prerun", "a\n[program:x]"}},
      {{"prerun", "../../etc/profile"}},
      {{"prerun", "/etc/profile"}},
  };
  for (const auto& config : configs) {
    SCOPED_TRACE(config.dump());
    Snapshot before = home_.Snap();
    Result r = home_.Sarge({"new", config.dump()});
    EXPECT_EQ(r.exit_code, 1) << Describe(r);
    EXPECT_EQ(r.err.rfind("sarge: error: instance configuration: key '", 0), 0u) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(DiffSnapshots(before, home_.Snap()), "");
  }
  ExpectOnlyPrograms({});
  ExpectNothingPwned();
}

}  // namespace
}  // namespace e2e
