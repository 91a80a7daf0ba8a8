#include "sarge/instance_config.h"

#include <utility>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sarge/error.h"

namespace sarge {
namespace {

std::string ErrorOf(const std::string& json) {
  try {
    ParseInstanceConfig(json);
  } catch (const Error& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(InstanceConfigTest, ParsesEveryKey) {
  auto c = ParseInstanceConfig(R"({
    "application_name": "web", "prerun": "venv/bin/activate",
    "services": {"web": {"type": "listen", "port": "8080"}, "db": {"type": "listen"},
                 "cache": {"type": "var-folder"}, "data": {"type": "persistent-folder"}},
    "env": {"MODE": "production"},
    "urlmap": [{"type": "proxy", "url": "/", "upstream_url": "http://127.0.0.1:$WEB_PORT"},
               {"type": "static", "url": "/media", "path": "media"}],
    "nginx_options": {"listen": "127.0.0.1:8080", "server_name": "example.com www.example.com"}})");
  EXPECT_EQ(c.application_name, "web");
  EXPECT_EQ(c.prerun, "venv/bin/activate");
  ASSERT_EQ(c.services.size(), 4u);
  // nlohmann::json keeps object keys sorted.
  EXPECT_EQ(c.services[0].name, "cache");
  EXPECT_EQ(c.services[3].name, "web");
  EXPECT_EQ(c.services[3].port, 8080);
  EXPECT_EQ(c.services[1].type, ServiceType::kPersistentFolder);
  EXPECT_FALSE(c.services[2].port.has_value());
  EXPECT_EQ(c.services[2].host, "127.0.0.1");
  EXPECT_EQ(c.env.at("MODE"), "production");
  EXPECT_EQ(c.urlmap.size(), 2u);
}

TEST(InstanceConfigTest, DefaultsTheApplicationName) {
  EXPECT_EQ(ParseInstanceConfig("{}").application_name, "app");
}

TEST(InstanceConfigTest, RoundTripsThroughTheRecordForm) {
  auto c = ParseInstanceConfig(
      R"({"application_name": "w", "services": {"web": {"type": "listen", "port": 81}}})");
  auto again = InstanceConfigFromJson(c.ToJson());
  EXPECT_EQ(again.ToJson(), c.ToJson());
  EXPECT_EQ(again.services[0].port, 81);
}

// Bad configurations and the error each gets.
constexpr std::pair<const char*, const char*> kConfigErrors[] = {
    {"{",
     "instance configuration is not valid JSON: parse error at line 1, column 2: syntax "
     "error while parsing object key - unexpected end of input; expected string literal"},
    {"[1]", "instance configuration must be a JSON object, not a list"},
    {R"({"servics": {}})",
     "instance configuration: key 'servics' is unknown; did you mean 'services'?"},
    {R"({"application_name": 3})",
     "instance configuration: key 'application_name' must be a string, not a number"},
    {R"({"application_name": "../x"})",
     "instance configuration: key 'application_name' '../x' is not valid: use letters, "
     "digits, '_' and '-' only"},
    {R"({"services": []})", "instance configuration: key 'services' must be an object, not a list"},
    {R"({"services": {"web": {"type": "lisen"}}})",
     "instance configuration: key 'services.web.type' 'lisen' is not a service type; use "
     "var-folder, persistent-folder or listen (did you mean 'listen'?)"},
    {R"({"services": {"web": {"type": "listen", "port": 70000}}})",
     "instance configuration: key 'services.web.port' 70000 is not a port number (1-65535)"},
    {R"({"services": {"web": {"type": "listen", "port": "8o"}}})",
     "instance configuration: key 'services.web.port' '8o' is not a port number (1-65535)"},
    {R"({"services": {"a/b": {"type": "var-folder"}}})",
     "instance configuration: key 'services.a/b' is not a valid service name: use letters, "
     "digits, '_' and '-' only"},
    {R"({"services": {"a-b": {"type": "var-folder"}, "a_b": {"type": "var-folder"}}})",
     "instance configuration: key 'services.a_b' has the same variable name A_B as another "
     "service"},
    {R"({"env": {"A": 1}})", "instance configuration: key 'env.A' must be a string, not a number"},
    {R"({"env": {"A B": "x"}})",
     "instance configuration: key 'env.A B' is not a valid environment variable name: use "
     "letters, digits and '_', not starting with a digit"},
    // A variable a service or sarge defines cannot be replaced by env.
    {R"({"services": {"web": {"type": "listen"}}, "env": {"WEB_PORT": "80"}})",
     "instance configuration: key 'env.WEB_PORT' would override the variable the service "
     "'web' defines; remove it from env"},
    {R"({"services": {"media": {"type": "var-folder"}}, "env": {"MEDIA_PATH": "/"}})",
     "instance configuration: key 'env.MEDIA_PATH' would override the variable the service "
     "'media' defines; remove it from env"},
    {R"({"env": {"SARGE_HOME": "/tmp"}})",
     "instance configuration: key 'env.SARGE_HOME' is set by sarge for every instance; "
     "remove it from env"},
    {R"({"prerun": "../../etc/profile"})",
     "instance configuration: key 'prerun' '../../etc/profile' must be a file path inside "
     "the instance folder (relative, without '..')"},
};

TEST(InstanceConfigTest, ErrorsNameTheKeyAndTheProblem) {
  for (const auto& [config, error] : kConfigErrors) EXPECT_EQ(ErrorOf(config), error) << config;
}

TEST(InstanceConfigTest, RejectsFrontEndSyntaxInRoutesAndOptions) {
  EXPECT_EQ(ErrorOf(R"({"urlmap": [{"type": "static", "url": "/a;b", "path": "x"}]})"),
            "instance configuration: key 'urlmap[0].url' '/a;b' contains a character nginx would "
            "read as syntax (space, quote, ';', '{', '}', '#', '\\' or a control character)");
  EXPECT_EQ(
      ErrorOf(R"({"urlmap": [{"type": "proxy", "url": "/", "upstream_url": "http://x:$NOPE"}]})"),
      "instance configuration: key 'urlmap[0].upstream_url' refers to $NOPE which no service "
      "provides");
  EXPECT_EQ(ErrorOf(R"({"urlmap": [{"type": "proxy", "url": "/", "path": "x"}]})"),
            "instance configuration: key 'urlmap[0].path' is unknown; known keys are: type, url, "
            "upstream_url");
  EXPECT_EQ(ErrorOf(R"({"nginx_options": {"listen": "80; include /etc/passwd"}})"),
            "instance configuration: key 'nginx_options.listen' '80; include /etc/passwd' contains "
            "a character nginx would read as syntax (quote, ';', '{', '}', '#', '$', '\\' or a "
            "control character)");
  EXPECT_EQ(ErrorOf("{\"nginx_options\": {\"server_name\": \"a\\nb\"}}"),
            "instance configuration: key 'nginx_options.server_name' 'a\\nb' contains a character "
            "nginx would read as syntax (quote, ';', '{', '}', '#', '$', '\\' or a control "
            "character)");
}

TEST(InstanceConfigTest, StaticPathsStayInsideTheInstance) {
  for (const char* path : {"/etc/", "../../etc", "media/../../x", "$WEB_PATH"})
    EXPECT_THAT(ErrorOf(fmt::format(R"({{"services": {{"web": {{"type": "var-folder"}}}},
                                       "urlmap": [{{"type": "static", "url": "/x/", "path": "{}"}}]}})",
                                    path)),
                ::testing::HasSubstr("must be a folder inside the instance folder"))
        << path;
}

TEST(InstanceConfigTest, OnlyHarmlessNginxDirectivesAreAllowed) {
  EXPECT_EQ(
      ErrorOf(R"({"nginx_options": {"include": "/tmp/evil.conf"}})"),
      "instance configuration: key 'nginx_options.include' is not a directive sarge lets an "
      "instance set; allowed: listen, server_name, client_max_body_size, "
      "client_body_buffer_size, client_body_timeout, client_header_timeout, keepalive_timeout, "
      "send_timeout, proxy_connect_timeout, proxy_read_timeout, proxy_send_timeout, "
      "proxy_buffering, large_client_header_buffers, gzip, gzip_min_length, charset, "
      "server_tokens, etag, sendfile, tcp_nopush, tcp_nodelay");
  EXPECT_EQ(ErrorOf(R"({"nginx_options": {"server_nam": "x"}})"),
            "instance configuration: key 'nginx_options.server_nam' is not a directive sarge lets "
            "an instance set; did you mean 'server_name'?");
  for (const char* name : {"access_log", "error_log", "root", "alias", "ssl_certificate_key"})
    EXPECT_NE(ErrorOf(fmt::format(R"({{"nginx_options": {{"{}": "/x"}}}})", name)), "(accepted)")
        << name;
}

TEST(InstanceConfigTest, RejectsNulInEnvValues) {
  EXPECT_EQ(ErrorOf(R"({"env": {"A": "x\u0000y"}})"),
            "instance configuration: key 'env.A' contains a NUL character");
}

TEST(InstanceConfigTest, RefusesHugeConfigurationsByTheirSize) {
  EXPECT_EQ(ErrorOf(std::string(kMaxConfigBytes + 1, ' ')),
            "instance configuration is larger than 1 MiB (1048576 bytes), the most sarge "
            "accepts");
}

TEST(InstanceConfigTest, ParseErrorsShowTheEndOfTheLastTokenEscaped) {
  EXPECT_EQ(ErrorOf("{\"application_name\": \"" + std::string(5000, 'x') + "\xff\"}"),
            "instance configuration is not valid JSON: parse error at line 1, column 5023: syntax "
            "error while parsing value - invalid string: ill-formed UTF-8 byte; last read: "
            "'…" +
                std::string(39, 'x') + "\\xff'");
  // A token that holds what nlohmann writes after one is still cut.
  EXPECT_EQ(ErrorOf("{\"a\": \"'; expected " + std::string(3000, 'x') + "\xff\"}"),
            "instance configuration is not valid JSON: parse error at line 1, column 3020: syntax "
            "error while parsing value - invalid string: ill-formed UTF-8 byte; last read: "
            "'…" +
                std::string(39, 'x') + "\\xff'");
  EXPECT_EQ(ErrorOf("{\"a\" tru}"),
            "instance configuration is not valid JSON: parse error at line 1, column 9: syntax "
            "error while parsing object separator - invalid literal; last read: '\"a\" tru}'; "
            "expected ':'");
  EXPECT_EQ(ErrorOf(std::string("{\"a\": \"\x01\"}")),
            "instance configuration is not valid JSON: parse error at line 1, column 8: syntax "
            "error while parsing value - invalid string: control character U+0001 (SOH) must be "
            "escaped to \\u0001; last read: '\"<U+0001>'");
}

// Found by fuzz/instance_config_fuzzer.cc: nlohmann reports a number too
// large for a double as out_of_range, not parse_error, which escaped.
TEST(InstanceConfigTest, NumbersTooLargeAreParseErrors) {
  EXPECT_EQ(ErrorOf(R"({"services": {"web": {"type": "listen", "port": 1e400}}})"),
            "instance configuration is not valid JSON: number overflow parsing '1e400'");
}

// Found by fuzz/instance_config_fuzzer.cc: a message quoted a value whole.
// Whatever the configuration holds, what a message shows of it is bounded.
TEST(InstanceConfigTest, MessagesCutLongValuesAndLists) {
  EXPECT_EQ(ErrorOf(R"({"services": {"web": {"type": "listen", "port": ")" +
                    std::string(3000, '8') + R"("}}})"),
            "instance configuration: key 'services.web.port' '" + std::string(100, '8') +
                "'… (3000 bytes) is not a port number (1-65535)");
  EXPECT_EQ(ErrorOf(R"({"urlmap": [{"type": "proxy", "url": "/", "upstream_url": "http://x:$)" +
                    std::string(3000, 'N') + R"("}]})"),
            "instance configuration: key 'urlmap[0].upstream_url' refers to $" +
                std::string(100, 'N') + "… which no service provides");
  std::string services;
  for (int i = 0; i < 14; ++i)
    services += fmt::format(R"({}"s{:02}": {{"type": "var-folder"}})", i ? ", " : "", i);
  EXPECT_EQ(ErrorOf(R"({"services": {)" + services +
                    R"(}, "urlmap": [{"type": "proxy", "url": "/", "upstream_url": "$NOPE"}]})"),
            "instance configuration: key 'urlmap[0].upstream_url' refers to $NOPE which no service "
            "provides (known: S00_PATH, S01_PATH, S02_PATH, S03_PATH, S04_PATH, S05_PATH, "
            "S06_PATH, S07_PATH, S08_PATH, S09_PATH, S10_PATH, S11_PATH and 2 more)");
}

