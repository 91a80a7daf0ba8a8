#include "sarge/settings.h"

#include <algorithm>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <yaml.h>

#include "sarge/duration.h"
#include "sarge/error.h"
#include "sarge/names.h"
#include "sarge/procfile.h"

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

// libyaml's parser over a text, with its errors as sarge's one-line
// messages.
class Parser {
 public:
  Parser(std::string_view text, std::string_view source) : text_(text), source_(source) {
    if (!yaml_parser_initialize(&parser_)) throw Error(fmt::format("{}: out of memory", source));
    yaml_parser_set_input_string(&parser_, reinterpret_cast<const unsigned char*>(text.data()),
                                 text.size());
  }
  ~Parser() { yaml_parser_delete(&parser_); }
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;

  yaml_parser_t* get() { return &parser_; }

  // The Error for the parser's failure. libyaml's messages are fixed ASCII
  // phrases, so they stay on one line.
  Error Failure() const {
    const char* problem = parser_.problem ? parser_.problem : "unknown error";
    switch (parser_.error) {
      case YAML_MEMORY_ERROR:
        return Error(fmt::format("{}: out of memory", source_));
      case YAML_READER_ERROR:
        // Bad encoding or a control character: no line yet; the byte,
        // counted from 1 as lines are.
        return Error(parser_.problem_value == -1
                         ? fmt::format("{}: not valid YAML at byte {}: {}", source_,
                                       parser_.problem_offset + 1, problem)
                         : fmt::format("{}: not valid YAML at byte {}: {} (0x{:02X})", source_,
                                       parser_.problem_offset + 1, problem, parser_.problem_value));
      default:
        break;
    }
    // The usual cause of libyaml's vaguest message.
    if (parser_.error == YAML_SCANNER_ERROR && parser_.problem_mark.index < text_.size() &&
        text_[parser_.problem_mark.index] == '\t')
      return Error(
          fmt::format("{}: not valid YAML {}: a tab, which YAML does not allow where it "
                      "is; indent with spaces",
                      source_, Where(parser_.problem_mark)));
    if (!parser_.context)
      return Error(
          fmt::format("{}: not valid YAML {}: {}", source_, Where(parser_.problem_mark), problem));
    return Error(fmt::format("{}: not valid YAML {}: {} ({} at line {})", source_,
                             Where(parser_.problem_mark), problem, parser_.context,
                             parser_.context_mark.line + 1));
  }

  // "at line N", or "at the end of the file" (which libyaml puts on a line
  // after the last).
  std::string Where(const yaml_mark_t& mark) const {
    return mark.index >= text_.size() ? "at the end of the file"
                                      : fmt::format("at line {}", mark.line + 1);
  }

 private:
  std::string_view text_;
  std::string_view source_;
  yaml_parser_t parser_{};
};

// sarge.yaml needs three levels; libyaml 0.2.5 sets no limit, and its
// scanner's work per token grows with the depth of the flow collections
// around it (a megabyte of '[' takes it minutes).
constexpr int kMaxDepth = 32;

// Reads the events of the first document, failing on a syntax error or at
// the first collection nested deeper than kMaxDepth, before anything
// deeper is scanned.
void CheckFirstDocument(std::string_view text, std::string_view source) {
  Parser parser(text, source);
  int depth = 0;
  for (;;) {
    yaml_event_t event;
    if (!yaml_parser_parse(parser.get(), &event)) throw parser.Failure();
    yaml_event_type_t type = event.type;
    yaml_mark_t mark = event.start_mark;
    yaml_event_delete(&event);
    if (type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT) {
      if (++depth > kMaxDepth)
        throw Error(fmt::format("{}: not valid YAML {}: nested more than {} levels deep", source,
                                parser.Where(mark), kMaxDepth));
    } else if (type == YAML_SEQUENCE_END_EVENT || type == YAML_MAPPING_END_EVENT) {
      --depth;
    } else if (type == YAML_DOCUMENT_END_EVENT || type == YAML_STREAM_END_EVENT) {
      return;
    }
  }
}

