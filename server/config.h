// zoned's YAML configuration (see DESIGN.md for the shape). Relative paths are resolved
// against the directory of the config file. Every error names the file, line and key.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "zone/heap_optional.h"
#include "zone/update.h"

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
  std::string via;  // source address for what zoned sends it; empty: server.via or the kernel's
};

// A value held behind a pointer, copied with its holder (zone::HeapOptional): an empty one
// costs a pointer, and reads as a default T.
template <class T>
class Boxed {
 public:
  const T& get() const {
    static const T none{};
    return p_ ? *p_ : none;
  }
  T& edit() {
    if (!p_) p_ = T{};
    return *p_;
  }

 private:
  zone::HeapOptional<T> p_;
};

// A zone's part in catalog zones (RFC 9432).
struct ZoneCatalog {
  // Catalog zones (RFC 9432): "produce" (built here from its members), "consume" (a
  // secondary whose members become secondary zones here), or empty.
  std::string catalog;
  // A member: the produced catalog that lists it (as written), its group property.
  std::string catalog_member, catalog_group;
  // A member moving from another produced catalog (RFC 9432 5.6): that catalog keeps listing
  // it with a coo property naming catalog_member, so consumers migrate it without a reset.
  std::string catalog_previous;
  // A consumed catalog: what each member zone gets (default: the catalog's own primaries and
  // allow-notify; no notify, no allow-transfer), and per group (RFC 9432 4.4.2).
  struct MemberTemplate {
    std::vector<std::string> primaries, allow_notify, notify, allow_transfer;
  };
  std::optional<MemberTemplate> member_template;
  std::vector<std::pair<std::string, MemberTemplate>> group_templates;
  // A zone made here from a consumed catalog: the catalog (origin) and its member id.
  std::string member_of, member_id;
};

struct ZoneConfig {
  std::string name;    // as written, e.g. "example.com"
  std::string origin;  // lowercased wire form
  std::string file;    // absolute path (primary zones)
  std::vector<std::string> notify, allow_transfer, primaries, allow_notify;
  // Signed zones whose parent is served elsewhere: servers of the parent that zoned asks for
  // the zone's DS during a KSK rollover (BIND's parental-agents, Knot's submission parent).
  std::vector<std::string> parental_agents;
  // What a reload does with a file whose content changed but whose serial did not grow:
  // keep (refuse, serve the old version), increment (old + 1), unixtime (now, or old + 1).
  std::string serial_policy = "keep";
  unsigned ixfr_history = 100;  // changesets kept for IXFR out
  // DNS UPDATE (RFC 2136/3007): keys allowed to update the zone (empty: UPDATE refused),
  // and what each may change (empty: everything in the zone).
  std::vector<std::string> allow_update;
  std::vector<std::string> update_policy;
  // Seconds between a change that did not come from the zone file (UPDATE, zonectl) and its
  // write-back to the file; a burst within that time is one rewrite.
  unsigned zonefile_sync = 1;
  std::string dnssec_policy;  // name of a policy in `policies:`; empty: not signed here
  bool runtime = false;  // added with `zonectl zone-add` (kept in the database)
  // Catalog zones (RFC 9432): most zones take no part, so these are kept apart (8 bytes
  // for a zone without, instead of some 320). Read with cat(), written with cat_edit().
  const ZoneCatalog& cat() const { return catalog_.get(); }
  ZoneCatalog& cat_edit() { return catalog_.edit(); }
  using MemberTemplate = ZoneCatalog::MemberTemplate;
  bool secondary() const { return !primaries.empty(); }
  // Loaded from a zone file (not a secondary and not a produced catalog).
  bool from_file() const { return primaries.empty() && cat().catalog != "produce"; }

 private:
  Boxed<ZoneCatalog> catalog_;
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
  std::string via;  // default source address for NOTIFY, SOA queries and transfers
  std::string nsid;                       // EDNS NSID payload (raw bytes); empty: none
  std::optional<std::string> identity;    // id.server / hostname.bind; unset: host name
  std::optional<std::string> version;     // version.bind; unset: "zoned <version>"; "": REFUSED
  std::vector<std::string> cookie_secrets;  // 16 raw bytes each; empty: generated at start
  RateLimitConfig rate_limit;
  std::optional<Endpoint> metrics;  // Prometheus /metrics over HTTP; unset: off
  // DNSSEC private keys and their state (one subdirectory per zone); default: "keys" beside
  // the database.
  std::string key_dir;
};

