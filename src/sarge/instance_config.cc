#include "sarge/instance_config.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <istream>
#include <set>

#include <fmt/format.h>

#include "sarge/error.h"
#include "sarge/names.h"

namespace sarge {
namespace {

using nlohmann::json;

constexpr size_t kMaxApplicationNameLength = 40;
constexpr size_t kMaxServiceNameLength = 40;
// How many of the variables services provide an error message lists.
constexpr size_t kKnownNamesShown = 12;
// How much of the token nlohmann read last a parse error shows: its end,
// where the problem is.
constexpr size_t kTokenShown = 40;

// Keys come from the input too, so they are quoted like values: the
// message stays one line whatever they hold.
[[noreturn]] void Fail(std::string_view key, std::string_view problem) {
  throw Error(fmt::format("instance configuration: key {} {}", Quoted(key), problem));
}

// Not ::isdigit: a byte past 0x7f is a negative char, undefined for it.
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

const char* TypeName(const json& value) {
  if (value.is_string()) return "a string";
  if (value.is_number()) return "a number";
  if (value.is_boolean()) return "a boolean";
  if (value.is_null()) return "null";
  if (value.is_array()) return "a list";
  return "an object";
}

void CheckKeys(const json& object, std::string_view where,
               std::initializer_list<std::string_view> known) {
  for (const auto& item : object.items()) {
    if (std::find(known.begin(), known.end(), item.key()) != known.end()) continue;
    std::vector<std::string> names(known.begin(), known.end());
    std::string hint = ClosestMatch(item.key(), names);
    std::string key = where.empty() ? item.key() : fmt::format("{}.{}", where, item.key());
    Fail(key, hint.empty() ? fmt::format("is unknown; known keys are: {}", fmt::join(names, ", "))
                           : fmt::format("is unknown; did you mean '{}'?", hint));
  }
}

const std::string& ExpectString(const json& value, std::string_view key) {
  if (!value.is_string()) Fail(key, fmt::format("must be a string, not {}", TypeName(value)));
  return value.get_ref<const std::string&>();
}

const std::string& ExpectNonEmptyString(const json& value, std::string_view key) {
  const auto& text = ExpectString(value, key);
  if (text.empty()) Fail(key, "is empty");
  return text;
}

void ExpectObject(const json& value, std::string_view key) {
  if (!value.is_object()) Fail(key, fmt::format("must be an object, not {}", TypeName(value)));
}

// A value that goes into a front-end configuration: no character that could
// end a token, a directive or a block, no control characters, and `$` only
// as `$NAME` for a name in `allowed` (checked by the caller).
bool IsFrontEndSafe(std::string_view value, bool allow_spaces) {
  for (unsigned char c : value) {
    if (c < 0x20 || c == 0x7f) return false;
    if (c == ' ' && !allow_spaces) return false;
    if (std::string_view(";{}\"'\\`#").find(static_cast<char>(c)) != std::string_view::npos)
      return false;
  }
  return !value.empty();
}

void CheckReferences(std::string_view value, std::string_view key,
                     const std::vector<std::string>& names) {
  for (size_t at = value.find('$'); at != std::string_view::npos; at = value.find('$', at + 1)) {
    size_t end = at + 1;
    while (end < value.size() &&
           (std::isalnum(static_cast<unsigned char>(value[end])) || value[end] == '_'))
      ++end;
    std::string name(value.substr(at + 1, end - at - 1));
    if (std::find(names.begin(), names.end(), name) != names.end()) continue;
    // Both the name and the list are bounded: a message stays one short line
    // whatever the configuration holds.
    std::string known;
    if (!names.empty()) {
      size_t shown = std::min(names.size(), kKnownNamesShown);
      known = fmt::format(" (known: {}", fmt::join(names.begin(), names.begin() + shown, ", "));
      if (shown < names.size()) known += fmt::format(" and {} more", names.size() - shown);
      known += ")";
    }
    Fail(key, fmt::format("refers to ${} which no service provides{}", Excerpt(name, kQuotedMax),
                          known));
  }
}

std::string ExpectFrontEndValue(const json& value, std::string_view key,
                                const std::vector<std::string>& names) {
  const auto& text = ExpectNonEmptyString(value, key);
  if (!IsFrontEndSafe(text, false))
    Fail(key, fmt::format("{} contains a character nginx would read as syntax (space, quote, "
                          "';', '{{', '}}', '#', '\\' or a control character)",
                          Quoted(text)));
  CheckReferences(text, key, names);
  return text;
}

int ParsePort(const json& value, std::string_view key) {
  long port = -1;
  if (value.is_number_integer()) {
    port = value.get<long>();
  } else if (value.is_string()) {
    const auto& s = value.get_ref<const std::string&>();
    if (!s.empty() && s.size() <= 5 && std::all_of(s.begin(), s.end(), IsDigit))
      port = std::stol(s);
  } else if (!value.is_number()) {
    Fail(key, fmt::format("must be a port number, not {}", TypeName(value)));
  }
  if (port < 1 || port > 65535)
    Fail(key, fmt::format(
                  "{} is not a port number (1-65535)",
                  value.is_string() ? Quoted(value.get_ref<const std::string&>()) : value.dump()));
  return static_cast<int>(port);
}

bool IsHostChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':';
}

Service ParseService(const std::string& name, const json& spec) {
  std::string where = "services." + name;
  if (name.size() > kMaxServiceNameLength)
    Fail(where, fmt::format("is longer than {} characters", kMaxServiceNameLength));
  if (!IsSafeName(name))
    Fail(where, "is not a valid service name: use letters, digits, '_' and '-' only");
  ExpectObject(spec, where);
  if (!spec.contains("type"))
    Fail(where + ".type", "is missing; use var-folder, persistent-folder or listen");
  const auto& type = ExpectString(spec["type"], where + ".type");
  Service service;
  service.name = name;
  if (type == "var-folder" || type == "persistent-folder") {
    service.type = type == "var-folder" ? ServiceType::kVarFolder : ServiceType::kPersistentFolder;
    CheckKeys(spec, where, {"type"});
  } else if (type == "listen") {
    service.type = ServiceType::kListen;
    CheckKeys(spec, where, {"type", "host", "port"});
    if (spec.contains("host")) {
      service.host = ExpectString(spec["host"], where + ".host");
      if (service.host.empty() || service.host.size() > 253 ||
          !std::all_of(service.host.begin(), service.host.end(), IsHostChar))
        Fail(where + ".host",
             fmt::format("{} is not a host name or IP address", Quoted(service.host)));
    }
    if (spec.contains("port")) service.port = ParsePort(spec["port"], where + ".port");
  } else {
    std::string hint = ClosestMatch(type, {"var-folder", "persistent-folder", "listen"});
    Fail(where + ".type",
         fmt::format("{} is not a service type; use var-folder, persistent-folder or listen{}",
                     Quoted(type), hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint)));
  }
  return service;
}

