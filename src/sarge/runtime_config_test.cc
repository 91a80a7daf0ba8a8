#include "sarge/runtime_config.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include "sarge/error.h"
#include "sarge/instance_config.h"
#include "sarge/test_util.h"

namespace sarge {
namespace {

using nlohmann::json;

class RuntimeConfigTest : public ::testing::Test {
 protected:
  Record MakeRecord(const std::string& id, const std::string& config_json) {
    Record r{id, "web", UtcNow(), ParseInstanceConfig(config_json).ToJson(), {}, ""};
    fs::create_directory(home().InstanceDir(id));
    SaveRecord(home(), r);
    return r;
  }
  const Home& home() { return temp_.home; }
  json ConfigureWith(Record& r) { return Configure(world_.env, r); }

  RuntimeConfigTest() {
    world_.system.port_free = [this](const std::string&, int port) {
      return !taken_.contains(port);
    };
  }
  testing::FakeWorld world_;
  testing::TempHome& temp_ = world_.temp;
  Settings& settings_ = world_.env.settings;
  std::set<int> taken_;
};

TEST_F(RuntimeConfigTest, FoldersAndListenValuesBecomeNamedValues) {
  Record r = MakeRecord(
      "web-a", R"({"services": {"web": {"type": "listen", "port": "8080", "host": "127.0.0.2"},
      "tmp": {"type": "var-folder"}, "my-data": {"type": "persistent-folder"}}})");
  json cfg = ConfigureWith(r);
  EXPECT_EQ(cfg["WEB_HOST"], "127.0.0.2");
  EXPECT_EQ(cfg["WEB_PORT"], 8080);
  EXPECT_EQ(cfg["TMP_PATH"], (home().TmpDir() / "web-a" / "tmp").string());
  EXPECT_EQ(cfg["MY_DATA_PATH"], (home().DataDir() / "my-data").string());
  EXPECT_TRUE(fs::is_directory(cfg["TMP_PATH"].get<std::string>()));
  EXPECT_TRUE(fs::is_directory(cfg["MY_DATA_PATH"].get<std::string>()));
  EXPECT_EQ(json::parse(ReadFile(home().AppCfgFile("web-a"))), cfg);
  EXPECT_TRUE(r.ports.empty());  // given ports are not allocated
}

TEST_F(RuntimeConfigTest, EachWebProcessPastTheFirstHasItsOwnPortsAndFile) {
  Record r = MakeRecord("web-a", R"({"services": {"web": {"type": "listen"},
      "admin": {"type": "listen"}, "tmp": {"type": "var-folder"}}})");
  r.processes = {{"web", 3}, {"worker", 2}};
  json first = ConfigureWith(r);
  std::vector<json> webs = WebRuntimeConfigs(home(), r, first);
  ASSERT_EQ(webs.size(), 3u);
  std::set<int> ports;
  for (size_t k = 0; k < webs.size(); ++k) {
    EXPECT_EQ(webs[k]["TMP_PATH"], first["TMP_PATH"]);
    ports.insert(webs[k]["WEB_PORT"].get<int>());
    ports.insert(webs[k]["ADMIN_PORT"].get<int>());
  }
  EXPECT_EQ(ports.size(), 6u);
  EXPECT_EQ(r.ports.at("web.3"), webs[2]["WEB_PORT"].get<int>());
  EXPECT_EQ(json::parse(ReadFile(home().RuntimeDir("web-a") / "appcfg.web.2.json")), webs[1]);
  EXPECT_EQ(LoadRecord(home(), "web-a").ports, r.ports);
  // Stable: configured again, the same ports.
  EXPECT_EQ(WebRuntimeConfigs(home(), r, ConfigureWith(r)), webs);
}

TEST_F(RuntimeConfigTest, AFixedPortCannotServeSeveralWebProcesses) {
  Record r = MakeRecord("web-a", R"({"services": {"web": {"type": "listen", "port": 8080}}})");
  r.processes = {{"web", 2}};
  try {
    ConfigureWith(r);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "the service 'web' has the fixed port 8080, which only one web process can listen "
              "on; leave the port out so that sarge picks one per process, or scale web to 1");
  }
  EXPECT_FALSE(fs::exists(home().AppCfgFile("web-a")));
}

TEST_F(RuntimeConfigTest, AllocatedPortsAreInRangeStableAndNotShared) {
  settings_.port_first = 31000;
  settings_.port_last = 31002;
  taken_ = {31001};
  Record a = MakeRecord("web-a", R"({"services": {"web": {"type": "listen"}}})");
  Record b = MakeRecord("web-b", R"({"services": {"web": {"type": "listen"}}})");
  int pa = ConfigureWith(a)["WEB_PORT"];
  int pb = ConfigureWith(b)["WEB_PORT"];
  EXPECT_NE(pa, pb);
  for (int p : {pa, pb}) EXPECT_TRUE(p == 31000 || p == 31002) << p;
  EXPECT_EQ(ConfigureWith(a)["WEB_PORT"], pa);
  EXPECT_EQ(LoadRecord(home(), "web-a").ports.at("web"), pa);  // saved in the record

  Record c = MakeRecord("web-c", R"({"services": {"web": {"type": "listen"}}})");
  try {
    ConfigureWith(c);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "no free port for service 'web' in 31000-31002; widen ports: in " +
                  home().SettingsFile().string());
  }
}

