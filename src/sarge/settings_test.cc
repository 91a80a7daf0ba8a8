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
  EXPECT_TRUE(s.singletons.empty());
}

TEST(SettingsTest, SingletonsAreProcessTypesOtherThanWebAndRelease) {
  EXPECT_EQ(ParseSettings("deploy: {singletons: [clock, beat]}", "x").singletons,
            (std::vector<std::string>{"clock", "beat"}));
  EXPECT_EQ(ParseSettings("deploy: {singletons: clock}", "x").singletons,
            std::vector<std::string>{"clock"});
  for (const char* type : {"web", "release", "Clock"})
    EXPECT_EQ(ErrorOf(std::string("deploy: {singletons: [") + type + "]}"),
              std::string("etc/sarge.yaml: 'deploy.singletons' lists '") + type +
                  "', which is no process type that can be one (a Procfile type other than web "
                  "and release, such as clock)")
        << type;
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
            "etc/sarge.yaml: not valid YAML at the end of the file: did not find expected ',' or "
            "'}' (while parsing a flow mapping at line 1)");
  EXPECT_EQ(ErrorOf("log:\n  backups: 1\n max_bytes: 1MB\n"),
            "etc/sarge.yaml: not valid YAML at line 3: did not find expected key (while parsing a "
            "block mapping at line 1)");
  EXPECT_EQ(ErrorOf("ports: {first: 2000}\nlog: {}\nports: {first: 3000}\n"),
            "etc/sarge.yaml: 'ports' is set twice, at lines 1 and 3; keep one");
  EXPECT_EQ(ErrorOf("ports:\n\tfirst: 3000\n"),
            "etc/sarge.yaml: not valid YAML at line 2: a tab, which YAML does not allow where it "
            "is; indent with spaces");
  EXPECT_EQ(ErrorOf("deploy:\n  keep: 2\n  keep: 3\n"),
            "etc/sarge.yaml: 'deploy.keep' is set twice, at lines 2 and 3; keep one");
}

TEST(SettingsTest, NullIsNotAValue) {
  // An unquoted ~, null or nothing is YAML's null, not the text "~".
  EXPECT_EQ(ErrorOf("nginx: {test_command: ~}"),
            "etc/sarge.yaml: 'nginx.test_command' must be a string");
  EXPECT_EQ(ErrorOf("nginx:\n  pid_file:\n"), "etc/sarge.yaml: 'nginx.pid_file' must be a string");
  EXPECT_EQ(ErrorOf("start_timeout: null"), "etc/sarge.yaml: 'start_timeout' must be a number");
  EXPECT_EQ(ErrorOf("ports:\n"), "etc/sarge.yaml: 'ports' must be a mapping");
  EXPECT_EQ(ErrorOf("hooks: {~: x}"),
            "etc/sarge.yaml: 'hooks' has a key that is not a name, at line 1");
  // Quoted, they are text.
  EXPECT_EQ(ParseSettings("nginx: {test_command: \"~\"}", "x").nginx_test_command, "~");
  EXPECT_EQ(ParseSettings("nginx: {test_command: ''}", "x").nginx_test_command, "");
  // A file of comments, or a null document, means the defaults.
  EXPECT_EQ(ParseSettings("# nothing yet\n", "x").port_first, 20000);
  EXPECT_EQ(ParseSettings("~\n", "x").port_first, 20000);
}

TEST(SettingsTest, OnlyTheFirstDocumentCounts) {
  EXPECT_EQ(ParseSettings("start_timeout: 5\n---\nstart_timeout: 6\n", "x").start_timeout, 5);
}

TEST(SettingsTest, AnchorsAndAliasesAreRead) {
  Settings s =
      ParseSettings("hooks:\n  will-start: &check etc/hooks/check\n  has-stopped: *check\n", "x");
  EXPECT_EQ(s.hooks["will-start"], std::vector<std::string>{"etc/hooks/check"});
  EXPECT_EQ(s.hooks["has-stopped"], std::vector<std::string>{"etc/hooks/check"});
  EXPECT_EQ(ErrorOf("hooks: {will-start: *nowhere}"),
            "etc/sarge.yaml: not valid YAML at line 1: found undefined alias");
}

TEST(SettingsTest, DeepNestingIsAnErrorNotAHang) {
  // sarge.yaml needs three levels. Unchecked, a megabyte of '[' kept
  // libyaml's scanner busy for minutes.
  EXPECT_EQ(ErrorOf(std::string(1000000, '[')),
            "etc/sarge.yaml: not valid YAML at line 1: nested more than 32 levels deep");
  EXPECT_EQ(ErrorOf("hooks:\n  will-start: " + std::string(40, '[') + std::string(40, ']')),
            "etc/sarge.yaml: not valid YAML at line 2: nested more than 32 levels deep");
  EXPECT_EQ(ErrorOf(std::string(32, '[') + std::string(32, ']')),
            "etc/sarge.yaml: the file must be a mapping");
}

TEST(SettingsTest, HostileValuesGetOneLineErrors) {
  // Found by fuzz/settings_fuzzer.cc when the parser was yaml-cpp, whose
  // message quoted the character raw.
  EXPECT_EQ(ErrorOf("a: \"\\\x01\""),
            "etc/sarge.yaml: not valid YAML at byte 6: control characters are not allowed (0x01)");
  EXPECT_EQ(ErrorOf("a: \"\\q\""),
            "etc/sarge.yaml: not valid YAML at line 1: found unknown escape character (while "
            "parsing a quoted scalar at line 1)");
  EXPECT_EQ(ErrorOf("nginx: {pid_file: /run/\xff}"),
            "etc/sarge.yaml: not valid YAML at byte 24: invalid leading UTF-8 octet (0xFF)");
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
