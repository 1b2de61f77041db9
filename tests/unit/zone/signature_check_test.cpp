// Signature validity at load (zone/signature_check.h): a signed zone whose signatures expired
// (or are not valid yet, or expire soon) loads with a warning that counts them, names a few
// and points at the first one's line. Regression: "an operator's first days", 3 (a zone whose
// every signature expired in 2020 loaded and was served without a word).
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "tests/unit/test_support.h"
#include "zone/loader.h"
#include "zone/signature_check.h"

using namespace zone;
using test_support::W;

namespace {

// tests/data/zones/signed/nsec.example.test.zone: 30 RRSIGs, valid 2017-01-01 .. 2038-01-01.
std::string nsec_zone() {
  std::ifstream in(ZONED_TEST_DATA "/zones/signed/nsec.example.test.zone");
  return std::string(std::istreambuf_iterator<char>(in), {});
}
constexpr uint32_t k2017 = 1483228800;  // 2017-01-01 00:00:00 UTC
constexpr uint32_t k2038 = 2145916800;  // 2038-01-01 00:00:00 UTC
constexpr uint32_t kDay = 86400;

LoadResult load_at(uint32_t now, uint32_t window = 7 * kDay) {
  return load_zone_text(nsec_zone(), W("example.test."), "nsec.zone", SignatureWindow{window, now});
}

std::string all(const std::vector<ZoneError>& v) {
  std::string s;
  for (const auto& e : v) s += e.str() + "\n";
  return s;
}

}  // namespace

TEST(SignatureCheck, ValidSignaturesGiveNoWarning) {
  LoadResult r = load_at(k2017 + 365 * kDay);
  ASSERT_TRUE(r.ok()) << all(r.errors);
  EXPECT_TRUE(r.warnings.empty()) << all(r.warnings);
}

TEST(SignatureCheck, ExpiredSignaturesAreOneWarningWithCountNamesAndLine) {
  LoadResult r = load_at(k2038 + 30 * kDay);
  ASSERT_TRUE(r.ok()) << all(r.errors);  // served anyway: a warning, not an error
  ASSERT_EQ(r.warnings.size(), 1u) << all(r.warnings);
  const std::string w = r.warnings[0].str();
  EXPECT_EQ(w.rfind("nsec.zone:2: 30 of 30 signatures expired (the last on 2038-01-01 00:00:00 UTC)", 0), 0u) << w;
  EXPECT_NE(w.find("example.test. SOA, example.test. NS, example.test. MX and 27 more"), std::string::npos) << w;
  EXPECT_NE(w.find("; validators answer SERVFAIL for these names: re-sign the zone and reload"),
            std::string::npos) << w;
}

TEST(SignatureCheck, NotYetValidSignatures) {
  LoadResult r = load_at(k2017 - 10 * kDay);
  ASSERT_EQ(r.warnings.size(), 1u) << all(r.warnings);
  EXPECT_NE(r.warnings[0].message.find("30 of 30 signatures are not valid yet (the first from "
                                       "2017-01-01 00:00:00 UTC)"),
            std::string::npos)
      << r.warnings[0].message;
}

TEST(SignatureCheck, SignaturesExpiringWithinTheWindow) {
  LoadResult r = load_at(k2038 - 3 * kDay);
  ASSERT_EQ(r.warnings.size(), 1u) << all(r.warnings);
  EXPECT_NE(r.warnings[0].message.find("30 of 30 signatures expire within 7 day(s) (the first on "
                                       "2038-01-01 00:00:00 UTC)"),
            std::string::npos)
      << r.warnings[0].message;
  // A window of one day: three days ahead is fine.
  EXPECT_TRUE(load_at(k2038 - 3 * kDay, kDay).warnings.empty());
  // No window: only what has expired.
  EXPECT_TRUE(load_at(k2038 - 3 * kDay, 0).warnings.empty());
}

TEST(SignatureCheck, SomeExpiredSomeNot) {
  // One RRSIG re-dated to 2020: only that one is reported, on its own line.
  std::string text = nsec_zone();
  std::string from = "MX 13 2 3600 20380101000000 20170101000000";
  auto at = text.find(from);
  ASSERT_NE(at, std::string::npos);
  text.replace(at, from.size(), "MX 13 2 3600 20200101000000 20170101000000");
  LoadResult r = load_zone_text(text, W("example.test."), "z.zone", SignatureWindow{7 * kDay, k2017 + 4 * 365 * kDay});
  ASSERT_EQ(r.warnings.size(), 1u) << all(r.warnings);
  EXPECT_EQ(r.warnings[0].str(),
            "z.zone:7: 1 of 30 signatures expired (the last on 2020-01-01 00:00:00 UTC): "
            "example.test. MX; validators answer SERVFAIL for these names: re-sign the zone and "
            "reload");
}

TEST(SignatureCheck, TimesUseSerialArithmeticPast2038) {
  // RFC 4034 3.1.5: a signature from 2037 to 2040 is valid in 2039.
  std::string rd(18, '\0');
  auto put = [&](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) rd[at + i] = static_cast<char>(v >> (24 - 8 * i));
  };
  put(8, 2208988800u);   // expiration 2040-01-01
  put(12, 2114380800u);  // inception 2037-01-01
  EXPECT_EQ(signature_time(rd, 2177452800u), SignatureTime::valid);          // 2039-01-01
  EXPECT_EQ(signature_time(rd, 2208988800u + 1), SignatureTime::expired);
  EXPECT_EQ(signature_time(rd, 2114380800u - 1), SignatureTime::not_yet_valid);
  EXPECT_EQ(signature_time(rd, 2208988800u - kDay, 7 * kDay), SignatureTime::expiring);
  EXPECT_EQ(signature_time("short", 0), SignatureTime::valid);
}