TEST_F(RuntimeConfigTest, ReleasedAndStalePortsAreReused) {
  settings_.port_first = 31000;
  settings_.port_last = 31000;
  Record a = MakeRecord("web-a", R"({"services": {"web": {"type": "listen"}}})");
  ConfigureWith(a);
  ReleasePorts(home(), a);
  Record b = MakeRecord("web-b", R"({"services": {"web": {"type": "listen"}}})");
  EXPECT_EQ(ConfigureWith(b)["WEB_PORT"], 31000);
  // b's record vanishes without releasing (a killed destroy): the claim is stale.
  RemoveRecord(home(), "web-b");
  Record c = MakeRecord("web-c", R"({"services": {"web": {"type": "listen"}}})");
  EXPECT_EQ(ConfigureWith(c)["WEB_PORT"], 31000);
}

// What a configure killed after its claim and before the record's save
// leaves: the note, then the claim, and a record without the port.
void LeaveKilledClaim(const Home& home, const std::string& id, int port) {
  fs::create_directories(home.RuntimeDir(id));
  fs::create_symlink(id, home.RuntimeDir(id) / fmt::format("claiming-{}", port));
  fs::create_symlink(id, home.PortsDir() / std::to_string(port));
}

TEST_F(RuntimeConfigTest, ReleasePortsFollowsTheRecordAndTheClaimNotesOnly) {
  settings_.port_first = 31000;
  settings_.port_last = 31000;
  Record a = MakeRecord("web-a", R"({"services": {"web": {"type": "listen"}}})");
  ConfigureWith(a);
  EXPECT_EQ(fs::read_symlink(home().RuntimeDir("web-a") / "claiming-31000"), "web-a");
  LeaveKilledClaim(home(), "web-a", 31005);
  // Another instance's claim that web-a once noted (a claim it lost) stays.
  fs::create_symlink("web-b", home().PortsDir() / "31006");
  fs::create_symlink("web-a", home().RuntimeDir("web-a") / "claiming-31006");
  ReleasePorts(home(), a);
  EXPECT_FALSE(fs::is_symlink(home().PortsDir() / "31000"));
  EXPECT_FALSE(fs::is_symlink(home().PortsDir() / "31005"));
  EXPECT_EQ(fs::read_symlink(home().PortsDir() / "31006"), "web-b");
}

TEST_F(RuntimeConfigTest, ConfigureReleasesWhatAKilledConfigureClaimed) {
  settings_.port_first = 31000;
  settings_.port_last = 31000;
  Record a = MakeRecord("web-a", R"({"services": {"web": {"type": "listen"}}})");
  LeaveKilledClaim(home(), "web-a", 31000);
  EXPECT_EQ(ConfigureWith(a)["WEB_PORT"], 31000);  // not "no free port"
  EXPECT_EQ(fs::read_symlink(home().PortsDir() / "31000"), "web-a");
  EXPECT_EQ(LoadRecord(home(), "web-a").ports.at("web"), 31000);
}

TEST_F(RuntimeConfigTest, AFailedConfigureLeavesNoClaimAndNoNote) {
  settings_.port_first = 31000;
  settings_.port_last = 31000;
  Record a = MakeRecord("web-a", R"({"services": {"web": {"type": "listen"},
      "other": {"type": "listen"}}})");
  EXPECT_THROW(ConfigureWith(a), Error);  // one port for two services
  EXPECT_TRUE(fs::is_empty(home().PortsDir()));
  EXPECT_FALSE(fs::exists(home().RuntimeDir("web-a")));
}

TEST_F(RuntimeConfigTest, EnvironmentHasValuesEnvAndTheConfigPath) {
  Record r = MakeRecord("web-a", R"({"services": {"web": {"type": "listen", "port": 81}},
                                     "env": {"MODE": "prod"}})");
  auto env = InstanceEnvironment(home(), r, ConfigureWith(r));
  EXPECT_EQ(env["WEB_HOST"], "127.0.0.1");
  EXPECT_EQ(env["WEB_PORT"], "81");  // env may not override it (instance_config_test)
  EXPECT_EQ(env["MODE"], "prod");
  EXPECT_EQ(env["SARGEAPP_CFG"], home().AppCfgFile("web-a").string());
  EXPECT_EQ(env["SARGE_INSTANCE_ID"], "web-a");
  EXPECT_EQ(env["SARGE_HOME"], home().root.string());
}

TEST(InterpolateTest, ReplacesNamesAndNamesTheOneMissingCut) {
  json appcfg = {{"WEB_PORT", 8080}, {"WEB_HOST", "127.0.0.1"}};
  EXPECT_EQ(Interpolate("http://$WEB_HOST:$WEB_PORT/health", appcfg, "--check-url"),
            "http://127.0.0.1:8080/health");
  try {
    Interpolate("http://x/$" + std::string(3000, 'N'), appcfg, "--check-url");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "--check-url refers to $" + std::string(100, 'N') +
                                         "…, which the runtime configuration lacks");
  }
}

}  // namespace
}  // namespace sarge