// A DNSSEC signing policy (`policies:`). Durations in seconds.
struct PolicyConfig {
  std::string name;
  std::string algorithm = "ecdsap256sha256";  // or ed25519
  uint8_t algorithm_number() const { return algorithm == "ed25519" ? 15 : 13; }
  bool nsec3 = false;         // RFC 9276: 0 extra iterations, no salt
  bool nsec3_opt_out = false;  // unsigned delegations get no NSEC3 of their own
  bool csk = false;           // one combined signing key instead of a KSK and a ZSK
  bool cds_cdnskey = false;   // publish CDS and CDNSKEY of the KSK for the parent (RFC 7344)
  uint32_t signature_validity = 14 * 86400;  // RRSIG expiration - inception
  uint32_t signature_refresh = 7 * 86400;    // re-signed this long before expiring
  uint32_t ksk_lifetime = 0, zsk_lifetime = 0;  // 0: no scheduled rollover
  uint32_t dnskey_ttl = 3600;
  uint32_t ds_ttl = 86400;             // the parent's DS TTL (rollover timing, RFC 7583)
  uint32_t propagation_delay = 3600;   // until all secondaries serve a change
  // Unsign the zone, safely: CDS/CDNSKEY delete form, the DS withdrawn from the parent, then
  // (ds-ttl after the parent is seen without it) no more DNSSEC. Built in as `insecure`.
  bool insecure = false;
};

struct Config {
  std::string path;
  // The bytes this configuration was read from, as config_fingerprint() gives them: a reload
  // that finds the same file does not read it again.
  uint64_t fingerprint = 0;
  ServerConfig server;
  std::vector<PolicyConfig> policies;
  const PolicyConfig* policy(const std::string& name) const {
    for (const auto& p : policies)
      if (p.name == name) return &p;
    return nullptr;
  }
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

// The configuration file read again (one read of it), or nullopt when its bytes are still
// those `fingerprint` was made from (a Config's own). Throws ConfigError like load_config.
std::optional<Config> reload_config(const std::string& path, uint64_t fingerprint);

// The configuration file's bytes, fingerprinted as load_config does (0 when it cannot be
// read): equal to a loaded Config's `fingerprint` when the file has not changed since.
uint64_t config_fingerprint(const std::string& path);

// server.control of a configuration that does not load (zonectl still reaches the running
// zoned, which keeps its previous configuration): "" when even that cannot be read.
std::string control_socket_hint(const std::string& path) noexcept;

// One update-policy entry, "KEY MATCH [NAME] [TYPE...]" (MATCH: name, subdomain, wildcard
// with a NAME; self, selfsub, zonesub without), e.g. "acme-key wildcard _acme-challenge.* TXT".
// Added to `policy` and stored in *out; false with *error when it cannot be read.
bool parse_update_rule(const std::string& text, zone::UpdatePolicy policy, std::string* error,
                       zone::UpdatePolicy* out = nullptr);

// A zone's configuration as kept in the database for zones added at runtime (JSON), and
// back, checked against the configuration's keys and remotes. Throws ConfigError.
std::string zone_config_to_json(const ZoneConfig& z);
ZoneConfig zone_config_from_json(const std::string& json, const Config& cfg);
// Checks one zone's settings against the configuration (remotes, keys, file or primaries);
// throws ConfigError naming the zone.
void check_zone_config(const ZoneConfig& z, const Config& cfg);

// A duration: seconds, or a number with s, m, h, d or w ("14d"); false when unreadable.
bool parse_duration(const std::string& text, uint32_t& seconds);

// "127.0.0.1:53", "[::1]:5353", "::1", "127.0.0.1" (port defaults to default_port).
bool parse_endpoint(const std::string& text, Endpoint& out, uint16_t default_port = 53);

}  // namespace server
