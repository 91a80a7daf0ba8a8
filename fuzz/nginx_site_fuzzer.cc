// The nginx site sarge renders for an application's active instance, from
// an instance configuration and a runtime configuration (whose values a
// `configuring` hook may set), both from the fuzz input: the configuration
// JSON, a NUL byte, then the runtime configuration JSON (optional). The
// rendered site is read back with a model of nginx's tokenizer, and must
// have exactly the directives sarge means to write — one per nginx_option,
// the generation location, one location per route with its fixed body —
// whatever the values hold: nothing injected, no block opened or closed.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.h"
#include "sarge/error.h"
#include "sarge/front_end.h"
#include "sarge/instance_config.h"
#include "sarge/runtime_config.h"

namespace {

using nlohmann::json;
using sarge::fuzz::Broken;

struct Directive {
  std::vector<std::string> words;  // name, then arguments
  std::optional<std::vector<Directive>> block;
};

// nginx's ngx_conf_read_token, as far as sarge's output could reach it:
// white space separates words; ';', '{' and '}' are syntax; '#' at the
// start of a word comments out the rest of the line; quotes and '\' escape.
class Reader {
 public:
  explicit Reader(std::string_view text) : text_(text) {}

  std::vector<Directive> Block(bool nested) {
    std::vector<Directive> out;
    Directive current;
    for (;;) {
      auto token = Next();
      if (!token) {
        if (nested || !current.words.empty()) Broken("the site ends inside a directive or block");
        return out;
      }
      if (*token == ";" && !quoted_) {
        if (current.words.empty()) Broken("an empty directive (a stray ';')");
        out.push_back(std::move(current));
        current = {};
      } else if (*token == "{" && !quoted_) {
        if (current.words.empty()) Broken("a block without a directive");
        current.block = Block(true);
        out.push_back(std::move(current));
        current = {};
      } else if (*token == "}" && !quoted_) {
        if (!nested || !current.words.empty()) Broken("a '}' that closes nothing sarge opened");
        return out;
      } else {
        current.words.push_back(*token);
      }
    }
  }

 private:
  std::optional<std::string> Next() {
    quoted_ = false;
    for (;;) {
      while (at_ < text_.size() &&
             std::string_view(" \t\r\n").find(text_[at_]) != std::string_view::npos)
        ++at_;
      if (at_ < text_.size() && text_[at_] == '#') {
        while (at_ < text_.size() && text_[at_] != '\n') ++at_;
        continue;
      }
      break;
    }
    if (at_ == text_.size()) return std::nullopt;
    char c = text_[at_];
    if (c == ';' || c == '{' || c == '}') return std::string(1, text_[at_++]);
    std::string word;
    if (c == '"' || c == '\'') {
      quoted_ = true;
      for (++at_; at_ < text_.size() && text_[at_] != c; ++at_) {
        word += Unescaped();
      }
      if (at_ == text_.size()) Broken("an unterminated quote");
      ++at_;
      return word;
    }
    while (at_ < text_.size() &&
           std::string_view(" \t\r\n;{}").find(text_[at_]) == std::string_view::npos) {
      word += Unescaped();
      ++at_;
    }
    return word;
  }

  // The character at at_, with nginx's escapes \" \' \\ \t \r \n read.
  char Unescaped() {
    if (text_[at_] != '\\' || at_ + 1 == text_.size()) return text_[at_];
    char c = text_[++at_];
    return c == 't' ? '\t' : c == 'r' ? '\r' : c == 'n' ? '\n' : c;
  }

