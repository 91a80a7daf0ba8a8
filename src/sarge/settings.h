// The operator's settings: etc/sarge.yaml.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "sarge/home.h"

namespace sarge {

struct Settings {
  int port_first = 20000;  // inclusive range for `listen` services without a port
  int port_last = 29999;
  std::string log_max_bytes = "50MB";  // supervisord's stdout_logfile_maxbytes
  int log_backups = 10;                // supervisord's stdout_logfile_backups
  int start_timeout = 30;              // seconds `start` waits for readiness
  std::string nginx_reload_command;    // empty: sarge does not reload nginx
  std::string nginx_test_command;
  std::string nginx_pid_file;    // lets sarge wait for old workers after a reload
  int nginx_drain_timeout = 30;  // seconds to wait for them at most
  int deploy_keep = 3;           // previous instances kept stopped for rollback
  int deploy_timeout = 60;       // seconds a new instance has to start and pass its check
  // How long a started server must stay up, once it answers, to be ready
  // (start, deploy, rollback); and how long deploy watches the new instance
  // after the switch, with the previous one kept running to switch back to.
  std::chrono::milliseconds min_uptime{1000};
  std::chrono::milliseconds deploy_watch{0};
  // Process types that must never run twice: stopped before a deploy's start.
  std::vector<std::string> singletons{};
  // Programs run at instance events (hooks.h), by event name.
  std::map<std::string, std::vector<std::string>> hooks;
  int hook_timeout = 30;  // seconds one hook may take
};

// The commented file `init` writes when etc/sarge.yaml is missing.
std::string DefaultSettingsYaml();

// Parses sarge.yaml text. Throws Error "<source>: …" naming the key and the
// bad value for unknown keys, wrong types and out-of-range values.
Settings ParseSettings(std::string_view yaml, std::string_view source);

// etc/sarge.yaml, or the defaults if it is missing.
Settings LoadSettings(const Home& home);

}  // namespace sarge