// The first document of a YAML text, composed by libyaml (which does not
// expand aliases: an alias is the index of the node it names). Nodes live
// as long as the Document.
class Document {
 public:
  // The check's parser is freed before this one is made, which then reuses
  // its buffers (~80 KiB) instead of touching as many new pages.
  Document(std::string_view text, std::string_view source)
      : parser_((CheckFirstDocument(text, source), text), source) {
    if (!yaml_parser_load(parser_.get(), &document_)) throw parser_.Failure();
  }
  ~Document() { yaml_document_delete(&document_); }
  Document(const Document&) = delete;
  Document& operator=(const Document&) = delete;

  // Null for an empty file (or one with only comments).
  const yaml_node_t* Root() { return yaml_document_get_root_node(&document_); }
  const yaml_node_t* Get(int index) { return yaml_document_get_node(&document_, index); }

 private:
  Parser parser_;
  yaml_document_t document_{};
};

bool IsScalar(const yaml_node_t* node) { return node->type == YAML_SCALAR_NODE; }

std::string_view Text(const yaml_node_t* node) {
  return {reinterpret_cast<const char*>(node->data.scalar.value), node->data.scalar.length};
}

// YAML's null: an unquoted ~, null, Null, NULL or nothing at all.
bool IsNull(const yaml_node_t* node) {
  if (!IsScalar(node) || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return false;
  std::string_view text = Text(node);
  return text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL";
}

int LineOf(const yaml_node_t* node) { return static_cast<int>(node->start_mark.line) + 1; }

struct Reader {
  Document& doc;
  std::string_view source;

  [[noreturn]] void Fail(const std::string& key, const std::string& problem) const {
    throw Error(fmt::format("{}: {} {}", source, key, problem));
  }

  // The pairs of a mapping, as nodes.
  std::vector<std::pair<const yaml_node_t*, const yaml_node_t*>> Pairs(
      const yaml_node_t* map) const {
    std::vector<std::pair<const yaml_node_t*, const yaml_node_t*>> pairs;
    for (auto* p = map->data.mapping.pairs.start; p != map->data.mapping.pairs.top; ++p)
      pairs.emplace_back(doc.Get(p->key), doc.Get(p->value));
    return pairs;
  }

  // The value of a key of a mapping OnlyKeys has checked, or null.
  const yaml_node_t* Find(const yaml_node_t* map, std::string_view key) const {
    for (auto* p = map->data.mapping.pairs.start; p != map->data.mapping.pairs.top; ++p)
      if (Text(doc.Get(p->key)) == key) return doc.Get(p->value);
    return nullptr;
  }

  // Checks that `map` is a mapping whose keys are all names in `known`,
  // each once.
  void OnlyKeys(const yaml_node_t* map, const std::string& prefix,
                std::initializer_list<std::string_view> known) const {
    if (map->type != YAML_MAPPING_NODE)
      Fail(prefix.empty() ? "the file" : Quoted(prefix), "must be a mapping");
    auto pairs = Pairs(map);
    for (size_t i = 0; i < pairs.size(); ++i) {
      std::string key = Key(pairs[i].first, prefix);
      std::string name = prefix.empty() ? key : prefix + "." + key;
      bool ok = std::find(known.begin(), known.end(), key) != known.end();
      if (!ok) {
        std::vector<std::string> names(known.begin(), known.end());
        std::string hint = ClosestMatch(key, names);
        Fail(Quoted(name),
             hint.empty() ? "is not a setting sarge knows; see docs/configuration.md"
                          : fmt::format("is not a setting sarge knows; did you mean '{}'?", hint));
      }
      for (size_t j = 0; j < i; ++j)
        if (Text(pairs[j].first) == key)
          Fail(Quoted(name), fmt::format("is set twice, at lines {} and {}; keep one",
                                         LineOf(pairs[j].first), LineOf(pairs[i].first)));
    }
  }

  // A mapping's key as text; a key that is itself a list or a mapping (or
  // null) is an error.
  std::string Key(const yaml_node_t* node, const std::string& prefix) const {
    if (!IsScalar(node) || IsNull(node))
      Fail(prefix.empty() ? "the file" : Quoted(prefix),
           fmt::format("has a key that is not a name, at line {}", LineOf(node)));
    return std::string(Text(node));
  }

  int Int(const yaml_node_t* node, const std::string& key, int min, int max) const {
    if (!IsScalar(node) || IsNull(node)) Fail(Quoted(key), "must be a number");
    std::string text(Text(node));
    if (!AllDigits(text)) Fail(Quoted(key), fmt::format("must be a number, not {}", Quoted(text)));
    // More digits than any allowed value has cannot be in range (and would
    // not fit an int).
    if (text.size() > 9 || std::stoi(text) < min || std::stoi(text) > max)
      Fail(Quoted(key), fmt::format("must be between {} and {}, not {}", min, max,
                                    text.size() <= 20 ? text : Quoted(text)));
    return std::stoi(text);
  }

  // A duration (duration.h) of at most `max`.
  std::chrono::milliseconds Duration(const yaml_node_t* node, const std::string& key,
                                     std::chrono::milliseconds max) const {
    std::string text = Str(node, key);
    auto d = ParseDuration(text);
    if (!d)
      Fail(Quoted(key), fmt::format("must be seconds (1.5) or a number with ms, s or m (500ms, "
                                    "30s, 2m), not {}",
                                    Quoted(text)));
    if (*d > max)
      Fail(Quoted(key),
           fmt::format("must be at most {}, not {}", FormatDuration(max), Quoted(text)));
    return *d;
  }

  // One string, or a sequence of them.
  std::vector<std::string> Strs(const yaml_node_t* value, const std::string& key) const {
    if (value->type != YAML_SEQUENCE_NODE) return {Str(value, key)};
    std::vector<std::string> out;
    for (auto* i = value->data.sequence.items.start; i != value->data.sequence.items.top; ++i)
      out.push_back(Str(doc.Get(*i), key));
    return out;
  }

  std::string Str(const yaml_node_t* node, const std::string& key) const {
    if (!IsScalar(node) || IsNull(node)) Fail(Quoted(key), "must be a string");
    std::string_view text = Text(node);
    if (text.find('\0') != std::string_view::npos) Fail(Quoted(key), "contains a NUL character");
    return std::string(text);
  }
};

void ReadPorts(const Reader& r, const yaml_node_t* node, Settings& s) {
  r.OnlyKeys(node, "ports", {"first", "last"});
  if (auto* v = r.Find(node, "first")) s.port_first = r.Int(v, "ports.first", 1024, 65535);
  if (auto* v = r.Find(node, "last")) s.port_last = r.Int(v, "ports.last", 1024, 65535);
  if (s.port_last < s.port_first)
    r.Fail("'ports'",
           fmt::format("range is empty: last ({}) is below first ({})", s.port_last, s.port_first));
}

void ReadLog(const Reader& r, const yaml_node_t* node, Settings& s) {
  r.OnlyKeys(node, "log", {"max_bytes", "backups"});
  if (auto* v = r.Find(node, "max_bytes")) {
    s.log_max_bytes = r.Str(v, "log.max_bytes");
    if (!IsSize(s.log_max_bytes))
      r.Fail("'log.max_bytes'", fmt::format("must be a size such as 50MB, 1GB or 1048576, not {}",
                                            Quoted(s.log_max_bytes)));
  }
  if (auto* v = r.Find(node, "backups")) s.log_backups = r.Int(v, "log.backups", 0, 1000);
}

void ReadNginx(const Reader& r, const yaml_node_t* node, Settings& s) {
  r.OnlyKeys(node, "nginx", {"reload_command", "test_command", "pid_file", "drain_timeout"});
  if (auto* v = r.Find(node, "reload_command"))
    s.nginx_reload_command = r.Str(v, "nginx.reload_command");
  if (auto* v = r.Find(node, "test_command")) s.nginx_test_command = r.Str(v, "nginx.test_command");
  if (auto* v = r.Find(node, "pid_file")) s.nginx_pid_file = r.Str(v, "nginx.pid_file");
  if (auto* v = r.Find(node, "drain_timeout"))
    s.nginx_drain_timeout = r.Int(v, "nginx.drain_timeout", 0, 3600);
  // Without the master's pid sarge cannot wait for the old workers, and
  // stopping an old instance while they still use it fails requests.
  if (!s.nginx_reload_command.empty() && s.nginx_pid_file.empty())
    r.Fail("'nginx.pid_file'",
           "is needed with reload_command, so sarge can let old nginx workers finish before it "
           "stops an old instance (for Debian's nginx: /run/nginx.pid)");
}

void ReadDeploy(const Reader& r, const yaml_node_t* node, Settings& s) {
  using std::chrono::hours;
  r.OnlyKeys(node, "deploy", {"keep", "timeout", "min_uptime", "watch", "singletons"});
  if (auto* v = r.Find(node, "keep")) s.deploy_keep = r.Int(v, "deploy.keep", 0, 1000);
  if (auto* v = r.Find(node, "timeout")) s.deploy_timeout = r.Int(v, "deploy.timeout", 1, 3600);
  if (auto* v = r.Find(node, "min_uptime"))
    s.min_uptime = r.Duration(v, "deploy.min_uptime", hours(1));
  if (auto* v = r.Find(node, "watch")) s.deploy_watch = r.Duration(v, "deploy.watch", hours(24));
  if (auto* v = r.Find(node, "singletons")) {
    s.singletons = r.Strs(v, "deploy.singletons");
    for (const auto& type : s.singletons)
      if (!IsTypeName(type) || type == "web" || type == "release")
        r.Fail("'deploy.singletons'",
               fmt::format("lists {}, which is no process type that can be one (a Procfile type "
                           "other than web and release, such as clock)",
                           Quoted(type)));
  }
}

void ReadHooks(const Reader& r, const yaml_node_t* node, Settings& s) {
  r.OnlyKeys(
      node, "hooks",
      {"timeout", "initializing", "configuring", "will-start", "has-stopped", "will-be-destroyed"});
  for (const auto& [name, value] : r.Pairs(node)) {
    std::string event(Text(name));
    std::string key = "hooks." + event;
    if (event == "timeout") {
      s.hook_timeout = r.Int(value, key, 1, 3600);
      continue;
    }
    std::vector<std::string> programs = r.Strs(value, key);
    for (const auto& p : programs)
      if (p.empty()) r.Fail(Quoted(key), "names an empty program path");
    s.hooks[event] = programs;
  }
}

}  // namespace

