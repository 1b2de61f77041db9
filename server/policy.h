// What the configuration allows, in a form the network code can check quickly: TSIG keys
// and per-zone access lists. Published as an immutable snapshot, like the zones.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "server/acl.h"
#include "server/config.h"
#include "zone/wire/tsig.h"

namespace server {

struct Policy {
  std::vector<zone::wire::TsigKey> keys;
  std::unordered_map<std::string, Acl> allow_transfer;  // by lowercased wire origin
  std::unordered_map<std::string, Acl> allow_notify;    // secondary zones only

  const zone::wire::TsigKey* find_key(std::string_view name_lower) const {
    for (const auto& k : keys)
      if (k.name == name_lower) return &k;
    return nullptr;
  }
};

// Throws ConfigError (with the config path) on a bad key or ACL entry.
std::shared_ptr<const Policy> make_policy(const Config& cfg);

}  // namespace server
