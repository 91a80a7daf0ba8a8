// The front end: one nginx site file per application, routing to the
// application's active instance, and `activate`, which switches it safely.
#pragma once

#include <chrono>
#include <optional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "sarge/env.h"
#include "sarge/records.h"

namespace sarge {

// Where sarge asks nginx which configuration it serves: an exact location,
// answering only loopback, with "ID GENERATION".
inline constexpr std::string_view kGenerationPath = "/.sarge/generation";

// etc/nginx/sarge_sites.conf: the one file an operator includes in nginx's
// http { } block; it includes every application's site.
std::string NginxSitesConf(const Home& home);

// Throws Error if another application's site answers for one of the
// server names of `app`'s `nginx_options` on the same listen address (nginx
// would ignore one of the two, with only a warning).
void CheckServerNamesFree(const Home& home, const std::string& app,
                          const nlohmann::json& nginx_options);

// The site an application's active instance gets: server-level
// nginx_options, a server_name of sarge's own to confirm a switch by
// (APP.sarge.invalid), the generation location, one location per urlmap route
// with `$NAME` taken from `appcfg`. Throws Error if a value, once
// interpolated, could be read as nginx syntax.
std::string RenderSite(const Home& home, const Record& record, const nlohmann::json& appcfg,
                       int generation);

// The active instance of `app` and the site's generation, read from the
// first line of its site file; nullopt if the application has none.
struct ActiveSite {
  std::string id;
  int generation = 0;
};
std::optional<ActiveSite> ReadActiveSite(const Home& home, const std::string& app);

// What nginx itself serves for `app`, asked as Activate confirms a switch,
// at the address of `nginx_options`: `answered` false if nginx is not
// configured in sarge.yaml or does not answer; `id` empty if it answers
// without a site of `app`.
struct NginxServes {
  bool answered = false;
  std::string id;
  int generation = 0;
};
NginxServes AskNginx(Env& env, const std::string& app, const nlohmann::json& nginx_options);

// Makes the application's site route to `record`: writes the site file
// atomically, runs nginx's test command (restoring the previous file if it
// fails), the reload command, and confirms on a fresh connection that nginx
// answers with the new generation. Returns the pids of the nginx workers
// that existed before the reload (to wait for before stopping the old
// backend); empty when nginx is not configured or its pid file is unknown.
// The switch is noted in the application's activation history
// (activations.h) as made by `by` ("deploy", "rollback", "activate").
std::set<int> Activate(Env& env, const Record& record, const nlohmann::json& appcfg,
                       const std::string& by);

// Removes the site of `active`'s application, because `active` — the
// instance it routes to — is going away: tests and reloads nginx and
// confirms nginx no longer answers with that site, restoring the file on
// failure. Does nothing unless `active` is the application's active instance.
// Returns the nginx workers from before the reload, which may still route
// to `active` until they exit (as Activate).
std::set<int> RemoveSite(Env& env, const Record& active);

// Waits until none of `pids` exists, at most `timeout`. Returns false on timeout.
bool WaitForExit(Env& env, const std::set<int>& pids, std::chrono::seconds timeout);

// The workers (children) of the nginx master whose pid is in `pid_file`.
std::set<int> NginxWorkers(const fs::path& pid_file);

}  // namespace sarge
