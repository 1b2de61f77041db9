// DNS Cookies (RFC 7873) with interoperable server cookies (RFC 9018): a server cookie is
// version 1, three reserved bytes, a timestamp, and SipHash-2-4 (keyed with the server
// secret) of client cookie | version | reserved | timestamp | client address. Servers of
// one anycast set that share the secret accept each other's cookies.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "server/peer.h"

namespace server {

using CookieSecret = std::array<uint8_t, 16>;

// SipHash-2-4 with a 64-bit result, as in the SipHash paper (Aumasson, Bernstein), little
// endian. A few dozen arithmetic operations: cheaper than setting up an OpenSSL EVP_MAC
// for every query.
uint64_t siphash24(const uint8_t key[16], const uint8_t* data, size_t len);
// SipHash-1-3: the variant hash tables use against collision flooding (Python, Rust), about
// twice as fast; for the rate limiter's buckets, never for cookies.
uint64_t siphash13(const uint8_t key[16], const uint8_t* data, size_t len);

inline constexpr size_t kClientCookieLen = 8;
inline constexpr size_t kServerCookieLen = 16;  // what we hand out (RFC 9018 4)
// RFC 9018 4.3: a cookie is good for an hour (and 5 minutes ahead, for clock skew between
// the servers of a set); past half an hour the client gets a fresh one.
inline constexpr uint32_t kCookieLifetime = 3600, kCookieRenewAfter = 1800, kCookieSkew = 300;

// Writes the 16-byte server cookie for `client` (8 bytes) at unix time `now`.
void make_server_cookie(const CookieSecret& secret, const uint8_t* client, const Peer& peer,
                        uint32_t now, uint8_t out[kServerCookieLen]);

enum class CookieState {
  none,         // no COOKIE option
  client_only,  // a client cookie and no server cookie (a first contact)
  invalid,      // a server cookie that none of the secrets made, or too old
  valid,        // a server cookie we made in the last hour for this client and address
};

struct CookieCheck {
  CookieState state = CookieState::none;
  bool renew = false;  // valid but older than kCookieRenewAfter: hand out a fresh one
};

// Checks the COOKIE option of a query (`cookie`, `len` bytes: 8 or 16..40) against every
// secret (the first is the current one, the others are accepted after a rotation).
CookieCheck check_cookie(const uint8_t* cookie, size_t len, const Peer& peer, uint32_t now,
                         const std::vector<CookieSecret>& secrets);

// The COOKIE option for the response, encoded (code, length, client cookie, server cookie:
// 28 bytes): the client's own server cookie echoed when it is valid and young, else a fresh
// one made with the current secret.
inline constexpr size_t kCookieOptionLen = 4 + kClientCookieLen + kServerCookieLen;
void cookie_option(const uint8_t* cookie, size_t len, const CookieCheck& check, const Peer& peer,
                   uint32_t now, const CookieSecret& current, uint8_t out[kCookieOptionLen]);

// 16 random bytes from the kernel (os_random) for a server that has no configured secret.
CookieSecret random_cookie_secret();

}  // namespace server
