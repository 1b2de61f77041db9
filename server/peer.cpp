#include "server/peer.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

namespace server {

Peer Peer::from(const sockaddr* sa) {
  Peer p;
  if (sa->sa_family == AF_INET6) {
    const auto* s6 = reinterpret_cast<const sockaddr_in6*>(sa);
    const uint8_t* b = s6->sin6_addr.s6_addr;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    if (std::memcmp(b, mapped, 12) == 0) {
      std::memcpy(p.addr.data(), b + 12, 4);
    } else {
      std::memcpy(p.addr.data(), b, 16);
      p.v6 = true;
    }
    p.port = ntohs(s6->sin6_port);
  } else if (sa->sa_family == AF_INET) {
    const auto* s4 = reinterpret_cast<const sockaddr_in*>(sa);
    std::memcpy(p.addr.data(), &s4->sin_addr, 4);
    p.port = ntohs(s4->sin_port);
  }
  return p;
}

Peer Peer::from(const boost::asio::ip::address& a, uint16_t port) {
  Peer p;
  p.port = port;
  if (a.is_v6() && !a.to_v6().is_v4_mapped()) {
    auto b = a.to_v6().to_bytes();
    std::memcpy(p.addr.data(), b.data(), 16);
    p.v6 = true;
  } else {
    auto v4 = a.is_v6() ? boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6())
                        : a.to_v4();
    auto b = v4.to_bytes();
    std::memcpy(p.addr.data(), b.data(), 4);
  }
  return p;
}

bool Peer::parse(std::string_view text, Peer& out) {
  std::string host(text);
  uint16_t port = 0;
  auto with_port = [&](size_t colon, size_t host_end, size_t host_start) {
    std::string digits = host.substr(colon + 1);
    if (digits.empty() || digits.size() > 5 || digits.find_first_not_of("0123456789") != std::string::npos)
      return false;
    unsigned long v = std::stoul(digits);
    if (v > 65535) return false;
    port = static_cast<uint16_t>(v);
    host = host.substr(host_start, host_end - host_start);
    return true;
  };
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    if (close == std::string::npos || close + 1 >= host.size() || host[close + 1] != ':') return false;
    if (!with_port(close + 1, close, 1)) return false;
  } else if (std::count(host.begin(), host.end(), ':') == 1) {
    size_t c = host.find(':');
    if (!with_port(c, c, 0)) return false;
  }
  Peer p;
  p.port = port;
  if (inet_pton(AF_INET, host.c_str(), p.addr.data()) == 1) {
    p.v6 = false;
  } else if (inet_pton(AF_INET6, host.c_str(), p.addr.data()) == 1) {
    p.v6 = true;
  } else {
    return false;
  }
  out = p;
  return true;
}

boost::asio::ip::address Peer::address() const {
  if (v6) {
    boost::asio::ip::address_v6::bytes_type b;
    std::memcpy(b.data(), addr.data(), 16);
    return boost::asio::ip::address_v6(b);
  }
  boost::asio::ip::address_v4::bytes_type b;
  std::memcpy(b.data(), addr.data(), 4);
  return boost::asio::ip::address_v4(b);
}

std::string Peer::address_text() const {
  char buf[INET6_ADDRSTRLEN];
  if (!inet_ntop(v6 ? AF_INET6 : AF_INET, addr.data(), buf, sizeof buf)) return "?";
  return buf;
}

std::string Peer::str() const {
  std::string a = address_text();
  return (v6 ? "[" + a + "]" : a) + ":" + std::to_string(port);
}

}  // namespace server
