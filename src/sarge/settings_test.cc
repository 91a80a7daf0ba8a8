#include "sarge/settings.h"

#include <gtest/gtest.h>

#include "sarge/error.h"

namespace sarge {
namespace {

std::string ErrorOf(const std::string& yaml) {
  try {
    ParseSettings(yaml, "etc/sarge.yaml");
  } catch (const Error& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(SettingsTest, TheDefaultFileParsesToTheDefaults) {
  Settings s = ParseSettings(DefaultSettingsYaml(), "default");
  Settings d;
  EXPECT_EQ(s.port_first, d.port_first);
  EXPECT_EQ(s.port_last, d.port_last);
  EXPECT_EQ(s.log_max_bytes, d.log_max_bytes);
  EXPECT_EQ(s.log_backups, d.log_backups);
  EXPECT_EQ(s.start_timeout, d.start_timeout);
  EXPECT_EQ(s.deploy_keep, d.deploy_keep);
  EXPECT_EQ(s.deploy_timeout, d.deploy_timeout);
  EXPECT_TRUE(s.nginx_reload_command.empty());
}

TEST(SettingsTest, EmptyFileMeansDefaults) { EXPECT_EQ(ParseSettings("", "x").port_first, 20000); }

TEST(SettingsTest, ReadsEveryKey) {
  Settings s = ParseSettings(R"(
ports: {first: 3000, last: 3009}
log: {max_bytes: 1MB, backups: 2}
start_timeout: 5
nginx:
  reload_command: nginx -s reload
  test_command: nginx -t
  pid_file: /run/nginx.pid
  drain_timeout: 7
deploy: {keep: 1, timeout: 9}
)",
                             "x");
  EXPECT_EQ(s.port_first, 3000);
  EXPECT_EQ(s.port_last, 3009);
  EXPECT_EQ(s.log_max_bytes, "1MB");
  EXPECT_EQ(s.log_backups, 2);
  EXPECT_EQ(s.start_timeout, 5);
  EXPECT_EQ(s.nginx_reload_command, "nginx -s reload");
  EXPECT_EQ(s.nginx_test_command, "nginx -t");
  EXPECT_EQ(s.nginx_pid_file, "/run/nginx.pid");
  EXPECT_EQ(s.nginx_drain_timeout, 7);
  EXPECT_EQ(s.deploy_keep, 1);
  EXPECT_EQ(s.deploy_timeout, 9);
}

TEST(SettingsTest, ErrorsNameTheFileAndKey) {
  EXPECT_EQ(ErrorOf("prots: {}"),
            "etc/sarge.yaml: 'prots' is not a setting sarge knows; did you mean 'ports'?");
  EXPECT_EQ(ErrorOf("ports: {first: 10}"),
            "etc/sarge.yaml: 'ports.first' must be between 1024 and 65535, not 10");
  EXPECT_EQ(ErrorOf("ports: {first: 5000, last: 4000}"),
            "etc/sarge.yaml: 'ports' range is empty: last (4000) is below first (5000)");
  EXPECT_EQ(
      ErrorOf("log: {max_bytes: lots}"),
      "etc/sarge.yaml: 'log.max_bytes' must be a size such as 50MB, 1GB or 1048576, not 'lots'");
  for (const char* size : {"KB", "1TB", "1234567890123", "-1", "1 MB", "1mb", "MB1", "\"\""})
    EXPECT_EQ(ErrorOf(std::string("log: {max_bytes: ") + size + "}"),
              std::string("etc/sarge.yaml: 'log.max_bytes' must be a size such as 50MB, 1GB or "
                          "1048576, not '") +
                  (std::string(size) == "\"\"" ? "" : size) + "'")
        << size;
  for (const char* size : {"0", "123456789012", "123456789012GB", "50MB", "7KB"})
    EXPECT_EQ(ParseSettings(std::string("log: {max_bytes: ") + size + "}", "x").log_max_bytes, size)
        << size;
  EXPECT_EQ(ErrorOf("ports: {first: +2000}"),
            "etc/sarge.yaml: 'ports.first' must be a number, not '+2000'");
  EXPECT_EQ(ErrorOf("log: {backups: many}"),
            "etc/sarge.yaml: 'log.backups' must be a number, not 'many'");
  EXPECT_EQ(ErrorOf("ports: [1, 2]"), "etc/sarge.yaml: 'ports' must be a mapping");
  EXPECT_EQ(ErrorOf("nginx: {reload_command: nginx -s reload}"),
            "etc/sarge.yaml: 'nginx.pid_file' is needed with reload_command, so sarge can let old "
            "nginx workers finish before it stops an old instance (for Debian's nginx: "
            "/run/nginx.pid)");
  EXPECT_EQ(ErrorOf("ports: {first: 1"),
            "etc/sarge.yaml: not valid YAML at line 1: end of map flow not found");
}

TEST(SettingsTest, HostileValuesGetOneLineErrors) {
  // Found by fuzz/settings_fuzzer.cc: yaml-cpp's message quotes the character.
  EXPECT_EQ(ErrorOf("a: \"\\\x01\""),
            "etc/sarge.yaml: not valid YAML at line 1: unknown escape character: \\x01");
  EXPECT_EQ(ErrorOf("? {a: 1}\n: 2"),
            "etc/sarge.yaml: the file has a key that is not a name, at line 1");
  EXPECT_EQ(ErrorOf("hooks: {[a]: x}"),
            "etc/sarge.yaml: 'hooks' has a key that is not a name, at line 1");
  EXPECT_EQ(ErrorOf("start_timeout: 99999999999999999999"),
            "etc/sarge.yaml: 'start_timeout' must be between 1 and 3600, not 99999999999999999999");
  EXPECT_EQ(ErrorOf("start_timeout: " + std::string(200, '9')),
            "etc/sarge.yaml: 'start_timeout' must be between 1 and 3600, not '" +
                std::string(100, '9') + "'… (200 bytes)");
  EXPECT_EQ(ErrorOf("hooks: {will-start: \"a\\0b\"}"),
            "etc/sarge.yaml: 'hooks.will-start' contains a NUL character");
  EXPECT_EQ(ErrorOf("log: {max_bytes: \"50MB\\n[program:x]\"}"),
            "etc/sarge.yaml: 'log.max_bytes' must be a size such as 50MB, 1GB or 1048576, not "
            "'50MB\\n[program:x]'");
}

}  // namespace
}  // namespace sarge
