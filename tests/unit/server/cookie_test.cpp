#include "server/cookie.h"

#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <string>
#include <vector>

using namespace server;

namespace {

std::vector<uint8_t> hex(const std::string& h) {
  std::vector<uint8_t> v;
  for (size_t i = 0; i + 1 < h.size(); i += 2) v.push_back(static_cast<uint8_t>(std::stoi(h.substr(i, 2), nullptr, 16)));
  return v;
}
std::string to_hex(const uint8_t* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) s += d[p[i] >> 4], s += d[p[i] & 15];
  return s;
}
CookieSecret secret(const std::string& h) {
  CookieSecret s{};
  auto v = hex(h);
  std::copy(v.begin(), v.end(), s.begin());
  return s;
}
Peer peer(const std::string& text) {
  Peer p;
  EXPECT_TRUE(Peer::parse(text, p)) << text;
  return p;
}

// OpenSSL's SipHash-2-4 (EVP_MAC "SIPHASH", 8-byte output), for comparison.
std::string openssl_siphash(const uint8_t key[16], const uint8_t* data, size_t len) {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "SIPHASH", nullptr);
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  size_t size = 8;
  OSSL_PARAM params[] = {OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
                         OSSL_PARAM_construct_end()};
  EXPECT_EQ(EVP_MAC_init(ctx, key, 16, params), 1);
  EVP_MAC_update(ctx, data, len);
  uint8_t out[8];
  size_t n = 0;
  EXPECT_EQ(EVP_MAC_final(ctx, out, &n, sizeof out), 1);
  EVP_MAC_CTX_free(ctx);
  EVP_MAC_free(mac);
  return to_hex(out, n);
}
std::string ours(const uint8_t key[16], const uint8_t* data, size_t len) {
  uint64_t h = siphash24(key, data, len);
  uint8_t b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(h >> (8 * i));
  return to_hex(b, 8);
}

}  // namespace

