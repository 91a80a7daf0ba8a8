#include "sarge/settings.h"

#include <algorithm>
#include <string_view>

#include <fmt/format.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include "sarge/error.h"
#include "sarge/names.h"

namespace sarge {
namespace {

// "[0-9]{1,12}(KB|MB|GB)?", as supervisord's logfile_maxbytes takes it.
bool IsSize(std::string_view text) {
  for (std::string_view unit : {"KB", "MB", "GB"})
    if (text.size() > unit.size() && text.substr(text.size() - unit.size()) == unit) {
      text.remove_suffix(unit.size());
      break;
    }
  // A plain loop rather than std::regex: every command reads sarge.yaml,
  // and compiling a regex costs more than the rest of the parse's checks.
  return text.size() <= 12 && AllDigits(text);
}

struct Reader {
  std::string_view source;

  [[noreturn]] void Fail(const std::string& key, const std::string& problem) const {
    throw Error(fmt::format("{}: {} {}", source, key, problem));
  }

  void OnlyKeys(const YAML::Node& map, const std::string& prefix,
                std::initializer_list<std::string_view> known) const {
    if (!map.IsMap()) Fail(prefix.empty() ? "the file" : Quoted(prefix), "must be a mapping");
    for (const auto& item : map) {
      auto key = Key(item.first, prefix);
      bool ok = std::find(known.begin(), known.end(), key) != known.end();
      if (!ok) {
        std::vector<std::string> names(known.begin(), known.end());
        std::string hint = ClosestMatch(key, names);
        Fail(Quoted(prefix.empty() ? key : prefix + "." + key),
             hint.empty() ? "is not a setting sarge knows; see docs/configuration.md"
                          : fmt::format("is not a setting sarge knows; did you mean '{}'?", hint));
      }
    }
  }

  // A mapping's key as text; a key that is itself a list or a mapping is an error.
  std::string Key(const YAML::Node& node, const std::string& prefix) const {
    if (!node.IsScalar())
      Fail(prefix.empty() ? "the file" : Quoted(prefix),
           fmt::format("has a key that is not a name, at line {}", node.Mark().line + 1));
    return node.Scalar();
  }

  int Int(const YAML::Node& node, const std::string& key, int min, int max) const {
    if (!node.IsScalar()) Fail(Quoted(key), "must be a number");
    const auto& text = node.Scalar();
    if (!AllDigits(text)) Fail(Quoted(key), fmt::format("must be a number, not {}", Quoted(text)));
    // More digits than any allowed value has cannot be in range (and would
    // not fit an int).
    if (text.size() > 9 || std::stoi(text) < min || std::stoi(text) > max)
      Fail(Quoted(key), fmt::format("must be between {} and {}, not {}", min, max,
                                    text.size() <= 20 ? text : Quoted(text)));
    return std::stoi(text);
  }

