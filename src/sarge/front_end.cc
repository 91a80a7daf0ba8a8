#include "sarge/front_end.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "sarge/activations.h"
#include "sarge/error.h"
#include "sarge/instance_config.h"
#include "sarge/interrupt.h"
#include "sarge/names.h"
#include "sarge/process.h"
#include "sarge/processes.h"
#include "sarge/runtime_config.h"

namespace sarge {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr auto kConfirmTimeout = 10s;
constexpr auto kRequestTimeout = 1s;  // each request while confirming
constexpr auto kCommandTimeout = 60s;

fs::path SiteFile(const Home& home, const std::string& app) { return home.NginxSite(app); }

// A value about to be written into the site: `$NAME` replaced from the
// runtime configuration, then checked to hold nothing nginx would parse.
std::string SiteValue(const std::string& value, const json& appcfg, const std::string& what) {
  std::string out = Interpolate(value, appcfg, what);
  for (unsigned char c : out)
    if (c <= 0x20 || c == 0x7f ||
        std::string_view(";{}\"'\\`#$").find(static_cast<char>(c)) != std::string_view::npos)
      throw Error(
          fmt::format("{} becomes {}, which nginx would read as syntax", what, Quoted(out)));
  return out;
}

std::string ProxyLocation(const std::string& upstream) {
  return fmt::format(
      "        proxy_pass {};\n"
      "        proxy_http_version 1.1;\n"
      "        proxy_set_header Connection \"\";\n"
      "        proxy_set_header Host $http_host;\n"
      "        proxy_set_header X-Real-IP $remote_addr;\n"
      "        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
      "        proxy_set_header X-Forwarded-Proto $scheme;\n",
      upstream);
}

std::string FcgiLocation(const std::string& socket) {
  std::string pass = socket.front() == '/' ? "unix:" + socket : socket;
  return fmt::format(
      "        fastcgi_pass {};\n"
      "        fastcgi_param QUERY_STRING $query_string;\n"
      "        fastcgi_param REQUEST_METHOD $request_method;\n"
      "        fastcgi_param CONTENT_TYPE $content_type;\n"
      "        fastcgi_param CONTENT_LENGTH $content_length;\n"
      "        fastcgi_param SCRIPT_NAME \"\";\n"
      "        fastcgi_param PATH_INFO $uri;\n"
      "        fastcgi_param REQUEST_URI $request_uri;\n"
      "        fastcgi_param SERVER_PROTOCOL $server_protocol;\n"
      "        fastcgi_param REMOTE_ADDR $remote_addr;\n"
      "        fastcgi_param SERVER_ADDR $server_addr;\n"
      "        fastcgi_param SERVER_PORT $server_port;\n"
      "        fastcgi_param SERVER_NAME $server_name;\n"
      "        fastcgi_param HTTP_HOST $http_host;\n",
      pass);
}

// A static route serves the instance's own files: a release whose folder
// is a symlink out of it (to etc/, with every record's secrets) is refused.
// What a server changes after the switch is its owner's business, and
// nginx's workers cannot read etc/ or var/run/ (0700) anyway.
void CheckStaticStaysInside(const fs::path& instance, const std::string& path,
                            const std::string& what) {
  std::error_code ec;
  fs::path root = fs::canonical(instance, ec);
  if (ec == std::errc::no_such_file_or_directory) return;  // nothing to serve
  // A missing end is no error: nginx answers 404, and nothing leaks.
  fs::path target = ec ? fs::path() : fs::weakly_canonical(instance / path, ec);
  if (ec)
    throw Error(fmt::format("{}.path {} cannot be resolved: {}", what, Quoted(path), ec.message()));
  auto [end, at] = std::mismatch(root.begin(), root.end(), target.begin(), target.end());
  if (end != root.end())
    throw Error(fmt::format(
        "{}.path {} leads out of the instance folder (to {}); a static route may serve only the "
        "instance's own files",
        what, Quoted(path), Quoted(target.string())));
}

// An upstream URL split where the web processes' differ: "http://", the
// host and port, and the rest.
struct UpstreamUrl {
  std::string scheme, authority, rest;
};

UpstreamUrl SplitUpstream(const std::string& url) {
  size_t scheme = url.find("://");
  size_t start = scheme == std::string::npos ? 0 : scheme + 3;
  size_t end = std::min(url.find('/', start), url.size());
  return {url.substr(0, start), url.substr(start, end - start), url.substr(end)};
}

// Where a proxy route sends requests: its upstream_url, or, when each web
// process has its own port there, an upstream block of them all (added to
// `upstreams`, named after the application and the route).
std::string ProxyTarget(const Record& record, const json& route, const std::vector<json>& webs,
                        size_t index, std::string& upstreams) {
  const std::string what = fmt::format("urlmap[{}].upstream_url", index);
  std::vector<std::string> urls;
  for (const auto& cfg : webs) urls.push_back(SiteValue(route["upstream_url"], cfg, what));
  if (std::all_of(urls.begin(), urls.end(), [&](const auto& u) { return u == urls[0]; }))
    return urls[0];
  UpstreamUrl first = SplitUpstream(urls[0]);
  const std::string name = fmt::format("sarge_{}_{}", record.application_name, index);
  std::string block = fmt::format("upstream {} {{\n", name);
  for (const auto& url : urls) {
    UpstreamUrl split = SplitUpstream(url);
    if (split.scheme != first.scheme || split.rest != first.rest)
      throw Error(
          fmt::format("{} differs between web processes in more than its host and port "
                      "({} and {}); scale web to 1, or route to $NAME_PORT only",
                      what, Quoted(urls[0]), Quoted(url)));
    block += fmt::format("    server {};\n", split.authority);
  }
  upstreams += block + "}\n";
  return first.scheme + name + first.rest;
}

std::string RenderRoute(const Home& home, const Record& record, const json& route,
                        const std::vector<json>& webs, size_t index, std::string& upstreams) {
  const json& appcfg = webs.front();
  std::string what = fmt::format("urlmap[{}]", index);
  std::string type = route["type"];
  std::string url = SiteValue(route["url"], appcfg, what + ".url");
  std::string body;
  if (type == "static") {
    std::string path = SiteValue(route["path"], appcfg, what + ".path");
    if (!IsPathInside(path))
      throw Error(
          fmt::format("{}.path {} is not a folder inside the instance", what, Quoted(path)));
    CheckStaticStaysInside(home.InstanceDir(record.id), path, what);
    // alias and location must agree on a trailing slash, or "/media../x"
    // would reach outside the folder.
    std::string alias = (home.InstanceDir(record.id) / path).string();
    while (alias.back() == '/') alias.pop_back();
    if (url.back() == '/') alias += '/';
    body = fmt::format("        alias {};\n", alias);
  } else if (type == "proxy") {
    body = ProxyLocation(ProxyTarget(record, route, webs, index, upstreams));
  } else {
    body = FcgiLocation(SiteValue(route["socket"], appcfg, what + ".socket"));
  }
  return fmt::format("\n    location {} {{\n{}    }}\n", url, body);
}

// Where to ask nginx for the generation: the first `listen` address, with a
// wildcard host replaced by loopback.
Url ConfirmUrl(const json& options) {
  Url url{"127.0.0.1", 80, std::string(kGenerationPath)};
  if (!options.contains("listen")) return url;
  auto address = ParseListen(options["listen"].get<std::string>());
  if (!address) return url;  // validated when the instance was created
  url.port = address->port;
  if (address->host == "::")
    url.host = "::1";
  else if (!address->host.empty() && address->host != "0.0.0.0")
    url.host = address->host;
  return url;
}

// The Host the generation is asked with: a name every site gets beside its
// own server_name (ConfirmName), so that a wildcard or regular expression
// server_name, or a catch-all one, is confirmed as surely as a plain name.
std::string ConfirmHost(const std::string& app) { return app + ".sarge.invalid"; }

// The server_name line sarge adds to each site: without a server_name of
// its own a site answers to "" (no Host), and still does.
std::string ConfirmName(const std::string& app, const json& options) {
  return fmt::format("    server_name {}{};\n", options.contains("server_name") ? "" : "\"\" ",
                     ConfirmHost(app));
}

// Where and for which names a site answers: its listen address and its
// server names ("" without any), lower-cased as nginx compares them.
struct Claim {
  ListenAddress listen;
  std::vector<std::string> names;
};

Claim ClaimOf(const json& options) {
  Claim claim{ListenAddress{"", 80}, {}};
  if (options.contains("listen"))
    claim.listen = ParseListen(options["listen"].get<std::string>()).value_or(claim.listen);
  std::string names = options.value("server_name", "");
  std::transform(names.begin(), names.end(), names.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (size_t at = 0; at <= names.size();) {
    size_t end = std::min(names.find(' ', at), names.size());
    if (end > at || names.empty()) claim.names.push_back(names.substr(at, end - at));
    at = end + 1;
  }
  return claim;
}

bool AnyAddress(const std::string& host) {
  return host.empty() || host == "*" || host == "0.0.0.0" || host == "::";
}

// The name both claims share on an address both listen on, if any.
std::optional<std::string> SharedName(const Claim& a, const Claim& b) {
  if (a.listen.port != b.listen.port) return std::nullopt;
  if (a.listen.host != b.listen.host && !AnyAddress(a.listen.host) && !AnyAddress(b.listen.host))
    return std::nullopt;
  for (const auto& name : a.names)
    if (std::find(b.names.begin(), b.names.end(), name) != b.names.end()) return name;
  return std::nullopt;
}

void Restore(const fs::path& site, const std::optional<std::string>& previous) {
  if (previous)
    WriteFileAtomic(site, *previous);
  else
    Unlink(site);
}

[[noreturn]] void FailCommand(const fs::path& site, const std::optional<std::string>& previous,
                              const std::string& what, const std::string& command,
                              const CommandResult& result) {
  Restore(site, previous);
  std::string outcome =
      result.timed_out ? "timed out" : fmt::format("exited with status {}", result.exit_code);
  throw Error(fmt::format("nginx {} `{}` {}; the previous site file is back in place", what,
                          command, outcome),
              result.Both());
}

void Confirm(Env& env, const Record& record, const json& options, int generation,
             const fs::path& site, const std::optional<std::string>& previous) {
  Url url = ConfirmUrl(options);
  std::string host = ConfirmHost(record.application_name);
  std::string expected = fmt::format("{} {}\n", record.id, generation);
  auto deadline = env.clock.Now() + kConfirmTimeout;
  std::string last = "no answer";
  while (env.clock.Now() < deadline) {
    if (auto answer = env.system.Get(url, host, kRequestTimeout)) {
      if (answer->status == 200 && answer->body == expected) return;
      last = answer->status == 200
                 ? fmt::format("the answer {}", Quoted(answer->body.substr(0, 60)))
                 : fmt::format("HTTP {}", answer->status);
    }
    env.clock.Sleep(20ms);
  }
  Restore(site, previous);
  throw Error(fmt::format(
      "nginx did not switch to the new configuration: http://{}:{}{} (Host: {}) "
      "gave {} after {} s; its reload failed — see nginx's error log. The "
      "previous site file is back in place",
      url.host, url.port, url.path, Excerpt(host, kQuotedMax), last, kConfirmTimeout.count()));
}

// After the site file changed (`did` says how): runs the test command and
// the reload, restoring `previous` if either fails. `workers` gets the nginx
// workers that existed before the reload. Returns false, having said so, if
// nginx is not configured in sarge.yaml.
bool TestAndReload(Env& env, const fs::path& site, const std::optional<std::string>& previous,
                   const char* did, std::set<int>* workers) {
  const Settings& s = env.settings;
  if (s.nginx_reload_command.empty()) {
    env.Say(fmt::format("{} {}; nginx is not reloaded: set nginx.reload_command in {}", did,
                        site.string(), env.home.SettingsFile().string()));
    return false;
  }
  if (!s.nginx_test_command.empty()) {
    CommandResult test = env.runner.Shell(s.nginx_test_command, kCommandTimeout);
    if (test.exit_code != 0)
      FailCommand(site, previous, "test command", s.nginx_test_command, test);
  }
  if (workers && !s.nginx_pid_file.empty()) *workers = env.system.NginxWorkers(s.nginx_pid_file);
  CommandResult reload = env.runner.Shell(s.nginx_reload_command, kCommandTimeout);
  if (reload.exit_code != 0)
    FailCommand(site, previous, "reload command", s.nginx_reload_command, reload);
  return true;
}

// Runs `note`, a change to the activation history after nginx has
// switched: its failure is said, and must not undo the switch.
template <typename Note>
void NoteInHistory(Env& env, Note&& note) {
  try {
    note();
  } catch (const Error& e) {
    env.Say(fmt::format("warning: nginx has switched, but {}", e.what()));
  }
}

}  // namespace

std::string NginxSitesConf(const Home& home) {
  return fmt::format(
      "# Generated by `sarge init`. Include this file inside nginx's http {{ }} block:\n"
      "#     include {};\n"
      "# It includes one site per application, routing to its active instance.\n"
      "include {}/*.conf;\n",
      home.NginxSitesConf().string(), home.NginxSitesDir().string());
}

std::string RenderSite(const Home& home, const Record& record, const json& appcfg, int generation) {
  InstanceConfig config = InstanceConfigFromJson(record.config);
  std::string out = fmt::format(
      "# sarge: application {} active {} generation {}\n"
      "# Generated by sarge when it activates an instance; edits are overwritten.\n"
      "server {{\n",
      record.application_name, record.id, generation);
  for (const auto& item : config.nginx_options.items())
    out += fmt::format("    {} {};\n", item.key(), item.value().get<std::string>());
  out += ConfirmName(record.application_name, config.nginx_options);
  out += fmt::format(
      "\n    location = {} {{\n"
      "        allow 127.0.0.1;\n"
      "        allow ::1;\n"
      "        deny all;\n"
      "        default_type text/plain;\n"
      "        return 200 \"{} {}\\n\";\n"
      "    }}\n",
      kGenerationPath, record.id, generation);
  std::vector<json> webs = WebRuntimeConfigs(home, record, appcfg);
  std::string upstreams;
  for (size_t i = 0; i < config.urlmap.size(); ++i)
    out += RenderRoute(home, record, config.urlmap[i], webs, i, upstreams);
  if (upstreams.empty()) return out + "}\n";
  // Upstream blocks belong to nginx's http block: after the first line, which
  // names the active instance, and before the server.
  size_t server = out.find("server {\n");
  return out.insert(server, upstreams) + "}\n";
}

std::optional<ActiveSite> ReadActiveSite(const Home& home, const std::string& app) {
  auto text = ReadFileIfExists(SiteFile(home, app));
  if (!text) return std::nullopt;
  char id[128];
  ActiveSite site;
  std::string format = "# sarge: application " + app + " active %127s generation %d";
  if (std::sscanf(text->c_str(), format.c_str(), id, &site.generation) != 2) return std::nullopt;
  site.id = id;
  return site;
}

NginxServes AskNginx(Env& env, const std::string& app, const json& nginx_options) {
  NginxServes serves;
  if (env.settings.nginx_reload_command.empty()) return serves;
  auto answer = env.system.Get(ConfirmUrl(nginx_options), ConfirmHost(app), kRequestTimeout);
  if (!answer) return serves;
  serves.answered = true;
  char id[128];
  if (answer->status != 200 ||
      std::sscanf(answer->body.c_str(), "%127s %d", id, &serves.generation) != 2)
    return serves;
  // Without a site answering APP.sarge.invalid (one written by an older
  // sarge, or none loaded yet) nginx's default server answers: if that is
  // another application's site, nothing is known of this one's.
  std::string_view named(id);
  if (named.size() != app.size() + 7 || !named.starts_with(app + "-")) {
    serves.answered = false;
    return serves;
  }
  serves.id = id;
  return serves;
}

void CheckServerNamesFree(const Home& home, const std::string& app, const json& nginx_options) {
  Claim mine = ClaimOf(nginx_options);
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(home.NginxSitesDir(), ec)) {
    std::string file = entry.path().filename().string();
    if (!file.ends_with(".conf") || IsTempFileName(file)) continue;
    std::string other = file.substr(0, file.size() - 5);
    if (other == app) continue;
    auto site = ReadActiveSite(home, other);
    if (!site) continue;
    Record theirs;
    try {
      theirs = LoadRecord(home, site->id);
    } catch (const Error&) {
      continue;  // `check` reports a site routing to nothing
    }
    auto shared = SharedName(mine, ClaimOf(InstanceConfigFromJson(theirs.config).nginx_options));
    if (!shared) continue;
    std::string name =
        shared->empty() ? "no server_name (any host)" : "server_name " + Quoted(*shared);
    throw Error(fmt::format(
        "{} on port {} is already the application {}'s (its site routes to {}); give {} another "
        "server_name or listen address, or remove {}'s site (sarge {} destroy --force {})",
        name, mine.listen.port, Quoted(other), site->id, app, other, home.root.string(), site->id));
  }
}

