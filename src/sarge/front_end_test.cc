#include "sarge/front_end.h"

#include <fmt/format.h>
#include <tuple>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sarge/error.h"
#include "sarge/instance_config.h"
#include "sarge/test_util.h"

namespace sarge {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

Record MakeRecord(const std::string& id, const std::string& config_json) {
  auto config = ParseInstanceConfig(config_json);
  return Record{id, config.application_name, UtcNow(), config.ToJson(), {}, {}};
}

const char* kWebConfig = R"({"application_name": "web",
    "services": {"web": {"type": "listen"}, "fcgi": {"type": "var-folder"}},
    "urlmap": [{"type": "proxy", "url": "/", "upstream_url": "http://127.0.0.1:$WEB_PORT"},
               {"type": "static", "url": "/media/", "path": "media"},
               {"type": "fcgi", "url": "/app", "socket": "$FCGI_PATH/sock"}],
    "nginx_options": {"listen": "127.0.0.1:8080", "server_name": "example.com"}})";

TEST(RenderSiteTest, RoutesEveryUrlToTheInstanceWithValuesInterpolated) {
  Home home{"/srv/h"};
  json appcfg = {
      {"WEB_HOST", "127.0.0.1"}, {"WEB_PORT", 20001}, {"FCGI_PATH", "/srv/h/var/tmp/web-a/fcgi"}};
  std::string site = RenderSite(home, MakeRecord("web-a", kWebConfig), appcfg, 7);
  EXPECT_THAT(site, HasSubstr("# sarge: application web active web-a generation 7\n"));
  EXPECT_THAT(site, HasSubstr("    listen 127.0.0.1:8080;\n    server_name example.com;\n"));
  EXPECT_THAT(site, HasSubstr("location = /.sarge/generation {"));
  EXPECT_THAT(site, HasSubstr("return 200 \"web-a 7\\n\";"));
  EXPECT_THAT(site, HasSubstr("location / {\n        proxy_pass http://127.0.0.1:20001;\n"));
  EXPECT_THAT(site, HasSubstr("location /media/ {\n        alias /srv/h/web-a/media/;\n"));
  EXPECT_THAT(
      site,
      HasSubstr("location /app {\n        fastcgi_pass unix:/srv/h/var/tmp/web-a/fcgi/sock;\n"));
}

TEST(RenderSiteTest, SeveralWebProcessesAreOneUpstreamOfTheirPorts) {
  testing::TempHome t;
  Record record = MakeRecord("web-a", kWebConfig);
  record.processes = {{"web", 2}};
  json appcfg = {{"WEB_HOST", "127.0.0.1"}, {"WEB_PORT", 20001}, {"FCGI_PATH", "/f"}};
  json second = appcfg;
  second["WEB_PORT"] = 20002;
  MakeDirs(t.home.RuntimeDir("web-a"));
  WriteFileAtomic(t.home.AppCfgFile("web-a.web.2"), second.dump());
  std::string site = RenderSite(t.home, record, appcfg, 3);
  EXPECT_THAT(site, HasSubstr("# sarge: application web active web-a generation 3\n# Generated "
                              "by sarge when it activates an instance; edits are overwritten.\n"
                              "upstream sarge_web_0 {\n    server 127.0.0.1:20001;\n    server "
                              "127.0.0.1:20002;\n}\nserver {\n"));
  EXPECT_THAT(site, HasSubstr("location / {\n        proxy_pass http://sarge_web_0;\n"));
  // The same socket for both: no upstream.
  EXPECT_THAT(site, HasSubstr("fastcgi_pass unix:/f/sock;\n"));
}

TEST(RenderSiteTest, AliasAndLocationAgreeOnTheTrailingSlash) {
  Home home{"/srv/h"};
  auto site = [&](const char* url, const char* path) {
    return RenderSite(home,
                      MakeRecord("web-a", fmt::format(R"({{"application_name": "web", "urlmap": [
                          {{"type": "static", "url": "{}", "path": "{}"}}]}})",
                                                      url, path)),
                      json::object(), 1);
  };
  EXPECT_THAT(site("/media", "media/"),
              HasSubstr("location /media {\n        alias /srv/h/web-a/media;\n"));
  EXPECT_THAT(site("/media/", "media"),
              HasSubstr("location /media/ {\n        alias /srv/h/web-a/media/;\n"));
}

TEST(RenderSiteTest, RefusesAValueThatBecomesNginxSyntax) {
  Home home{"/srv/h"};
  json appcfg = {
      {"WEB_HOST", "127.0.0.1"}, {"WEB_PORT", "1; include /etc/passwd"}, {"FCGI_PATH", "/x"}};
  try {
    RenderSite(home, MakeRecord("web-a", kWebConfig), appcfg, 1);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "urlmap[0].upstream_url becomes 'http://127.0.0.1:1; include /etc/passwd', "
                 "which nginx would read as syntax");
  }
}

