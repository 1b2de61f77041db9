// Incoming NOTIFY (RFC 1996): accepted for secondary zones from allow-notify (by default the
// primaries), TSIG-checked, acknowledged at once; the refresh itself is only scheduled on
// the replication thread through `on_notify`.
#pragma once
#include <boost/asio/ip/address.hpp>

#include <functional>
#include <string>

#include "server/policy.h"
#include "zone/wire/message.h"
#include "zone/zone_table.h"

namespace server {

using NotifyCallback = std::function<void(const std::string& origin, const std::string& from)>;

class NotifyIn {
 public:
  NotifyIn(const zone::Publisher<Policy>& policy, NotifyCallback on_notify)
      : policy_(policy), on_notify_(std::move(on_notify)) {}

  // Returns the size of the answer written to out (0: nothing to send).
  size_t handle(const uint8_t* in, size_t len, const zone::wire::ParsedQuery& q,
                const boost::asio::ip::address& from, uint8_t* out, size_t cap);

 private:
  zone::Reader<Policy> policy_;
  NotifyCallback on_notify_;
};

}  // namespace server
