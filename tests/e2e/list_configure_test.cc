// `list` and `configure`: the JSON they print, the runtime configuration
// of each service type, and port allocation.
#include <ctime>
#include <regex>
#include <set>

#include "e2e_util.h"

namespace e2e {
namespace {

class List : public HomeTest {};
class Configure : public HomeTest {};

// Seconds since the epoch of an ISO 8601 UTC time "YYYY-MM-DDTHH:MM:SS[.ffffff]Z"; -1 if not
// one.
long ParseUtc(const std::string& text) {
  if (!std::regex_match(text, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z)")))
    return -1;
  std::tm tm{};
  if (!::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return -1;
  return static_cast<long>(::timegm(&tm));
}

TEST_F(List, EmptyHomeWithoutSupervisord) {
  Result r = home_.Sarge({"list"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(json::parse(r.out), json::parse(R"({"instances": [], "supervisord": "not running"})"));
}

// An entry of `list` without supervisord: the meta and config of its app,
// created within the last ten minutes, state unknown.
void ExpectEntryWithoutLiveState(const json& entry, const std::string& app, long now) {
  EXPECT_EQ(entry["meta"]["APPLICATION_NAME"], app);
  long created = ParseUtc(entry["meta"]["CREATION_TIME"].get<std::string>());
  EXPECT_GE(created, now - 600) << entry.dump();
  EXPECT_LE(created, now + 5) << entry.dump();
  EXPECT_TRUE(entry["config"].is_object()) << entry.dump();
  EXPECT_EQ(entry["config"]["application_name"], app);
  EXPECT_TRUE(entry.contains("state") && entry["state"].is_null()) << entry.dump();
  EXPECT_FALSE(entry.contains("pid")) << entry.dump();
}

// With supervisord: the started instance `web` RUNNING with its pid, the
// others STOPPED.
void ExpectListedLive(TempHome& home, const std::string& web) {
  ASSERT_TRUE(home.StartSupervisord());
  home.WriteServer(web, kHttpServer);
  Result r = home.Sarge({"start", web});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  const long server_pid = ReadNumber(home / web / "server.pid");
  EXPECT_TRUE(WaitFor([&] { return home.ListEntry(web)["state"] == "RUNNING"; }, 5s, 100ms))
      << home.ListEntry(web).dump();
  json list = home.List();
  EXPECT_FALSE(list.contains("supervisord")) << list.dump();
  for (const auto& entry : list["instances"]) {
    if (entry["id"] == web) {
      EXPECT_EQ(entry["pid"], server_pid) << entry.dump();
    } else {
      EXPECT_EQ(entry["state"], "STOPPED") << entry.dump();
      EXPECT_FALSE(entry.contains("pid")) << entry.dump();
    }
  }
}

TEST_F(List, ShowsEveryInstanceWithMetaConfigAndLiveState) {
  const json web_config = {{"application_name", "web"},
                           {"services", {{"web", {{"type", "listen"}}}}},
                           {"env", {{"GREETING", "hi"}}}};
  const std::string web = home_.New(web_config);
  const std::string worker = home_.New({{"application_name", "worker"}});
  const std::string plain = home_.New(json::object());
  ASSERT_FALSE(web.empty() || worker.empty() || plain.empty());
  EXPECT_TRUE(std::regex_match(plain, std::regex("app-[A-Za-z0-9]{6}"))) << plain;

  // Without supervisord: every instance, state unknown.
  Result r = home_.Sarge({"list"});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  json list = json::parse(r.out);
  EXPECT_EQ(list["supervisord"], "not running");
  ASSERT_EQ(list["instances"].size(), 3u) << r.out;
  std::map<std::string, std::string> apps = {{web, "web"}, {worker, "worker"}, {plain, "app"}};
  const long now = static_cast<long>(std::time(nullptr));
  for (const auto& entry : list["instances"]) {
    const std::string id = entry["id"];
    ASSERT_TRUE(apps.contains(id)) << entry.dump();
    ExpectEntryWithoutLiveState(entry, apps[id], now);
  }
  json web_entry = home_.ListEntry(web);
  EXPECT_EQ(web_entry["config"]["services"]["web"]["type"], "listen");
  EXPECT_EQ(web_entry["config"]["env"], json({{"GREETING", "hi"}}));

  ExpectListedLive(home_, web);
}

TEST_F(Configure, WritesAppcfgForEveryServiceType) {
  const json config = {{"application_name", "web"},
                       {"services",
                        {{"web", {{"type", "listen"}}},
                         {"scratch", {{"type", "var-folder"}}},
                         {"data-store", {{"type", "persistent-folder"}}}}}};
  const std::string id = home_.New(config);
  ASSERT_FALSE(id.empty());
  Result r = home_.Sarge({"configure", id});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  json cfg = json::parse(r.out);
  EXPECT_EQ(home_.AppCfg(id), cfg);
  std::set<std::string> keys;
  for (const auto& item : cfg.items()) keys.insert(item.key());
  EXPECT_EQ(keys,
            (std::set<std::string>{"WEB_HOST", "WEB_PORT", "SCRATCH_PATH", "DATA_STORE_PATH"}))
      << cfg.dump();
  EXPECT_EQ(cfg["WEB_HOST"], "127.0.0.1");
  ASSERT_TRUE(cfg["WEB_PORT"].is_number_integer()) << cfg.dump();
  EXPECT_GE(cfg["WEB_PORT"].get<int>(), 20000);  // the default range in sarge.yaml
  EXPECT_LE(cfg["WEB_PORT"].get<int>(), 29999);
  const std::string scratch = cfg["SCRATCH_PATH"];
  EXPECT_EQ(scratch.rfind(home_.str() + "/var/tmp/", 0), 0u) << scratch;
  EXPECT_TRUE(fs::is_directory(scratch)) << scratch;
  EXPECT_EQ(cfg["DATA_STORE_PATH"], home_.str() + "/var/data/data-store");
  EXPECT_TRUE(fs::is_directory(home_ / "var/data/data-store"));

  // The persistent folder outlives the instance; the scratch folder does not.
  WriteFile(home_ / "var/data/data-store/kept.txt", "kept\n");
  r = home_.Sarge({"destroy", id});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_FALSE(fs::exists(scratch)) << scratch;
  const std::string next = home_.New(config);
  r = home_.Sarge({"configure", next});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(json::parse(r.out)["DATA_STORE_PATH"], home_.str() + "/var/data/data-store");
  EXPECT_EQ(ReadFile(home_ / "var/data/data-store/kept.txt"), "kept\n");
}

TEST_F(Configure, ExplicitPortsAsNumberOrStringAreUsedAsGiven) {
  const int p1 = FreePort();
  int p2 = FreePort();
  while (p2 == p1) p2 = FreePort();
  const std::string id = home_.New(
      {{"services",
        {{"a", {{"type", "listen"}, {"port", p1}}},
         {"b", {{"type", "listen"}, {"port", std::to_string(p2)}, {"host", "127.0.0.1"}}}}}});
  ASSERT_FALSE(id.empty());
  Result r = home_.Sarge({"configure", id});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  json cfg = json::parse(r.out);
  EXPECT_EQ(cfg["A_PORT"], p1);
  EXPECT_EQ(cfg["B_PORT"], p2);
  EXPECT_EQ(cfg["B_HOST"], "127.0.0.1");
  r = home_.Sarge({"run", id, "echo $A_PORT $B_PORT"});
  EXPECT_EQ(r.out, std::to_string(p1) + " " + std::to_string(p2) + "\n") << Describe(r);
}

TEST_F(Configure, AllocatedPortStaysTheSameAcrossConfigureAndRestarts) {
  ASSERT_TRUE(home_.StartSupervisord());
  const std::string id = home_.New({{"services", {{"web", {{"type", "listen"}}}}}});
  ASSERT_FALSE(id.empty());
  home_.WriteServer(id, kHttpServer);
  Result r = home_.Sarge({"configure", id});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  const int port = json::parse(r.out)["WEB_PORT"];
  for (const char* command : {"configure", "start", "stop", "start", "configure"}) {
    r = home_.Sarge({command, id});
    ASSERT_EQ(r.exit_code, 0) << command << ": " << Describe(r);
    EXPECT_EQ(home_.AppCfg(id)["WEB_PORT"], port) << "after " << command;
  }
  auto reply = HttpGet("127.0.0.1", port);
  ASSERT_TRUE(reply);
  EXPECT_EQ(json::parse(reply->body)["id"], id);
}

TEST_F(Configure, AllocatesFromTheSettingsRangeSkippingBusyAndHeldPorts) {
  const int first = FreePortRange(3);
  ASSERT_GT(first, 0);
  WriteFile(home_ / "etc/sarge.yaml", "ports:\n  first: " + std::to_string(first) +
                                          "\n  last: " + std::to_string(first + 2) + "\n");
  Listener busy(first + 1);  // taken on the host by someone else
  ASSERT_TRUE(busy.ok());

  const json config = {{"services", {{"web", {{"type", "listen"}}}}}};
  std::vector<std::string> ids;
  std::set<int> ports;
  for (int i = 0; i < 3; ++i) ids.push_back(home_.New(config));
  for (int i = 0; i < 2; ++i) {
    Result r = home_.Sarge({"configure", ids[i]});
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
    ports.insert(json::parse(r.out)["WEB_PORT"].get<int>());
  }
  EXPECT_EQ(ports, (std::set<int>{first, first + 2}));

  // The range is used up: a clear error, and nothing changes.
  Snapshot before = home_.Snap();
  Result r = home_.Sarge({"configure", ids[2]});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "sarge: error: no free port for service 'web' in " + std::to_string(first) +
                       "-" + std::to_string(first + 2) + "; widen ports: in " + home_.str() +
                       "/etc/sarge.yaml\n");
  EXPECT_EQ(DiffSnapshots(before, home_.Snap()), "");

  // Destroying an instance gives its port back.
  const int freed = home_.AppCfg(ids[0])["WEB_PORT"];
  r = home_.Sarge({"destroy", ids[0]});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  r = home_.Sarge({"configure", ids[2]});
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(json::parse(r.out)["WEB_PORT"], freed);
}

}  // namespace
}  // namespace e2e