std::vector<Service> ParseServices(const json& value) {
  ExpectObject(value, "services");
  std::vector<Service> services;
  std::set<std::string> env_names;
  for (const auto& item : value.items()) {
    services.push_back(ParseService(item.key(), item.value()));
    if (!env_names.insert(EnvName(item.key())).second)
      Fail("services." + item.key(),
           fmt::format("has the same variable name {} as another service", EnvName(item.key())));
  }
  return services;
}

std::map<std::string, std::string> ParseEnv(const json& value) {
  ExpectObject(value, "env");
  std::map<std::string, std::string> env;
  for (const auto& item : value.items()) {
    std::string key = "env." + item.key();
    if (!IsEnvName(item.key()))
      Fail(key,
           "is not a valid environment variable name: use letters, digits and '_', not "
           "starting with a digit");
    const auto& text = ExpectString(item.value(), key);
    if (text.find('\0') != std::string::npos) Fail(key, "contains a NUL character");
    env[item.key()] = text;
  }
  return env;
}

std::string ParsePrerun(const json& value) {
  const auto& path = ExpectString(value, "prerun");
  if (!IsPathInside(path))
    Fail("prerun", fmt::format("{} must be a file path inside the instance folder (relative, "
                               "without '..')",
                               Quoted(path)));
  return path;
}

