// The one commit: what each kind of change leaves in the served table, the store and the
// IXFR history, and what a failure at each step leaves (nothing changed).
#include "replication/commit.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>

#include "tests/unit/test_support.h"
#include "zone/loader.h"
#include "zone/wire/types.h"

using namespace replication;
using test_support::W;

namespace {

std::shared_ptr<const zone::Zone> version(int serial, const std::string& extra = "") {
  std::string text = "$TTL 300\n@ SOA ns hm " + std::to_string(serial) +
                     " 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n" + extra;
  auto r = zone::load_zone_text(text, W("c.test."));
  for (const auto& e : r.errors) ADD_FAILURE() << e.str();
  return r.zone;
}

class CommitTest : public ::testing::Test {
 protected:
  CommitTest()
      : store_((dir_.path() / "zoned.db").string()),
        registry_(table_),
        notifier_(io_),
        committer_(io_, store_, registry_, history_, notifier_,
                   [](const std::string&) { return std::vector<Remote>{}; }) {}

  zone::CommitResult commit(zone::ZoneChange c) {
    if (c.origin.empty()) c.origin = W("c.test.");
    c.name = "c.test";
    c.source = "test";
    std::vector<zone::ZoneChange> v;
    v.push_back(std::move(c));
    return committer_.commit_here(std::move(v)).front();
  }
  zone::CommitResult replace(std::shared_ptr<const zone::Zone> z) {
    zone::ZoneChange c;
    c.kind = zone::ZoneChange::Kind::replace;
    c.zone = std::move(z);
    return commit(std::move(c));
  }
  zone::CommitResult apply(const zone::Changeset& cs) {
    zone::ZoneChange c;
    c.kind = zone::ZoneChange::Kind::apply;
    c.changes = cs;
    return commit(std::move(c));
  }
  const zone::Zone* served() { return table_.current()->find_exact(W("c.test.")); }
  std::shared_ptr<const zone::Zone> stored() {
    ZoneTimers t;
    return Store((dir_.path() / "zoned.db").string()).load_zone(W("c.test."), t);
  }

  test_support::TempDir dir_;
  boost::asio::io_context io_;
  StoreHandle store_;
  zone::ZoneTablePublisher table_;
  zone::ZoneRegistry registry_;
  zone::History history_;
  Notifier notifier_;
  ZoneCommitter committer_;
};

TEST_F(CommitTest, ReplaceThenApplyIsServedStoredAndInTheHistory) {
  auto r = replace(version(1));
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_NE(served(), nullptr);
  EXPECT_EQ(served()->serial(), 1u);
  EXPECT_EQ(stored()->serial(), 1u);

  auto cs = zone::diff_zones(*version(1), *version(2, "www A 192.0.2.80\n"));
  r = apply(cs);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_TRUE(r.changed);
  EXPECT_EQ(served()->serial(), 2u);
  EXPECT_NE(served()->find(W("www.c.test.")), nullptr);
  auto s = stored();
  EXPECT_EQ(s->serial(), 2u);
  EXPECT_NE(s->find(W("www.c.test.")), nullptr);
  auto h = history_.since(W("c.test."), 1);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->added.size(), 1u);
  // The same version again: nothing to do, nothing published.
  auto before = table_.current();
  r = replace(version(2, "www A 192.0.2.80\n"));
  EXPECT_TRUE(r.ok);
  EXPECT_FALSE(r.changed);
  EXPECT_EQ(table_.current(), before);
}

TEST_F(CommitTest, AChangeThatFailsValidationChangesNothing) {
  ASSERT_TRUE(replace(version(1)).ok);
  // A CNAME beside the A of ns: what the zone's load checks refuse.
  auto cs = zone::diff_zones(*version(1), *version(2));
  cs.added.push_back(zone::Record{W("ns.c.test."), zone::wire::rrtype::CNAME, 300,
                                  W("elsewhere.test.")});
  auto r = apply(cs);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("validate:"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("CNAME"), std::string::npos) << r.error;
  EXPECT_EQ(served()->serial(), 1u);
  EXPECT_EQ(stored()->serial(), 1u);
  EXPECT_FALSE(history_.since(W("c.test."), 1));
  // A serial that does not grow is refused too.
  auto same = zone::diff_zones(*version(1), *version(1, "www A 192.0.2.80\n"));
  r = apply(same);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("not greater"), std::string::npos) << r.error;
}

