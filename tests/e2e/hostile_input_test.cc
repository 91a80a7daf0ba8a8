// Hostile input, as a table: each row runs the built sarge once, on a home
// of its own, and checks the promise for bad input — exactly one line on
// stderr, `sarge: error: …` with the expected text, the expected exit
// status, nothing on stdout, and every file, folder, mode and symlink of the
// home as it was, byte for byte.
//
// The rows cover malformed, huge and deeply nested JSON, NUL bytes, invalid
// UTF-8 and invisible Unicode, overlong names and ids, what would inject a
// line into supervisord's configuration, a directive into nginx's or a
// command into a shell, bad etc/sarge.yaml values, and homes that are a
// file, a symlink loop, read-only, someone else's, or on a full disk. Those
// last need root (mounts, another user): the tests run as root in CI, and
// fail elsewhere rather than skip. Mounts are made in a mount namespace of
// this test process, so they vanish with it whatever happens.
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <regex>

#include "e2e_util.h"

namespace e2e {
namespace {

// What the home is like when the row's command runs.
enum class Home {
  kReady,         // initialised
  kWithInstance,  // initialised, with one instance: {id}
  kMissing,       // HOME is a path where nothing is
  kFile,          // HOME is a regular file
  kSymlinkLoop,   // HOME is a symlink to itself
  kDanglingLink,  // HOME is a symlink to nothing
  kReadOnly,      // initialised, then mounted read-only
  kOtherUser,     // initialised by root; the command runs as nobody
  kFullDisk,      // initialised, with one instance, on a file system with no space left
};

// One row: the command, the line it must print, and what is unusual about
// it (standard input, exit status, the home), set with the builders.
struct Row {
  Row(std::string name_, std::vector<std::string> args_, std::string error_)
      : name(std::move(name_)), args(std::move(args_)), error(std::move(error_)) {}
  Row& Stdin(std::string text) { return input = std::move(text), *this; }
  // For big input: made when the row runs, not when every test is listed.
  Row& StdinOf(std::function<std::string()> make) { return make_input = std::move(make), *this; }
  Row& Exit(int code) { return exit_code = code, *this; }
  Row& On(Home kind) { return home = kind, *this; }
  Row& Settings(std::string yaml) { return settings = std::move(yaml), *this; }
  Row& Path(std::string name_in_tmp) { return path = std::move(name_in_tmp), *this; }

