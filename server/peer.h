// Where a message came from: the client's address and port, in the form the query path
// needs (ACLs, cookies, rate-limit prefixes, logs) without a system call or an allocation.
#pragma once
#include <boost/asio/ip/address.hpp>

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace server {

struct Peer {
  std::array<uint8_t, 16> addr{};  // network order; IPv4 uses the first 4 bytes
  uint16_t port = 0;
  bool v6 = false;

  // From a socket address; an IPv4-mapped IPv6 address becomes the IPv4 address.
  static Peer from(const sockaddr* sa);
  static Peer from(const boost::asio::ip::address& a, uint16_t port);
  // "192.0.2.1", "2001:db8::1" or with a port ("192.0.2.1:53", "[2001:db8::1]:53").
  static bool parse(std::string_view text, Peer& out);

  std::string_view bytes() const {
    return {reinterpret_cast<const char*>(addr.data()), v6 ? 16u : 4u};
  }
  boost::asio::ip::address address() const;
  std::string address_text() const;
  std::string str() const;  // "127.0.0.1:40521", "[::1]:40521"
};

}  // namespace server
