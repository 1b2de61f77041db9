#include "server/acl.h"

#include <arpa/inet.h>

namespace server {

bool Acl::parse_prefix(const std::string& text, AclEntry& out) {
  auto slash = text.find('/');
  std::string a = text.substr(0, slash);
  if (inet_pton(AF_INET, a.c_str(), out.addr.data()) == 1) {
    out.v6 = false;
    out.prefix = 32;
  } else if (inet_pton(AF_INET6, a.c_str(), out.addr.data()) == 1) {
    out.v6 = true;
    out.prefix = 128;
  } else {
    return false;
  }
  if (slash != std::string::npos) {
    std::string len = text.substr(slash + 1);
    if (len.empty() || len.size() > 3 || len.find_first_not_of("0123456789") != std::string::npos)
      return false;
    int p = std::stoi(len);
    if (p > out.prefix) return false;
    out.prefix = p;
  }
  out.label = text;
  return true;
}

bool Acl::allows(const Peer& from, std::string_view key_name) const {
  for (const auto& e : entries_) {
    if (e.v6 != from.v6) continue;
    int bits = e.prefix, i = 0;
    bool match = true;
    for (; bits >= 8; bits -= 8, ++i)
      if (from.addr[i] != e.addr[i]) match = false;
    if (match && bits > 0) {
      uint8_t mask = static_cast<uint8_t>(0xFF << (8 - bits));
      if ((from.addr[i] & mask) != (e.addr[i] & mask)) match = false;
    }
    if (!match) continue;
    if (!e.key.empty() && e.key != key_name) continue;
    return true;
  }
  return false;
}

}  // namespace server
