#include "zone/zone_registry.h"

#include <gtest/gtest.h>

#include "tests/unit/test_support.h"

using test_support::load_test_zone;
using test_support::W;

// A replaced zone is freed by sweep() (the main thread), never by the worker that drops the
// last snapshot holding it, and only once no snapshot holds it.
TEST(ZoneRegistry, ReplacedZonesAreFreedBySweepOnceNoSnapshotHoldsThem) {
  zone::ZoneTablePublisher pub;
  zone::ZoneRegistry reg(pub);
  std::weak_ptr<const zone::Zone> old;
  {
    auto a = load_test_zone("example.com.zone", "example.com.");
    ASSERT_TRUE(a);
    old = a;
    reg.publish(W("example.com."), a);
  }
  zone::ZoneTableReader worker(pub);
  EXPECT_NE(worker.get().find_exact(W("example.com.")), nullptr);

  auto b = load_test_zone("example.com.zone", "example.com.");
  reg.publish(W("example.com."), b);
  reg.sweep();
  EXPECT_FALSE(old.expired());  // the worker has not looked at the new table yet

  // The worker moves on to the new table: it only drops a reference, the zone stays...
  EXPECT_EQ(worker.get().find_exact(W("example.com.")), b.get());
  EXPECT_FALSE(old.expired());
  // ...until the main thread sweeps.
  reg.sweep();
  EXPECT_TRUE(old.expired());
}

// A zone that stays served (same snapshot in the new set) is not retired.
TEST(ZoneRegistry, UnchangedZonesAreNotRetired) {
  zone::ZoneTablePublisher pub;
  zone::ZoneRegistry reg(pub);
  auto a = load_test_zone("example.com.zone", "example.com.");
  std::weak_ptr<const zone::Zone> w = a;
  reg.publish(W("example.com."), a);
  reg.publish(W("example.com."), a);
  a.reset();
  reg.sweep();
  EXPECT_FALSE(w.expired());
  zone::ZoneTableReader worker(pub);
  EXPECT_NE(worker.get().find_exact(W("example.com.")), nullptr);
}

// One zone's change leaves every other zone of the table as it was (shared, not copied),
// and a configured zone with nothing to serve is found as a placeholder answered SERVFAIL.
TEST(ZoneTable, ChangingOneZoneKeepsTheOthersAndPlaceholdersAreExpired) {
  zone::ZoneTablePublisher pub;
  zone::ZoneRegistry reg(pub);
  auto a = load_test_zone("example.com.zone", "example.com.");
  auto b = load_test_zone("other.net.zone", "other.net.");
  ASSERT_TRUE(a && b);
  reg.publish({{W("example.com."), a, false}, {W("other.net."), b, false}});
  auto before = pub.current();
  reg.publish(W("broken.test."), nullptr);
  auto after = pub.current();
  EXPECT_EQ(after->size(), 3u);
  EXPECT_EQ(after->find_exact(W("example.com.")), a.get());
  EXPECT_EQ(after->find_exact(W("other.net.")), b.get());
  EXPECT_EQ(after->find_exact(W("broken.test.")), nullptr);
  EXPECT_TRUE(after->unavailable(W("broken.test.")));
  const zone::Zone* placeholder = after->find(W("www.broken.test."));
  ASSERT_NE(placeholder, nullptr);
  EXPECT_TRUE(placeholder->expired());
  EXPECT_EQ(before->find(W("www.broken.test.")), nullptr);  // the old version is unchanged
  reg.remove(W("broken.test."));
  EXPECT_EQ(pub.current()->find(W("www.broken.test.")), nullptr);
  EXPECT_EQ(pub.current()->size(), 2u);
  size_t n = 0;
  pub.current()->for_each([&](std::string_view, const std::shared_ptr<const zone::Zone>&) { ++n; });
  EXPECT_EQ(n, 2u);
}

// The deepest zone wins, across shards.
TEST(ZoneTable, FindsTheDeepestZone) {
  auto parent = load_test_zone("example.com.zone", "example.com.");
  auto child = load_test_zone("child.example.com.zone", "child.example.com.");
  ASSERT_TRUE(parent && child);
  std::map<std::string, std::shared_ptr<const zone::Zone>> m{{W("example.com."), parent},
                                                             {W("child.example.com."), child}};
  zone::ZoneTable t(m);
  EXPECT_EQ(t.find(W("a.b.child.example.com.")), child.get());
  EXPECT_EQ(t.find(W("www.example.com.")), parent.get());
  EXPECT_EQ(t.find_parent(W("child.example.com.")), parent.get());
  EXPECT_EQ(t.find(W("example.org.")), nullptr);
}
