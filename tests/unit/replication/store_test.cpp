#include "tests/unit/test_support.h"
#include "replication/store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "zone/changeset.h"
#include "zone/loader.h"
#include "zone/wire/rdata.h"

using namespace replication;
using namespace zone;
using namespace zone::wire;
namespace fs = std::filesystem;

namespace {

using test_support::W;

// A fresh directory for the test's database files, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "zoned-store-test-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

constexpr auto load = &test_support::load_test_zone;

using Key = std::tuple<std::string, uint16_t, uint32_t, std::string>;
std::set<Key> record_set(const Zone& z) {
  std::set<Key> out;
  for (const auto& r : zone_records(z)) out.insert({r.owner, r.type, r.ttl, r.rdata});
  return out;
}

void expect_same_zone(const std::shared_ptr<const Zone>& got, const Zone& want) {
  ASSERT_TRUE(got);
  EXPECT_EQ(got->origin(), want.origin());
  EXPECT_EQ(got->serial(), want.serial());
  EXPECT_EQ(zone_records(*got).size(), zone_records(want).size());
  EXPECT_EQ(record_set(*got), record_set(want));
}

void expect_same_changeset(const Changeset& got, const Changeset& want) {
  EXPECT_EQ(got.soa_from, want.soa_from);
  EXPECT_EQ(got.soa_to, want.soa_to);
  EXPECT_EQ(got.removed, want.removed);
  EXPECT_EQ(got.added, want.added);
}

std::string a_rdata(uint8_t last) { return std::string{'\xC0', '\x00', '\x02', static_cast<char>(last)}; }

// Version n of a small zone h.test. (serial 100+n): version n has A records .1 to .n+1
// at "h", so each step adds one record; step to 3 also changes the TTL of "ns".
std::shared_ptr<const Zone> version(int n) {
  std::string text = "$TTL 300\n@ SOA ns hm " + std::to_string(100 + n) +
                     " 2 3 4 5\n@ NS ns\nns " + (n >= 3 ? "60" : "300") + " A 192.0.2.1\n";
  for (int i = 1; i <= n + 1; ++i) text += "h A 192.0.2." + std::to_string(i) + "\n";
  LoadResult r = load_zone_text(text, W("h.test."));
  for (const auto& e : r.errors) ADD_FAILURE() << e.str();
  return r.zone;
}
Changeset step(int from, int to) { return diff_zones(*version(from), *version(to)); }

const ZoneTimers kTimers{1700000000, 1700003600, 1701209600};

void expect_timers(const ZoneTimers& got, const ZoneTimers& want) {
  EXPECT_EQ(got.last_refresh, want.last_refresh);
  EXPECT_EQ(got.next_refresh, want.next_refresh);
  EXPECT_EQ(got.expire_at, want.expire_at);
}

TEST(Store, CreatesTheDatabaseDirectory) {
  TempDir dir;
  std::string path = dir.file("var/lib/zoned/zoned.db");
  {
    Store s(path);
  }
  EXPECT_TRUE(fs::is_directory(dir.path() / "var/lib/zoned"));
  EXPECT_TRUE(fs::exists(path));
}

TEST(Store, OpeningAnUnusablePathThrows) {
  TempDir dir;
  // The "directory" is a regular file.
  { std::ofstream(dir.file("file")) << "x"; }
  EXPECT_THROW(Store(dir.file("file/zoned.db")), StoreError);
}

TEST(Store, SaveAndLoadRoundTrip) {
  TempDir dir;
  Store s(dir.file("zoned.db"));
  auto z = load("example.com.zone", "example.com.");
  auto other = load("other.net.zone", "other.net.");
  ASSERT_TRUE(z && other);
  ZoneTimers t;
  EXPECT_EQ(s.load_zone(z->origin(), t), nullptr);
  s.save_zone(*z, kTimers);
  s.save_zone(*other, ZoneTimers{5, 6, 7});
  ZoneTimers got;
  expect_same_zone(s.load_zone(z->origin(), got), *z);
  expect_timers(got, kTimers);
  expect_same_zone(s.load_zone(other->origin(), got), *other);
  expect_timers(got, ZoneTimers{5, 6, 7});
  EXPECT_EQ(s.load_zone(W("nothere.test."), got), nullptr);
}

TEST(Store, SaveReplacesTheWholeZone) {
  TempDir dir;
  Store s(dir.file("zoned.db"));
  s.save_zone(*version(4), kTimers);
  s.save_zone(*version(1), kTimers);  // an AXFR of an older, smaller version
  ZoneTimers t;
  expect_same_zone(s.load_zone(W("h.test."), t), *version(1));
}

TEST(Store, DataSurvivesReopening) {
  TempDir dir;
  auto z = load("example.com.zone", "example.com.");
  ASSERT_TRUE(z);
  {
    Store s(dir.file("zoned.db"));
    s.save_zone(*version(0), kTimers);
    s.apply_changes(W("h.test."), step(0, 1), kTimers, 5);
    s.apply_changes(W("h.test."), step(1, 2), ZoneTimers{8, 9, 10}, 5);
    s.save_zone(*z, kTimers, content_hash(*z));
  }
  Store s(dir.file("zoned.db"));
  ZoneTimers t;
  expect_same_zone(s.load_zone(W("h.test."), t), *version(2));
  expect_timers(t, ZoneTimers{8, 9, 10});
  expect_same_zone(s.load_zone(z->origin(), t), *z);
  auto chain = s.history_from(W("h.test."), 100);
  ASSERT_TRUE(chain);
  ASSERT_EQ(chain->size(), 2u);
  expect_same_changeset((*chain)[1], step(1, 2));
  auto meta = s.load_meta(z->origin());
  ASSERT_TRUE(meta);
  EXPECT_EQ(meta->serial, z->serial());
  EXPECT_EQ(meta->hash, content_hash(*z));
}

TEST(Store, ApplyChangesPersistsTheNewVersion) {
  TempDir dir;
  Store s(dir.file("zoned.db"));
  s.save_zone(*version(0), kTimers);
  for (int i = 0; i < 3; ++i) s.apply_changes(W("h.test."), step(i, i + 1), kTimers, 0);
  ZoneTimers t;
  expect_same_zone(s.load_zone(W("h.test."), t), *version(3));
  // keep_history 0: nothing recorded.
  EXPECT_TRUE(s.history_all(W("h.test.")).empty());
}

TEST(Store, ApplyChangesOnTheTestZone) {
  TempDir dir;
  Store s(dir.file("zoned.db"));
  auto z = load("example.com.zone", "example.com.");
  ASSERT_TRUE(z);
  // Remove the whole deleg cut, change www's TTL, add a node.
  ZoneBuilder b(z->origin());
  for (auto r : zone_records(*z)) {
    if (is_subdomain(r.owner, W("deleg.example.com."))) continue;
    if (r.owner == W("www.example.com.")) r.ttl = 60;
    if (r.type == rrtype::SOA) {
      auto p = reinterpret_cast<uint8_t*>(r.rdata.data());
      size_t m = name_length(p, r.rdata.size());
      put32(p + m + name_length(p + m, r.rdata.size() - m), 2026112500);
    }
    b.add(r.owner, r.type, r.ttl, r.rdata);
  }
  b.add(W("new.example.com."), rrtype::A, 300, a_rdata(7));
  std::vector<ZoneError> errors;
  auto z2 = b.build(errors);
  ASSERT_TRUE(z2);
  s.save_zone(*z, kTimers);
  s.apply_changes(z->origin(), diff_zones(*z, *z2), kTimers, 10);
  ZoneTimers t;
  expect_same_zone(s.load_zone(z->origin(), t), *z2);
  auto all = s.history_all(z->origin());
  ASSERT_EQ(all.size(), 1u);
  expect_same_changeset(all[0], diff_zones(*z, *z2));
}

TEST(Store, FailingApplyLeavesThePreviousVersion) {
  TempDir dir;
  Store s(dir.file("zoned.db"));
  s.save_zone(*version(0), kTimers);
  s.apply_changes(W("h.test."), step(0, 1), kTimers, 5);
  // A changeset that adds records first and then removes one the zone lacks.
  Changeset bad = step(1, 2);
  bad.removed.push_back({W("h.h.test."), rrtype::A, 300, a_rdata(99)});
  try {
    s.apply_changes(W("h.test."), bad, ZoneTimers{1, 2, 3}, 5);
    ADD_FAILURE() << "apply_changes did not throw";
  } catch (const StoreError& e) {
    // Regression: the message held the wire-format origin, whose NUL cut what() short.
    EXPECT_NE(std::string(e.what()).find("stored zone h.test. lacks a record"), std::string::npos)
        << e.what();
  }
  // Also a changeset from another serial: its old SOA is not stored.
  EXPECT_THROW(s.apply_changes(W("h.test."), step(2, 3), ZoneTimers{1, 2, 3}, 5), StoreError);
  // And a zone that is not stored at all.
  EXPECT_THROW(s.apply_changes(W("other.test."), step(1, 2), ZoneTimers{1, 2, 3}, 5), StoreError);

  auto check = [&](Store& st) {
    ZoneTimers t;
    expect_same_zone(st.load_zone(W("h.test."), t), *version(1));
    expect_timers(t, kTimers);
    auto all = st.history_all(W("h.test."));
    ASSERT_EQ(all.size(), 1u);
    expect_same_changeset(all[0], step(0, 1));
    EXPECT_EQ(st.load_zone(W("other.test."), t), nullptr);
  };
  check(s);
  // The store is still usable, and the rollback reached the file.
  s.apply_changes(W("h.test."), step(1, 2), kTimers, 5);
  Store reopened(dir.file("zoned.db"));
  ZoneTimers t;
  expect_same_zone(reopened.load_zone(W("h.test."), t), *version(2));
}

TEST(Store, AStoredZoneThatFailsTheChecksThrowsOnLoad) {
  TempDir dir;
  Store s(dir.file("zoned.db"));
  s.save_zone(*version(0), kTimers);
  Changeset c = diff_zones(*version(0), *version(1));
  c.added.push_back({W("h.h.test."), rrtype::CNAME, 300, W("ns.h.test.")});  // beside A
  s.apply_changes(W("h.test."), c, kTimers, 0);
  ZoneTimers t;
  try {
    s.load_zone(W("h.test."), t);
    ADD_FAILURE() << "load_zone did not throw";
  } catch (const StoreError& e) {
    EXPECT_NE(std::string(e.what()).find("stored zone h.test. is unusable: "), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("CNAME"), std::string::npos) << e.what();
  }
}

TEST(Store, HistoryFromReturnsTheChain) {
  TempDir dir;
  Store s(dir.file("zoned.db"));
  const std::string o = W("h.test.");
  for (int i = 0; i < 4; ++i) s.add_history(o, step(i, i + 1), 10);
  auto chain = s.history_from(o, 102);
  ASSERT_TRUE(chain);
  ASSERT_EQ(chain->size(), 2u);
  expect_same_changeset((*chain)[0], step(2, 3));
  expect_same_changeset((*chain)[1], step(3, 4));
  auto from0 = s.history_from(o, 100);
  ASSERT_TRUE(from0);
  EXPECT_EQ(from0->size(), 4u);
  EXPECT_EQ(from0->back().to_serial(), 104u);
  EXPECT_FALSE(s.history_from(o, 99));
  EXPECT_FALSE(s.history_from(o, 104));  // the newest serial: nothing to send
  EXPECT_FALSE(s.history_from(W("other.test."), 100));
  auto all = s.history_all(o);
  ASSERT_EQ(all.size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(all[i].from_serial(), 100u + i);
}

TEST(Store, CorruptHistoryThrowsNamingTheZone) {
  TempDir dir;
  {
    Store s(dir.file("zoned.db"));
    s.add_history(W("h.test."), step(0, 1), 5);
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir.file("zoned.db").c_str(), &db), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(db, "UPDATE history SET data = x'0102'", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  Store s(dir.file("zoned.db"));
  for (int which = 0; which < 2; ++which) {
    try {
      if (which == 0)
        s.history_all(W("h.test."));
      else
        s.history_from(W("h.test."), 100);
      ADD_FAILURE() << "no exception";
    } catch (const StoreError& e) {
      EXPECT_NE(std::string(e.what()).find("corrupt history for h.test."), std::string::npos)
          << e.what();
    }
  }
}

TEST(Store, HistoryFromIsNulloptAcrossAGap) {
  TempDir dir;
  Store s(dir.file("zoned.db"));
  const std::string o = W("h.test.");
  s.add_history(o, step(0, 1), 10);
  s.add_history(o, step(1, 2), 10);
  // History restarted (an AXFR to 103): 102 -> 103 is missing.
  s.add_history(o, step(3, 4), 10);
  s.add_history(o, step(4, 5), 10);
  EXPECT_FALSE(s.history_from(o, 100));
  EXPECT_FALSE(s.history_from(o, 101));
  auto after = s.history_from(o, 103);
  ASSERT_TRUE(after);
  ASSERT_EQ(after->size(), 2u);
  expect_same_changeset((*after)[0], step(3, 4));
  expect_same_changeset((*after)[1], step(4, 5));
}

TEST(Store, HistoryKeepsTheNewestAndClears) {
  TempDir dir;
  Store s(dir.file("zoned.db"));
  const std::string o = W("h.test."), other = W("other.test.");
  for (int i = 0; i < 5; ++i) s.add_history(o, step(i, i + 1), 3);
  s.add_history(other, step(0, 1), 3);
  auto all = s.history_all(o);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all.front().from_serial(), 102u);
  EXPECT_EQ(all.back().to_serial(), 105u);
  EXPECT_FALSE(s.history_from(o, 101));
  EXPECT_TRUE(s.history_from(o, 102));
  // apply_changes trims with its keep too.
  s.save_zone(*version(5), kTimers);
  s.apply_changes(o, step(5, 6), kTimers, 2);
  all = s.history_all(o);
  ASSERT_EQ(all.size(), 2u);
  expect_same_changeset(all[0], step(4, 5));
  expect_same_changeset(all[1], step(5, 6));
  s.clear_history(o);
  EXPECT_TRUE(s.history_all(o).empty());
  EXPECT_EQ(s.history_all(other).size(), 1u);
}

TEST(Store, TimersHashAndConfigRoundTrip) {
  TempDir dir;
  Store s(dir.file("zoned.db"));
  const std::string o = W("h.test.");
  s.save_zone(*version(0), ZoneTimers{});
  const ZoneTimers t1{4102444800, 4102448400, 0};  // past 2038
  s.save_timers(o, t1);
  ZoneTimers got;
  ASSERT_TRUE(s.load_zone(o, got));
  expect_timers(got, t1);
  EXPECT_EQ(s.load_meta(o)->hash, 0u);
  // Values with the top bit set survive SQLite's signed integers.
  s.save_zone(*version(0), t1, 0xFEDCBA9876543210ull);
  auto meta = s.load_meta(o);
  ASSERT_TRUE(meta);
  EXPECT_EQ(meta->serial, 100u);
  EXPECT_EQ(meta->hash, 0xFEDCBA9876543210ull);
  EXPECT_TRUE(meta->config.empty());
  s.save_config(o, "{\"name\":\"h.test\"}");
  s.save_config(W("new.test."), "{\"name\":\"new.test\"}");
  auto all = s.load_all_meta();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[o].config, "{\"name\":\"h.test\"}");
  EXPECT_EQ(all[o].hash, 0xFEDCBA9876543210ull);
  EXPECT_EQ(all[W("new.test.")].config, "{\"name\":\"new.test\"}");
  EXPECT_FALSE(s.load_meta(W("other.test.")));
  s.drop_zone(W("new.test."));
  EXPECT_FALSE(s.load_meta(W("new.test.")));
}

// Scopes nest: an inner one rolled back leaves the outer one's work; the outer one rolled
// back leaves nothing.
TEST(Store, NestedScopesRollBackAlone) {
  TempDir dir;
  Store s(dir.file("zoned.db"));
  const std::string o = W("h.test.");
  {
    Store::Scope outer(s);
    s.save_zone(*version(0), kTimers);
    {
      Store::Scope inner(s);
      s.apply_changes(o, step(0, 1), kTimers, 5);
      // not committed: rolled back
    }
    outer.commit();
  }
  ZoneTimers t;
  expect_same_zone(s.load_zone(o, t), *version(0));
  {
    Store::Scope outer(s);
    s.apply_changes(o, step(0, 1), kTimers, 5);
  }
  expect_same_zone(s.load_zone(o, t), *version(0));
}

// An old database kept primaries' serial in a table of its own: it is taken over.
TEST(Store, OldServedTableIsMigrated) {
  TempDir dir;
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(dir.file("zoned.db").c_str(), &db), SQLITE_OK);
    const char* sql =
        "CREATE TABLE zones(name BLOB PRIMARY KEY, serial INTEGER, last_refresh INTEGER, "
        "next_refresh INTEGER, expire_at INTEGER);"
        "CREATE TABLE served(zone BLOB PRIMARY KEY, serial INTEGER, hash INTEGER);";
    ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "INSERT INTO served VALUES(?1, 2024, 77)", -1, &st, nullptr);
    std::string o = W("h.test.");
    sqlite3_bind_blob(st, 1, o.data(), static_cast<int>(o.size()), SQLITE_TRANSIENT);
    ASSERT_EQ(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(db);
  }
  Store s(dir.file("zoned.db"));
  auto meta = s.load_meta(W("h.test."));
  ASSERT_TRUE(meta);
  EXPECT_EQ(meta->serial, 2024u);
  EXPECT_EQ(meta->hash, 77u);
  EXPECT_FALSE(s.has_records(W("h.test.")));
}

TEST(Store, DropZoneRemovesRecordsTimersAndHistory) {
  TempDir dir;
  Store s(dir.file("zoned.db"));
  const std::string o = W("h.test.");
  auto other = load("other.net.zone", "other.net.");
  ASSERT_TRUE(other);
  s.save_zone(*version(0), kTimers);
  s.apply_changes(o, step(0, 1), kTimers, 5);
  s.save_zone(*other, kTimers);
  s.add_history(other->origin(), step(0, 1), 5);
  s.drop_zone(o);
  ZoneTimers t;
  EXPECT_EQ(s.load_zone(o, t), nullptr);
  EXPECT_TRUE(s.history_all(o).empty());
  expect_same_zone(s.load_zone(other->origin(), t), *other);
  EXPECT_EQ(s.history_all(other->origin()).size(), 1u);
  // Saved again from scratch, it is a fresh zone.
  s.save_zone(*version(3), kTimers);
  expect_same_zone(s.load_zone(o, t), *version(3));
}

}  // namespace
