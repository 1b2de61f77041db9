// zoned's YAML configuration (see DESIGN.md for the shape). Relative paths are resolved
// against the directory of the config file. Every error names the file, line and key.
#pragma once
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace server {

struct Endpoint {
  std::string host;  // numeric address, no brackets
  uint16_t port = 53;
  std::string str() const;
};

struct KeyConfig {
  std::string name, algorithm, secret;
};

struct RemoteConfig {
  std::string name;
  Endpoint address;
  std::string key;  // empty: no TSIG
};

struct ZoneConfig {
  std::string name;    // as written, e.g. "example.com"
  std::string origin;  // lowercased wire form
  std::string file;    // absolute path (primary zones)
  std::vector<std::string> notify, allow_transfer, primaries, allow_notify;
  // What a reload does with a file whose content changed but whose serial did not grow:
  // keep (refuse, serve the old version), increment (old + 1), unixtime (now, or old + 1).
  std::string serial_policy = "keep";
  unsigned ixfr_history = 100;  // changesets kept for IXFR out
  bool secondary() const { return !primaries.empty(); }
};

// server.rate-limit (RRL); responses_per_second 0: off.
struct RateLimitConfig {
  unsigned responses_per_second = 0;
  unsigned slip = 2;
  unsigned ipv4_prefix = 24, ipv6_prefix = 56;
  std::vector<std::string> exempt;  // CIDR prefixes
};

struct ServerConfig {
  std::vector<Endpoint> listen;
  unsigned workers = 0;  // 0 = one per core
  std::string control;
  std::string database;
  std::string log_level = "info";
  uint16_t udp_payload = 1232;
  unsigned tcp_idle_timeout = 10;   // seconds
  unsigned tcp_max_clients = 1000;  // open TCP connections, over all workers
  std::string nsid;                       // EDNS NSID payload (raw bytes); empty: none
  std::optional<std::string> identity;    // id.server / hostname.bind; unset: host name
  std::optional<std::string> version;     // version.bind; unset: "zoned <version>"; "": REFUSED
  std::vector<std::string> cookie_secrets;  // 16 raw bytes each; empty: generated at start
  RateLimitConfig rate_limit;
};

struct Config {
  std::string path;
  ServerConfig server;
  std::vector<KeyConfig> keys;
  std::vector<RemoteConfig> remotes;
  std::vector<ZoneConfig> zones;
};

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws ConfigError on any problem.
Config load_config(const std::string& path);

// "127.0.0.1:53", "[::1]:5353", "::1", "127.0.0.1" (port defaults to default_port).
bool parse_endpoint(const std::string& text, Endpoint& out, uint16_t default_port = 53);

}  // namespace server