class ActivateTest : public ::testing::Test {
 protected:
  ActivateTest() {
    env_.settings.nginx_test_command = "nginx -t";
    env_.settings.nginx_reload_command = "nginx -s reload";
    world_.system.get = [this](const Url& url,
                               const std::string& host) -> std::optional<HttpAnswer> {
      asked_.push_back(fmt::format("{}:{}{} {}", url.host, url.port, url.path, host));
      if (!nginx_follows_) return HttpAnswer{200, served_};
      auto site = ReadActiveSite(temp_.home, "web");
      return HttpAnswer{200, site ? fmt::format("{} {}\n", site->id, site->generation) : ""};
    };
  }
  std::string Site() { return ReadFile(temp_.home.NginxSite("web")); }

  testing::FakeWorld world_;
  testing::TempHome& temp_ = world_.temp;
  testing::FakeCommandRunner& runner_ = world_.runner;
  Env& env_ = world_.env;
  std::vector<std::string> asked_;
  bool nginx_follows_ = true;  // nginx serves whatever site file is on disk
  std::string served_;
  json appcfg_ = {{"WEB_HOST", "127.0.0.1"}, {"WEB_PORT", 20001}, {"FCGI_PATH", "/x"}};
};

TEST_F(ActivateTest, WritesTestsReloadsAndConfirms) {
  Activate(env_, MakeRecord("web-a", kWebConfig), appcfg_, "activate");
  EXPECT_THAT(runner_.commands, ElementsAre("/bin/sh -c nginx -t", "/bin/sh -c nginx -s reload"));
  // Asked with the name sarge adds to every site, whatever its own names.
  EXPECT_THAT(asked_, ElementsAre("127.0.0.1:8080/.sarge/generation web.sarge.invalid"));
  EXPECT_EQ(ReadActiveSite(temp_.home, "web")->id, "web-a");
  Activate(env_, MakeRecord("web-b", kWebConfig), appcfg_, "activate");
  auto active = ReadActiveSite(temp_.home, "web");
  EXPECT_EQ(active->id, "web-b");
  EXPECT_EQ(active->generation, 2);
}

TEST_F(ActivateTest, FailedTestRestoresThePreviousSite) {
  Activate(env_, MakeRecord("web-a", kWebConfig), appcfg_, "activate");
  std::string before = Site();
  runner_.result = CommandResult{1, "", "nginx: [emerg] unknown directive", false};
  try {
    Activate(env_, MakeRecord("web-b", kWebConfig), appcfg_, "activate");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "nginx test command `nginx -t` exited with status 1; the previous site file is "
                 "back in place");
    EXPECT_EQ(e.detail(), "nginx: [emerg] unknown directive");
  }
  EXPECT_EQ(Site(), before);
}

TEST_F(ActivateTest, FailedFirstActivationLeavesNoSite) {
  runner_.result = CommandResult{1, "", "", false};
  EXPECT_THROW(Activate(env_, MakeRecord("web-a", kWebConfig), appcfg_, "activate"), Error);
  EXPECT_FALSE(fs::exists(temp_.home.NginxSite("web")));
}

TEST_F(ActivateTest, ReloadThatDoesNotTakeEffectIsAnErrorAndRestores) {
  Activate(env_, MakeRecord("web-a", kWebConfig), appcfg_, "activate");
  std::string before = Site();
  nginx_follows_ = false;
  served_ = "web-a 1\n";  // the old configuration stays live
  try {
    Activate(env_, MakeRecord("web-b", kWebConfig), appcfg_, "activate");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(
        e.what(),
        "nginx did not switch to the new configuration: "
        "http://127.0.0.1:8080/.sarge/generation (Host: web.sarge.invalid) gave the answer "
        "'web-a 1\\n' after 10 s; its reload failed — see nginx's error log. The "
        "previous site file is back in place");
  }
  EXPECT_EQ(Site(), before);
}

// What nginx serves for an application is only known from an answer that
// names one of its instances: without a site answering APP.sarge.invalid,
// nginx's default server, maybe another application's site, answers.
TEST_F(ActivateTest, AskNginxTrustsOnlyAnAnswerNamingAnInstanceOfTheApplication) {
  json options = {{"listen", "127.0.0.1:8080"}};
  for (const auto& [body, answered, id] : std::vector<std::tuple<std::string, bool, std::string>>{
           {"web-abc123 4\n", true, "web-abc123"},
           {"shop-abc123 4\n", false, ""},
           {"web-api-abc123 4\n", false, ""},
           {"not sarge", true, ""}}) {
    std::string text = body;  // a lambda cannot capture a binding (clang 14)
    world_.system.get = [text](const Url&, const std::string&) -> std::optional<HttpAnswer> {
      return HttpAnswer{200, text};
    };
    NginxServes serves = AskNginx(env_, "web", options);
    EXPECT_EQ(serves.answered, answered) << body;
    EXPECT_EQ(serves.id, id) << body;
  }
}

