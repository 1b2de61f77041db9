#include "server/config.h"

#include "server/acl.h"
#include "server/config_tree.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <span>
#include <unordered_set>
#include <sstream>

#include "zone/wire/name.h"
#include "zone/wire/tsig.h"

namespace server {

namespace fs = std::filesystem;

std::string Endpoint::str() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

bool parse_endpoint(const std::string& text, Endpoint& out, uint16_t default_port) {
  std::string host = text, port;
  bool has_port = false;  // a ':' separator was written, so a port must follow
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos) return false;
    host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return false;
      port = text.substr(close + 2);
      has_port = true;
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    auto c = text.find(':');
    host = text.substr(0, c);
    port = text.substr(c + 1);
    has_port = true;
  }
  if (has_port && port.empty()) return false;
  unsigned char buf[16];
  if (inet_pton(AF_INET, host.c_str(), buf) != 1 && inet_pton(AF_INET6, host.c_str(), buf) != 1)
    return false;
  out.host = host;
  out.port = default_port;
  if (!port.empty()) {
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos)
      return false;
    unsigned long p = std::stoul(port);
    if (p == 0 || p > 65535) return false;
    out.port = static_cast<uint16_t>(p);
  }
  return true;
}

namespace {

// What a zone's mapping may hold besides its name (and so may a template).
constexpr std::string_view kZoneKeys[] = {
    "file",           "notify",          "allow-transfer",   "primaries",     "allow-notify",
    "serial-policy",  "ixfr-history",    "allow-update",     "update-policy", "zonefile-sync",
    "catalog",        "catalog-member",  "catalog-group",    "catalog-previous",
    "member-template", "group-templates", "dnssec-policy",   "parental-agents"};

class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {}

  [[noreturn]] void fail(const ConfigNode& n, const std::string& what) const {
    std::string where = path_;
    if (n.line() > 0) where += ":" + std::to_string(n.line());
    throw ConfigError(where + ": " + what);
  }

  // A mapping read in one pass: its keys checked against those allowed (each written once),
  // and its values by key.
  class Fields {
   public:
    // The value at `key`, or no node (false in a test) when the key is absent.
    ConfigNode operator[](std::string_view key) const {
      for (const auto& [k, v] : present_)
        if (k == key) return v;
      return {};
    }

    // Takes each of `from`'s values whose key this mapping lacks, but those in `skip`.
    void inherit(const Fields& from, std::initializer_list<std::string_view> skip) {
      for (const auto& [k, v] : from.present_)
        if (!(*this)[k] && std::find(skip.begin(), skip.end(), k) == skip.end())
          present_.emplace_back(k, v);
    }

   private:
    friend class Reader;
    std::vector<std::pair<std::string_view, ConfigNode>> present_;
  };

  // `allowed` and `more`: the keys it may have.
  Fields only_keys(const ConfigNode& map, const std::string& ctx,
                   std::initializer_list<std::string_view> allowed,
                   std::span<const std::string_view> more = {}) const {
    if (!map.IsMap()) fail(map, ctx + " must be a mapping");
    Fields f;
    f.present_.reserve(map.size());
    for (size_t i = 0; i < map.size(); ++i) {
      ConfigNode key = map.key(i);
      if (!key.IsScalar()) fail(key, "a key in " + ctx + " must be a word");
      std::string_view k = key.scalar();
      if (std::find(allowed.begin(), allowed.end(), k) == allowed.end() &&
          std::find(more.begin(), more.end(), k) == more.end())
        fail(key, "unknown key '" + std::string(k) + "' in " + ctx);
      if (f[k]) fail(key, "'" + std::string(k) + "' written twice in " + ctx);
      f.present_.emplace_back(k, map.value(i));
    }
    return f;
  }

  std::string str(const ConfigNode& n, const std::string& key) const {
    if (!n.IsScalar()) fail(n, "'" + key + "' must be a string");
    return n.as_string();
  }

  unsigned num(const ConfigNode& n, const std::string& key, unsigned lo, unsigned hi) const {
    if (!n.IsScalar()) fail(n, "'" + key + "' must be a number");
    std::string_view t = n.scalar();
    if (!t.empty() && t.front() == '+') t.remove_prefix(1);
    unsigned long long v = 0;
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (t.empty() || ec != std::errc() || end != t.data() + t.size() || v < lo || v > hi)
      fail(n, "'" + key + "' must be a number from " + std::to_string(lo) + " to " +
                  std::to_string(hi));
    return static_cast<unsigned>(v);
  }

  // YAML's booleans as yaml-cpp reads them.
  bool boolean(const ConfigNode& n, const std::string& what) const {
    static constexpr std::string_view yes[] = {"y",  "Y",    "yes",  "Yes", "YES", "true",
                                               "True", "TRUE", "on", "On",  "ON"};
    static constexpr std::string_view no[] = {"n",  "N",     "no",    "No", "NO", "false",
                                              "False", "FALSE", "off", "Off", "OFF"};
    const std::string_view t = n.scalar();  // "" for anything but a scalar: neither list
    if (std::find(std::begin(yes), std::end(yes), t) != std::end(yes)) return true;
    if (std::find(std::begin(no), std::end(no), t) != std::end(no)) return false;
    fail(n, what + " must be true or false");
  }

  std::vector<std::string> list(const ConfigNode& n, const std::string& key) const {
    std::vector<std::string> v;
    if (n.IsScalar()) {
      v.push_back(n.as_string());
      return v;
    }
    if (!n.IsSequence()) fail(n, "'" + key + "' must be a list");
    for (const auto& e : n) v.push_back(str(e, key));
    return v;
  }