  std::string_view text_;
  size_t at_ = 0;
  bool quoted_ = false;
};

std::vector<std::string> Words(const std::string& value) {
  std::vector<std::string> out;
  std::string word;
  for (char c : value + " ") {
    if (c == ' ') {
      if (!word.empty()) out.push_back(word);
      word.clear();
    } else {
      word += c;
    }
  }
  return out;
}

std::vector<std::string> Names(const std::vector<Directive>& block) {
  std::vector<std::string> names;
  for (const auto& d : block) names.push_back(d.words.empty() ? "" : d.words[0]);
  return names;
}

void CheckNoVariable(const std::string& value, std::string_view what) {
  if (value.find('$') != std::string::npos) Broken("a '$' reaches nginx", what);
}

// Whether a component of `path` is "..": a name such as "..dia" is not.
bool HasDotDot(std::string_view path) {
  for (size_t at = 0; at <= path.size();) {
    size_t end = std::min(path.find('/', at), path.size());
    if (path.substr(at, end - at) == "..") return true;
    at = end + 1;
  }
  return false;
}

void CheckRoute(const Directive& location, const json& route, const json& appcfg) {
  std::string url = sarge::Interpolate(route["url"], appcfg, "url");
  if (location.words != std::vector<std::string>{"location", url} || !location.block)
    Broken("a route's location line is not `location URL {`", url);
  const auto& body = *location.block;
  std::string type = route["type"];
  std::vector<std::string> names = Names(body);
  if (type == "static") {
    if (names != std::vector<std::string>{"alias"} || body[0].words.size() != 2)
      Broken("a static route's body is not one alias");
    const std::string& alias = body[0].words[1];
    CheckNoVariable(alias, "alias");
    if (!alias.starts_with("/var/local/fuzz/web-abcdef/") || HasDotDot(alias))
      Broken("an alias outside the instance folder", alias);
    return;
  }
  const char* pass = type == "proxy" ? "proxy_pass" : "fastcgi_pass";
  size_t fixed = type == "proxy" ? 6 : 13;
  if (names.size() != fixed + 1 || names[0] != pass || body[0].words.size() != 2)
    Broken("a route's body is not its pass directive and the fixed ones", type);
  CheckNoVariable(body[0].words[1], pass);
  for (size_t i = 1; i < names.size(); ++i)
    if (names[i] != (type == "proxy"
                         ? std::string(i == 1 ? "proxy_http_version" : "proxy_set_header")
                         : std::string("fastcgi_param")))
      Broken("an unexpected directive in a route", names[i]);
}

json RuntimeConfig(const sarge::InstanceConfig& config, std::string_view text) {
  json given = json::parse(text, nullptr, false);
  json appcfg = given.is_object() ? given : json::object();
  for (const auto& name : sarge::RuntimeNames(config.services))
    if (!appcfg.contains(name))
      appcfg[name] = name.ends_with("_PORT") ? json(20000) : json("/var/local/fuzz/var/tmp/x");
  return appcfg;
}

// The instance configuration in `text`, or nothing if sarge rejects it (with
// a message that keeps its promises).
std::optional<sarge::InstanceConfig> ParseConfig(std::string_view text) {
  try {
    return sarge::ParseInstanceConfig(text);
  } catch (const sarge::Error& e) {
    sarge::fuzz::CheckMessage(e.what());
    return std::nullopt;
  }
}

// The site sarge renders for `config` as instance web-abcdef, generation 7,
// or nothing if it refuses to (with a message that keeps its promises).
std::optional<std::string> Render(const sarge::InstanceConfig& config, const json& appcfg) {
  sarge::Home home{"/var/local/fuzz"};
  sarge::Record record{
      "web-abcdef", config.application_name, "2024-01-01T00:00:00.000000Z", config.ToJson(), {}, {},
      false};
  try {
    return sarge::RenderSite(home, record, appcfg, 7);
  } catch (const sarge::Error& e) {
    sarge::fuzz::CheckMessage(e.what());
    return std::nullopt;
  }
}

// The server block's first directives: each nginx_option as itself, in
// order. Returns how many there are.
size_t CheckOptions(const std::vector<Directive>& server, const sarge::InstanceConfig& config) {
  size_t i = 0;
  for (const auto& item : config.nginx_options.items()) {
    std::vector<std::string> expected = {item.key()};
    for (auto& w : Words(item.value())) expected.push_back(w);
    if (server[i].words != expected || server[i].block || expected.size() < 2)
      Broken("an nginx_option is not written as itself", item.key());
    CheckNoVariable(item.value(), item.key());
    ++i;
  }
  return i;
}

// The name sarge confirms a switch with, "" kept for a site without one.
void CheckConfirmation(const Directive& directive, const sarge::InstanceConfig& config,
                       const std::string& site) {
  std::vector<std::string> confirm = {"server_name"};
  if (!config.nginx_options.contains("server_name")) confirm.push_back("");
  confirm.push_back(config.application_name + ".sarge.invalid");
  if (directive.words != confirm) Broken("the confirmation server_name changed", site);
}

// The location that answers with the instance and the site's generation.
void CheckGeneration(const Directive& generation, const std::string& site) {
  if (generation.words != std::vector<std::string>{"location", "=", "/.sarge/generation"} ||
      !generation.block || generation.block->size() != 5 ||
      generation.block->back().words != std::vector<std::string>{"return", "200", "web-abcdef 7\n"})
    Broken("the generation location changed", site);
}

// The rendered site is one server block holding exactly what sarge writes:
// the options, the confirmation name, the generation location, the routes.
void CheckSite(const std::string& site, const sarge::InstanceConfig& config, const json& appcfg) {
  auto top = Reader(site).Block(false);
  if (Names(top) != std::vector<std::string>{"server"} || !top[0].block || top[0].words.size() != 1)
    Broken("the site is not one server block", site);
  const auto& server = *top[0].block;
  size_t options = config.nginx_options.size();
  if (server.size() != options + 2 + config.urlmap.size())
    Broken("the server block has other directives than sarge writes", site);
  size_t i = CheckOptions(server, config);
  CheckConfirmation(server[i++], config, site);
  CheckGeneration(server[i++], site);
  for (const auto& route : config.urlmap) CheckRoute(server[i++], route, appcfg);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t nul = input.find('\0');
  std::string_view config_text = input.substr(0, nul);
  std::string_view appcfg_text = nul == std::string_view::npos ? "" : input.substr(nul + 1);
  std::optional<sarge::InstanceConfig> config = ParseConfig(config_text);
  if (!config) return 0;
  json appcfg = RuntimeConfig(*config, appcfg_text);
  std::optional<std::string> site = Render(*config, appcfg);
  if (!site) return 0;
  CheckSite(*site, *config, appcfg);
  return 0;
}