TEST_F(CommitTest, AStoreThatFailsLeavesTheServedZoneAndRecovers) {
  ASSERT_TRUE(replace(version(1)).ok);
  // Break the store under the committer: its records table is gone.
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_.path() / "zoned.db").string().c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "ALTER TABLE records RENAME TO records_away", nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  auto cs = zone::diff_zones(*version(1), *version(2, "www A 192.0.2.80\n"));
  auto r = apply(cs);
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.store_fault);
  EXPECT_NE(r.error.find("store:"), std::string::npos) << r.error;
  EXPECT_EQ(served()->serial(), 1u);  // still the old version
  EXPECT_FALSE(history_.since(W("c.test."), 1));
  // The fault goes: the next commit reopens the store and succeeds.
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_.path() / "zoned.db").string().c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "ALTER TABLE records_away RENAME TO records", nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  r = apply(cs);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(served()->serial(), 2u);
  EXPECT_EQ(stored()->serial(), 2u);
}

TEST_F(CommitTest, APlannerSeesTheCurrentVersionAndItsRefusalIsPassedOn) {
  ASSERT_TRUE(replace(version(1)).ok);
  zone::ZoneChange c;
  c.kind = zone::ZoneChange::Kind::plan;
  uint32_t seen = 0;
  c.planner = [&](const zone::Zone& cur) {
    seen = cur.serial();
    zone::PlanOutcome o;
    o.error = "prerequisite failed";
    o.rcode = zone::wire::rcode::NXDOMAIN;
    return o;
  };
  auto r = commit(c);
  EXPECT_EQ(seen, 1u);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.rcode, zone::wire::rcode::NXDOMAIN);
  EXPECT_EQ(r.error, "prerequisite failed");
  // Nothing to change: ok, no new version.
  c.planner = [&](const zone::Zone& cur) {
    zone::PlanOutcome o;
    o.changes = zone::Changeset{};
    o.changes->soa_from = o.changes->soa_to =
        zone::Record{cur.origin(), zone::wire::rrtype::SOA, cur.soa().ttl,
                     std::string(std::string_view(cur.soa().data).substr(2))};
    return o;
  };
  r = commit(c);
  EXPECT_TRUE(r.ok);
  EXPECT_FALSE(r.changed);
  EXPECT_EQ(served()->serial(), 1u);
}

TEST_F(CommitTest, RemoveUnpublishesAndPurges) {
  ASSERT_TRUE(replace(version(1)).ok);
  zone::ZoneChange c;
  c.kind = zone::ZoneChange::Kind::remove;
  auto r = commit(c);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(table_.current()->find(W("www.c.test.")), nullptr);
  EXPECT_EQ(stored(), nullptr);
}

// What the caller read of the store (a start-up reads every zone's meta at once) is taken as
// the store's state: a version it says is stored is not written again, one it says differs is.
TEST_F(CommitTest, WhatTheCallerReadOfTheStoreIsNotReadAgain) {
  ASSERT_TRUE(replace(version(1)).ok);
  // Each a start-up: nothing served yet, over the same store.
  auto start_with = [&](std::shared_ptr<const zone::Zone> z, zone::ZoneChange::Stored held) {
    zone::ZoneTablePublisher table;
    zone::ZoneRegistry registry(table);
    ZoneCommitter committer(io_, store_, registry, history_, notifier_,
                            [](const std::string&) { return std::vector<Remote>{}; });
    zone::ZoneChange c;
    c.kind = zone::ZoneChange::Kind::replace;
    c.origin = W("c.test.");
    c.name = "c.test";
    c.zone = std::move(z);
    c.stored = held;
    std::vector<zone::ZoneChange> v{c};
    auto r = committer.commit_here(v).front();
    EXPECT_EQ(table.current()->find_exact(W("c.test."))->serial(), c.zone->serial());
    return r;
  };
  // Said to hold serial 2 already (it holds 1): served, and not written.
  auto v2 = version(2, "www A 192.0.2.2\n");
  auto r = start_with(v2, {2, zone::content_hash(*v2), true});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(stored()->serial(), 1u);
  // Said to hold serial 1 (the truth): serial 3 is written.
  auto v3 = version(3, "www A 192.0.2.3\n");
  r = start_with(v3, {1, zone::content_hash(*version(1)), true});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(stored()->serial(), 3u);
  // Said to hold nothing: written.
  r = start_with(version(4), {});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(stored()->serial(), 4u);
}

