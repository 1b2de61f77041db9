#include "server/cookie.h"

#include <openssl/crypto.h>

#include <cstring>
#include <stdexcept>

#include "server/os_random.h"
#include "zone/wire/message.h"

namespace server {

namespace {

inline uint64_t rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }
inline uint64_t load64_le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

}  // namespace

namespace {

// SipHash with `C` compression and `D` finalization rounds.
template <int C, int D>
uint64_t siphash(const uint8_t key[16], const uint8_t* data, size_t len) {
  uint64_t k0 = load64_le(key), k1 = load64_le(key + 8);
  uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
  uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
  auto round = [&] {
    v0 += v1, v1 = rotl(v1, 13), v1 ^= v0, v0 = rotl(v0, 32);
    v2 += v3, v3 = rotl(v3, 16), v3 ^= v2;
    v0 += v3, v3 = rotl(v3, 21), v3 ^= v0;
    v2 += v1, v1 = rotl(v1, 17), v1 ^= v2, v2 = rotl(v2, 32);
  };
  size_t full = len & ~size_t{7};
  for (size_t i = 0; i < full; i += 8) {
    uint64_t m = load64_le(data + i);
    v3 ^= m;
    for (int r = 0; r < C; ++r) round();
    v0 ^= m;
  }
  uint64_t last = static_cast<uint64_t>(len) << 56;
  for (size_t i = 0; i < (len & 7); ++i) last |= static_cast<uint64_t>(data[full + i]) << (8 * i);
  v3 ^= last;
  for (int r = 0; r < C; ++r) round();
  v0 ^= last;
  v2 ^= 0xff;
  for (int r = 0; r < D; ++r) round();
  return v0 ^ v1 ^ v2 ^ v3;
}

}  // namespace

uint64_t siphash24(const uint8_t key[16], const uint8_t* data, size_t len) {
  return siphash<2, 4>(key, data, len);
}
uint64_t siphash13(const uint8_t key[16], const uint8_t* data, size_t len) {
  return siphash<1, 3>(key, data, len);
}

namespace {

// The 8-byte hash of RFC 9018 4.4 over client cookie | version, reserved, timestamp (as
// received or as made) | client address, written as the hash's bytes in little-endian
// order (SipHash's output convention, which the RFC's test vectors follow).
void cookie_hash(const CookieSecret& secret, const uint8_t* client, const uint8_t* head8,
                 const Peer& peer, uint8_t out[8]) {
  uint8_t in[8 + 8 + 16];
  std::memcpy(in, client, 8);
  std::memcpy(in + 8, head8, 8);
  std::string_view a = peer.bytes();
  std::memcpy(in + 16, a.data(), a.size());
  uint64_t h = siphash24(secret.data(), in, 16 + a.size());
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(h >> (8 * i));
}

}  // namespace

void make_server_cookie(const CookieSecret& secret, const uint8_t* client, const Peer& peer,
                        uint32_t now, uint8_t out[kServerCookieLen]) {
  out[0] = 1;  // version
  out[1] = out[2] = out[3] = 0;
  zone::wire::put32(out + 4, now);
  cookie_hash(secret, client, out, peer, out + 8);
}

CookieCheck check_cookie(const uint8_t* cookie, size_t len, const Peer& peer, uint32_t now,
                         const std::vector<CookieSecret>& secrets) {
  CookieCheck c;
  if (len == 0) return c;
  if (len == kClientCookieLen) {
    c.state = CookieState::client_only;
    return c;
  }
  c.state = CookieState::invalid;
  // Only what we hand out can be ours: 16 bytes, version 1.
  if (len != kClientCookieLen + kServerCookieLen || cookie[8] != 1) return c;
  const uint8_t* server = cookie + kClientCookieLen;
  uint32_t stamp = zone::wire::get32(server + 4);
  // Serial-number arithmetic on the timestamp (RFC 9018 4.3 and RFC 1982): it wraps.
  uint32_t age = now - stamp;
  bool ahead = age > 0x80000000u;
  if (ahead ? (stamp - now) > kCookieSkew : age > kCookieLifetime) return c;
  for (const auto& s : secrets) {
    uint8_t h[8];
    cookie_hash(s, cookie, server, peer, h);
    if (CRYPTO_memcmp(h, server + 8, 8) == 0) {
      c.state = CookieState::valid;
      c.renew = !ahead && age > kCookieRenewAfter;
      return c;
    }
  }
  return c;
}

void cookie_option(const uint8_t* cookie, size_t len, const CookieCheck& check, const Peer& peer,
                   uint32_t now, const CookieSecret& current, uint8_t out[kCookieOptionLen]) {
  zone::wire::put16(out, zone::wire::edns_option::COOKIE);
  zone::wire::put16(out + 2, kClientCookieLen + kServerCookieLen);
  std::memcpy(out + 4, cookie, kClientCookieLen);
  if (check.state == CookieState::valid && !check.renew)
    std::memcpy(out + 4 + kClientCookieLen, cookie + kClientCookieLen, kServerCookieLen);
  else
    make_server_cookie(current, cookie, peer, now, out + 4 + kClientCookieLen);
}

CookieSecret random_cookie_secret() {
  CookieSecret s;
  if (!os_random(s.data(), s.size()))
    throw std::runtime_error("cannot generate a DNS cookie secret: no random bytes");
  return s;
}

}  // namespace server