  // An absolute path with nothing for lexically_normal() to change: no empty, "." or ".."
  // component, no trailing '/'.
  static bool normal_absolute(std::string_view t) {
    if (t.size() < 2 || t.front() != '/' || t.back() == '/') return false;
    for (size_t i = 0; i < t.size();) {  // at a '/'
      size_t next = t.find('/', i + 1);
      std::string_view c = t.substr(i + 1, (next == std::string_view::npos ? t.size() : next) - i - 1);
      if (c.empty() || c == "." || c == "..") return false;
      if (next == std::string_view::npos) break;
      i = next;
    }
    return true;
  }

  // A path, relative ones from the configuration's directory. With `zone`, "%s" in it stands
  // for that zone's name (without its final dot) and "%%" for "%".
  std::string path(const ConfigNode& n, const std::string& key,
                   const std::string* zone = nullptr) {
    std::string text = str(n, key);
    if (zone && text.find('%') != std::string::npos) {
      std::string out;
      for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
          out += text[i];
        } else if (i + 1 < text.size() && (text[i + 1] == 's' || text[i + 1] == '%')) {
          if (text[++i] == '%') {
            out += '%';
          } else {
            std::string_view name = *zone;
            if (name.ends_with('.')) name.remove_suffix(1);
            out += name.empty() ? "root" : name;  // the root zone: "root"
          }
        } else {
          fail(n, "'" + key + "': '%' must be followed by s (the zone's name) or % (a '%')");
        }
      }
      text = std::move(out);
    }
    if (normal_absolute(text)) return text;  // most paths: no fs::path work (10,000 zones)
    fs::path p = text;
    if (p.is_relative()) {
      if (dir_.empty()) dir_ = fs::absolute(fs::path(path_)).parent_path();  // once, not per zone
      p = dir_ / p;
    }
    return p.lexically_normal().string();
  }

 private:
  std::string path_;
  fs::path dir_;
};

bool is_cidr(const std::string& s) {
  AclEntry e;
  return Acl::parse_prefix(s, e);
}

// Hex digits (an even number of them) to bytes; false if there is anything else.
bool from_hex(const std::string& hex, std::string& out) {
  if (hex.empty() || hex.size() % 2) return false;
  out.clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    int v = 0;
    for (char c : {hex[i], hex[i + 1]}) {
      v <<= 4;
      if (c >= '0' && c <= '9') v |= c - '0';
      else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
      else return false;
    }
    out += static_cast<char>(v);
  }
  return true;
}

constexpr size_t kMaxNsid = 128;     // bytes of NSID payload (it goes in every asked answer)
constexpr size_t kMaxTxtString = 255;  // one TXT character-string (RFC 1035 3.3.14)

// nsid (text, or hex after "0x" as Knot writes it), identity, version, cookie-secret.
void read_identity(const Reader& rd, const ConfigNode& s, ServerConfig& sc) {
  if (auto n = s["nsid"]) {
    std::string v = rd.str(n, "nsid");
    if (v.starts_with("0x") || v.starts_with("0X")) {
      if (!from_hex(v.substr(2), sc.nsid))
        rd.fail(n, "nsid '" + v + "' is not hex after 0x (write text without 0x)");
    } else {
      sc.nsid = v;
    }
    if (sc.nsid.size() > kMaxNsid)
      rd.fail(n, "nsid is " + std::to_string(sc.nsid.size()) + " bytes; at most " +
                     std::to_string(kMaxNsid));
  }
  for (const char* key : {"identity", "version"}) {
    auto n = s[key];
    if (!n) continue;
    std::string v = n.IsNull() ? std::string() : rd.str(n, key);
    if (v.size() > kMaxTxtString)
      rd.fail(n, std::string("'") + key + "' is longer than " + std::to_string(kMaxTxtString) +
                     " characters (one TXT string)");
    (std::string(key) == "identity" ? sc.identity : sc.version) = v;
  }
  if (auto n = s["cookie-secret"]) {
    auto list = rd.list(n, "cookie-secret");
    if (list.empty() || list.size() > 2)
      rd.fail(n, "cookie-secret must be one secret, or a list of two (the new one first, the "
                 "previous one still accepted)");
    for (const auto& hex : list) {
      std::string bytes;
      if (!from_hex(hex, bytes) || bytes.size() != 16)
        rd.fail(n, "cookie-secret '" + hex + "' must be 32 hex digits (16 bytes)");
      sc.cookie_secrets.push_back(bytes);
    }
  }
}

void read_rate_limit(Reader& rd, const ConfigNode& n, RateLimitConfig& rl) {
  rd.only_keys(n, "rate-limit", {"responses-per-second", "slip", "ipv4-prefix", "ipv6-prefix",
                                 "exempt"});
  if (!n["responses-per-second"])
    rd.fail(n, "rate-limit needs 'responses-per-second'");
  rl.responses_per_second =
      rd.num(n["responses-per-second"], "responses-per-second", 1, 1000000);
  if (n["slip"]) rl.slip = rd.num(n["slip"], "slip", 0, 10);
  if (n["ipv4-prefix"]) rl.ipv4_prefix = rd.num(n["ipv4-prefix"], "ipv4-prefix", 8, 32);
  if (n["ipv6-prefix"]) rl.ipv6_prefix = rd.num(n["ipv6-prefix"], "ipv6-prefix", 16, 128);
  if (n["exempt"]) {
    rl.exempt = rd.list(n["exempt"], "exempt");
    for (const auto& e : rl.exempt)
      if (!is_cidr(e))
        rd.fail(n["exempt"], "rate-limit exempt entry '" + e + "' is not an address or prefix");
  }
}