// The file `init` writes: every key with its default, commented.
constexpr std::string_view kDefaultSettingsYaml =
    R"(# sarge settings for this home. Edit freely: `sarge HOME init` never
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
# start and pass its check before the deploy is abandoned. A started server
# is ready only once it has stayed up for min_uptime after its ports accept
# and its check passes (start, deploy, rollback; 0 turns this off). With
# watch, deploy keeps the previous instance running that long after the
# switch and switches back if the new one exits or fails its check.
# Durations: seconds (1.5) or with a unit (500ms, 30s, 2m). Processes of a
# type listed in singletons (a Procfile type such as clock, which must never
# run twice) stop before the new instance's start, not after the switch.
deploy:
  keep: 3
  timeout: 60
  min_uptime: 1
  watch: 0
  singletons: []

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
# finish their requests before it stops an old instance. sarge runs as the
# home's owner; nginx is root's: bootstrap-sarge lets the owner run exactly
# these two commands as root through sudo (docs/configuration.md).
# nginx:
#   test_command: sudo -n /usr/sbin/nginx -t -q
#   reload_command: sudo -n /usr/sbin/nginx -s reload
#   pid_file: /run/nginx.pid
#   drain_timeout: 30
)";

std::string DefaultSettingsYaml() { return std::string(kDefaultSettingsYaml); }

Settings ParseSettings(std::string_view yaml, std::string_view source) {
  Document doc(yaml, source);
  Reader r{doc, source};
  Settings s;
  const yaml_node_t* root = doc.Root();
  if (!root || IsNull(root)) return s;
  r.OnlyKeys(root, "", {"ports", "log", "start_timeout", "deploy", "nginx", "hooks"});
  if (auto* v = r.Find(root, "ports")) ReadPorts(r, v, s);
  if (auto* v = r.Find(root, "log")) ReadLog(r, v, s);
  if (auto* v = r.Find(root, "start_timeout")) s.start_timeout = r.Int(v, "start_timeout", 1, 3600);
  if (auto* v = r.Find(root, "deploy")) ReadDeploy(r, v, s);
  if (auto* v = r.Find(root, "nginx")) ReadNginx(r, v, s);
  if (auto* v = r.Find(root, "hooks")) ReadHooks(r, v, s);
  return s;
}

Settings LoadSettings(const Home& home) {
  auto text = ReadFileIfExists(home.SettingsFile());
  return text ? ParseSettings(*text, home.SettingsFile().string()) : Settings{};
}

}  // namespace sarge
