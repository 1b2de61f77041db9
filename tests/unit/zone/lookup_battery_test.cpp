// The lookup battery on one zone reached three ways: loaded from its file, built from its
// records in another order (as the SQLite store builds a secondary zone), and reached by a
// sequence of incremental changes (versions) from a minimal zone.
#include "tests/unit/zone/lookup_battery.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "tests/unit/test_support.h"
#include "zone/changeset.h"
#include "zone/loader.h"
#include "zone/wire/rdata.h"

using namespace zone;
using namespace zone::wire;

namespace {

using test_support::W;

std::shared_ptr<const Zone> from_file() {
  return test_support::load_test_zone("example.com.zone", "example.com.");
}

std::vector<std::tuple<std::string, uint16_t, uint32_t, std::string>> keys(const Zone& z) {
  std::vector<std::tuple<std::string, uint16_t, uint32_t, std::string>> out;
  for (const auto& r : zone_records(z)) out.emplace_back(r.owner, r.type, r.ttl, r.rdata);
  std::sort(out.begin(), out.end());
  return out;
}

TEST(LookupBattery, LoadedFromItsFile) {
  auto z = from_file();
  ASSERT_TRUE(z);
  lookup_battery::run(*z);
}

TEST(LookupBattery, BuiltFromItsRecordsInAnotherOrder) {
  auto file = from_file();
  ASSERT_TRUE(file);
  auto records = zone_records(*file);
  std::mt19937 rng(2024);
  std::shuffle(records.begin(), records.end(), rng);
  ZoneBuilder b(file->origin(), "store");
  for (const auto& r : records) b.add(r.owner, r.type, r.ttl, r.rdata);
  std::vector<ZoneError> errors;
  auto z = b.build(errors);
  for (const auto& e : errors) ADD_FAILURE() << e.str();
  ASSERT_TRUE(z);
  EXPECT_EQ(keys(*z), keys(*file));
  lookup_battery::run(*z);
}

TEST(LookupBattery, ReachedByIncrementalChanges) {
  auto file = from_file();
  ASSERT_TRUE(file);
  const std::string origin = file->origin();
  // A minimal zone at serial 1, then one changeset per name right below the apex (a
  // delegation arrives with its glue), each also taking out the scratch name of the one
  // before (so that empty non-terminals come and go), the last one setting the file's SOA.
  LoadResult min = load_zone_text(
      "$TTL 3600\n@ SOA ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 300\n"
      "@ NS ns1\n@ NS ns2\nscratch.tmp TXT \"x\"\n",
      W("example.com."));
  for (const auto& e : min.errors) ADD_FAILURE() << e.str();
  ASSERT_TRUE(min.zone);
  std::map<std::string, std::vector<Record>> groups;  // by the label below the apex
  Record file_soa;
  for (const auto& r : zone_records(*file)) {
    if (r.type == rrtype::SOA) {
      file_soa = r;
      continue;
    }
    if (r.owner == origin && r.type == rrtype::NS) continue;  // in the minimal zone already
    std::string top = r.owner;
    while (top.size() > origin.size() && parent_name(top).size() > origin.size())
      top = std::string(parent_name(top));
    groups[top].push_back(r);
  }
  std::shared_ptr<const Zone> z = min.zone;
  Record scratch{W("scratch.tmp.example.com."), rrtype::TXT, 3600, std::string("\x01x", 2)};
  size_t i = 0;
  for (const auto& [top, recs] : groups) {
    Changeset c;
    c.soa_from = zone_records(*z).front();
    c.soa_to = c.soa_from;
    set_soa_serial(c.soa_to.rdata, z->serial() + 1);
    if (++i == groups.size()) c.soa_to = file_soa;
    c.removed.push_back(scratch);
    c.added = recs;
    scratch = Record{W(std::string("s").append(std::to_string(i)).append(".deep.tmp.example.com.")), rrtype::TXT, 3600,
                     std::string("\x01y", 2)};
    if (i < groups.size()) c.added.push_back(scratch);
    std::vector<ZoneError> errors;
    auto next = apply_changeset(z, c, errors);
    for (const auto& e : errors) ADD_FAILURE() << name_to_text(top) << ": " << e.str();
    ASSERT_TRUE(next);
    z = next;
  }
  // A version over the minimal zone, not a rebuild.
  EXPECT_EQ(&z->flat_base(), min.zone.get());
  EXPECT_GT(z->delta_size(), 0u);
  EXPECT_EQ(keys(*z), keys(*file));
  EXPECT_EQ(z->serial(), file->serial());
  EXPECT_EQ(z->node_count(), file->node_count());
  EXPECT_FALSE(z->find(W("tmp.example.com.")));
  lookup_battery::run(*z);
}

}  // namespace