void read_policies(Reader& rd, const ConfigNode& ps, std::vector<PolicyConfig>& out) {
  if (!ps.IsSequence()) rd.fail(ps, "'policies' must be a list");
  std::set<std::string> names;
  for (const auto& p : ps) {
    rd.only_keys(p, "a policy",
                 {"name", "algorithm", "nsec3", "nsec3-opt-out", "signature-validity",
                  "signature-refresh", "keys", "ksk-lifetime", "zsk-lifetime", "csk-lifetime",
                  "dnskey-ttl", "ds-ttl", "propagation-delay", "cds-cdnskey", "insecure"});
    PolicyConfig pc;
    if (!p["name"]) rd.fail(p, "a policy needs a 'name'");
    pc.name = rd.str(p["name"], "name");
    if (!names.insert(pc.name).second) rd.fail(p["name"], "duplicate policy '" + pc.name + "'");
    const std::string ctx = "policy '" + pc.name + "'";
    if (auto n = p["algorithm"]) {
      std::string a = rd.str(n, "algorithm");
      std::transform(a.begin(), a.end(), a.begin(), ::tolower);
      if (a == "ecdsap256sha256" || a == "13") pc.algorithm = "ecdsap256sha256";
      else if (a == "ed25519" || a == "15") pc.algorithm = "ed25519";
      else
        rd.fail(n, ctx + ": unsupported algorithm '" + rd.str(n, "algorithm") +
                       "' (ecdsap256sha256 or ed25519)");
    }
    auto boolean = [&](const char* key, bool& v) {
      auto n = p[key];
      if (!n) return;
      v = rd.boolean(n, ctx + ": '" + key + "'");
    };
    boolean("nsec3", pc.nsec3);
    boolean("nsec3-opt-out", pc.nsec3_opt_out);
    boolean("cds-cdnskey", pc.cds_cdnskey);
    boolean("insecure", pc.insecure);
    if (pc.name == "insecure" && !pc.insecure)
      rd.fail(p["name"], ctx + ": the name 'insecure' is the built-in policy that unsigns a zone "
                             "(write insecure: true, or choose another name)");
    if (pc.nsec3_opt_out && !pc.nsec3)
      rd.fail(p["nsec3-opt-out"], ctx + ": nsec3-opt-out needs nsec3: true");
    auto duration = [&](const char* key, uint32_t& v, bool zero_ok) {
      auto n = p[key];
      if (!n) return;
      std::string t = rd.str(n, key);
      if (!parse_duration(t, v))
        rd.fail(n, ctx + ": '" + key + "' must be a duration such as 3600, 90m, 12h, 14d or 2w, not '" +
                       t + "'");
      if (!zero_ok && v == 0) rd.fail(n, ctx + ": '" + key + "' must not be 0");
    };
    duration("signature-validity", pc.signature_validity, false);
    duration("signature-refresh", pc.signature_refresh, false);
    duration("ksk-lifetime", pc.ksk_lifetime, true);
    duration("zsk-lifetime", pc.zsk_lifetime, true);
    duration("dnskey-ttl", pc.dnskey_ttl, false);
    duration("ds-ttl", pc.ds_ttl, false);
    duration("propagation-delay", pc.propagation_delay, true);
    if (auto n = p["keys"]) {
      std::string k = rd.str(n, "keys");
      if (k == "csk") pc.csk = true;
      else if (k == "ksk-zsk") pc.csk = false;
      else rd.fail(n, ctx + ": 'keys' must be ksk-zsk (a KSK and a ZSK) or csk (one key)");
    }
    if (auto n = p["csk-lifetime"]) {
      if (!pc.csk) rd.fail(n, ctx + ": csk-lifetime needs keys: csk");
      duration("csk-lifetime", pc.ksk_lifetime, true);
      pc.zsk_lifetime = pc.ksk_lifetime;
    } else if (pc.csk && p["zsk-lifetime"]) {
      rd.fail(p["zsk-lifetime"], ctx + ": a CSK has one lifetime: write csk-lifetime");
    }
    // Timings that cannot work.
    auto where = [&](const char* key) { return p[key] ? p[key] : p; };
    if (pc.signature_refresh >= pc.signature_validity)
      rd.fail(where("signature-refresh"),
              ctx + ": signature-refresh (" + std::to_string(pc.signature_refresh) +
                  " s) must be shorter than signature-validity (" +
                  std::to_string(pc.signature_validity) +
                  " s): signatures would be re-made as soon as they are made");
    if (pc.signature_validity - pc.signature_refresh < pc.propagation_delay)
      rd.fail(where("signature-refresh"),
              ctx + ": signature-validity - signature-refresh (" +
                  std::to_string(pc.signature_validity - pc.signature_refresh) +
                  " s) is shorter than propagation-delay (" + std::to_string(pc.propagation_delay) +
                  " s): secondaries would serve signatures that already expired");
    // A key must outlive one rollover: its DNSKEY published and seen by caches (RFC 7583).
    const uint64_t roll = uint64_t(pc.propagation_delay) + pc.dnskey_ttl;
    for (auto [key, life] : {std::pair<const char*, uint32_t>{"zsk-lifetime", pc.zsk_lifetime},
                             {"ksk-lifetime", pc.ksk_lifetime}}) {
      const char* shown = pc.csk ? "csk-lifetime" : key;
      if (life && life <= 2 * roll + (std::string(key) == "ksk-lifetime" ? pc.ds_ttl : 0))
        rd.fail(where(shown), ctx + ": " + shown + " (" + std::to_string(life) +
                                  " s) is too short for a rollover (propagation-delay + dnskey-ttl" +
                                  (std::string(key) == "ksk-lifetime" ? " + ds-ttl" : "") +
                                  ", twice)");
    }
    out.push_back(pc);
  }
}

}  // namespace

namespace {

// A `via` source address must be one of this machine's: "" when a socket can be bound to it,
// else why not (an address that is not here would fail every NOTIFY and transfer at once).
std::string not_local(const std::string& addr) {
  sockaddr_storage ss{};
  socklen_t len;
  int family;
  if (inet_pton(AF_INET, addr.c_str(), &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr) == 1) {
    family = AF_INET;
    len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, addr.c_str(), &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr) == 1) {
    family = AF_INET6;
    len = sizeof(sockaddr_in6);
  } else {
    return "not an IP address";
  }
  ss.ss_family = static_cast<sa_family_t>(family);
  int s = ::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return "";  // cannot tell: leave it to the first use
  int rc = ::bind(s, reinterpret_cast<sockaddr*>(&ss), len);
  int err = errno;
  ::close(s);
  return rc == 0 || err != EADDRNOTAVAIL ? "" : std::strerror(err);
}

}  // namespace

