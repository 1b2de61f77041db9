// TSIG interoperability: what ldns signs we verify, what we sign ldns verifies.
#include "zone/wire/tsig.h"

#include <gtest/gtest.h>
#include <ldns/ldns.h>

#include <cstring>
#include <ctime>
#include <vector>

#include "zone/wire/message.h"

using namespace zone::wire;

namespace {
const char* kSecret = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0IQ==";

std::vector<uint8_t> ldns_signed_query(const char* key, const char* alg, const char* secret) {
  ldns_pkt* pkt = nullptr;
  EXPECT_EQ(ldns_pkt_query_new_frm_str(&pkt, "example.com.", LDNS_RR_TYPE_AXFR,
                                       LDNS_RR_CLASS_IN, 0),
            LDNS_STATUS_OK);
  ldns_pkt_set_id(pkt, 4242);
  EXPECT_EQ(ldns_pkt_tsig_sign(pkt, key, secret, 300, alg, nullptr), LDNS_STATUS_OK);
  uint8_t* wire = nullptr;
  size_t n = 0;
  EXPECT_EQ(ldns_pkt2wire(&wire, pkt, &n), LDNS_STATUS_OK);
  std::vector<uint8_t> out(wire, wire + n);
  free(wire);
  ldns_pkt_free(pkt);
  return out;
}
}  // namespace

TEST(Tsig, KeyFromConfig) {
  std::string err;
  auto k = make_tsig_key("xfr-key", "hmac-sha256", kSecret, &err);
  ASSERT_TRUE(k) << err;
  EXPECT_EQ(k->secret, "secret-secret-secret-secret!");
  EXPECT_FALSE(make_tsig_key("xfr-key", "hmac-md4", kSecret, &err));
  EXPECT_FALSE(make_tsig_key("xfr-key", "hmac-sha256", "not base64!", &err));
}

TEST(Tsig, VerifiesWhatLdnsSignsForEveryAlgorithm) {
  for (const char* alg : {"hmac-sha1.", "hmac-sha256.", "hmac-sha512."}) {
    std::string a(alg);
    a.pop_back();
    auto key = make_tsig_key("xfr-key", a, kSecret, nullptr);
    ASSERT_TRUE(key);
    auto msg = ldns_signed_query("xfr-key.", alg, kSecret);
    auto finder = [&](std::string_view n) -> const TsigKey* {
      return n == key->name ? &*key : nullptr;
    };
    TsigCheck c = tsig_verify(msg.data(), msg.size(), finder, time(nullptr), {}, false);
    EXPECT_EQ(c.status, TsigCheck::ok) << alg;
    // One flipped bit in the question: BADSIG.
    msg[14] ^= 1;
    c = tsig_verify(msg.data(), msg.size(), finder, time(nullptr), {}, false);
    EXPECT_EQ(c.status, TsigCheck::badsig) << alg;
  }
}

TEST(Tsig, UnknownKeyAndClockSkew) {
  auto key = make_tsig_key("xfr-key", "hmac-sha256", kSecret, nullptr);
  auto msg = ldns_signed_query("other-key.", "hmac-sha256.", kSecret);
  auto finder = [&](std::string_view n) -> const TsigKey* {
    return n == key->name ? &*key : nullptr;
  };
  EXPECT_EQ(tsig_verify(msg.data(), msg.size(), finder, time(nullptr), {}, false).status,
            TsigCheck::badkey);
  msg = ldns_signed_query("xfr-key.", "hmac-sha256.", kSecret);
  EXPECT_EQ(tsig_verify(msg.data(), msg.size(), finder, time(nullptr) + 1000, {}, false).status,
            TsigCheck::badtime);
  uint8_t plain[12] = {0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(tsig_verify(plain, sizeof plain, finder, 0, {}, false).status,
            TsigCheck::unsigned_message);
}

TEST(Tsig, LdnsVerifiesWhatWeSignIncludingLaterMessages) {
  auto key = make_tsig_key("xfr-key", "hmac-sha256", kSecret, nullptr);
  auto query = ldns_signed_query("xfr-key.", "hmac-sha256.", kSecret);
  auto finder = [&](std::string_view) -> const TsigKey* { return &*key; };
  TsigCheck qc = tsig_verify(query.data(), query.size(), finder, time(nullptr), {}, false);
  ASSERT_EQ(qc.status, TsigCheck::ok);

  // A response: header + question copied from the query (without its TSIG).
  ldns_pkt* qpkt = nullptr;
  ASSERT_EQ(ldns_wire2pkt(&qpkt, query.data(), query.size()), LDNS_STATUS_OK);
  ldns_rdf* qmac = ldns_rr_rdf(ldns_pkt_tsig(qpkt), 3);

  std::string prior = qc.mac;
  for (int i = 0; i < 3; ++i) {
    uint8_t buf[512];
    size_t len = 0;
    const uint8_t hdr[12] = {0x10, 0x92, 0x84, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    std::memcpy(buf, hdr, 12);
    len = 12;
    auto mac = tsig_sign(buf, len, sizeof buf, *key, time(nullptr), prior, i > 0);
    ASSERT_TRUE(mac);
    ldns_pkt* rpkt = nullptr;
    ASSERT_EQ(ldns_wire2pkt(&rpkt, buf, len), LDNS_STATUS_OK);
    ldns_rdf* prior_rdf = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_INT16_DATA, 0, nullptr);
    std::vector<uint8_t> pm(2 + prior.size());
    pm[0] = static_cast<uint8_t>(prior.size() >> 8);
    pm[1] = static_cast<uint8_t>(prior.size());
    std::memcpy(pm.data() + 2, prior.data(), prior.size());
    ldns_rdf_deep_free(prior_rdf);
    prior_rdf = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_INT16_DATA, pm.size(), pm.data());
    EXPECT_TRUE(ldns_pkt_tsig_verify_next(rpkt, buf, len, "xfr-key.", kSecret,
                                          i == 0 ? qmac : prior_rdf, i > 0))
        << "message " << i;
    // Our own verifier agrees.
    EXPECT_EQ(tsig_verify(buf, len, finder, time(nullptr), prior, i > 0).status, TsigCheck::ok);
    ldns_rdf_deep_free(prior_rdf);
    ldns_pkt_free(rpkt);
    prior = *mac;
  }
  ldns_pkt_free(qpkt);
}