// The store cannot even be opened: at start-up a zone file is served anyway (it is durable
// already); any later change is refused.
TEST(Commit, WithoutAUsableStoreOnlyStartUpLoadsAreServed) {
  boost::asio::io_context io;
  StoreHandle store("/proc/zoned-no-such-dir/zoned.db");
  zone::ZoneTablePublisher table;
  zone::ZoneRegistry registry(table);
  zone::History history;
  Notifier notifier(io);
  ZoneCommitter committer(io, store, registry, history, notifier,
                          [](const std::string&) { return std::vector<Remote>{}; });
  zone::ZoneChange c;
  c.kind = zone::ZoneChange::Kind::replace;
  c.origin = W("c.test.");
  c.name = "c.test";
  c.zone = version(1);
  c.serve_if_store_fails = true;
  std::vector<zone::ZoneChange> v{c};
  auto r = committer.commit_here(v).front();
  EXPECT_TRUE(r.ok);
  EXPECT_FALSE(r.stored);
  ASSERT_NE(table.current()->find_exact(W("c.test.")), nullptr);
  zone::ZoneChange next;
  next.kind = zone::ZoneChange::Kind::apply;
  next.origin = W("c.test.");
  next.name = "c.test";
  next.changes = zone::diff_zones(*version(1), *version(2, "www A 192.0.2.80\n"));
  std::vector<zone::ZoneChange> v2{next};
  r = committer.commit_here(v2).front();
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.store_fault);
  EXPECT_EQ(table.current()->find_exact(W("c.test."))->serial(), 1u);
}

}  // namespace

#include "tests/unit/zone/lookup_battery.h"

namespace {

// The lookup battery on example.com as the store gives it back: saved whole (an AXFR, a
// first load), then after incremental commits (an IXFR, a reload's diff) and a restart, so
// that a zone read from the database can never answer differently from its file.
TEST(CommitBattery, ZoneFromTheStoreAnswersAsFromItsFile) {
  test_support::TempDir dir;
  const std::string db = (dir.path() / "zoned.db").string();
  auto file = test_support::load_test_zone("example.com.zone", "example.com.");
  ASSERT_TRUE(file);
  {
    Store s(db);
    s.save_zone(*file, ZoneTimers{});
  }
  ZoneTimers t;
  auto whole = Store(db).load_zone(W("example.com."), t);
  ASSERT_TRUE(whole);
  lookup_battery::run(*whole);

  // Through the committer: a record added and removed again by two commits.
  boost::asio::io_context io;
  StoreHandle store(db);
  zone::ZoneTablePublisher table;
  zone::ZoneRegistry registry(table);
  zone::History history;
  Notifier notifier(io);
  ZoneCommitter committer(io, store, registry, history, notifier,
                          [](const std::string&) { return std::vector<Remote>{}; });
  registry.publish(W("example.com."), file);
  auto step = [&](uint32_t serial, bool add) {
    auto cur = table.current()->get(W("example.com."));
    zone::Changeset cs;
    cs.soa_from = zone::Record{cur->origin(), zone::wire::rrtype::SOA, cur->soa().ttl,
                               std::string(std::string_view(cur->soa().data).substr(2))};
    cs.soa_to = cs.soa_from;
    zone::wire::set_soa_serial(cs.soa_to.rdata, serial);
    zone::Record extra{W("battery-extra.example.com."), zone::wire::rrtype::A, 300,
                       std::string("\xC0\x00\x02\x63", 4)};
    (add ? cs.added : cs.removed).push_back(extra);
    zone::ZoneChange c;
    c.kind = zone::ZoneChange::Kind::apply;
    c.origin = W("example.com.");
    c.name = "example.com";
    c.changes = cs;
    std::vector<zone::ZoneChange> v{c};
    auto r = committer.commit_here(v).front();
    ASSERT_TRUE(r.ok) << r.error;
  };
  uint32_t s0 = file->serial();
  step(s0 + 1, true);
  step(s0 + 2, false);
  lookup_battery::run(*table.current()->get(W("example.com.")));
  auto reread = Store(db).load_zone(W("example.com."), t);
  ASSERT_TRUE(reread);
  EXPECT_EQ(reread->serial(), s0 + 2);
  lookup_battery::run(*reread);
}

}  // namespace
