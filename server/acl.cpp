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

bool Acl::allows(const boost::asio::ip::address& from_in, const std::string& key_name) const {
  boost::asio::ip::address from = from_in;
  if (from.is_v6() && from.to_v6().is_v4_mapped())
    from = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, from.to_v6());
  std::array<uint8_t, 16> a{};
  bool v6 = from.is_v6();
  if (v6) {
    auto b = from.to_v6().to_bytes();
    std::copy(b.begin(), b.end(), a.begin());
  } else {
    auto b = from.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), a.begin());
  }
  for (const auto& e : entries_) {
    if (e.v6 != v6) continue;
    int bits = e.prefix, i = 0;
    bool match = true;
    for (; bits >= 8; bits -= 8, ++i)
      if (a[i] != e.addr[i]) match = false;
    if (match && bits > 0) {
      uint8_t mask = static_cast<uint8_t>(0xFF << (8 - bits));
      if ((a[i] & mask) != (e.addr[i] & mask)) match = false;
    }
    if (!match) continue;
    if (!e.key.empty() && e.key != key_name) continue;
    return true;
  }
  return false;
}

}  // namespace server
