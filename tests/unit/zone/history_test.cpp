#include "tests/unit/test_support.h"
#include "zone/history.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "zone/changeset.h"
#include "zone/loader.h"
#include "zone/wire/rdata.h"

using namespace zone;
using namespace zone::wire;

namespace {

using test_support::W;

const std::string kOrigin = W("h.test.");

// Versions of a small zone: version n has serial 100+n and one TXT record "vN" per version
// reached so far, so every step adds one record (and step 3 also removes "v1").
std::shared_ptr<const Zone> version(int n) {
  std::string text = "$TTL 300\n@ SOA ns hm " + std::to_string(100 + n) +
                     " 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n";
  for (int i = 1; i <= n; ++i)
    if (!(i == 1 && n >= 3)) text += "t TXT v" + std::to_string(i) + "\n";
  LoadResult r = load_zone_text(text, kOrigin);
  for (const auto& e : r.errors) ADD_FAILURE() << e.str();
  return r.zone;
}

std::shared_ptr<const Changeset> step(int from, int to) {
  return std::make_shared<const Changeset>(diff_zones(*version(from), *version(to)));
}

void expect_equal(const Changeset& got, const Changeset& want) {
  EXPECT_EQ(got.soa_from, want.soa_from);
  EXPECT_EQ(got.soa_to, want.soa_to);
  auto sorted = [](std::vector<Record> v) {
    std::sort(v.begin(), v.end(), [](const Record& a, const Record& b) {
      return std::tie(a.owner, a.type, a.ttl, a.rdata) < std::tie(b.owner, b.type, b.ttl, b.rdata);
    });
    return v;
  };
  EXPECT_EQ(sorted(got.removed), sorted(want.removed));
  EXPECT_EQ(sorted(got.added), sorted(want.added));
}

TEST(History, SinceASerialInTheMiddleIsTheCondensedRest) {
  History h;
  for (int i = 0; i < 4; ++i) h.add(kOrigin, step(i, i + 1), 10);
  // From version 2 (serial 102) to version 4: v1 removed, v3 and v4 added.
  auto c = h.since(kOrigin, 102);
  ASSERT_TRUE(c);
  expect_equal(*c, diff_zones(*version(2), *version(4)));
  EXPECT_EQ(c->from_serial(), 102u);
  EXPECT_EQ(c->to_serial(), 104u);
  EXPECT_EQ(c->removed.size(), 1u);
  EXPECT_EQ(c->added.size(), 2u);
  // Applied to version 2 it gives version 4.
  std::vector<ZoneError> errors;
  auto z = apply_changeset(version(2), *c, errors);
  ASSERT_TRUE(z);
  EXPECT_EQ(zone_records(*z).size(), zone_records(*version(4)).size());
  EXPECT_EQ(content_hash(*z), content_hash(*version(4)));
  EXPECT_EQ(z->serial(), 104u);
  // From the oldest serial kept, and from the last step alone.
  auto all = h.since(kOrigin, 100);
  ASSERT_TRUE(all);
  expect_equal(*all, diff_zones(*version(0), *version(4)));
  auto last = h.since(kOrigin, 103);
  ASSERT_TRUE(last);
  expect_equal(*last, *step(3, 4));
}

TEST(History, UnknownSerialsAndZonesGiveNullopt) {
  History h;
  EXPECT_FALSE(h.since(kOrigin, 100));
  for (int i = 0; i < 3; ++i) h.add(kOrigin, step(i, i + 1), 10);
  EXPECT_FALSE(h.since(kOrigin, 99));
  EXPECT_FALSE(h.since(kOrigin, 150));
  // The newest serial starts no changeset: the IXFR code answers a current client itself.
  EXPECT_FALSE(h.since(kOrigin, 103));
  EXPECT_FALSE(h.since(W("other.test."), 100));
}

TEST(History, ANonContinuingChangesetRestartsTheChain) {
  History h;
  h.add(kOrigin, step(0, 1), 10);
  h.add(kOrigin, step(1, 2), 10);
  // After an AXFR (or a restart with another file) the next change starts at 103.
  h.add(kOrigin, step(3, 4), 10);
  EXPECT_FALSE(h.since(kOrigin, 100));
  EXPECT_FALSE(h.since(kOrigin, 101));
  auto c = h.since(kOrigin, 103);
  ASSERT_TRUE(c);
  expect_equal(*c, *step(3, 4));
  h.add(kOrigin, step(4, 5), 10);
  auto c2 = h.since(kOrigin, 103);
  ASSERT_TRUE(c2);
  expect_equal(*c2, diff_zones(*version(3), *version(5)));
}

TEST(History, KeepBoundDropsTheOldest) {
  History h;
  for (int i = 0; i < 5; ++i) h.add(kOrigin, step(i, i + 1), 3);
  // Kept: 102->103, 103->104, 104->105.
  EXPECT_FALSE(h.since(kOrigin, 100));
  EXPECT_FALSE(h.since(kOrigin, 101));
  auto c = h.since(kOrigin, 102);
  ASSERT_TRUE(c);
  expect_equal(*c, diff_zones(*version(2), *version(5)));
}

TEST(History, KeepZeroDisablesHistory) {
  History h;
  h.add(kOrigin, step(0, 1), 0);
  EXPECT_FALSE(h.since(kOrigin, 100));
}

TEST(History, ZonesAreKeptApartAndClearedSeparately) {
  History h;
  const std::string other = W("other.test.");
  h.add(kOrigin, step(0, 1), 10);
  h.add(other, step(1, 2), 10);  // a different zone: no chain break for kOrigin
  ASSERT_TRUE(h.since(kOrigin, 100));
  ASSERT_TRUE(h.since(other, 101));
  EXPECT_FALSE(h.since(other, 100));
  h.clear(kOrigin);
  EXPECT_FALSE(h.since(kOrigin, 100));
  EXPECT_TRUE(h.since(other, 101));
}

}  // namespace
