#include "server/policy.h"

#include <arpa/inet.h>

#include <algorithm>
#include <map>

#include "server/version.h"

namespace server {

std::shared_ptr<const Policy> make_policy(const Config& cfg, const Policy* previous) {
  auto p = std::make_shared<Policy>();
  const ServerConfig& sc = cfg.server;
  p->identity.nsid = sc.nsid;
  p->identity.identity = sc.identity ? *sc.identity : host_name();
  p->identity.version = sc.version ? *sc.version : std::string("zoned ") + kVersion;
  if (!sc.cookie_secrets.empty()) {
    p->cookie_secrets.clear();
    for (const auto& s : sc.cookie_secrets) {
      CookieSecret c;
      std::copy(s.begin(), s.end(), c.begin());
      p->cookie_secrets.push_back(c);
    }
    p->cookie_secret_generated = false;
  } else if (previous && previous->cookie_secret_generated) {
    p->cookie_secrets = previous->cookie_secrets;
  }
  p->rate_limit.responses_per_second = sc.rate_limit.responses_per_second;
  p->rate_limit.slip = sc.rate_limit.slip;
  p->rate_limit.ipv4_prefix = sc.rate_limit.ipv4_prefix;
  p->rate_limit.ipv6_prefix = sc.rate_limit.ipv6_prefix;
  for (const auto& e : sc.rate_limit.exempt) {
    AclEntry a;
    if (!Acl::parse_prefix(e, a))
      throw ConfigError(cfg.path + ": rate-limit: bad exempt prefix '" + e + "'");
    p->rate_limit.exempt.add(std::move(a));
  }
  for (const auto& k : cfg.keys) {
    std::string err;
    auto key = zone::wire::make_tsig_key(k.name, k.algorithm, k.secret, &err);
    if (!key) throw ConfigError(cfg.path + ": key '" + k.name + "': " + err);
    p->keys.push_back(std::move(*key));
  }
  auto key_wire = [&](const std::string& label) -> std::string {
    for (const auto& k : p->keys)
      if (k.label == label) return k.name;
    return {};
  };
  // Remote names or prefixes -> an ACL (a remote with a key must sign).
  auto build_acl = [&](const ZoneConfig& z, const std::vector<std::string>& list,
                       const char* what) {
    Acl acl;
    for (const auto& entry : list) {
      AclEntry e;
      const RemoteConfig* remote = nullptr;
      for (const auto& r : cfg.remotes)
        if (r.name == entry) remote = &r;
      if (remote) {
        if (!Acl::parse_prefix(remote->address.host, e))
          throw ConfigError(cfg.path + ": remote '" + remote->name + "': bad address");
        e.key = remote->key.empty() ? std::string() : key_wire(remote->key);
        e.label = remote->name;
      } else if (!Acl::parse_prefix(entry, e)) {
        throw ConfigError(cfg.path + ": zone '" + z.name + "': bad " + what + " entry '" +
                          entry + "'");
      }
      acl.add(std::move(e));
    }
    return acl;
  };
  // One ACL per distinct list: an ACL depends only on its list (and on the remotes and keys).
  std::map<std::vector<std::string>, std::shared_ptr<const Acl>> built;
  auto shared_acl = [&](const ZoneConfig& z, const std::vector<std::string>& list,
                        const char* what) {
    auto& acl = built[list];
    if (!acl) acl = std::make_shared<const Acl>(build_acl(z, list, what));
    return acl;
  };
  for (const auto& z : cfg.zones) {
    p->allow_transfer.emplace(z.origin, shared_acl(z, z.allow_transfer, "allow-transfer"));
    // NOTIFY is accepted from allow-notify, or by default from the primaries.
    if (z.secondary())
      p->allow_notify.emplace(
          z.origin, shared_acl(z, z.allow_notify.empty() ? z.primaries : z.allow_notify,
                               "allow-notify"));
    // Only what UPDATE can use (a zone without keys is REFUSED, a secondary NOTAUTH: both
    // told apart without an entry, see update_service.cpp).
    if (z.allow_update.empty() && z.update_policy.empty()) continue;
    UpdateRights u;
    u.name = z.name;
    u.secondary = z.secondary();
    for (const auto& k : z.allow_update) u.keys.push_back(key_wire(k));
    for (const auto& rule : z.update_policy) {
      std::string err;
      if (!parse_update_rule(rule, std::move(u.rules), &err, &u.rules))
        throw ConfigError(cfg.path + ": zone '" + z.name + "': update-policy: " + err);
      // The rule's key may sign too.
      std::string key = key_wire(rule.substr(0, rule.find(' ')));
      if (!key.empty() && std::find(u.keys.begin(), u.keys.end(), key) == u.keys.end())
        u.keys.push_back(key);
    }
    u.serial_policy = z.serial_policy;
    u.keep_history = z.ixfr_history;
    u.notify = !z.notify.empty();
    if (!u.keys.empty()) p->update.emplace(z.origin, std::move(u));
  }
  return p;
}

}  // namespace server