  std::string name;
  std::vector<std::string> args;  // after HOME; {id} is the instance of kWithInstance
  // The line after "sarge: error: ". {home} is the HOME given, {id} the
  // instance, {tmp} the temporary folder holding the home, {random} six
  // letters or digits (a new instance's id).
  std::string error;
  std::string input;  // standard input
  std::function<std::string()> make_input;
  int exit_code = 1;
  Home home = Home::kReady;
  std::optional<std::string> settings;  // etc/sarge.yaml, written before the snapshot
  std::string path = "home";            // kMissing, kFile, links: HOME's name in {tmp}
};

// GoogleTest prints a parameter in test listings; a row is known by its name.
void PrintTo(const Row& row, std::ostream* out) { *out << row.name; }

const std::string kConfig = "instance configuration: key ";
const std::string kNotJson = "instance configuration is not valid JSON: parse error at line 1, ";
const std::string kNginxSyntax =
    "contains a character nginx would read as syntax (space, quote, ';', '{', '}', '#', '\\' or a "
    "control character)";
const std::string kOptionSyntax =
    "contains a character nginx would read as syntax (quote, ';', '{', '}', '#', '$', '\\' or a "
    "control character)";
const std::string kNotAnOption =
    "is not a directive sarge lets an instance set; allowed: listen, server_name, "
    "client_max_body_size, client_body_buffer_size, client_body_timeout, client_header_timeout, "
    "keepalive_timeout, send_timeout, proxy_connect_timeout, proxy_read_timeout, "
    "proxy_send_timeout, proxy_buffering, large_client_header_buffers, gzip, gzip_min_length, "
    "charset, server_tokens, etag, sendfile, tcp_nopush, tcp_nodelay";
const std::string kBadName = "is not valid: use letters, digits, '_' and '-' only";
const std::string kBadEnvName =
    "is not a valid environment variable name: use letters, digits and '_', not starting with a "
    "digit";

std::vector<std::string> New(const json& config) { return {"new", config.dump()}; }

// A configuration with one route of `type` whose keys are given.
std::vector<std::string> Route(const json& route) {
  return New({{"services", {{"web", {{"type", "listen"}}}}}, {"urlmap", json::array({route})}});
}

std::vector<std::string> Option(const std::string& name, const std::string& value) {
  return New({{"nginx_options", {{name, value}}}});
}

std::string Repeat(const std::string& s, size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

std::vector<Row> JsonRows() {
  return {
      Row("MalformedJson", {"new", "{bad"},
          kNotJson +
              "column 2: syntax error while parsing object key - invalid literal; last read: "
              "'{b'; expected string literal"),
      Row("EmptyJson", {"new", ""},
          kNotJson + "column 1: syntax error while parsing value - unexpected end of input; "
                     "expected '[', '{', or a literal"),
      Row("TruncatedJson", {"new", R"({"application_name": "web")"},
          kNotJson + "column 27: syntax error while parsing object - unexpected end of input; "
                     "expected '}'"),
      Row("TrailingGarbage", {"new", "{} {}"},
          kNotJson + "column 4: syntax error while parsing value - unexpected '{'; expected end of "
                     "input"),
      Row("NotAnObject", {"new", "[]"}, "instance configuration must be a JSON object, not a list"),
      Row("EnvOverridesAServicesPort",
          {"new", R"({"services": {"web": {"type": "listen"}}, "env": {"WEB_PORT": "80"}})"},
          "instance configuration: key 'env.WEB_PORT' would override the variable the service "
          "'web' defines; remove it from env"),
      Row("Huge50MBOnStdin", {"new", "-"},
          "instance configuration is larger than 1 MiB (1048576 bytes), the most sarge accepts")
          .StdinOf([] { return R"({"env": {"A": ")" + std::string(50 << 20, 'x') + R"("}})"; }),
      Row("HugeStringJustUnderTheLimitOnStdin", {"new", "-"},
          kNotJson +
              "column 1048562: syntax error while parsing value - invalid string: control "
              "character U+0001 (SOH) must be escaped to \\u0001; last read: '…" +
              std::string(32, 'x') + "<U+0001>'")
          .StdinOf([] {
            return R"({"env": {"A": ")" + std::string((1 << 20) - 30, 'x') + "\x01" + R"("}})";
          }),
      Row("DeepNesting100kUnclosed", {"new", std::string(100000, '[')},
          kNotJson + "column 100001: syntax error while parsing value - unexpected end of input; "
                     "expected '[', '{', or a literal"),
      Row("DeepNesting100kBalancedOnStdin", {"new", "-"},
          "instance configuration must be a JSON object, not a list")
          .Stdin(std::string(100000, '[') + std::string(100000, ']')),
      Row("DeepObjects50kOnStdin", {"new", "-"},
          kConfig + "'a' is unknown; known keys are: application_name, prerun, services, urlmap, "
                    "nginx_options, env")
          .Stdin(Repeat(R"({"a":)", 50000) + "1" + std::string(50000, '}')),
      Row("DeepNestingInAnEnvValue", {"new", "-"}, kConfig + "'env.A' must be a string, not a list")
          .Stdin(R"({"env": {"A": )" + std::string(50000, '[') + std::string(50000, ']') + "}}"),
      Row("RawNulOnStdin", {"new", "-"},
          kNotJson + "column 24: syntax error while parsing value - invalid string: control "
                     "character U+0000 (NUL) must be escaped to \\u0000; last read: '\"a<U+0000>'")
          .Stdin(std::string("{\"application_name\": \"a\0b\"}", 27)),
      Row("EscapedNulInApplicationName", New({{"application_name", std::string("a\0b", 3)}}),
          kConfig + "'application_name' 'a\\x00b' " + kBadName),
      Row("EscapedNulInEnvValue", New({{"env", {{"A", std::string("a\0b", 3)}}}}),
          kConfig + "'env.A' contains a NUL character"),
      Row("InvalidUtf8InApplicationName", {"new", "{\"application_name\": \"w\xff\xfe\"}"},
          kNotJson + "column 24: syntax error while parsing value - invalid string: ill-formed "
                     "UTF-8 byte; last read: '\"w\\xff'"),
      Row("OverlongUtf8Slash", {"new", "{\"prerun\": \"a\xc0\xaf..\"}"},
          kNotJson + "column 14: syntax error while parsing value - invalid string: ill-formed "
                     "UTF-8 byte; last read: '\"a\\xc0'"),
      Row("UnicodeApplicationName", New({{"application_name", "w\u00e9b"}}),
          kConfig + "'application_name' 'w\u00e9b' " + kBadName),
      Row("RightToLeftOverrideInName", New({{"application_name", "web\u202egpj.exe"}}),
          kConfig + "'application_name' 'web\\u202egpj.exe' " + kBadName),
      Row("LineSeparatorInUnknownKey", New({{"x\u2028y", 1}}),
          kConfig + "'x\\u2028y' is unknown; known keys are: application_name, prerun, services, "
                    "urlmap, nginx_options, env"),
      Row("ApplicationName41Characters", New({{"application_name", std::string(41, 'a')}}),
          kConfig + "'application_name' '" + std::string(41, 'a') +
              "' is longer than 40 characters"),
      Row("ApplicationName100kCharacters", New({{"application_name", std::string(100000, 'a')}}),
          kConfig + "'application_name' '" + std::string(100, 'a') +
              "'… (100000 bytes) is longer than 40 characters"),
      Row("ServiceName41Characters",
          New({{"services", {{std::string(41, 's'), {{"type", "var-folder"}}}}}}),
          kConfig + "'services." + std::string(41, 's') + "' is longer than 40 characters"),
      Row("UnknownKey100kCharacters", New({{std::string(100000, 'k'), 1}}),
          kConfig + "'" + std::string(100, 'k') +
              "'… (100000 bytes) is unknown; known keys are: application_name, prerun, services, "
              "urlmap, nginx_options, env"),
      Row("PortPastInt64",
          {"new", R"({"services": {"web": {"type": "listen", "port": 99999999999999999999}}})"},
          kConfig + "'services.web.port' 1e+20 is not a port number (1-65535)"),
      Row("NumberPastDouble",
          {"new", R"({"services": {"web": {"type": "listen", "port": 1e400}}})"},
          "instance configuration is not valid JSON: number overflow parsing '1e400'"),
      Row("PortWithAFraction",
          {"new", R"({"services": {"web": {"type": "listen", "port": 80.5}}})"},
          kConfig + "'services.web.port' 80.5 is not a port number (1-65535)"),
  };
}

std::vector<Row> SupervisordInjectionRows() {
  return {
      Row("NewlineSectionInApplicationName",
          New({{"application_name", "x\n[program:evil]\ncommand=/bin/sh"}}),
          kConfig + "'application_name' 'x\\n[program:evil]\\ncommand=/bin/sh' " + kBadName),
      Row("InterpolationInApplicationName", New({{"application_name", "%(here)s"}}),
          kConfig + "'application_name' '%(here)s' " + kBadName),
      Row("SemicolonInServiceName", New({{"services", {{"a;b", {{"type", "var-folder"}}}}}}),
          kConfig + "'services.a;b' is not a valid service name: use letters, digits, '_' and '-' "
                    "only"),
      Row("SectionAsServiceName",
          New({{"services", {{"[program:x]", {{"type", "persistent-folder"}}}}}}),
          kConfig + "'services.[program:x]' is not a valid service name: use letters, digits, '_' "
                    "and '-' only"),
      Row("NewlineInEnvName", New({{"env", {{"A\n[program:x]", "v"}}}}),
          kConfig + "'env.A\\n[program:x]' " + kBadEnvName),
      Row("NewlineInPrerun", New({{"prerun", "a\n[program:x]"}}),
          kConfig + "'prerun' 'a\\n[program:x]' must be a file path inside the instance folder "
                    "(relative, without '..')"),
      Row("AbsolutePrerun", New({{"prerun", "/etc/profile"}}),
          kConfig + "'prerun' '/etc/profile' must be a file path inside the instance folder "
                    "(relative, without '..')"),
      Row("PrerunOutsideTheInstance", New({{"prerun", "venv/../../../etc/profile"}}),
          kConfig + "'prerun' 'venv/../../../etc/profile' must be a file path inside the instance "
                    "folder (relative, without '..')"),
      Row("NewlineInListenHost",
          New({{"services", {{"web", {{"type", "listen"}, {"host", "127.0.0.1\n[program:x]"}}}}}}),
          kConfig + "'services.web.host' '127.0.0.1\\n[program:x]' is not a host name or IP "
                    "address"),
  };
}

std::vector<Row> NginxInjectionRows() {
  auto proxy = [](const std::string& url, const std::string& upstream) {
    return Route({{"type", "proxy"}, {"url", url}, {"upstream_url", upstream}});
  };
  const std::string url0 = kConfig + "'urlmap[0].url' ";
  const std::string upstream0 = kConfig + "'urlmap[0].upstream_url' ";
  return {
      Row("SemicolonInUrl", proxy("/a;", "http://x"), url0 + "'/a;' " + kNginxSyntax),
      Row("BlockInUrl", proxy("/a{return", "http://x"), url0 + "'/a{return' " + kNginxSyntax),
      Row("ClosingBraceInUrl", proxy("/}", "http://x"), url0 + "'/}' " + kNginxSyntax),
      Row("QuoteInUrl", proxy("/\"a", "http://x"), url0 + "'/\"a' " + kNginxSyntax),
      Row("SpaceInUrl", proxy("/a b", "http://x"), url0 + "'/a b' " + kNginxSyntax),
      Row("NewlineInUrl", proxy("/a\nreturn 200", "http://x"),
          url0 + "'/a\\nreturn 200' " + kNginxSyntax),
      Row("RelativeUrl", proxy("a", "http://x"), url0 + "must start with '/'"),
      Row("UnknownVariableInUrl", proxy("/$request_uri", "http://x"),
          url0 + "refers to $request_uri which no service provides (known: WEB_HOST, WEB_PORT)"),
      Row("BacktickInUpstream", proxy("/", "http://`id`"),
          upstream0 + "'http://`id`' " + kNginxSyntax),
      Row("CommentInUpstream", proxy("/", "http://x#;"),
          upstream0 + "'http://x#;' " + kNginxSyntax),
      Row("StaticPathOutside", Route({{"type", "static"}, {"url", "/m/"}, {"path", "../../etc"}}),
          kConfig + "'urlmap[0].path' '../../etc' must be a folder inside the instance folder "
                    "(relative, without '..' or '$')"),
      Row("StaticPathAbsolute", Route({{"type", "static"}, {"url", "/m/"}, {"path", "/etc/"}}),
          kConfig + "'urlmap[0].path' '/etc/' must be a folder inside the instance folder "
                    "(relative, without '..' or '$')"),
      Row("FcgiSocketQuote", Route({{"type", "fcgi"}, {"url", "/f"}, {"socket", "/run/x' y"}}),
          kConfig + "'urlmap[0].socket' '/run/x' y' " + kNginxSyntax),
      Row("IncludeAsOption", Option("include", "/etc/passwd"),
          kConfig + "'nginx_options.include' " + kNotAnOption),
      Row("RootAsOption", Option("root", "/"), kConfig + "'nginx_options.root' " + kNotAnOption),
      Row("DirectiveInOptionValue", Option("server_name", "x; include /etc/passwd"),
          kConfig + "'nginx_options.server_name' 'x; include /etc/passwd' " + kOptionSyntax),
      Row("BlockInOptionValue", Option("server_name", "x { }"),
          kConfig + "'nginx_options.server_name' 'x { }' " + kOptionSyntax),
      Row("VariableInOptionValue", Option("server_name", "$host"),
          kConfig + "'nginx_options.server_name' '$host' " + kOptionSyntax),
      Row("NewlineInOptionValue", Option("gzip", "on\nroot /"),
          kConfig + "'nginx_options.gzip' 'on\\nroot /' " + kOptionSyntax),
      Row("BlankOptionValue", Option("gzip", "   "),
          kConfig + "'nginx_options.gzip' '   ' starts or ends with a space; give the value alone"),
      Row("ListenOnAUnixSocket", Option("listen", "unix:/etc/x.sock"),
          kConfig + "'nginx_options.listen' 'unix:/etc/x.sock' is a unix socket; sarge lets an "
                    "instance listen on a TCP port only"),
      Row("ListenPortPastInt", Option("listen", "99999999999"),
          kConfig + "'nginx_options.listen' '99999999999' is not an address nginx can listen on: "
                    "give PORT, HOST, HOST:PORT or [IPv6]:PORT (port 1-65535)"),
  };
}

std::vector<Row> ShellInjectionRows() {
  return {
      Row("CommandSubstitutionAsEnvName", New({{"env", {{"$(touch /tmp/pwned)", "v"}}}}),
          kConfig + "'env.$(touch /tmp/pwned)' " + kBadEnvName),
      Row("BacktickAsEnvName", New({{"env", {{"`id`", "v"}}}}),
          kConfig + "'env.`id`' " + kBadEnvName),
      Row("AssignmentAsEnvName", New({{"env", {{"A=B", "v"}}}}),
          kConfig + "'env.A=B' " + kBadEnvName),
      Row("QuoteInEnvName", New({{"env", {{"A'B", "v"}}}}), kConfig + "'env.A'B' " + kBadEnvName),
      Row("CommandSubstitutionAsServiceName",
          New({{"services", {{"$(id)", {{"type", "var-folder"}}}}}}),
          kConfig +
              "'services.$(id)' is not a valid service name: use letters, digits, '_' and '-' "
              "only"),
      Row("CommandSubstitutionAsApplicationName", New({{"application_name", "$(reboot)"}}),
          kConfig + "'application_name' '$(reboot)' " + kBadName),
  };
}

std::vector<Row> IdRows() {
  const std::string bad_id = "instance id '../etc' " + kBadName;
  return {
      Row("PathAsId", {"start", "../etc"}, bad_id).On(Home::kWithInstance),
      Row("SectionAsId", {"stop", "x\n[program:x]"}, "instance id 'x\\n[program:x]' " + kBadName)
          .On(Home::kWithInstance),
      Row("Id10kCharacters", {"destroy", std::string(10000, 'a')},
          "instance id '" + std::string(20, 'a') + "' is longer than 64 characters")
          .On(Home::kWithInstance),
      Row("EmptyId", {"configure", ""}, "instance id is empty; give a name")
          .On(Home::kWithInstance),
      Row("UnknownIdForLogs", {"logs", "web-AAAAAA"},
          "no instance 'web-AAAAAA' in {home}; `sarge {home} list` shows them")
          .On(Home::kWithInstance),
      Row("PathAsIdForActivate", {"activate", "../../etc/passwd"},
          "instance id '../../etc/passwd' " + kBadName)
          .On(Home::kWithInstance),
      Row("PathAsApplicationForRollback", {"rollback", "../web"},
          "application name '../web' " + kBadName)
          .On(Home::kWithInstance),
      Row("DeployFromNowhere", {"deploy", "{}", "/nonexistent; rm -rf /"},
          "source '/nonexistent; rm -rf /' does not exist; give a folder or a .tar.gz"),
      Row("TimeoutOfZero", {"start", "{id}", "--timeout", "0"},
          "start: --timeout: takes a number from 1 to 3600, not '0'; `sarge start --help` shows "
          "its usage")
          .Exit(2)
          .On(Home::kWithInstance),
      Row("ScaleTypeWithAShell", {"scale", "web", "worker;rm -rf /=1"},
          "'worker;rm -rf /=1' is not TYPE=N (a process type of the Procfile, as in worker=2)")
          .On(Home::kWithInstance),
      Row("ScaleToAHugeCount", {"scale", "web", "worker=99999999999"},
          "'worker=99999999999': the number of worker processes must be a whole number from 0 "
          "to 32")
          .On(Home::kWithInstance),
      Row("ScaleWebToZero", {"scale", "web", "web=0"},
          "web=0 would leave the application nothing to serve requests; scale web to 1 or more "
          "(stop an instance with sarge HOME stop ID)")
          .On(Home::kWithInstance),
      Row("ScaleAnApplicationNeverDeployed", {"scale", "wbe", "worker=2"},
          "application 'wbe' has no instances in {home}; deploy it first (did you mean web?)")
          .On(Home::kWithInstance),
      Row("LogsOfAProcessItDoesNotRun", {"logs", "{id}", "worker"},
          "{id} has no process 'worker'; it runs web.1")
          .On(Home::kWithInstance),
      Row("RestartATypeThatIsAPath", {"restart", "web", "../worker"},
          "'../worker' is not a process type (as in worker)")
          .Exit(2)
          .On(Home::kWithInstance),
      Row("TimeoutNotANumber", {"start", "{id}", "--timeout", "$(id)"},
          "start: --timeout: takes a number from 1 to 3600, not '$(id)'; `sarge start --help` "
          "shows its usage")
          .Exit(2)
          .On(Home::kWithInstance),
  };
}

std::vector<Row> SettingsRows() {
  const std::vector<std::string> new_web = {"new", R"({"application_name": "web"})"};
  auto row = [&](std::string name, std::string yaml, std::string error) {
    return Row(std::move(name), new_web, "{home}/etc/sarge.yaml: " + std::move(error))
        .Settings(std::move(yaml));
  };
  return {
      row("YamlSyntax", "ports: [1",
          "not valid YAML at the end of the file: did not find expected ',' or ']' (while "
          "parsing a flow sequence at line 1)"),
      row("YamlTabIndent", "ports:\n\tfirst: 1",
          "not valid YAML at line 2: a tab, which YAML does not allow where it is; indent with "
          "spaces"),
      row("YamlPortNotANumber", "ports: {first: abc}", "'ports.first' must be a number, not 'abc'"),
      row("YamlPortBelow1024", "ports: {first: 80}",
          "'ports.first' must be between 1024 and 65535, not 80"),
      row("YamlPortPastInt", "ports: {first: 99999999999}",
          "'ports.first' must be between 1024 and 65535, not 99999999999"),
      row("YamlEmptyPortRange", "ports: {first: 30000, last: 20000}",
          "'ports' range is empty: last (20000) is below first (30000)"),
      row("YamlUnknownKey", "prots: {}",
          "'prots' is not a setting sarge knows; did you mean 'ports'?"),
      row("YamlList", "- ports", "the file must be a mapping"),
      row("YamlMappingAsKey", "? {a: 1}\n: 2", "the file has a key that is not a name, at line 1"),
      row("YamlLogSizeInjection", "log: {max_bytes: \"50MB\\n[program:x]\\ncommand=/bin/sh\"}",
          "'log.max_bytes' must be a size such as 50MB, 1GB or 1048576, not "
          "'50MB\\n[program:x]\\ncommand=/bin/sh'"),
      row("YamlLogSizeInterpolation", "log: {max_bytes: \"1%(here)s\"}",
          "'log.max_bytes' must be a size such as 50MB, 1GB or 1048576, not '1%(here)s'"),
      row("YamlHookIsAMapping", "hooks: {will-start: {a: b}}",
          "'hooks.will-start' must be a string"),
      row("YamlNulInHook", "hooks: {will-start: \"a\\0b\"}",
          "'hooks.will-start' contains a NUL character"),
      row("YamlReloadWithoutPidFile", "nginx: {reload_command: nginx -s reload}",
          "'nginx.pid_file' is needed with reload_command, so sarge can let old nginx workers "
          "finish before it stops an old instance (for Debian's nginx: /run/nginx.pid)"),
      row("YamlDeepNesting100k", std::string(100000, '['),
          "not valid YAML at line 1: nested more than 32 levels deep"),
      row("YamlInvalidUtf8", "ports: {first: \xff\xfe}",
          "not valid YAML at byte 16: invalid leading UTF-8 octet (0xFF)"),
      row("YamlKeySetTwice", "ports: {first: 3000}\nports: {first: 4000}",
          "'ports' is set twice, at lines 1 and 2; keep one"),
  };
}

std::vector<Row> HomeRows() {
  return {
      Row("HomeIsAFile", {"list"},
          "home '{home}' is not a folder; give the home folder, or a new path for `sarge PATH "
          "init` "
          "to create")
          .On(Home::kFile),
      Row("InitOnAFile", {"init"},
          "home '{home}' is not a folder; give the home folder, or a new path for `sarge PATH "
          "init` "
          "to create")
          .On(Home::kFile),
      Row("HomeIsASymlinkLoop", {"new", "{}"},
          "cannot use home '{home}': Too many levels of symbolic links")
          .On(Home::kSymlinkLoop),
      Row("InitOnADanglingSymlink", {"init"},
          "home '{home}' is a symlink to 'nowhere', which does not exist; create that folder "
          "first, "
          "or give another path")
          .On(Home::kDanglingLink),
      Row("HomeNeverInitialised", {"new", "{}"},
          "{home} is not a sarge home (it has no etc/instances); create it with: sarge {home} "
          "init")
          .On(Home::kMissing),
      Row("HomePathWithANewline", {"init"},
          "home path '{tmp}/a\\n[program:x]' has characters sarge does not write into "
          "configuration files; use letters, digits and / . _ - + @ only")
          .On(Home::kMissing)
          .Path("a\n[program:x]"),
      Row("HomeReadOnly", {"new", "{}"},
          "cannot open lock file {home}/var/run/sarge.lock: Read-only file system; the file "
          "system "
          "is mounted read-only")
          .On(Home::kReadOnly),
      Row("HomeOfAnotherUser", {"new", "{}"},
          "{home} belongs to root; run sarge as root (sudo -u root sarge {home} …)")
          .On(Home::kOtherUser),
      Row("DiskFullOnNew", {"new", R"({"application_name": "web"})"},
          "cannot write {home}/etc/instances/web-{random}.json: No space left on device; free "
          "some "
          "space and run the command again")
          .On(Home::kFullDisk),
      Row("DiskFullOnConfigure", {"configure", "{id}"},
          "cannot write {home}/var/run/{id}/appcfg.json: No space left on device; free some "
          "space "
          "and run the command again")
          .On(Home::kFullDisk),
  };
}

std::vector<Row> AllRows() {
  std::vector<Row> rows;
  for (auto part : {JsonRows(), SupervisordInjectionRows(), NginxInjectionRows(),
                    ShellInjectionRows(), IdRows(), SettingsRows(), HomeRows()})
    rows.insert(rows.end(), part.begin(), part.end());
  return rows;
}

void ReplaceAll(std::string& text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
}

// True if `line` is `expected` with {random} standing for six letters or digits.
bool Matches(const std::string& line, const std::string& expected) {
  if (expected.find("{random}") == std::string::npos) return line == expected;
  std::string pattern;
  for (char c : expected) {
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) pattern += '\\';
    pattern += c;
  }
  ReplaceAll(pattern, "\\{random\\}", "[A-Za-z0-9]{6}");
  return std::regex_match(line, std::regex(pattern));
}

// Mounts made here live in a mount namespace of this process (unshared
// once): they disappear when it exits, even if a test fails half-way.
::testing::AssertionResult PrivateMounts() {
  static const int error = [] {
    if (::unshare(CLONE_NEWNS) != 0) return errno;
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return errno;
    return 0;
  }();
  if (error == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "cannot make a private mount namespace (" << std::strerror(error)
         << "): these rows need root, as CI has";
}

class HostileInput : public ::testing::TestWithParam<Row> {
 protected:
  void TearDown() override {
    for (auto it = mounts_.rbegin(); it != mounts_.rend(); ++it) ::umount2(it->c_str(), MNT_DETACH);
  }

  // Makes the home the row asks for; returns the HOME to give sarge.
  std::string Prepare(const Row& row) {
    fs::path home = tmp_.root();
    switch (row.home) {
      case Home::kReady:
      case Home::kWithInstance:
        Init(home, row.home == Home::kWithInstance);
        break;
      case Home::kOtherUser:
        // nobody must reach the home and a copy of sarge (the build folder
        // may be out of its reach), and write neither.
        home /= row.path;
        Init(home, false);
        fs::copy_file(SARGE_BINARY, tmp_.root() / "sarge");
        ::chmod(tmp_.root().c_str(), 0755);
        break;
      case Home::kMissing:
        home /= row.path;
        break;
      case Home::kFile:
        home /= row.path;
        WriteFile(home, "not a folder\n");
        break;
      case Home::kSymlinkLoop:
        home /= row.path;
        fs::create_symlink(row.path, home);
        break;
      case Home::kDanglingLink:
        home /= row.path;
        fs::create_symlink("nowhere", home);
        break;
      case Home::kReadOnly:
        Init(home, false);
        Mount(home, home, nullptr, MS_BIND, nullptr);
        Mount("", home, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr);
        break;
      case Home::kFullDisk:
        home = FullDisk();
        break;
    }
    if (row.settings) WriteFile(home / "etc/sarge.yaml", *row.settings);
    return home.string();
  }

  void Init(const fs::path& home, bool with_instance) {
    Result r = RunSarge({home.string(), "init"});
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
    if (!with_instance) return;
    r = RunSarge({home.string(), "new", R"({"application_name": "web",
        "services": {"web": {"type": "listen"}, "data": {"type": "var-folder"}}})"});
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
    id_ = r.out.substr(0, r.out.find('\n'));
  }

  void Mount(const fs::path& source, const fs::path& target, const char* type, unsigned long flags,
             const char* options) {
    ASSERT_TRUE(PrivateMounts());
    ASSERT_EQ(::mount(source.c_str(), target.c_str(), type, flags, options), 0)
        << "mount " << target << ": " << std::strerror(errno);
    mounts_.push_back(target);
  }

  // A home with one instance on a 1 MiB tmpfs, then a file that takes the
  // rest of the space: the next write fails with ENOSPC.
  fs::path FullDisk() {
    fs::path disk = tmp_.root() / "disk";
    fs::create_directory(disk);
    Mount("tmpfs", disk, "tmpfs", 0, "size=1m,mode=0755");
    Init(disk / "home", true);
    std::ofstream filler(disk / "filler", std::ios::binary);
    std::string block(4096, 'f');
    while (filler.write(block.data(), block.size())) {
    }
    return disk / "home";
  }

  TempHome tmp_;
  std::string id_;
  std::vector<fs::path> mounts_;
};

TEST_P(HostileInput, OneLineExitStatusAndTheHomeUnchanged) {
  const Row& row = GetParam();
  std::string home = Prepare(row);
  if (HasFatalFailure()) return;
  std::vector<std::string> argv;
  if (row.home == Home::kOtherUser)
    argv = {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
            (tmp_.root() / "sarge").string()};
  else
    argv = {SARGE_BINARY};
  argv.push_back(home);
  for (std::string arg : row.args) {
    ReplaceAll(arg, "{id}", id_);
    argv.push_back(arg);
  }
  std::string expected = row.error;
  ReplaceAll(expected, "{home}", home);
  ReplaceAll(expected, "{id}", id_);
  ReplaceAll(expected, "{tmp}", tmp_.str());

  Snapshot before = tmp_.Snap();
  Result r = RunProgram(argv, row.make_input ? row.make_input() : row.input, 60s);
  EXPECT_EQ(r.exit_code, row.exit_code) << Describe(r);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "not one line:\n" << r.err;
  std::string line = r.err.substr(0, r.err.find('\n'));
  EXPECT_TRUE(Matches(line, "sarge: error: " + expected))
      << "got:      " << line << "\nexpected: sarge: error: " << expected;
  EXPECT_EQ(DiffSnapshots(before, tmp_.Snap()), "");
}

INSTANTIATE_TEST_SUITE_P(Table, HostileInput, ::testing::ValuesIn(AllRows()),
                         [](const ::testing::TestParamInfo<Row>& row) { return row.param.name; });

// The table is the promise's evidence: keep it wide.
TEST(HostileInputTable, HasAtLeastFiftyRowsWithUniqueNames) {
  auto rows = AllRows();
  EXPECT_GE(rows.size(), 50u);
  std::set<std::string> names;
  for (const auto& row : rows) EXPECT_TRUE(names.insert(row.name).second) << row.name;
}

}  // namespace
}  // namespace e2e
