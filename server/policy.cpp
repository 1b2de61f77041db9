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
  for (const auto& z : cfg.zones) {
    Acl acl;
    for (const auto& entry : z.allow_transfer) {
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
        throw ConfigError(cfg.path + ": zone '" + z.name + "': bad allow-transfer entry '" +
                          entry + "'");
      }
      acl.add(std::move(e));
    }
    p->allow_transfer.emplace(z.origin, std::move(acl));
  }
  return p;
}

}  // namespace server
