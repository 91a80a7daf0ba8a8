// The instance configuration given to `sarge new`, validated.
#pragma once

#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace sarge {

enum class ServiceType { kVarFolder, kPersistentFolder, kListen };

struct Service {
  std::string name;  // [A-Za-z0-9_-]
  ServiceType type = ServiceType::kVarFolder;
  std::string host = "127.0.0.1";  // listen only
  std::optional<int> port;         // listen only; nullopt: allocated by sarge
};

struct InstanceConfig {
  std::string application_name;
  std::string prerun;  // path relative to the instance folder; empty: none
  std::vector<Service> services;
  std::map<std::string, std::string> env;
  nlohmann::json urlmap = nlohmann::json::array();          // routes for the front end
  nlohmann::json nginx_options = nlohmann::json::object();  // server-level directives

  // The configuration as stored in the record (normalised: defaults filled in).
  nlohmann::json ToJson() const;
};

// The application name used when the configuration does not give one.
inline constexpr std::string_view kDefaultApplicationName = "app";

// The largest instance configuration sarge accepts, in bytes.
inline constexpr size_t kMaxConfigBytes = 1 << 20;

// Parses and validates the JSON text given to `new`. Throws Error naming the
// key and the bad value: larger than kMaxConfigBytes, malformed JSON, not an
// object, unknown keys, wrong types, unsafe names or values. The message is
// one line however hostile the text.
InstanceConfig ParseInstanceConfig(std::string_view text);

// The text of a CONFIG_JSON argument: the argument itself, for "-" what
// `in` holds (standard input), for "@FILE" what FILE holds (so that secrets
// need not be on a command line, which every local user can see). Reads at
// most kMaxConfigBytes + 1 bytes, so a huge input is refused by
// ParseInstanceConfig without being read whole. Throws Error naming FILE
// if it cannot be read.
std::string ReadConfigArgument(const std::string& argument, std::istream& in);

// Validates an already parsed JSON value (a stored record's "config").
InstanceConfig InstanceConfigFromJson(const nlohmann::json& value);

// The address of an nginx `listen` value: PORT, HOST, HOST:PORT, *:PORT,
// [IPv6] or [IPv6]:PORT, then parameters (default_server, …). `host` is
// empty for every address; the port is 80 when none is given. nullopt for
// anything else (unix:PATH among them).
struct ListenAddress {
  std::string host;
  int port = 80;
};
std::optional<ListenAddress> ParseListen(std::string_view value);

// True for a relative path that stays inside the folder it is relative to:
// not empty, not absolute, no ".." component, no control characters.
bool IsPathInside(std::string_view path);

// The names a `$NAME` reference in urlmap may use for these services
// (NAME_PATH, NAME_HOST, NAME_PORT as the types provide).
std::vector<std::string> RuntimeNames(const std::vector<Service>& services);

}  // namespace sarge