// A wildcard, regular expression or missing server_name is confirmed
// through the name sarge adds, which answers only for that application.
TEST_F(ActivateTest, EverySiteAnswersToANameOfSargesOwn) {
  auto site_for = [&](const std::string& options) {
    std::string config = fmt::format(
        R"({{"application_name": "web", "services": {{"web": {{"type": "listen"}}}},
        "nginx_options": {{{}}}}})",
        options);
    return RenderSite(temp_.home, MakeRecord("web-a", config), appcfg_, 1);
  };
  EXPECT_THAT(
      site_for(R"("server_name": "*.example.com ~^api")"),
      HasSubstr("    server_name *.example.com ~^api;\n    server_name web.sarge.invalid;\n"));
  EXPECT_THAT(site_for(R"("listen": "8080")"),
              HasSubstr("    listen 8080;\n    server_name \"\" web.sarge.invalid;\n"));
}

// Two applications answering for one name on one address: nginx would
// keep one with a warning. The second is refused, naming the first.
TEST_F(ActivateTest, AServerNameAnotherApplicationHasIsRefused) {
  Record web = MakeRecord("web-a", kWebConfig);
  SaveRecord(temp_.home, web);
  Activate(env_, web, appcfg_, "activate");
  std::string shop = kWebConfig;
  shop.replace(shop.find(R"("application_name": "web")"), 25, R"("application_name": "shop")");
  shop.replace(shop.find("example.com"), 11, "shop.example EXAMPLE.com");
  try {
    Activate(env_, MakeRecord("shop-a", shop), appcfg_, "activate");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "server_name 'example.com' on port 8080 is already the application 'web''s (its "
              "site routes to web-a); give shop another server_name or listen address, or "
              "remove web's site (sarge " +
                  temp_.home.root.string() + " destroy --force web-a)");
  }
  EXPECT_FALSE(ReadActiveSite(temp_.home, "shop"));
  EXPECT_TRUE(runner_.commands.size() == 2u) << "nginx was not touched again";
}

TEST_F(ActivateTest, WithoutNginxSettingsWritesTheSiteAndSaysSo) {
  env_.settings = Settings{};
  Activate(env_, MakeRecord("web-a", kWebConfig), appcfg_, "activate");
  EXPECT_TRUE(runner_.commands.empty());
  EXPECT_EQ(ReadActiveSite(temp_.home, "web")->id, "web-a");
  ASSERT_EQ(world_.SaidLines().size(), 1u);
  EXPECT_THAT(world_.SaidLines()[0],
              HasSubstr("nginx is not reloaded: set nginx.reload_command in"));
}

TEST_F(ActivateTest, RemoveSiteTakesTheActiveInstancesRouteAway) {
  Record a = MakeRecord("web-a", kWebConfig);
  Activate(env_, a, appcfg_, "activate");
  RemoveSite(env_, MakeRecord("web-b", kWebConfig));  // not the active one: nothing happens
  EXPECT_TRUE(fs::exists(temp_.home.NginxSite("web")));
  runner_.commands.clear();
  RemoveSite(env_, a);
  EXPECT_FALSE(fs::exists(temp_.home.NginxSite("web")));
  EXPECT_THAT(runner_.commands, ElementsAre("/bin/sh -c nginx -t", "/bin/sh -c nginx -s reload"));
}

TEST(NginxSitesConfTest, IncludesTheSitesFolder) {
  EXPECT_THAT(NginxSitesConf(Home{"/srv/h"}),
              HasSubstr("\ninclude /srv/h/etc/nginx/sites/*.conf;\n"));
}

TEST(WaitForExitTest, ReturnsAtOnceForGonePidsAndTimesOutForLiveOnes) {
  testing::FakeWorld w;
  w.system.process = [](int pid) {
    return pid == 77 ? ProcessState::kExited : ProcessState::kGone;
  };
  EXPECT_TRUE(WaitForExit(w.env, {}, std::chrono::seconds(1)));
  EXPECT_TRUE(WaitForExit(w.env, {76}, std::chrono::seconds(1)));
  EXPECT_EQ(w.clock.Now().time_since_epoch(), std::chrono::seconds(0));
  EXPECT_FALSE(WaitForExit(w.env, {76, 77}, std::chrono::seconds(1)));  // a zombie is there
  EXPECT_GE(w.clock.Now().time_since_epoch(), std::chrono::seconds(1));
}

}  // namespace
}  // namespace sarge
