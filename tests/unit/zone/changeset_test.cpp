#include "tests/unit/test_support.h"
#include "zone/changeset.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "zone/loader.h"
#include "zone/wire/message.h"
#include "zone/wire/rdata.h"

using namespace zone;
using namespace zone::wire;

namespace {

using test_support::W;

constexpr auto load = &test_support::load_test_zone;

std::shared_ptr<const Zone> parse(const std::string& text, const std::string& origin) {
  LoadResult r = load_zone_text(text, W(origin));
  if (!r.ok()) {
    for (const auto& e : r.errors) ADD_FAILURE() << e.str();
    return nullptr;
  }
  return r.zone;
}

using Key = std::tuple<std::string, uint16_t, uint32_t, std::string>;
Key key_of(const Record& r) { return {r.owner, r.type, r.ttl, r.rdata}; }

// A zone's records as a set; the count is checked separately so duplicates cannot hide.
std::set<Key> record_set(const Zone& z) {
  std::set<Key> out;
  for (const auto& r : zone_records(z)) out.insert(key_of(r));
  return out;
}
std::set<Key> record_set(const std::vector<Record>& v) {
  std::set<Key> out;
  for (const auto& r : v) out.insert(key_of(r));
  return out;
}

void expect_same_zone(const Zone& got, const Zone& want) {
  EXPECT_EQ(got.origin(), want.origin());
  EXPECT_EQ(got.serial(), want.serial());
  EXPECT_EQ(zone_records(got).size(), zone_records(want).size());
  EXPECT_EQ(record_set(got), record_set(want));
}

std::string a_rdata(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return std::string{static_cast<char>(a), static_cast<char>(b), static_cast<char>(c),
                     static_cast<char>(d)};
}

std::string txt_rdata(const std::string& s) {
  return std::string(1, static_cast<char>(s.size())) + s;
}

// Writes `serial` into a copy of an SOA record's RDATA.
Record soa_at(Record soa, uint32_t serial) {
  auto p = reinterpret_cast<uint8_t*>(soa.rdata.data());
  size_t m = name_length(p, soa.rdata.size());
  size_t n = name_length(p + m, soa.rdata.size() - m);
  put32(p + m + n, serial);
  return soa;
}

// A new version of z: its records, edited by `edit`, with the SOA serial set to `serial`.
// Null (with the errors reported) when the edited records do not make a valid zone.
std::shared_ptr<const Zone> edited(const Zone& z, uint32_t serial,
                                   const std::function<void(std::vector<Record>&)>& edit,
                                   bool report = true) {
  auto recs = zone_records(z);
  edit(recs);
  ZoneBuilder b(z.origin(), z.source());
  for (const auto& r : recs) {
    if (r.type == rrtype::SOA)
      b.add(r.owner, r.type, r.ttl, soa_at(r, serial).rdata);
    else
      b.add(r.owner, r.type, r.ttl, r.rdata);
  }
  std::vector<ZoneError> errors;
  auto out = b.build(errors);
  if (report)
    for (const auto& e : errors) ADD_FAILURE() << e.str();
  return out;
}

// diff(from, to) applied to from must give exactly `to`.
void check_round_trip(const std::shared_ptr<const Zone>& from, const Zone& to) {
  Changeset c = diff_zones(*from, to);
  EXPECT_EQ(c.from_serial(), from->serial());
  EXPECT_EQ(c.to_serial(), to.serial());
  for (const auto& r : c.removed) EXPECT_NE(r.type, rrtype::SOA);
  for (const auto& r : c.added) EXPECT_NE(r.type, rrtype::SOA);
  std::vector<ZoneError> errors;
  auto got = apply_changeset(from, c, errors);
  for (const auto& e : errors) ADD_FAILURE() << e.str();
  ASSERT_TRUE(got);
  expect_same_zone(*got, to);
}

struct TestZone {
  const char* file;
  const char* origin;
};
const TestZone kTestZones[] = {
    {"example.com.zone", "example.com."},
    {"other.net.zone", "other.net."},
    {"child.example.com.zone", "child.example.com."},
};

TEST(ZoneRecords, SoaFirstAndEveryRecordOnce) {
  auto z = load("example.com.zone", "example.com.");
  ASSERT_TRUE(z);
  auto recs = zone_records(*z);
  ASSERT_FALSE(recs.empty());
  EXPECT_EQ(recs.front().type, rrtype::SOA);
  EXPECT_EQ(recs.front().owner, W("example.com."));
  EXPECT_EQ(recs.size(), z->record_count());
  EXPECT_EQ(record_set(recs).size(), recs.size());
  EXPECT_EQ(std::count_if(recs.begin(), recs.end(),
                          [](const Record& r) { return r.type == rrtype::SOA; }),
            1);
  // Both www A records, with the zone's TTL.
  EXPECT_TRUE(record_set(recs).count({W("www.example.com."), rrtype::A, 3600, a_rdata(192, 0, 2, 10)}));
  EXPECT_TRUE(record_set(recs).count({W("www.example.com."), rrtype::A, 3600, a_rdata(192, 0, 2, 11)}));
}

TEST(DiffZones, IdenticalContentGivesEmptyChangesetWithBothSoas) {
  auto z = load("example.com.zone", "example.com.");
  ASSERT_TRUE(z);
  auto z2 = with_serial(z, z->serial() + 1);
  ASSERT_TRUE(z2);
  Changeset c = diff_zones(*z, *z2);
  EXPECT_TRUE(c.empty());
  EXPECT_EQ(c.from_serial(), 2026112401u);
  EXPECT_EQ(c.to_serial(), 2026112402u);
  check_round_trip(z, *z2);
}

// One edit of example.com and the exact difference it must produce.
struct Variation {
  const char* what;
  std::function<void(std::vector<Record>&)> edit;
  size_t removed, added;
};

std::vector<Variation> example_variations() {
  const std::string www = W("www.example.com."), deleg = W("deleg.example.com."),
                    ns1deleg = W("ns1.deleg.example.com."), ns1child = W("ns1.child.example.com."),
                    apex = W("example.com."), mail = W("mail.example.com.");
  return {
      {"TTL change of an RRset is remove + add of every member",
       [=](auto& v) {
         for (auto& r : v)
           if (r.owner == www && r.type == rrtype::A) r.ttl = 60;
       },
       2, 2},
      {"RRset member added",
       [=](auto& v) { v.push_back({www, rrtype::A, 3600, a_rdata(192, 0, 2, 12)}); }, 0, 1},
      {"RRset member removed",
       [=](auto& v) {
         std::erase_if(v, [&](const Record& r) {
           return r.owner == www && r.type == rrtype::A && r.rdata == a_rdata(192, 0, 2, 11);
         });
       },
       1, 0},
      {"node added",
       [=](auto& v) {
         v.push_back({W("new.example.com."), rrtype::A, 300, a_rdata(192, 0, 2, 77)});
         v.push_back({W("new.example.com."), rrtype::TXT, 300, txt_rdata("new")});
       },
       0, 2},
      {"node removed", [=](auto& v) { std::erase_if(v, [&](const Record& r) { return r.owner == mail; }); },
       1, 0},
      {"node added below an empty non-terminal",
       [=](auto& v) { v.push_back({W("x.y.z.example.com."), rrtype::A, 3600, a_rdata(192, 0, 2, 78)}); },
       0, 1},
      {"glue address changed",
       [=](auto& v) {
         for (auto& r : v)
           if (r.owner == ns1deleg && r.type == rrtype::A) r.rdata = a_rdata(192, 0, 2, 202);
       },
       1, 1},
      {"glue AAAA added",
       [=](auto& v) {
         std::string aaaa(16, '\0');
         aaaa[0] = 0x20, aaaa[1] = 0x01, aaaa[2] = 0x0d, aaaa[3] = static_cast<char>(0xb8);
         aaaa[15] = 0x10;
         v.push_back({ns1child, rrtype::AAAA, 3600, aaaa});
       },
       0, 1},
      {"delegation removed with its DS and glue",
       [=](auto& v) {
         std::erase_if(v, [&](const Record& r) { return is_subdomain(r.owner, deleg); });
       },
       5, 0},  // 2 NS, DS, glue A and AAAA
      {"apex NS set changed",
       [=](auto& v) {
         std::erase_if(v, [&](const Record& r) {
           return r.owner == apex && r.type == rrtype::NS && r.rdata == W("ns2.example.com.");
         });
         v.push_back({apex, rrtype::NS, 3600, W("ns.other.net.")});
       },
       1, 1},
  };
}

TEST(DiffZones, ApplyReproducesTargetForEachVariation) {
  auto z = load("example.com.zone", "example.com.");
  ASSERT_TRUE(z);
  for (const auto& v : example_variations()) {
    SCOPED_TRACE(v.what);
    auto to = edited(*z, z->serial() + 1, v.edit);
    ASSERT_TRUE(to);
    Changeset c = diff_zones(*z, *to);
    EXPECT_EQ(c.removed.size(), v.removed);
    EXPECT_EQ(c.added.size(), v.added);
    check_round_trip(z, *to);
    // And back again.
    auto back = with_serial(z, to->serial() + 1);
    check_round_trip(to, *back);
  }
}

TEST(DiffZones, ApplyReproducesTargetForEverySingleRecordEdit) {
  // On every test zone: drop each record in turn, and change the TTL of each RRset in turn.
  for (const auto& tz : kTestZones) {
    SCOPED_TRACE(tz.file);
    auto z = load(tz.file, tz.origin);
    ASSERT_TRUE(z);
    auto recs = zone_records(*z);
    int tried = 0;
    for (size_t i = 1; i < recs.size(); ++i) {
      SCOPED_TRACE("record " + std::to_string(i));
      const Record gone = recs[i];
      auto without = edited(
          *z, z->serial() + 1,
          [&](auto& v) { std::erase_if(v, [&](const Record& r) { return r == gone; }); }, false);
      if (without) {  // some removals (needed glue) make no valid zone
        ++tried;
        Changeset c = diff_zones(*z, *without);
        ASSERT_EQ(c.removed.size(), 1u);
        EXPECT_EQ(c.removed[0], gone);
        EXPECT_TRUE(c.added.empty());
        check_round_trip(z, *without);
        check_round_trip(without, *with_serial(z, z->serial() + 2));
      }
      auto ttl = edited(*z, z->serial() + 1, [&](auto& v) {
        for (auto& r : v)
          if (r.owner == gone.owner && r.type == gone.type) r.ttl = gone.ttl + 1;
      });
      ASSERT_TRUE(ttl);
      check_round_trip(z, *ttl);
    }
    EXPECT_GT(tried, 0);
  }
}

TEST(ApplyChangeset, RejectsAChangesetForAnotherSerial) {
  auto z = load("example.com.zone", "example.com.");
  ASSERT_TRUE(z);
  auto to = edited(*z, z->serial() + 2, [](auto& v) { v.pop_back(); });
  ASSERT_TRUE(to);
  Changeset c = diff_zones(*z, *to);
  auto other_base = with_serial(z, z->serial() + 1);
  std::vector<ZoneError> errors;
  EXPECT_FALSE(apply_changeset(other_base, c, errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].message.find("starts at serial 2026112401"), std::string::npos)
      << errors[0].message;
  EXPECT_NE(errors[0].message.find("2026112402"), std::string::npos) << errors[0].message;
  EXPECT_NE(errors[0].str().find("2026112401->2026112403"), std::string::npos) << errors[0].str();
}

TEST(ApplyChangeset, RejectsRemovalOfAMissingRecord) {
  auto z = load("example.com.zone", "example.com.");
  ASSERT_TRUE(z);
  auto to = with_serial(z, z->serial() + 1);
  Changeset c = diff_zones(*z, *to);
  // Present with another TTL only: still missing (TTL is part of the record).
  c.removed.push_back({W("www.example.com."), rrtype::A, 60, a_rdata(192, 0, 2, 10)});
  c.removed.push_back({W("nothere.example.com."), rrtype::A, 3600, a_rdata(192, 0, 2, 1)});
  std::vector<ZoneError> errors;
  EXPECT_FALSE(apply_changeset(z, c, errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].message.find("removes 2 record(s) that the zone does not have"),
            std::string::npos)
      << errors[0].message;
}

TEST(ApplyChangeset, RejectsAResultThatFailsTheZoneChecks) {
  auto z = load("example.com.zone", "example.com.");
  ASSERT_TRUE(z);
  Changeset c = diff_zones(*z, *with_serial(z, z->serial() + 1));
  // A CNAME beside the A records of www.
  c.added.push_back({W("www.example.com."), rrtype::CNAME, 3600, W("mail.example.com.")});
  std::vector<ZoneError> errors;
  EXPECT_FALSE(apply_changeset(z, c, errors));
  EXPECT_FALSE(errors.empty());
}

TEST(ApplyChangeset, LeavesTheBaseUntouched) {
  auto z = load("example.com.zone", "example.com.");
  ASSERT_TRUE(z);
  auto before = record_set(*z);
  auto to = edited(*z, z->serial() + 1, [](auto& v) { v.pop_back(); });
  std::vector<ZoneError> errors;
  ASSERT_TRUE(apply_changeset(z, diff_zones(*z, *to), errors));
  EXPECT_EQ(record_set(*z), before);
  EXPECT_EQ(z->serial(), 2026112401u);
}

// A chain z0 -> z1 -> z2 -> z3 whose condensed form must equal diff(z0, z3).
TEST(Condense, ChainEqualsDirectDiff) {
  auto z0 = load("example.com.zone", "example.com.");
  ASSERT_TRUE(z0);
  const std::string tmp = W("tmp.example.com."), www = W("www.example.com."),
                    mail = W("mail.example.com.");
  // z1: adds tmp (later removed again), adds a www member, changes mail's TTL.
  auto z1 = edited(*z0, 2026112402, [&](auto& v) {
    v.push_back({tmp, rrtype::A, 3600, a_rdata(192, 0, 2, 99)});
    v.push_back({www, rrtype::A, 3600, a_rdata(192, 0, 2, 12)});
    for (auto& r : v)
      if (r.owner == mail) r.ttl = 120;
  });
  // z2: removes tmp again and a www member that was there from the start.
  auto z2 = edited(*z1, 2026112403, [&](auto& v) {
    std::erase_if(v, [&](const Record& r) {
      return r.owner == tmp || (r.owner == www && r.rdata == a_rdata(192, 0, 2, 11));
    });
  });
  // z3: mail's TTL back to the original, and www .11 back too.
  auto z3 = edited(*z2, 2026112404, [&](auto& v) {
    for (auto& r : v)
      if (r.owner == mail) r.ttl = 3600;
    v.push_back({www, rrtype::A, 3600, a_rdata(192, 0, 2, 11)});
  });
  ASSERT_TRUE(z1 && z2 && z3);
  std::vector<Changeset> chain{diff_zones(*z0, *z1), diff_zones(*z1, *z2), diff_zones(*z2, *z3)};
  Changeset c = condense(chain);
  Changeset direct = diff_zones(*z0, *z3);
  EXPECT_EQ(c.soa_from, direct.soa_from);
  EXPECT_EQ(c.soa_to, direct.soa_to);
  EXPECT_EQ(c.from_serial(), 2026112401u);
  EXPECT_EQ(c.to_serial(), 2026112404u);
  EXPECT_EQ(record_set(c.removed), record_set(direct.removed));
  EXPECT_EQ(record_set(c.added), record_set(direct.added));
  EXPECT_EQ(c.removed.size(), direct.removed.size());
  EXPECT_EQ(c.added.size(), direct.added.size());
  // Net effect: only www .12 added; tmp, the TTL flip-flop and www .11 cancel out.
  EXPECT_TRUE(c.removed.empty());
  ASSERT_EQ(c.added.size(), 1u);
  EXPECT_EQ(c.added[0], (Record{www, rrtype::A, 3600, a_rdata(192, 0, 2, 12)}));
  std::vector<ZoneError> errors;
  auto got = apply_changeset(z0, c, errors);
  ASSERT_TRUE(got);
  expect_same_zone(*got, *z3);
}

TEST(Condense, AddedThenRemovedIsANoOp) {
  auto z0 = load("example.com.zone", "example.com.");
  ASSERT_TRUE(z0);
  const Record tmp{W("tmp.example.com."), rrtype::TXT, 3600, txt_rdata("short-lived")};
  auto z1 = edited(*z0, 2026112402, [&](auto& v) { v.push_back(tmp); });
  auto z2 = edited(*z1, 2026112403, [&](auto& v) { std::erase_if(v, [&](const Record& r) { return r == tmp; }); });
  ASSERT_TRUE(z1 && z2);
  Changeset c = condense({diff_zones(*z0, *z1), diff_zones(*z1, *z2)});
  EXPECT_TRUE(c.empty());
  EXPECT_EQ(c.from_serial(), 2026112401u);
  EXPECT_EQ(c.to_serial(), 2026112403u);
}

TEST(Condense, RemovedThenAddedBackIsANoOp) {
  auto z0 = load("example.com.zone", "example.com.");
  ASSERT_TRUE(z0);
  auto recs = zone_records(*z0);
  const Record r = recs.back();
  auto z1 = edited(*z0, 2026112402, [&](auto& v) { std::erase_if(v, [&](const Record& x) { return x == r; }); });
  auto z2 = edited(*z1, 2026112403, [&](auto& v) { v.push_back(r); });
  ASSERT_TRUE(z1 && z2);
  EXPECT_TRUE(condense({diff_zones(*z0, *z1), diff_zones(*z1, *z2)}).empty());
}

TEST(Condense, SingleAndEmptyChains) {
  auto z0 = load("example.com.zone", "example.com.");
  ASSERT_TRUE(z0);
  auto z1 = edited(*z0, 9, [](auto& v) { v.pop_back(); });
  Changeset one = diff_zones(*z0, *z1);
  Changeset c = condense({one});
  EXPECT_EQ(c.soa_from, one.soa_from);
  EXPECT_EQ(c.soa_to, one.soa_to);
  EXPECT_EQ(record_set(c.removed), record_set(one.removed));
  EXPECT_EQ(record_set(c.added), record_set(one.added));
  EXPECT_TRUE(condense({}).empty());
}

Changeset sample_changeset() {
  auto z0 = load("example.com.zone", "example.com.");
  auto z1 = edited(*z0, 2026112402, [](auto& v) {
    v.pop_back();
    v.pop_back();
    v.push_back({W("n.example.com."), rrtype::A, 5, a_rdata(192, 0, 2, 5)});
  });
  return diff_zones(*z0, *z1);
}

TEST(Serialize, RoundTrip) {
  Changeset c = sample_changeset();
  ASSERT_EQ(c.removed.size(), 2u);
  ASSERT_EQ(c.added.size(), 1u);
  Changeset back;
  ASSERT_TRUE(deserialize(serialize(c), back));
  EXPECT_EQ(back.soa_from, c.soa_from);
  EXPECT_EQ(back.soa_to, c.soa_to);
  EXPECT_EQ(back.removed, c.removed);
  EXPECT_EQ(back.added, c.added);
  EXPECT_EQ(back.from_serial(), 2026112401u);
  EXPECT_EQ(back.to_serial(), 2026112402u);
}

TEST(Serialize, EmptyChangesetRoundTrips) {
  auto z0 = load("example.com.zone", "example.com.");
  ASSERT_TRUE(z0);
  Changeset c = diff_zones(*z0, *with_serial(z0, 5));
  Changeset back;
  back.added.push_back({});  // must be cleared
  ASSERT_TRUE(deserialize(serialize(c), back));
  EXPECT_TRUE(back.empty());
  EXPECT_EQ(back.soa_to, c.soa_to);
}

TEST(Serialize, RejectsEveryTruncationAndTrailingBytes) {
  std::string data = serialize(sample_changeset());
  for (size_t n = 0; n < data.size(); ++n) {
    Changeset out;
    EXPECT_FALSE(deserialize(std::string_view(data).substr(0, n), out)) << "length " << n;
  }
  Changeset out;
  EXPECT_FALSE(deserialize(data + '\0', out));
}

TEST(Serialize, RejectsACountLargerThanTheData) {
  Changeset c = sample_changeset();
  std::string data = serialize(c);
  // The counts follow the two SOA records.
  size_t at = 2 * (c.soa_from.owner.size() + 8) + c.soa_from.rdata.size() + c.soa_to.rdata.size();
  ASSERT_EQ(get32(reinterpret_cast<const uint8_t*>(data.data()) + at), 2u);
  put32(reinterpret_cast<uint8_t*>(data.data()) + at, 0xFFFFFFFFu);
  Changeset out;
  EXPECT_FALSE(deserialize(data, out));
}

TEST(ContentHash, IgnoresSerialAndRecordOrder) {
  auto z = load("example.com.zone", "example.com.");
  ASSERT_TRUE(z);
  EXPECT_EQ(content_hash(*z), content_hash(*with_serial(z, 1)));
  auto a = parse(
      "$TTL 300\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\nb TXT \"x\"\na A 192.0.2.2\n",
      "h.test.");
  auto b = parse(
      "$TTL 300\na A 192.0.2.2\n@ SOA ns hm 77 2 3 4 5\nb TXT \"x\"\nns A 192.0.2.1\n@ NS ns\n",
      "h.test.");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(content_hash(*a), content_hash(*b));
}

TEST(ContentHash, ChangesWhenAnyRecordDiffers) {
  auto z = load("example.com.zone", "example.com.");
  ASSERT_TRUE(z);
  const uint64_t h = content_hash(*z);
  auto recs = zone_records(*z);
  std::set<uint64_t> seen{h};
  for (size_t i = 0; i < recs.size(); ++i) {
    SCOPED_TRACE("record " + std::to_string(i));
    const Record target = recs[i];
    auto ttl = edited(*z, z->serial(), [&](auto& v) {
      for (auto& r : v)
        if (r.owner == target.owner && r.type == target.type) r.ttl += 1;
    });
    ASSERT_TRUE(ttl);
    EXPECT_NE(content_hash(*ttl), h);
    if (target.type == rrtype::A) {
      auto addr = edited(*z, z->serial(), [&](auto& v) {
        for (auto& r : v)
          if (r == target) r.rdata[3] ^= 0x40;
      });
      ASSERT_TRUE(addr);
      EXPECT_NE(content_hash(*addr), h);
    }
  }
  // Other SOA fields count: only the serial is blanked.
  auto soa = edited(*z, z->serial(), [](auto& v) { v.front().rdata.back() ^= 1; });
  ASSERT_TRUE(soa);
  EXPECT_NE(content_hash(*soa), h);
  // An extra record and a renamed owner.
  auto extra = edited(*z, z->serial(), [](auto& v) {
    v.push_back({W("extra.example.com."), rrtype::TXT, 3600, txt_rdata("x")});
  });
  auto renamed = edited(*z, z->serial(), [](auto& v) {
    for (auto& r : v)
      if (r.owner == W("mail.example.com.")) r.owner = W("mail3.example.com.");
  });
  ASSERT_TRUE(extra && renamed);
  EXPECT_NE(content_hash(*extra), h);
  EXPECT_NE(content_hash(*renamed), h);
}

TEST(WithSerial, ChangesOnlyTheSerial) {
  auto z = load("example.com.zone", "example.com.");
  ASSERT_TRUE(z);
  auto z2 = with_serial(z, 42);
  ASSERT_TRUE(z2);
  EXPECT_EQ(z2->serial(), 42u);
  EXPECT_EQ(z->serial(), 2026112401u);
  EXPECT_EQ(z2->origin(), z->origin());
  auto a = zone_records(*z), b = zone_records(*z2);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(record_set(std::vector<Record>(a.begin() + 1, a.end())),
            record_set(std::vector<Record>(b.begin() + 1, b.end())));
  EXPECT_EQ(b.front().owner, a.front().owner);
  EXPECT_EQ(b.front().ttl, a.front().ttl);
  EXPECT_EQ(b.front().rdata, soa_at(a.front(), 42).rdata);
  SoaFields fa, fb;
  ASSERT_TRUE(parse_soa(a.front().rdata, fa));
  ASSERT_TRUE(parse_soa(b.front().rdata, fb));
  EXPECT_EQ(fb.serial, 42u);
  EXPECT_EQ(fb.refresh, fa.refresh);
  EXPECT_EQ(fb.retry, fa.retry);
  EXPECT_EQ(fb.expire, fa.expire);
  EXPECT_EQ(fb.minimum, fa.minimum);
  EXPECT_EQ(z2->negative_ttl(), z->negative_ttl());
}

}  // namespace
