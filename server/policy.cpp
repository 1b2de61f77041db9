#include "server/policy.h"

#include <arpa/inet.h>

namespace server {

std::shared_ptr<const Policy> make_policy(const Config& cfg) {
  auto p = std::make_shared<Policy>();
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
  for (const auto& z : cfg.zones) {
    p->allow_transfer.emplace(z.origin, build_acl(z, z.allow_transfer, "allow-transfer"));
    // NOTIFY is accepted from allow-notify, or by default from the primaries.
    if (z.secondary())
      p->allow_notify.emplace(
          z.origin, build_acl(z, z.allow_notify.empty() ? z.primaries : z.allow_notify,
                              "allow-notify"));
  }
  return p;
}

}  // namespace server