json ParseRoute(const json& route, size_t index, const std::vector<std::string>& names) {
  std::string where = fmt::format("urlmap[{}]", index);
  ExpectObject(route, where);
  if (!route.contains("type")) Fail(where + ".type", "is missing; use static, proxy or fcgi");
  const auto& type = ExpectString(route["type"], where + ".type");
  const char* target = type == "static"  ? "path"
                       : type == "proxy" ? "upstream_url"
                       : type == "fcgi"  ? "socket"
                                         : nullptr;
  if (!target)
    Fail(where + ".type",
         fmt::format("{} is not a route type; use static, proxy or fcgi", Quoted(type)));
  CheckKeys(route, where, {"type", "url", target});
  for (const char* key : {"url", target}) {
    if (!route.contains(key)) Fail(fmt::format("{}.{}", where, key), "is missing");
    ExpectFrontEndValue(route[key], fmt::format("{}.{}", where, key), names);
  }
  if (route["url"].get_ref<const std::string&>()[0] != '/')
    Fail(where + ".url", "must start with '/'");
  if (type == "static") {
    const auto& path = route["path"].get_ref<const std::string&>();
    if (!IsPathInside(path) || path.find('$') != std::string::npos)
      Fail(where + ".path", fmt::format("{} must be a folder inside the instance folder (relative, "
                                        "without '..' or '$')",
                                        Quoted(path)));
  }
  return route;
}

json ParseUrlmap(const json& value, const std::vector<std::string>& names) {
  if (!value.is_array()) Fail("urlmap", fmt::format("must be a list, not {}", TypeName(value)));
  for (size_t i = 0; i < value.size(); ++i) ParseRoute(value[i], i, names);
  return value;
}

// Server-level directives an instance may set. Ones that name files (include,
// root, *_log, ssl_*) are left out: nginx's master runs as root, and an
// instance configuration must not make it read or write arbitrary files.
constexpr std::string_view kNginxOptions[] = {"listen",
                                              "server_name",
                                              "client_max_body_size",
                                              "client_body_buffer_size",
                                              "client_body_timeout",
                                              "client_header_timeout",
                                              "keepalive_timeout",
                                              "send_timeout",
                                              "proxy_connect_timeout",
                                              "proxy_read_timeout",
                                              "proxy_send_timeout",
                                              "proxy_buffering",
                                              "large_client_header_buffers",
                                              "gzip",
                                              "gzip_min_length",
                                              "charset",
                                              "server_tokens",
                                              "etag",
                                              "sendfile",
                                              "tcp_nopush",
                                              "tcp_nodelay"};

void CheckListen(const std::string& value, const std::string& key) {
  if (value.starts_with("unix:"))
    Fail(key, fmt::format("{} is a unix socket; sarge lets an instance listen on a TCP port only",
                          Quoted(value)));
  if (!ParseListen(value))
    Fail(key, fmt::format("{} is not an address nginx can listen on: give PORT, HOST, HOST:PORT "
                          "or [IPv6]:PORT (port 1-65535)",
                          Quoted(value)));
}

json ParseNginxOptions(const json& value) {
  ExpectObject(value, "nginx_options");
  for (const auto& item : value.items()) {
    std::string key = "nginx_options." + item.key();
    const auto& name = item.key();
    if (std::find(std::begin(kNginxOptions), std::end(kNginxOptions), name) ==
        std::end(kNginxOptions)) {
      std::vector<std::string> names(std::begin(kNginxOptions), std::end(kNginxOptions));
      std::string hint = ClosestMatch(name, names);
      Fail(key, hint.empty()
                    ? fmt::format("is not a directive sarge lets an instance set; allowed: {}",
                                  fmt::join(names, ", "))
                    : fmt::format("is not a directive sarge lets an instance set; did you "
                                  "mean '{}'?",
                                  hint));
    }
    const auto& text = ExpectNonEmptyString(item.value(), key);
    if (!IsFrontEndSafe(text, true) || text.find('$') != std::string::npos)
      Fail(key, fmt::format("{} contains a character nginx would read as syntax (quote, ';', '{{', "
                            "'}}', '#', '$', '\\' or a control character)",
                            Quoted(text)));
    if (text.front() == ' ' || text.back() == ' ')
      Fail(key, fmt::format("{} starts or ends with a space; give the value alone", Quoted(text)));
    if (name == "listen") CheckListen(text, key);
  }
  return value;
}

// Where the token ends in nlohmann's message: before its closing quote, and
// the "; expected NAME" it may add with one of its token names. The token
// itself may hold "'; expected " (the fuzz target found it), so only these
// exact endings are taken.
size_t TokenEnd(std::string_view message) {
  static constexpr std::string_view kTokenNames[] = {"<uninitialized>",
                                                     "true literal",
                                                     "false literal",
                                                     "null literal",
                                                     "string literal",
                                                     "number literal",
                                                     "'['",
                                                     "'{'",
                                                     "']'",
                                                     "'}'",
                                                     "':'",
                                                     "','",
                                                     "<parse error>",
                                                     "end of input",
                                                     "'[', '{', or a literal",
                                                     "unknown token"};
  for (std::string_view name : kTokenNames) {
    std::string suffix = fmt::format("'; expected {}", name);
    if (message.ends_with(suffix)) return message.size() - suffix.size();
  }
  return message.ends_with('\'') ? message.size() - 1 : std::string_view::npos;
}

