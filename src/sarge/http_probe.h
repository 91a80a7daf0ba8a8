// Probes of this host's network: whether a port accepts or is free, and a
// minimal HTTP/1.1 GET for health checks and front-end confirmation. Deliberately small: sarge only
// needs the status and a short body from loopback servers, and linking a full HTTP library would
// add its load time to every sarge command.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace sarge {

struct HttpAnswer {
  int status = 0;
  std::string body;  // at most the first 64 KiB
};

struct Url {
  std::string host;
  int port = 80;
  std::string path = "/";
};

// Parses "http://host[:port][/path]"; nullopt for anything else (https
// included: health checks go straight to the instance, not through TLS).
std::optional<Url> ParseHttpUrl(const std::string& url);

// GETs `url` on a fresh connection with `host_header` (default: the URL's
// host). nullopt if it cannot connect or no complete status line arrives
// within `timeout`.
std::optional<HttpAnswer> HttpGet(const Url& url, const std::string& host_header,
                                  std::chrono::milliseconds timeout);

// Whether something accepts TCP connections on host:port right now.
// Reached through System::Accepts.
bool AcceptsConnections(const std::string& host, int port);

// Whether a TCP port can be bound on a host right now: tries to bind (with
// SO_REUSEADDR, as servers do). Reached through System::PortIsFree.
bool PortIsFree(const std::string& host, int port);

}  // namespace sarge
