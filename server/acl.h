// Access lists for transfers and NOTIFY: address prefixes, optionally bound to a TSIG key.
#pragma once
#include <boost/asio/ip/address.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "server/peer.h"

namespace server {

struct AclEntry {
  std::array<uint8_t, 16> addr{};
  bool v6 = false;
  int prefix = 0;
  std::string key;  // lowercased wire key name; empty = no TSIG required
  std::string label;
};

class Acl {
 public:
  void add(AclEntry e) { entries_.push_back(std::move(e)); }
  // Parses "192.0.2.0/24", "2001:db8::/32" or a bare address. False if malformed.
  static bool parse_prefix(const std::string& text, AclEntry& out);
  // Allowed when an entry matches the address and, if it names a key, the message was
  // signed with that key (key_name lowercased wire, empty if unsigned).
  bool allows(const Peer& from, std::string_view key_name) const;
  bool allows(const boost::asio::ip::address& from, const std::string& key_name) const {
    return allows(Peer::from(from, 0), key_name);
  }
  bool empty() const { return entries_.empty(); }

 private:
  std::vector<AclEntry> entries_;
};

}  // namespace server