// nlohmann's message, "[json.exception.parse_error.101] parse error at line
// 1, column 2: … last read: 'TOKEN'; expected …", without its prefix. TOKEN
// may be most of a huge input and hold any byte: only its end is kept,
// escaped.
std::string ParseErrorMessage(const std::string& what) {
  auto at = what.find("parse error");
  if (at == std::string::npos) at = what.find("] ") == std::string::npos ? 0 : what.find("] ") + 2;
  std::string message = what.substr(at);
  static constexpr std::string_view kLastRead = "; last read: '";
  auto start = message.find(kLastRead);
  // Others, such as "number overflow parsing '1e400'", quote the number.
  if (start == std::string::npos) return Excerpt(message, kExcerptMax);
  start += kLastRead.size();
  size_t end = TokenEnd(message);
  if (end == std::string::npos || end < start) return Excerpt(message, kExcerptMax);
  std::string token = message.substr(start, end - start);
  std::string shown = Printable(token);
  if (token.size() > kTokenShown) shown = "…" + Printable(KeepEnd(token, kTokenShown));
  return Printable(message.substr(0, start)) + shown + Printable(message.substr(end));
}

bool IsPort(std::string_view text) {
  return !text.empty() && text.size() <= 5 && std::all_of(text.begin(), text.end(), IsDigit) &&
         std::stoi(std::string(text)) >= 1 && std::stoi(std::string(text)) <= 65535;
}

bool IsHost(std::string_view text, bool colons) {
  return !text.empty() && text.size() <= 253 && std::all_of(text.begin(), text.end(), [&](char c) {
    return IsHostChar(c) && (colons || c != ':');
  });
}

}  // namespace

std::optional<ListenAddress> ParseListen(std::string_view value) {
  std::string_view address = value.substr(0, value.find(' '));
  if (address.empty()) return std::nullopt;
  if (address.front() == '[') {  // [IPv6] or [IPv6]:PORT
    auto close = address.find(']');
    if (close == std::string_view::npos || !IsHost(address.substr(1, close - 1), true))
      return std::nullopt;
    std::string_view rest = address.substr(close + 1);
    if (rest.empty()) return ListenAddress{std::string(address.substr(1, close - 1)), 80};
    if (rest[0] != ':' || !IsPort(rest.substr(1))) return std::nullopt;
    return ListenAddress{std::string(address.substr(1, close - 1)),
                         std::stoi(std::string(rest.substr(1)))};
  }
  if (auto colon = address.rfind(':'); colon != std::string_view::npos) {  // HOST:PORT, *:PORT
    std::string_view host = address.substr(0, colon), port = address.substr(colon + 1);
    if ((host != "*" && !IsHost(host, false)) || !IsPort(port)) return std::nullopt;
    return ListenAddress{host == "*" ? "" : std::string(host), std::stoi(std::string(port))};
  }
  if (std::all_of(address.begin(), address.end(), IsDigit)) {  // PORT
    if (!IsPort(address)) return std::nullopt;
    return ListenAddress{"", std::stoi(std::string(address))};
  }
  if (!IsHost(address, false)) return std::nullopt;  // HOST
  return ListenAddress{std::string(address), 80};
}

bool IsPathInside(std::string_view path) {
  if (path.empty() || path[0] == '/') return false;
  if (std::any_of(path.begin(), path.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; }))
    return false;
  for (const auto& part : std::filesystem::path(path))
    if (part == "..") return false;
  return true;
}

std::vector<std::string> RuntimeNames(const std::vector<Service>& services) {
  std::vector<std::string> names;
  for (const auto& s : services) {
    std::string base = EnvName(s.name);
    if (s.type == ServiceType::kListen) {
      names.push_back(base + "_HOST");
      names.push_back(base + "_PORT");
    } else {
      names.push_back(base + "_PATH");
    }
  }
  return names;
}