TEST(SipHash, PaperVectors) {
  // Appendix A of the SipHash paper: key 00..0f, message 00..0e.
  uint8_t key[16], msg[64];
  for (int i = 0; i < 16; ++i) key[i] = static_cast<uint8_t>(i);
  for (int i = 0; i < 64; ++i) msg[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(siphash24(key, msg, 15), 0xa129ca6149be45e5ULL);
  EXPECT_EQ(siphash24(key, msg, 0), 0x726fdb47dd0e0e31ULL);
}

TEST(SipHash, SameAsOpenSslForEveryLengthUpTo64) {
  uint8_t key[16], msg[64];
  for (int i = 0; i < 16; ++i) key[i] = static_cast<uint8_t>(0xA0 + 7 * i);
  for (int i = 0; i < 64; ++i) msg[i] = static_cast<uint8_t>(31 * i + 5);
  for (size_t len = 0; len <= 64; ++len)
    EXPECT_EQ(ours(key, msg, len), openssl_siphash(key, msg, len)) << len;
}

// RFC 9018 Appendix A.
TEST(Cookie, Rfc9018Vectors) {
  struct Vector {
    const char* secret;
    const char* client;
    const char* ip;
    uint32_t now;
    const char* server;
  } vectors[] = {
      {"e5e973e5a6b2a43f48e7dc849e37bfcf", "2464c4abcf10c957", "198.51.100.100", 1559731985,
       "010000005cf79f111f8130c3eee29480"},
      {"e5e973e5a6b2a43f48e7dc849e37bfcf", "2464c4abcf10c957", "198.51.100.100", 1559734385,
       "010000005cf7a871d4a564a1442aca77"},
      {"e5e973e5a6b2a43f48e7dc849e37bfcf", "fc93fc62807ddb86", "203.0.113.203", 1559734700,
       "010000005cf7a9acf73a7810aca2381e"},
      {"445536bcd2513298075a5d379663c962", "22681ab97d52c298", "2001:db8:220:1:59de:d0f4:8769:82b8",
       1559741961, "010000005cf7c609a6bb79d16625507a"},
  };
  for (const auto& v : vectors) {
    uint8_t out[16];
    make_server_cookie(secret(v.secret), hex(v.client).data(), peer(v.ip), v.now, out);
    EXPECT_EQ(to_hex(out, 16), v.server) << v.ip;
  }
}

TEST(Cookie, ReservedBytesTheClientSentArePartOfTheHash) {
  // RFC 9018 A.3: the client returns a cookie with non-zero reserved bytes; it is valid.
  auto c = hex("fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5");
  std::vector<CookieSecret> s{secret("e5e973e5a6b2a43f48e7dc849e37bfcf")};
  CookieCheck k = check_cookie(c.data(), c.size(), peer("203.0.113.203"), 1559727985 + 600, s);
  EXPECT_EQ(k.state, CookieState::valid);
  EXPECT_FALSE(k.renew);
  // The same cookie from another address is not ours.
  k = check_cookie(c.data(), c.size(), peer("203.0.113.204"), 1559727985 + 600, s);
  EXPECT_EQ(k.state, CookieState::invalid);
}

TEST(Cookie, StatesAndLifetime) {
  CookieSecret cur = secret("00112233445566778899aabbccddeeff");
  std::vector<CookieSecret> secrets{cur};
  Peer p = peer("192.0.2.1");
  uint8_t cookie[24];
  auto client = hex("0102030405060708");
  std::copy(client.begin(), client.end(), cookie);
  const uint32_t t = 1700000000;
  make_server_cookie(cur, cookie, p, t, cookie + 8);

  EXPECT_EQ(check_cookie(cookie, 0, p, t, secrets).state, CookieState::none);
  EXPECT_EQ(check_cookie(cookie, 8, p, t, secrets).state, CookieState::client_only);
  CookieCheck k = check_cookie(cookie, 24, p, t + 100, secrets);
  EXPECT_EQ(k.state, CookieState::valid);
  EXPECT_FALSE(k.renew);
  k = check_cookie(cookie, 24, p, t + 1801, secrets);  // past half an hour: renew
  EXPECT_EQ(k.state, CookieState::valid);
  EXPECT_TRUE(k.renew);
  EXPECT_EQ(check_cookie(cookie, 24, p, t + 3600, secrets).state, CookieState::valid);
  EXPECT_EQ(check_cookie(cookie, 24, p, t + 3601, secrets).state, CookieState::invalid);
  // Made by a server of the set whose clock is up to 5 minutes ahead.
  EXPECT_EQ(check_cookie(cookie, 24, p, t - 300, secrets).state, CookieState::valid);
  EXPECT_EQ(check_cookie(cookie, 24, p, t - 301, secrets).state, CookieState::invalid);
  // One bit off in the hash, another client cookie, another secret: not ours.
  cookie[23] ^= 1;
  EXPECT_EQ(check_cookie(cookie, 24, p, t, secrets).state, CookieState::invalid);
  cookie[23] ^= 1;
  cookie[0] ^= 1;
  EXPECT_EQ(check_cookie(cookie, 24, p, t, secrets).state, CookieState::invalid);
  cookie[0] ^= 1;
  std::vector<CookieSecret> rotated{secret("ffeeddccbbaa99887766554433221100")};
  EXPECT_EQ(check_cookie(cookie, 24, p, t, rotated).state, CookieState::invalid);
  // After a rotation the previous secret is still accepted.
  rotated.push_back(cur);
  EXPECT_EQ(check_cookie(cookie, 24, p, t, rotated).state, CookieState::valid);
  // Server cookies we never make (another length, another version) are not valid.
  EXPECT_EQ(check_cookie(cookie, 16, p, t, secrets).state, CookieState::invalid);
  cookie[8] = 2;
  EXPECT_EQ(check_cookie(cookie, 24, p, t, secrets).state, CookieState::invalid);
}

TEST(Cookie, OptionEchoesAYoungCookieAndRenewsTheRest) {
  CookieSecret cur = secret("00112233445566778899aabbccddeeff");
  std::vector<CookieSecret> secrets{cur};
  Peer p = peer("2001:db8::7");
  uint8_t cookie[24] = {1, 2, 3, 4, 5, 6, 7, 8};
  const uint32_t t = 1700000000;
  make_server_cookie(cur, cookie, p, t, cookie + 8);
  uint8_t opt[kCookieOptionLen];
  // Young: echoed as it came.
  cookie_option(cookie, 24, check_cookie(cookie, 24, p, t + 10, secrets), p, t + 10, cur, opt);
  EXPECT_EQ(to_hex(opt, 4), "000a0018");
  EXPECT_EQ(to_hex(opt + 4, 24), to_hex(cookie, 24));
  // Old: a fresh one with the new time.
  cookie_option(cookie, 24, check_cookie(cookie, 24, p, t + 2000, secrets), p, t + 2000, cur, opt);
  uint8_t fresh[16];
  make_server_cookie(cur, cookie, p, t + 2000, fresh);
  EXPECT_EQ(to_hex(opt + 12, 16), to_hex(fresh, 16));
  EXPECT_EQ(to_hex(opt + 4, 8), to_hex(cookie, 8));
  // Client only: a fresh one.
  cookie_option(cookie, 8, check_cookie(cookie, 8, p, t, secrets), p, t, cur, opt);
  make_server_cookie(cur, cookie, p, t, fresh);
  EXPECT_EQ(to_hex(opt + 12, 16), to_hex(fresh, 16));
}
