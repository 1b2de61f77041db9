#include "server/notify_in.h"

#include <spdlog/spdlog.h>

#include "zone/wire/name.h"

namespace server {

using namespace zone::wire;

uint16_t accept_notify(const ParsedQuery& q, const Peer& from, const TsigKey* key,
                       const Policy& policy) {
  auto log = spdlog::get("notify");
  if (q.qtype != rrtype::SOA || q.qclass != rrclass::IN) return rcode::FORMERR;
  std::string zname = name_display(q.name_lower());
  auto acl = policy.allow_notify.find(std::string(q.name_lower()));
  if (acl == policy.allow_notify.end()) {
    if (log) log->info("zone {}: NOTIFY from {}: not a secondary zone here", zname, from.str());
    return rcode::NOTAUTH;
  }
  if (!acl->second->allows(from, key ? std::string_view(key->name) : std::string_view())) {
    if (log)
      log->warn("zone {}: NOTIFY from {} refused: not in allow-notify{}", zname, from.str(),
                key ? "" : " (or unsigned)");
    return rcode::REFUSED;
  }
  return rcode::NOERROR;
}

}  // namespace server