namespace {
bool read_text(const std::string& file, std::string& text) {
  std::error_code ec;
  if (fs::is_directory(file, ec)) return false;
  std::ifstream in(file, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return false;
  text = std::move(ss).str();
  return true;
}

uint64_t fingerprint_of(const std::string& text) {
  // Not a defence against anyone: only "is this the file read last time" (size and hash).
  return std::hash<std::string>{}(text) ^ (static_cast<uint64_t>(text.size()) << 1);
}
}  // namespace

std::string control_socket_hint(const std::string& file) noexcept {
  try {
    std::string text;
    if (!read_text(file, text)) return "";
    auto tree = ConfigTree::parse(text);
    ConfigNode c = tree->root()["server"]["control"];
    if (!c.IsScalar()) return "";
    fs::path p = c.as_string();
    if (p.is_relative()) p = fs::absolute(fs::path(file)).parent_path() / p;
    return p.lexically_normal().string();
  } catch (...) {
    return "";
  }
}

bool parse_duration(const std::string& text, uint32_t& seconds) {
  if (text.empty()) return false;
  size_t digits = text.find_first_not_of("0123456789");
  if (digits == 0) return false;
  std::string num = text.substr(0, digits), unit = digits == std::string::npos ? "" : text.substr(digits);
  if (num.size() > 10) return false;
  uint64_t v = std::stoull(num), mul = 1;
  if (unit.empty() || unit == "s") mul = 1;
  else if (unit == "m") mul = 60;
  else if (unit == "h") mul = 3600;
  else if (unit == "d") mul = 86400;
  else if (unit == "w") mul = 7 * 86400;
  else return false;
  v *= mul;
  if (v > 0xFFFFFFFFull) return false;
  seconds = static_cast<uint32_t>(v);
  return true;
}


uint64_t config_fingerprint(const std::string& file) {
  std::string text;
  return read_text(file, text) ? fingerprint_of(text) : 0;
}

namespace {
// `text`: the file's bytes, read once by the caller.
Config read_config(const std::string& file, const std::string& text) {
  Config cfg;
  cfg.path = file;
  Reader rd(file);
  cfg.fingerprint = fingerprint_of(text);
  std::unique_ptr<ConfigTree> tree;
  try {
    tree = ConfigTree::parse(text);
  } catch (const ConfigSyntaxError& e) {
    throw ConfigError(file + ":" + std::to_string(e.line) + ": " + e.message);
  }
  const ConfigNode root = tree->root();
  if (!root.IsMap()) throw ConfigError(file + ": the configuration must be a YAML mapping");
  rd.only_keys(root, "the top level",
               {"server", "keys", "remotes", "policies", "templates", "zones"});

  if (auto s = root["server"]) {
    rd.only_keys(s, "server", {"listen", "workers", "control", "database", "log-level",
                               "udp-payload", "tcp-idle-timeout", "tcp-max-clients", "via",
                               "nsid", "identity", "version", "cookie-secret", "rate-limit",
                               "metrics", "key-dir"});
    if (s["key-dir"]) cfg.server.key_dir = rd.path(s["key-dir"], "key-dir");
    if (s["via"]) {
      cfg.server.via = rd.str(s["via"], "via");
      Endpoint ep;
      if (!parse_endpoint(cfg.server.via, ep, 0) || ep.port != 0)
        rd.fail(s["via"], "via must be an address without a port, e.g. 192.0.2.1 or 2001:db8::1");
      if (auto why = not_local(ep.host); !why.empty())
        rd.fail(s["via"], "via " + ep.host + " is not an address of this machine (" + why + ")");
    }
    if (s["listen"]) {
      for (const auto& e : rd.list(s["listen"], "listen")) {
        Endpoint ep;
        if (!parse_endpoint(e, ep, 53))
          rd.fail(s["listen"], "bad listen address '" + e + "' (use 127.0.0.1:53 or [::1]:53)");
        cfg.server.listen.push_back(ep);
      }
    }
    if (s["workers"]) cfg.server.workers = rd.num(s["workers"], "workers", 0, 256);
    if (s["control"]) cfg.server.control = rd.path(s["control"], "control");
    if (s["database"]) cfg.server.database = rd.path(s["database"], "database");
    if (s["log-level"]) {
      cfg.server.log_level = rd.str(s["log-level"], "log-level");
      static const std::set<std::string> levels{"trace", "debug", "info", "warning", "warn",
                                                "error", "critical", "off"};
      if (!levels.count(cfg.server.log_level))
        rd.fail(s["log-level"], "log-level must be one of trace, debug, info, warning, error, "
                                "critical, off");
    }
    if (s["udp-payload"])
      cfg.server.udp_payload =
          static_cast<uint16_t>(rd.num(s["udp-payload"], "udp-payload", 512, 4096));
    if (s["tcp-idle-timeout"])
      cfg.server.tcp_idle_timeout = rd.num(s["tcp-idle-timeout"], "tcp-idle-timeout", 1, 3600);
    if (s["tcp-max-clients"])
      cfg.server.tcp_max_clients = rd.num(s["tcp-max-clients"], "tcp-max-clients", 1, 1000000);
    if (auto m = s["metrics"]) {
      std::string text = rd.str(m, "metrics");
      Endpoint ep;
      if (!parse_endpoint(text, ep, 0) || ep.port == 0)
        rd.fail(m, "metrics must be ADDR:PORT, e.g. \"127.0.0.1:9153\" or \"[::1]:9153\" (got '" +
                       text + "')");
      for (const auto& l : cfg.server.listen)
        if (l.host == ep.host && l.port == ep.port)
          rd.fail(m, "metrics " + ep.str() + " is also a DNS listen address: pick another port");
      cfg.server.metrics = ep;
    }
    read_identity(rd, s, cfg.server);
    if (auto rl = s["rate-limit"]) read_rate_limit(rd, rl, cfg.server.rate_limit);
  }
  if (cfg.server.key_dir.empty() && !cfg.server.database.empty())
    cfg.server.key_dir = (fs::path(cfg.server.database).parent_path() / "keys").string();
  if (auto ps = root["policies"]) read_policies(rd, ps, cfg.policies);
  // Built in: `dnssec-policy: insecure` takes a signed zone back to unsigned, safely.
  if (!cfg.policy("insecure")) {
    PolicyConfig insecure;
    insecure.name = "insecure";
    insecure.insecure = true;
    cfg.policies.push_back(insecure);
  }
  if (cfg.server.listen.empty()) {
    Endpoint ep;
    parse_endpoint("127.0.0.1:53", ep);
    cfg.server.listen.push_back(ep);
  }

  std::set<std::string> key_names, remote_names;
  if (auto ks = root["keys"]) {
    if (!ks.IsSequence()) rd.fail(ks, "'keys' must be a list");
    for (const auto& k : ks) {
      rd.only_keys(k, "a key", {"name", "algorithm", "secret"});
      KeyConfig kc;
      if (!k["name"] || !k["secret"]) rd.fail(k, "a key needs 'name' and 'secret'");
      kc.name = rd.str(k["name"], "name");
      kc.secret = rd.str(k["secret"], "secret");
      kc.algorithm = k["algorithm"] ? rd.str(k["algorithm"], "algorithm") : "hmac-sha256";
      static const std::set<std::string> algs{"hmac-sha1", "hmac-sha224", "hmac-sha256",
                                              "hmac-sha384", "hmac-sha512"};
      if (!algs.count(kc.algorithm))
        rd.fail(k["algorithm"], "unsupported TSIG algorithm '" + kc.algorithm + "'");
      if (!zone::wire::name_from_text(kc.name + (kc.name.ends_with('.') ? "" : ".")))
        rd.fail(k["name"], "key name '" + kc.name + "' is not a valid domain name");
      if (!key_names.insert(kc.name).second) rd.fail(k, "duplicate key '" + kc.name + "'");
      std::string why;
      if (!zone::wire::make_tsig_key(kc.name, kc.algorithm, kc.secret, &why))
        rd.fail(k["secret"], why);  // "secret of key 'k' is not valid base64"
      cfg.keys.push_back(kc);
    }
  }
  if (auto rs = root["remotes"]) {
    if (!rs.IsSequence()) rd.fail(rs, "'remotes' must be a list");
    for (const auto& r : rs) {
      rd.only_keys(r, "a remote", {"name", "address", "key", "via"});
      RemoteConfig rc;
      if (!r["name"] || !r["address"]) rd.fail(r, "a remote needs 'name' and 'address'");
      rc.name = rd.str(r["name"], "name");
      std::string a = rd.str(r["address"], "address");
      if (!parse_endpoint(a, rc.address, 53))
        rd.fail(r["address"], "bad address '" + a + "' for remote '" + rc.name + "'");
      if (r["key"]) {
        rc.key = rd.str(r["key"], "key");
        if (!key_names.count(rc.key))
          rd.fail(r["key"], "remote '" + rc.name + "' uses unknown key '" + rc.key + "'");
      }
      if (r["via"]) {
        rc.via = rd.str(r["via"], "via");
        Endpoint ep;
        if (!parse_endpoint(rc.via, ep, 0) || ep.port != 0)
          rd.fail(r["via"], "via of remote '" + rc.name +
                                "' must be an address without a port, e.g. 192.0.2.1");
        if (auto why = not_local(ep.host); !why.empty())
          rd.fail(r["via"], "via " + ep.host + " of remote '" + rc.name +
                                "' is not an address of this machine (" + why + ")");
      }
      if (!remote_names.insert(rc.name).second)
        rd.fail(r, "duplicate remote '" + rc.name + "'");
      cfg.remotes.push_back(rc);
    }
  }
  // Zone templates: settings that zones share, by id ("default": every zone that names none).
  // A zone's own keys win; its template's others are read as if written in the zone.
  std::vector<std::pair<std::string, Reader::Fields>> templates;
  if (auto ts = root["templates"]) {
    if (!ts.IsSequence()) rd.fail(ts, "'templates' must be a list");
    for (const auto& t : ts) {
      auto f = rd.only_keys(t, "a template", {"id"}, kZoneKeys);
      if (!f["id"]) rd.fail(t, "a template needs an 'id'");
      std::string id = rd.str(f["id"], "id");
      for (const auto& [other, _] : templates)
        if (other == id) rd.fail(f["id"], "duplicate template '" + id + "'");
      templates.emplace_back(std::move(id), std::move(f));
    }
  }
  auto template_of = [&](const std::string& id) -> const Reader::Fields* {
    for (const auto& [tid, f] : templates)
      if (tid == id) return &f;
    return nullptr;
  };
  const Reader::Fields* default_template = template_of("default");
  // Origins seen, as views of cfg.zones' own strings (reserved below: they never move).
  std::unordered_set<std::string_view> origins;
  if (auto zs = root["zones"]) {
    if (!zs.IsSequence()) rd.fail(zs, "'zones' must be a list");
    cfg.zones.reserve(zs.size());
    for (const auto& zone_node : zs) {
      auto z = rd.only_keys(zone_node, "a zone", {"name", "template"}, kZoneKeys);
      ZoneConfig zc;
      if (!z["name"]) rd.fail(zone_node, "a zone needs a 'name'");
      zc.name = rd.str(z["name"], "name");
      const Reader::Fields* tpl = default_template;
      if (auto t = z["template"]) {
        tpl = template_of(rd.str(t, "template"));
        if (!tpl)
          rd.fail(t, "zone '" + zc.name + "' names unknown template '" + t.as_string() +
                         "' (not in 'templates')");
      }
      const bool own_file = static_cast<bool>(z["file"]);
      if (tpl) z.inherit(*tpl, {"id"});
      std::string text = zc.name;
      if (!text.ends_with('.')) text += '.';
      auto wire = zone::wire::name_from_text(text);
      if (!wire) rd.fail(z["name"], "zone name '" + zc.name + "' is not a valid domain name");
      zc.origin = zone::wire::lowered(*wire);
      if (origins.count(zc.origin)) rd.fail(z["name"], "duplicate zone '" + zc.name + "'");
      if (z["file"]) zc.file = rd.path(z["file"], "file", &zc.name);
      auto remotes = [&](const char* key, bool cidr_ok) {
        std::vector<std::string> v;
        if (!z[key]) return v;
        v = rd.list(z[key], key);
        for (const auto& e : v)
          if (!remote_names.count(e) && !(cidr_ok && is_cidr(e)))
            rd.fail(z[key], std::string("'") + key + "' of zone '" + zc.name +
                                "' names unknown remote '" + e + "'");
        return v;
      };
      zc.notify = remotes("notify", false);
      zc.allow_transfer = remotes("allow-transfer", true);
      zc.primaries = remotes("primaries", false);
      zc.allow_notify = remotes("allow-notify", true);
      zc.parental_agents = remotes("parental-agents", false);
      if (z["serial-policy"]) {
        zc.serial_policy = rd.str(z["serial-policy"], "serial-policy");
        if (zc.serial_policy != "keep" && zc.serial_policy != "increment" &&
            zc.serial_policy != "unixtime")
          rd.fail(z["serial-policy"], "serial-policy must be keep, increment or unixtime");
      }
      if (z["ixfr-history"]) zc.ixfr_history = rd.num(z["ixfr-history"], "ixfr-history", 0, 100000);
      if (z["allow-update"]) {
        zc.allow_update = rd.list(z["allow-update"], "allow-update");
        for (const auto& k : zc.allow_update)
          if (!key_names.count(k))
            rd.fail(z["allow-update"], "'allow-update' of zone '" + zc.name +
                                           "' names unknown key '" + k + "'");
      }
      if (z["update-policy"]) {
        zc.update_policy = rd.list(z["update-policy"], "update-policy");
        for (const auto& rule : zc.update_policy) {
          std::string err;
          if (!parse_update_rule(rule, zone::UpdatePolicy{}, &err))
            rd.fail(z["update-policy"], "update-policy of zone '" + zc.name + "': " + err);
          auto key = rule.substr(0, rule.find(' '));
          if (!key_names.count(key))
            rd.fail(z["update-policy"], "update-policy of zone '" + zc.name +
                                            "' names unknown key '" + key + "'");
        }
      }
      if (z["zonefile-sync"]) zc.zonefile_sync = rd.num(z["zonefile-sync"], "zonefile-sync", 0, 86400);
      if (z["catalog"]) {
        zc.cat_edit().catalog = rd.str(z["catalog"], "catalog");
        if (zc.cat().catalog != "produce" && zc.cat().catalog != "consume")
          rd.fail(z["catalog"], "catalog of zone '" + zc.name + "' must be produce or consume");
        if (zc.cat().catalog == "produce" && !own_file) zc.file.clear();  // the template's
        if (zc.cat().catalog == "produce" && (!zc.file.empty() || zc.secondary()))
          rd.fail(z["catalog"], "zone '" + zc.name + "' is a produced catalog: it is built from "
                                "its members, so it has no 'file' and no 'primaries'");
        if (zc.cat().catalog == "consume" && !zc.secondary())
          rd.fail(z["catalog"], "zone '" + zc.name + "' is a consumed catalog: it needs "
                                "'primaries' (it is transferred like any secondary zone)");
      }
      auto member_template = [&](const ConfigNode& t, const std::string& what) {
        ZoneConfig::MemberTemplate mt;
        auto names = [&](const char* key, bool cidr_ok) {
          std::vector<std::string> v;
          if (!t[key]) return v;
          v = rd.list(t[key], key);
          for (const auto& e : v)
            if (!remote_names.count(e) && !(cidr_ok && is_cidr(e)))
              rd.fail(t[key], what + " of zone '" + zc.name + "': '" + key +
                                  "' names unknown remote '" + e + "'");
          return v;
        };
        mt.primaries = names("primaries", false);
        mt.allow_notify = names("allow-notify", true);
        mt.notify = names("notify", false);
        mt.allow_transfer = names("allow-transfer", true);
        return mt;
      };
      if (auto t = z["member-template"]) {
        if (zc.cat().catalog != "consume")
          rd.fail(t, "member-template of zone '" + zc.name + "' needs catalog: consume");
        rd.only_keys(t, "member-template", {"primaries", "allow-notify", "notify", "allow-transfer"});
        zc.cat_edit().member_template = member_template(t, "member-template");
      }
      if (auto gs = z["group-templates"]) {
        if (zc.cat().catalog != "consume")
          rd.fail(gs, "group-templates of zone '" + zc.name + "' needs catalog: consume");
        if (!gs.IsSequence()) rd.fail(gs, "'group-templates' must be a list");
        for (const auto& g : gs) {
          rd.only_keys(g, "a group template", {"group", "primaries", "allow-notify", "notify",
                                               "allow-transfer"});
          if (!g["group"]) rd.fail(g, "a group template needs 'group'");
          zc.cat_edit().group_templates.emplace_back(rd.str(g["group"], "group"),
                                          member_template(g, "group template"));
        }
      }
      if (z["catalog-member"]) {
        zc.cat_edit().catalog_member = rd.str(z["catalog-member"], "catalog-member");
        if (zc.cat().catalog_member.ends_with('.')) zc.cat_edit().catalog_member.pop_back();
        if (!zone::wire::name_from_text(zc.cat().catalog_member + "."))
          rd.fail(z["catalog-member"], "catalog-member of zone '" + zc.name +
                                           "' is not a valid domain name");
        if (!zc.cat().catalog.empty())
          rd.fail(z["catalog-member"], "zone '" + zc.name + "' is a catalog itself");
      }
      if (z["catalog-previous"]) {
        zc.cat_edit().catalog_previous = rd.str(z["catalog-previous"], "catalog-previous");
        if (zc.cat().catalog_previous.ends_with('.')) zc.cat_edit().catalog_previous.pop_back();
        if (zc.cat().catalog_member.empty())
          rd.fail(z["catalog-previous"], "catalog-previous of zone '" + zc.name +
                                             "' needs catalog-member (the catalog it moves to)");
        if (!zone::wire::name_from_text(zc.cat().catalog_previous + "."))
          rd.fail(z["catalog-previous"], "catalog-previous of zone '" + zc.name +
                                             "' is not a valid domain name");
      }
      if (z["catalog-group"]) {
        zc.cat_edit().catalog_group = rd.str(z["catalog-group"], "catalog-group");
        if (zc.cat().catalog_member.empty())
          rd.fail(z["catalog-group"], "catalog-group of zone '" + zc.name +
                                          "' needs catalog-member");
        if (zc.cat().catalog_group.empty() || zc.cat().catalog_group.size() > 255)
          rd.fail(z["catalog-group"], "catalog-group of zone '" + zc.name +
                                          "' must be 1 to 255 characters");
      }
      if (zc.file.empty() && zc.primaries.empty() && zc.cat().catalog != "produce")
        rd.fail(zone_node, "zone '" + zc.name + "' needs a 'file' (primary) or 'primaries' (secondary)");
      if (!zc.allow_update.empty() && zc.secondary())
        rd.fail(z["allow-update"], "zone '" + zc.name +
                                       "' is a secondary: UPDATE goes to its primary (allow-update "
                                       "is for primary zones)");
      if (auto n = z["dnssec-policy"]) {
        zc.dnssec_policy = rd.str(n, "dnssec-policy");
        if (!cfg.policy(zc.dnssec_policy))
          rd.fail(n, "zone '" + zc.name + "' names unknown dnssec-policy '" + zc.dnssec_policy +
                         "' (not in 'policies')");
        if (zc.secondary())
          rd.fail(n, "zone '" + zc.name +
                         "' is a secondary: it is signed by its primary (dnssec-policy is for "
                         "primary zones)");
        if (cfg.server.key_dir.empty())
          rd.fail(n, "zone '" + zc.name +
                         "' is signed: set server.key-dir (or server.database, keys then go to "
                         "its directory's keys/)");
      }
      if (!zc.parental_agents.empty() && zc.dnssec_policy.empty())
        rd.fail(z["parental-agents"], "parental-agents of zone '" + zc.name +
                                          "' are asked for its DS: it needs a dnssec-policy");
      cfg.zones.push_back(std::move(zc));
      origins.insert(cfg.zones.back().origin);
    }
    // Members name a catalog this configuration produces (looked up, not searched: a
    // configuration may list thousands of members).
    std::set<std::string> produced;
    for (const auto& c : cfg.zones)
      if (c.cat().catalog == "produce") produced.insert(c.origin);
    for (size_t i = 0; i < cfg.zones.size(); ++i) {
      const ZoneConfig& zc = cfg.zones[i];
      if (!zc.cat().catalog_previous.empty()) {
        std::string prev =
            zone::wire::lowered(*zone::wire::name_from_text(zc.cat().catalog_previous + "."));
        if (!produced.count(prev))
          rd.fail(zs.at(i)["catalog-previous"], "catalog-previous of zone '" + zc.name + "' names '" +
                                                 zc.cat().catalog_previous +
                                                 "', which is not a zone with catalog: produce here");
      }
      if (zc.cat().catalog_member.empty()) continue;
      std::string cat = zone::wire::lowered(*zone::wire::name_from_text(zc.cat().catalog_member + "."));
      if (!produced.count(cat))
        rd.fail(zs.at(i)["catalog-member"], "catalog-member of zone '" + zc.name + "' names '" +
                                             zc.cat().catalog_member +
                                             "', which is not a zone with catalog: produce here");
    }
  }
  return cfg;
}

std::string text_of(const std::string& file) {
  std::string text;
  if (!read_text(file, text)) throw ConfigError(file + ": cannot read the configuration file");
  return text;
}

}  // namespace

Config load_config(const std::string& file) {
  return read_config(file, text_of(file));
}

std::optional<Config> reload_config(const std::string& file, uint64_t fingerprint) {
  const std::string text = text_of(file);
  if (fingerprint != 0 && fingerprint_of(text) == fingerprint) return std::nullopt;
  return read_config(file, text);
}

namespace {
std::string fail_zone(const ZoneConfig& z, const std::string& what) {
  return "zone '" + z.name + "': " + what;
}
}  // namespace

void check_zone_config(const ZoneConfig& z, const Config& cfg) {
  auto remote = [&](const std::string& n) {
    for (const auto& r : cfg.remotes)
      if (r.name == n) return true;
    return false;
  };
  auto check = [&](const std::vector<std::string>& v, const char* key, bool cidr_ok) {
    for (const auto& e : v)
      if (!remote(e) && !(cidr_ok && is_cidr(e)))
        throw ConfigError(fail_zone(z, std::string("'") + key + "' names unknown remote '" + e + "'"));
  };
  check(z.notify, "notify", false);
  check(z.allow_transfer, "allow-transfer", true);
  check(z.primaries, "primaries", false);
  check(z.allow_notify, "allow-notify", true);
  for (const auto& k : z.allow_update) {
    bool found = false;
    for (const auto& kc : cfg.keys) found = found || kc.name == k;
    if (!found) throw ConfigError(fail_zone(z, "'allow-update' names unknown key '" + k + "'"));
  }
  if (z.file.empty() && z.primaries.empty() && z.cat().catalog != "produce")
    throw ConfigError(fail_zone(z, "needs a file (primary) or primaries (secondary)"));
  if (!z.cat().catalog_member.empty()) {
    auto cat = zone::wire::name_from_text(z.cat().catalog_member + ".");
    bool found = false;
    if (cat)
      for (const auto& c : cfg.zones)
        found = found || (c.origin == zone::wire::lowered(*cat) && c.cat().catalog == "produce");
    if (!found)
      throw ConfigError(fail_zone(z, "catalog '" + z.cat().catalog_member +
                                         "' is not a zone with catalog: produce here"));
  }
  if (z.serial_policy != "keep" && z.serial_policy != "increment" && z.serial_policy != "unixtime")
    throw ConfigError(fail_zone(z, "serial-policy must be keep, increment or unixtime"));
  if (!z.dnssec_policy.empty()) {
    if (!cfg.policy(z.dnssec_policy))
      throw ConfigError(fail_zone(z, "unknown dnssec-policy '" + z.dnssec_policy + "'"));
    if (z.secondary())
      throw ConfigError(fail_zone(z, "a secondary zone cannot have a dnssec-policy"));
    if (cfg.server.key_dir.empty())
      throw ConfigError(fail_zone(z, "is signed: set server.key-dir or server.database"));
  }
}

std::string zone_config_to_json(const ZoneConfig& z) {
  nlohmann::json j = {{"name", z.name},
                      {"file", z.file},
                      {"notify", z.notify},
                      {"allow-transfer", z.allow_transfer},
                      {"primaries", z.primaries},
                      {"allow-notify", z.allow_notify},
                      {"serial-policy", z.serial_policy},
                      {"ixfr-history", z.ixfr_history},
                      {"allow-update", z.allow_update},
                      {"update-policy", z.update_policy},
                      {"zonefile-sync", z.zonefile_sync},
                      {"catalog-member", z.cat().catalog_member},
                      {"catalog-group", z.cat().catalog_group},
                      {"dnssec-policy", z.dnssec_policy}};
  return j.dump();
}

ZoneConfig zone_config_from_json(const std::string& text, const Config& cfg) {
  ZoneConfig z;
  try {
    auto j = nlohmann::json::parse(text);
    z.name = j.at("name").get<std::string>();
    z.file = j.value("file", std::string());
    z.notify = j.value("notify", std::vector<std::string>{});
    z.allow_transfer = j.value("allow-transfer", std::vector<std::string>{});
    z.primaries = j.value("primaries", std::vector<std::string>{});
    z.allow_notify = j.value("allow-notify", std::vector<std::string>{});
    z.serial_policy = j.value("serial-policy", std::string("keep"));
    z.ixfr_history = j.value("ixfr-history", 100u);
    z.allow_update = j.value("allow-update", std::vector<std::string>{});
    z.update_policy = j.value("update-policy", std::vector<std::string>{});
    z.zonefile_sync = j.value("zonefile-sync", 1u);
    std::string member = j.value("catalog-member", std::string());
    std::string group = j.value("catalog-group", std::string());
    if (!member.empty() || !group.empty()) {
      z.cat_edit().catalog_member = member;
      z.cat_edit().catalog_group = group;
    }
    z.dnssec_policy = j.value("dnssec-policy", std::string());
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError("stored zone configuration unreadable: " + std::string(e.what()));
  }
  std::string text_name = z.name.ends_with('.') ? z.name : z.name + ".";
  auto wire = zone::wire::name_from_text(text_name);
  if (!wire) throw ConfigError("stored zone name '" + z.name + "' is not a valid domain name");
  z.origin = zone::wire::lowered(*wire);
  z.runtime = true;
  // A zone added with --catalog stays served when that catalog is no longer produced here
  // (it is simply listed in none; it is listed again when the catalog comes back).
  ZoneConfig checked = z;
  if (!checked.cat().catalog_member.empty()) checked.cat_edit().catalog_member.clear();
  check_zone_config(checked, cfg);
  return z;
}

bool parse_update_rule(const std::string& text, zone::UpdatePolicy policy, std::string* error,
                       zone::UpdatePolicy* out) {
  std::vector<std::string> words;
  for (size_t p = 0; p < text.size();) {
    size_t b = text.find_first_not_of(" \t", p);
    if (b == std::string::npos) break;
    size_t e = text.find_first_of(" \t", b);
    words.push_back(text.substr(b, e == std::string::npos ? std::string::npos : e - b));
    p = e == std::string::npos ? text.size() : e;
  }
  if (words.size() < 2) {
    *error = "'" + text + "' is not 'KEY MATCH [NAME] [TYPE...]'";
    return false;
  }
  const std::string& match = words[1];
  bool named = match == "name" || match == "subdomain" || match == "wildcard";
  if (named && words.size() < 3) {
    *error = "'" + text + "': " + match + " needs a name";
    return false;
  }
  std::string name = named ? words[2] : std::string();
  std::vector<std::string> types(words.begin() + (named ? 3 : 2), words.end());
  std::string key = words[0];
  if (!key.ends_with('.')) key += '.';
  if (!policy.add_rule(key, match, name, types, error)) {
    *error = "'" + text + "': " + *error;
    return false;
  }
  if (out) *out = std::move(policy);
  return true;
}

}  // namespace server
