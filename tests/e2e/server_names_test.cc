// The names a site answers for, end to end with a real nginx: wildcard and
// regular-expression server names deploy (sarge confirms each switch with
// a name of its own that every site gets), and two applications may not
// claim one name on one address.
#include "deploy_fixture.h"

namespace e2e {
namespace {

using ServerNames = DeployTest;

json WithServerName(json config, const std::string& names) {
  config["nginx_options"]["server_name"] = names;
  return config;
}

TEST_F(ServerNames, WildcardAndRegularExpressionNamesDeployAndServe) {
  const std::string wild =
      DeployOk(WithServerName(Config(), "*.wild.test"), Version("v1"), {"--min-uptime", "0"});
  ASSERT_FALSE(wild.empty());
  EXPECT_EQ(GetWithHost(nginx_.port(), "a.wild.test").body, "v1\n");
  EXPECT_TRUE(
      Contains(SiteFile(), "    server_name *.wild.test;\n    server_name web.sarge.invalid;\n"))
      << SiteFile();

  const std::string regex = DeployOk(WithServerName(Config("api"), "~^api[0-9]+[.]"), Version("v2"),
                                     {"--min-uptime", "0"});
  ASSERT_FALSE(regex.empty());
  EXPECT_EQ(GetWithHost(nginx_.port(), "api7.example.test").body, "v2\n");
  // Each answers only for its own names.
  EXPECT_EQ(GetWithHost(nginx_.port(), "a.wild.test").body, "v1\n");
  EXPECT_EQ(GetWithHost(nginx_.port(), "other.test").status, 404);
}

TEST_F(ServerNames, ANameAnotherApplicationServesIsRefusedBeforeAnythingIsMade) {
  const std::string web = DeployOk(Config(), Version("v1"), {"--min-uptime", "0"});
  ASSERT_FALSE(web.empty());
  Snapshot before = home_.Snap();
  // The same name in another case, among others, on the same address.
  Result r = Deploy(WithServerName(Config("shop"), "shop.test WEB.test"), Version("v2"));
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_EQ(r.err, "sarge: error: server_name 'web.test' on port " + std::to_string(nginx_.port()) +
                       " is already the application 'web''s (its site routes to " + web +
                       "); give shop another server_name or listen address, or remove web's site "
                       "(sarge " +
                       home_.str() + " destroy --force " + web + ")\n");
  EXPECT_EQ(DiffSnapshots(before, home_.Snap()), "");
  EXPECT_EQ(Served(), "v1\n");

  // Two applications without any server_name on one address collide too.
  json bare_web = Config();
  bare_web["nginx_options"].erase("server_name");
  json bare_shop = Config("shop");
  bare_shop["nginx_options"].erase("server_name");
  ASSERT_FALSE(DeployOk(bare_web, Version("v3"), {"--min-uptime", "0"}).empty());
  r = Deploy(bare_shop, Version("v4"));
  EXPECT_EQ(r.exit_code, 1) << Describe(r);
  EXPECT_TRUE(Contains(r.err, "sarge: error: no server_name (any host) on port ")) << r.err;
}

}  // namespace
}  // namespace e2e
