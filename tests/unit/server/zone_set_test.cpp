#include "server/zone_set.h"

#include <gtest/gtest.h>

#include "tests/unit/test_support.h"

using test_support::load_test_zone;
using test_support::W;

// A replaced zone is freed by sweep() (the main thread), never by the worker that drops the
// last snapshot holding it, and only once no snapshot holds it.
TEST(ZoneRegistry, ReplacedZonesAreFreedBySweepOnceNoSnapshotHoldsThem) {
  zone::ZoneTablePublisher pub;
  server::ZoneRegistry reg(pub);
  std::weak_ptr<const zone::Zone> old;
  {
    auto a = load_test_zone("example.com.zone", "example.com.");
    ASSERT_TRUE(a);
    old = a;
    reg.set_primaries({{W("example.com."), a}});
  }
  zone::ZoneTableReader worker(pub);
  EXPECT_NE(worker.get().find_exact(W("example.com.")), nullptr);

  auto b = load_test_zone("example.com.zone", "example.com.");
  reg.set_primaries({{W("example.com."), b}});
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
  server::ZoneRegistry reg(pub);
  auto a = load_test_zone("example.com.zone", "example.com.");
  std::weak_ptr<const zone::Zone> w = a;
  reg.set_primaries({{W("example.com."), a}});
  reg.set_primaries({{W("example.com."), a}});
  a.reset();
  reg.sweep();
  EXPECT_FALSE(w.expired());
  zone::ZoneTableReader worker(pub);
  EXPECT_NE(worker.get().find_exact(W("example.com.")), nullptr);
}