InstanceConfig InstanceConfigFromJson(const json& value) {
  if (!value.is_object())
    throw Error(
        fmt::format("instance configuration must be a JSON object, not {}", TypeName(value)));
  CheckKeys(value, "",
            {"application_name", "prerun", "services", "urlmap", "nginx_options", "env"});
  InstanceConfig config;
  config.application_name = std::string(kDefaultApplicationName);
  if (value.contains("application_name")) {
    config.application_name = ExpectString(value["application_name"], "application_name");
    const auto& name = config.application_name;
    // Length first: a long name of good characters should not hear that
    // its characters are wrong.
    if (name.size() > kMaxApplicationNameLength)
      Fail("application_name",
           fmt::format("{} is longer than {} characters", Quoted(name), kMaxApplicationNameLength));
    if (!IsSafeName(name))
      Fail("application_name",
           fmt::format("{} is not valid: use letters, digits, '_' and '-' only", Quoted(name)));
  }
  if (value.contains("prerun")) config.prerun = ParsePrerun(value["prerun"]);
  if (value.contains("services")) config.services = ParseServices(value["services"]);
  if (value.contains("env")) config.env = ParseEnv(value["env"]);
  auto names = RuntimeNames(config.services);
  if (value.contains("urlmap")) config.urlmap = ParseUrlmap(value["urlmap"], names);
  if (value.contains("nginx_options"))
    config.nginx_options = ParseNginxOptions(value["nginx_options"]);
  return config;
}

namespace {

// A variable of `env` that a service or sarge itself defines would be
// silently replaced (sarge's) or would replace what the service gives the
// server (a port it does not listen on).
void CheckEnvOverridesNothing(const InstanceConfig& config) {
  for (const auto& [key, value] : config.env) {
    for (const auto& service : config.services) {
      std::vector<std::string> names = RuntimeNames({service});
      if (std::find(names.begin(), names.end(), key) != names.end())
        Fail(fmt::format("env.{}", key),
             fmt::format("would override the variable the service {} defines; remove it from env",
                         Quoted(service.name)));
    }
    if (IsSetBySarge(key))
      Fail(fmt::format("env.{}", key), "is set by sarge for every instance; remove it from env");
  }
}

}  // namespace

InstanceConfig ParseInstanceConfig(std::string_view text) {
  if (text.size() > kMaxConfigBytes)
    throw Error(fmt::format(
        "instance configuration is larger than 1 MiB ({} bytes), the most sarge accepts",
        kMaxConfigBytes));
  json value;
  try {
    value = json::parse(text);
  } catch (const json::exception& e) {
    // parse_error, or out_of_range for a number too large for a double.
    throw Error(
        fmt::format("instance configuration is not valid JSON: {}", ParseErrorMessage(e.what())));
  }
  InstanceConfig config = InstanceConfigFromJson(value);
  CheckEnvOverridesNothing(config);
  return config;
}

namespace {

// One byte past the limit is enough to refuse it; the rest is never read.
std::string ReadLimited(std::istream& in) {
  std::string text(kMaxConfigBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  return text;
}

}  // namespace

std::string ReadConfigArgument(const std::string& argument, std::istream& in) {
  if (argument == "-") {
    std::string text = ReadLimited(in);
    if (in.bad()) throw Error("cannot read the instance configuration from standard input");
    return text;
  }
  if (!argument.starts_with('@')) return argument;
  std::string path = argument.substr(1);
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw Error(fmt::format(
        "cannot read the instance configuration from {}: it is a folder; give a JSON file",
        Quoted(path)));
  std::ifstream file(path, std::ios::binary);
  std::string text = ReadLimited(file);
  if (!file.is_open() || file.bad())
    throw Error(fmt::format("cannot read the instance configuration from {}: {}", Quoted(path),
                            std::strerror(errno)));
  return text;
}

json InstanceConfig::ToJson() const {
  json services_json = json::object();
  for (const auto& s : services) {
    json spec;
    switch (s.type) {
      case ServiceType::kVarFolder:
        spec["type"] = "var-folder";
        break;
      case ServiceType::kPersistentFolder:
        spec["type"] = "persistent-folder";
        break;
      case ServiceType::kListen:
        spec["type"] = "listen";
        spec["host"] = s.host;
        if (s.port) spec["port"] = *s.port;
        break;
    }
    services_json[s.name] = spec;
  }
  json out = {{"application_name", application_name},
              {"services", services_json},
              {"env", env},
              {"urlmap", urlmap},
              {"nginx_options", nginx_options}};
  if (!prerun.empty()) out["prerun"] = prerun;
  return out;
}

}  // namespace sarge
