// What the configuration allows and says, in a form the query path can check quickly: TSIG
// keys, per-zone access lists, the server's identity, DNS cookie secrets and the rate
// limit. Published as an immutable snapshot, like the zones: a reload applies all of it.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "server/acl.h"
#include "server/config.h"
#include "server/cookie.h"
#include "server/identity.h"
#include "server/rrl.h"
#include "zone/wire/tsig.h"

namespace server {

// What DNS UPDATE may do to a zone (its allow-update keys and update-policy rules).
struct UpdateRights {
  std::string name;               // as configured, for logs
  bool secondary = false;         // UPDATE goes to its primary: NOTAUTH here
  std::vector<std::string> keys;  // lowercased wire names of the keys allowed to sign
  zone::UpdatePolicy rules;       // empty: a key of `keys` may change anything in the zone
  std::string serial_policy;
  size_t keep_history = 100;
  bool notify = false;
};

struct Policy {
  std::vector<zone::wire::TsigKey> keys;
  // By lowercased wire origin; zones with the same list share one ACL (thousands of zones
  // usually name the same few secondaries).
  std::unordered_map<std::string, std::shared_ptr<const Acl>> allow_transfer;
  std::unordered_map<std::string, std::shared_ptr<const Acl>> allow_notify;  // secondaries only
  ServerIdentity identity;
  // The first makes server cookies; every one is accepted (a rotation keeps the old one).
  std::vector<CookieSecret> cookie_secrets{random_cookie_secret()};
  bool cookie_secret_generated = true;
  RateLimit rate_limit;
  std::unordered_map<std::string, UpdateRights> update;  // every configured zone, by origin

  const zone::wire::TsigKey* find_key(std::string_view name_lower) const {
    for (const auto& k : keys)
      if (k.name == name_lower) return &k;
    return nullptr;
  }
};

// Throws ConfigError (with the config path) on a bad key or ACL entry. Without a configured
// cookie secret, the one `previous` generated is kept (a reload does not invalidate the
// clients' cookies), or a new one is generated.
std::shared_ptr<const Policy> make_policy(const Config& cfg, const Policy* previous = nullptr);

}  // namespace server