TEST(InstanceConfigTest, LongNamesAreTooLongNotBadlySpelt) {
  EXPECT_EQ(ErrorOf(R"({"application_name": ")" + std::string(200, 'a') + R"("})"),
            "instance configuration: key 'application_name' '" + std::string(100, 'a') +
                "'… (200 bytes) is longer than 40 characters");
  EXPECT_EQ(ErrorOf(R"({"services": {")" + std::string(41, 'a') + R"(": {"type": "listen"}}})"),
            "instance configuration: key 'services." + std::string(41, 'a') +
                "' is longer than 40 characters");
}

TEST(InstanceConfigTest, ListenTakesATcpAddressOnly) {
  for (const char* ok : {"80", "127.0.0.1:8080", "*:80", "[::1]:8080", "[::]:80 default_server",
                         "localhost", "example.com:80 reuseport"})
    EXPECT_EQ(ErrorOf(fmt::format(R"({{"nginx_options": {{"listen": "{}"}}}})", ok)), "(accepted)")
        << ok;
  for (const char* bad : {"unix:/run/x.sock", "99999999999", "0", "70000", "a:b", "[::1]x", ":80"})
    EXPECT_THAT(ErrorOf(fmt::format(R"({{"nginx_options": {{"listen": "{}"}}}})", bad)),
                ::testing::AnyOf(::testing::HasSubstr("is not an address nginx can listen on"),
                                 ::testing::HasSubstr("is a unix socket")))
        << bad;
  EXPECT_EQ(ErrorOf(R"({"nginx_options": {"server_name": " x"}})"),
            "instance configuration: key 'nginx_options.server_name' ' x' starts or ends with a "
            "space; give the value alone");
  EXPECT_EQ(ErrorOf(R"({"nginx_options": {"server_name": ""}})"),
            "instance configuration: key 'nginx_options.server_name' is empty");
}

}  // namespace
}  // namespace sarge
