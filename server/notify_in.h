// Incoming NOTIFY (RFC 1996), decided by the query processor: accepted for secondary zones
// from allow-notify (by default the primaries, signed with the remote's key when it has
// one), acknowledged at once; the refresh itself is only scheduled on the replication
// thread through the processor's `on_notify` callback.
#pragma once
#include <functional>
#include <string>

#include "server/peer.h"
#include "server/policy.h"
#include "zone/wire/message.h"

namespace server {

using NotifyCallback = std::function<void(const std::string& origin, const std::string& from)>;

// The rcode for a NOTIFY whose TSIG, if any, checked out (`key`: the key it was signed
// with, null when unsigned): NOERROR when accepted, FORMERR when not a SOA question of
// class IN, NOTAUTH for a zone that is not a secondary zone here, REFUSED when allow-notify
// does not list the sender. Logs refusals on the "notify" logger.
uint16_t accept_notify(const zone::wire::ParsedQuery& q, const Peer& from,
                       const zone::wire::TsigKey* key, const Policy& policy);

}  // namespace server