std::set<int> Activate(Env& env, const Record& record, const json& appcfg, const std::string& by) {
  // A switch is done or undone whole (its own failures restore the site
  // file): an interrupt waits for the next step.
  UndoScope switching;
  const std::string& app = record.application_name;
  CheckServerNamesFree(env.home, app, InstanceConfigFromJson(record.config).nginx_options);
  auto current = ReadActiveSite(env.home, app);
  int generation = current ? current->generation + 1 : 1;
  fs::path site = SiteFile(env.home, app);
  MakeDirs(site.parent_path());
  std::string text = RenderSite(env.home, record, appcfg, generation);
  auto previous = ReadFileIfExists(site);
  WriteFileAtomic(site, text);

  std::set<int> workers;
  if (TestAndReload(env, site, previous, "wrote", &workers))
    Confirm(env, record, InstanceConfigFromJson(record.config).nginx_options, generation, site,
            previous);
  NoteInHistory(env, [&] {
    // A home from before the history was kept: what served until now first.
    if (current && current->id != record.id && LoadActivations(env.home, app).empty())
      NoteActivation(env.home, app, current->id, "(served before sarge kept this history)");
    NoteActivation(env.home, app, record.id, by);
  });
  return workers;
}

std::set<int> RemoveSite(Env& env, const Record& active) {
  UndoScope switching;  // as Activate
  const std::string& app = active.application_name;
  auto site_now = ReadActiveSite(env.home, app);
  if (!site_now || site_now->id != active.id) return {};
  fs::path site = SiteFile(env.home, app);
  auto previous = ReadFileIfExists(site);
  RemoveFile(site);
  std::set<int> workers;
  if (!TestAndReload(env, site, previous, "removed", &workers)) {
    NoteInHistory(env, [&] { NoteDeactivation(env.home, app); });
    return {};
  }
  json options = InstanceConfigFromJson(active.config).nginx_options;
  Url url = ConfirmUrl(options);
  std::string gone = fmt::format("{} {}\n", active.id, site_now->generation);
  auto deadline = env.clock.Now() + kConfirmTimeout;
  while (env.clock.Now() < deadline) {
    auto answer = env.system.Get(url, ConfirmHost(app), kRequestTimeout);
    if (!answer || answer->status != 200 || answer->body != gone) {
      NoteInHistory(env, [&] { NoteDeactivation(env.home, app); });
      env.Say(fmt::format("removed {}'s site from nginx", app));
      return workers;
    }
    env.clock.Sleep(20ms);
  }
  Restore(site, previous);
  throw Error(
      fmt::format("nginx still serves {}'s site after the reload; its reload failed — see "
                  "nginx's error log. The site file is back in place",
                  app));
}

std::set<int> NginxWorkers(const fs::path& pid_file) {
  auto text = ReadFileIfExists(pid_file);
  int master = text ? std::atoi(text->c_str()) : 0;
  return master > 0 ? ChildrenOf(master) : std::set<int>{};
}

bool WaitForExit(Env& env, const std::set<int>& pids, std::chrono::seconds timeout) {
  auto deadline = env.clock.Now() + timeout;
  for (;;) {
    bool any = false;
    for (int pid : pids) any = any || env.system.Process(pid) != ProcessState::kGone;
    if (!any) return true;
    if (env.clock.Now() >= deadline) return false;
    env.clock.Sleep(20ms);
  }
}

}  // namespace sarge