  std::string Str(const YAML::Node& node, const std::string& key) const {
    if (!node.IsScalar()) Fail(Quoted(key), "must be a string");
    if (node.Scalar().find('\0') != std::string::npos)
      Fail(Quoted(key), "contains a NUL character");
    return node.Scalar();
  }
};

void ReadPorts(const Reader& r, const YAML::Node& node, Settings& s) {
  r.OnlyKeys(node, "ports", {"first", "last"});
  if (node["first"]) s.port_first = r.Int(node["first"], "ports.first", 1024, 65535);
  if (node["last"]) s.port_last = r.Int(node["last"], "ports.last", 1024, 65535);
  if (s.port_last < s.port_first)
    r.Fail("'ports'",
           fmt::format("range is empty: last ({}) is below first ({})", s.port_last, s.port_first));
}

void ReadLog(const Reader& r, const YAML::Node& node, Settings& s) {
  r.OnlyKeys(node, "log", {"max_bytes", "backups"});
  if (node["max_bytes"]) {
    s.log_max_bytes = r.Str(node["max_bytes"], "log.max_bytes");
    if (!IsSize(s.log_max_bytes))
      r.Fail("'log.max_bytes'", fmt::format("must be a size such as 50MB, 1GB or 1048576, not {}",
                                            Quoted(s.log_max_bytes)));
  }
  if (node["backups"]) s.log_backups = r.Int(node["backups"], "log.backups", 0, 1000);
}

void ReadNginx(const Reader& r, const YAML::Node& node, Settings& s) {
  r.OnlyKeys(node, "nginx", {"reload_command", "test_command", "pid_file", "drain_timeout"});
  if (node["reload_command"])
    s.nginx_reload_command = r.Str(node["reload_command"], "nginx.reload_command");
  if (node["test_command"])
    s.nginx_test_command = r.Str(node["test_command"], "nginx.test_command");
  if (node["pid_file"]) s.nginx_pid_file = r.Str(node["pid_file"], "nginx.pid_file");
  if (node["drain_timeout"])
    s.nginx_drain_timeout = r.Int(node["drain_timeout"], "nginx.drain_timeout", 0, 3600);
  // Without the master's pid sarge cannot wait for the old workers, and
  // stopping an old instance while they still use it fails requests.
  if (!s.nginx_reload_command.empty() && s.nginx_pid_file.empty())
    r.Fail("'nginx.pid_file'",
           "is needed with reload_command, so sarge can let old nginx workers finish before it "
           "stops an old instance (for Debian's nginx: /run/nginx.pid)");
}

void ReadDeploy(const Reader& r, const YAML::Node& node, Settings& s) {
  r.OnlyKeys(node, "deploy", {"keep", "timeout"});
  if (node["keep"]) s.deploy_keep = r.Int(node["keep"], "deploy.keep", 0, 1000);
  if (node["timeout"]) s.deploy_timeout = r.Int(node["timeout"], "deploy.timeout", 1, 3600);
}

void ReadHooks(const Reader& r, const YAML::Node& node, Settings& s) {
  r.OnlyKeys(
      node, "hooks",
      {"timeout", "initializing", "configuring", "will-start", "has-stopped", "will-be-destroyed"});
  for (const auto& item : node) {
    std::string event = r.Key(item.first, "hooks");
    std::string key = "hooks." + event;
    if (event == "timeout") {
      s.hook_timeout = r.Int(item.second, key, 1, 3600);
      continue;
    }
    std::vector<std::string> programs;
    if (item.second.IsSequence()) {
      for (const auto& p : item.second) programs.push_back(r.Str(p, key));
    } else {
      programs.push_back(r.Str(item.second, key));
    }
    for (const auto& p : programs)
      if (p.empty()) r.Fail(Quoted(key), "names an empty program path");
    s.hooks[event] = programs;
  }
}

}  // namespace

std::string DefaultSettingsYaml() {
  return R"(# sarge settings for this home. Edit freely: `sarge HOME init` never
# overwrites this file. Every key is optional; the values shown are the
# defaults. docs/configuration.md describes each one.

# Ports handed to `listen` services that do not name one. A port is picked
# from this range, free on the host and not held by another instance of this
# home, and stays the instance's for its whole life.
ports:
  first: 20000
  last: 29999

# Instance logs (var/log/INSTANCE_ID.log) are rotated by supervisord when
# they reach max_bytes (a size such as 50MB, or 0 for never); it keeps
# `backups` old files. To rotate with logrotate instead, set max_bytes: 0 and
# after rotating run: kill -USR2 $(cat HOME/var/run/supervisord.pid)
log:
  max_bytes: 50MB
  backups: 10

# Seconds `sarge start` waits for a server to be up (its listen ports
# accepting connections, or supervisord reporting it RUNNING).
start_timeout: 30

# `sarge deploy`: how many previous instances of an application stay
# (stopped) for `sarge rollback`, and how many seconds a new instance has to
# start and pass its check before the deploy is abandoned.
deploy:
  keep: 3
  timeout: 60

# Programs run at instance events, each given the instance as JSON on stdin
# (with "event" and "home" added), one path or a list per event. A hook that
# fails (non-zero exit, or longer than timeout) before a change aborts it,
# with the hook's stderr in the error. A `configuring` hook may print a JSON
# object whose values are added to the runtime configuration (appcfg.json
# and the environment). Relative paths are relative to the home.
# hooks:
#   timeout: 30
#   initializing: etc/hooks/check-config
#   configuring: [etc/hooks/add-database-url]
#   will-start: etc/hooks/migrate
#   has-stopped: etc/hooks/notify
#   will-be-destroyed: etc/hooks/backup

# The front end. Include HOME/etc/nginx/sarge_sites.conf in nginx's http { }
# block, then uncomment and adapt this section to let sarge test and reload
# nginx. pid_file (nginx's master pid) is required with reload_command: after
# a reload sarge waits, at most drain_timeout seconds, for the old workers to
# finish their requests before it stops an old instance.
# nginx:
#   test_command: nginx -t -q
#   reload_command: nginx -s reload
#   pid_file: /run/nginx.pid
#   drain_timeout: 30
)";
}

Settings ParseSettings(std::string_view yaml, std::string_view source) {
  Reader r{source};
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp's own message for this one is "bad file".
    throw Error(fmt::format("{}: not valid YAML at line {}: nested {} levels deep or more", source,
                            e.mark.line + 1, e.depth()));
  } catch (const YAML::Exception& e) {
    // yaml-cpp's message may quote the bad character.
    throw Error(fmt::format("{}: not valid YAML at line {}: {}", source, e.mark.line + 1,
                            Excerpt(e.msg, 200)));
  }
  Settings s;
  if (root.IsNull()) return s;
  r.OnlyKeys(root, "", {"ports", "log", "start_timeout", "deploy", "nginx", "hooks"});
  if (root["ports"]) ReadPorts(r, root["ports"], s);
  if (root["log"]) ReadLog(r, root["log"], s);
  if (root["start_timeout"])
    s.start_timeout = r.Int(root["start_timeout"], "start_timeout", 1, 3600);
  if (root["deploy"]) ReadDeploy(r, root["deploy"], s);
  if (root["nginx"]) ReadNginx(r, root["nginx"], s);
  if (root["hooks"]) ReadHooks(r, root["hooks"], s);
  return s;
}

}  // namespace sarge
