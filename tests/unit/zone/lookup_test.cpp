#include "tests/unit/test_support.h"
#include "zone/lookup.h"

#include <gtest/gtest.h>

#include <string>

#include "zone/loader.h"
#include "zone/zone_table.h"

using namespace zone;
using namespace zone::wire;

namespace {

using test_support::W;

constexpr auto load = &test_support::load_test_zone;

const char* outcome_name(Outcome o) {
  switch (o) {
    case Outcome::answer: return "answer";
    case Outcome::nodata: return "nodata";
    case Outcome::nxdomain: return "nxdomain";
    case Outcome::cname: return "cname";
    case Outcome::dname: return "dname";
    case Outcome::delegation: return "delegation";
  }
  return "?";
}

// One lookup and what it must produce (CoreDNS test.Case style).
struct Case {
  const char* qname;
  uint16_t qtype;
  Outcome kind;
  uint16_t rrset_type;   // type of result.rrset, 0 = none
  int rrset_count;       // records in result.rrset
  const char* node;      // result.node name ("" = don't care)
  bool wildcard;
  const char* encloser;  // closest encloser ("" = don't care)
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.qname << "/" << c.qtype; }

void check(const Zone& z, const Case& c) {
  SCOPED_TRACE(std::string(c.qname) + " type " + std::to_string(c.qtype));
  LookupResult r = lookup(z, W(c.qname), c.qtype);
  EXPECT_EQ(outcome_name(r.kind), std::string(outcome_name(c.kind)));
  if (c.rrset_type) {
    ASSERT_TRUE(r.rrset);
    EXPECT_EQ(r.rrset->type, c.rrset_type);
    EXPECT_EQ(r.rrset->count, c.rrset_count);
  } else {
    EXPECT_EQ(r.rrset, nullptr);
  }
  if (*c.node) {
    ASSERT_TRUE(r.node);
    EXPECT_EQ(name_to_text(r.node->name), c.node);
  }
  EXPECT_EQ(r.wildcard, c.wildcard);
  if (*c.encloser) {
    ASSERT_TRUE(r.closest_encloser);
    EXPECT_EQ(name_to_text(r.closest_encloser->name), c.encloser);
  }
}

using O = Outcome;
namespace t = rrtype;

const Case kExampleCases[] = {
    // Plain answers and NODATA.
    {"example.com.", t::SOA, O::answer, t::SOA, 1, "example.com.", false, ""},
    {"example.com.", t::NS, O::answer, t::NS, 2, "example.com.", false, ""},
    {"www.example.com.", t::A, O::answer, t::A, 2, "www.example.com.", false, ""},
    {"www.example.com.", t::AAAA, O::answer, t::AAAA, 1, "www.example.com.", false, ""},
    {"www.example.com.", t::MX, O::nodata, 0, 0, "www.example.com.", false, ""},
    {"example.com.", t::DS, O::nodata, 0, 0, "example.com.", false, ""},
    {"_sip._tcp.example.com.", t::SRV, O::answer, t::SRV, 1, "", false, ""},
    {"unk.example.com.", 65400, O::answer, 65400, 1, "", false, ""},
    // ANY: exactly one RRset.
    {"www.example.com.", t::ANY, O::answer, t::A, 2, "", false, ""},
    {"example.com.", t::ANY, O::answer, t::SOA, 1, "", false, ""},
    // NXDOMAIN, with the closest encloser.
    {"nothere.example.com.", t::A, O::nxdomain, 0, 0, "", false, "example.com."},
    {"a.b.www.example.com.", t::A, O::nxdomain, 0, 0, "", false, "www.example.com."},
    // Empty non-terminals: NODATA, and they block the wildcard above them.
    {"ent.example.com.", t::A, O::nodata, 0, 0, "ent.example.com.", false, ""},
    {"b.ent.example.com.", t::A, O::nodata, 0, 0, "b.ent.example.com.", false, ""},
    {"_tcp.example.com.", t::SRV, O::nodata, 0, 0, "", false, ""},
    {"x.b.ent.example.com.", t::A, O::nxdomain, 0, 0, "", false, "b.ent.example.com."},
    {"x.ent.example.com.", t::A, O::answer, t::A, 1, "*.ent.example.com.", true, "ent.example.com."},
    {"a.b.ent.example.com.", t::A, O::answer, t::A, 1, "a.b.ent.example.com.", false, ""},
    // Wildcards: answer, NODATA, several labels deep, not for existing names.
    {"foo.wild.example.com.", t::A, O::answer, t::A, 1, "*.wild.example.com.", true, "wild.example.com."},
    {"foo.wild.example.com.", t::TXT, O::answer, t::TXT, 1, "*.wild.example.com.", true, ""},
    {"foo.wild.example.com.", t::MX, O::nodata, 0, 0, "*.wild.example.com.", true, ""},
    {"a.b.wild.example.com.", t::A, O::answer, t::A, 1, "*.wild.example.com.", true, "wild.example.com."},
    {"sub.wild.example.com.", t::A, O::nodata, 0, 0, "sub.wild.example.com.", false, ""},
    {"x.sub.wild.example.com.", t::A, O::nxdomain, 0, 0, "", false, "sub.wild.example.com."},
    {"*.wild.example.com.", t::A, O::answer, t::A, 1, "*.wild.example.com.", false, ""},
    {"wild.example.com.", t::A, O::nodata, 0, 0, "wild.example.com.", false, ""},
    {"x.wcname.example.com.", t::A, O::cname, t::CNAME, 1, "*.wcname.example.com.", true, ""},
    // CNAME: the chain step, and the CNAME itself when asked for.
    {"alias.example.com.", t::A, O::cname, t::CNAME, 1, "alias.example.com.", false, ""},
    {"alias.example.com.", t::CNAME, O::answer, t::CNAME, 1, "", false, ""},
    {"alias.example.com.", t::ANY, O::answer, t::CNAME, 1, "", false, ""},  // ANY matches the CNAME itself
    {"loop1.example.com.", t::A, O::cname, t::CNAME, 1, "", false, ""},
    // DNAME: names below it are redirected; the owner itself is not.
    {"x.dn.example.com.", t::A, O::dname, t::DNAME, 1, "dn.example.com.", false, ""},
    {"a.b.dn.example.com.", t::AAAA, O::dname, t::DNAME, 1, "dn.example.com.", false, ""},
    {"dn.example.com.", t::A, O::nodata, 0, 0, "dn.example.com.", false, ""},
    {"dn.example.com.", t::DNAME, O::answer, t::DNAME, 1, "", false, ""},
    // Delegations: at and below the cut, glue included; DS at the cut from the parent side.
    {"deleg.example.com.", t::A, O::delegation, t::NS, 2, "deleg.example.com.", false, ""},
    {"deleg.example.com.", t::NS, O::delegation, t::NS, 2, "deleg.example.com.", false, ""},
    {"www.deleg.example.com.", t::A, O::delegation, t::NS, 2, "deleg.example.com.", false, ""},
    {"ns1.deleg.example.com.", t::A, O::delegation, t::NS, 2, "deleg.example.com.", false, ""},
    {"deleg.example.com.", t::DS, O::answer, t::DS, 1, "deleg.example.com.", false, ""},
    {"x.deleg.example.com.", t::DS, O::delegation, t::NS, 2, "deleg.example.com.", false, ""},
    {"sibling.example.com.", t::A, O::delegation, t::NS, 1, "sibling.example.com.", false, ""},
    {"child.example.com.", t::SOA, O::delegation, t::NS, 1, "child.example.com.", false, ""},
    {"child.example.com.", t::DS, O::nodata, 0, 0, "child.example.com.", false, ""},
};

class ExampleLookup : public ::testing::TestWithParam<Case> {
 protected:
  static void SetUpTestSuite() { zone_ = load("example.com.zone", "example.com."); }
  static void TearDownTestSuite() { zone_.reset(); }
  static std::shared_ptr<const Zone> zone_;
};
std::shared_ptr<const Zone> ExampleLookup::zone_;

TEST_P(ExampleLookup, Case) {
  ASSERT_TRUE(zone_);
  check(*zone_, GetParam());
}

INSTANTIATE_TEST_SUITE_P(TestZone, ExampleLookup, ::testing::ValuesIn(kExampleCases));

// A zone with a wildcard at the apex and delegations: the wildcard never reaches into a cut.
TEST(Lookup, WildcardNotAppliedAtOrBelowCut) {
  LoadResult r = load_zone_text(
      "$ORIGIN example.org.\n$TTL 60\n"
      "@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n"
      "* A 192.0.2.99\n"
      "cut NS ns.other.net.\n"
      "*.cut A 192.0.2.98\n",  // occluded, never served
      W("example.org."), "w.zone");
  ASSERT_TRUE(r.ok());
  const Zone& z = *r.zone;
  const Case cases[] = {
      {"nothere.example.org.", t::A, O::answer, t::A, 1, "*.example.org.", true, "example.org."},
      {"cut.example.org.", t::A, O::delegation, t::NS, 1, "cut.example.org.", false, ""},
      {"x.cut.example.org.", t::A, O::delegation, t::NS, 1, "cut.example.org.", false, ""},
      {"a.b.cut.example.org.", t::TXT, O::delegation, t::NS, 1, "cut.example.org.", false, ""},
      {"*.cut.example.org.", t::A, O::delegation, t::NS, 1, "cut.example.org.", false, ""},
      // The closest encloser of x.ns is ns, which has no wildcard child (RFC 4592 3.3.1).
      {"x.ns.example.org.", t::A, O::nxdomain, 0, 0, "", false, "ns.example.org."},
  };
  for (const auto& c : cases) check(z, c);
}

TEST(Lookup, ChildZoneApexAnswersFromChild) {
  auto child = load("child.example.com.zone", "child.example.com.");
  ASSERT_TRUE(child);
  check(*child, {"child.example.com.", t::SOA, O::answer, t::SOA, 1, "", false, ""});
  check(*child, {"child.example.com.", t::NS, O::answer, t::NS, 1, "", false, ""});
  check(*child, {"www.child.example.com.", t::A, O::answer, t::A, 1, "", false, ""});
  check(*child, {"child.example.com.", t::DS, O::nodata, 0, 0, "", false, ""});
}

TEST(ZoneTable, LongestMatchAndParent) {
  std::map<std::string, std::shared_ptr<const Zone>> m;
  m[W("example.com.")] = load("example.com.zone", "example.com.");
  m[W("child.example.com.")] = load("child.example.com.zone", "child.example.com.");
  m[W("other.net.")] = load("other.net.zone", "other.net.");
  ZoneTable table(std::move(m));
  auto origin_of = [&](const Zone* z) { return z ? name_to_text(z->origin()) : std::string("-"); };
  EXPECT_EQ(origin_of(table.find(W("www.example.com."))), "example.com.");
  EXPECT_EQ(origin_of(table.find(W("example.com."))), "example.com.");
  EXPECT_EQ(origin_of(table.find(W("child.example.com."))), "child.example.com.");
  EXPECT_EQ(origin_of(table.find(W("a.b.child.example.com."))), "child.example.com.");
  EXPECT_EQ(origin_of(table.find(W("deleg.example.com."))), "example.com.");
  EXPECT_EQ(origin_of(table.find(W("other.net."))), "other.net.");
  EXPECT_EQ(origin_of(table.find(W("com."))), "-");
  EXPECT_EQ(origin_of(table.find(W("example.org."))), "-");
  EXPECT_EQ(origin_of(table.find(W("."))), "-");
  EXPECT_EQ(origin_of(table.find_parent(W("child.example.com."))), "example.com.");
  EXPECT_EQ(origin_of(table.find_parent(W("example.com."))), "-");
  EXPECT_EQ(origin_of(table.find_exact(W("www.example.com."))), "-");
  EXPECT_TRUE(table.get(W("other.net.")));
}

// Many zones per shard (20,000 over 512 shards): each one found, added, replaced and removed
// in later versions while the earlier versions stay as they were.
TEST(ZoneTable, ManyZonesFoundAddedReplacedAndRemoved) {
  auto text = [](int i) { return "z" + std::to_string(i) + ".b" + std::to_string(i % 7) + ".test."; };
  auto name = [&](int i) { return W(text(i)); };
  // Two versions of each zone (the table keys each by its own origin).
  std::vector<std::shared_ptr<const Zone>> va, vb;
  for (int i = 0; i < 20000; ++i) {
    va.push_back(unavailable_zone(name(i)));
    vb.push_back(unavailable_zone(name(i)));
  }
  std::map<std::string, std::shared_ptr<const Zone>> m;
  for (int i = 0; i < 20000; i += 2) m[name(i)] = va[i];
  const ZoneTable first(m);
  EXPECT_EQ(first.size(), 10000u);
  std::vector<ZoneTable::Change> changes;
  for (int i = 1; i < 20000; i += 2) changes.push_back({name(i), vb[i], false});  // added
  for (int i = 0; i < 20000; i += 4) changes.push_back({name(i), vb[i], false});  // replaced
  for (int i = 2; i < 20000; i += 4) changes.push_back({name(i), nullptr, true});  // removed
  // Several changes to one zone in one version: the last one counts.
  for (int i = 1; i < 200; i += 2) changes.push_back({name(i), va[i], false});   // added twice
  for (int i = 0; i < 200; i += 4) changes.push_back({name(i), nullptr, true});  // then removed
  for (int i = 2; i < 200; i += 4) changes.push_back({name(i), va[i], false});   // back again
  auto second = first.with(changes);
  EXPECT_EQ(second->size(), 15000u);
  for (int i = 0; i < 20000; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(first.get(name(i)), i % 2 == 0 ? va[i] : nullptr);
    auto want = i % 2 == 1 || i % 4 == 0 ? vb[i] : nullptr;
    if (i < 200) want = i % 4 == 0 ? nullptr : va[i];
    EXPECT_EQ(second->get(name(i)), want);
    EXPECT_EQ(second->find(W("www." + text(i))), want.get());
  }
  size_t seen = 0;
  second->for_each([&](std::string_view origin, const std::shared_ptr<const Zone>& z) {
    EXPECT_EQ(origin, z->origin());
    ++seen;
  });
  EXPECT_EQ(seen, 15000u);
  // A few changes to a shard take the other path (each put in place): the same outcome.
  auto third = second->with({{name(0), va[0], false}, {name(1), nullptr, true}});
  EXPECT_EQ(third->size(), 15000u);
  EXPECT_EQ(third->get(name(0)), va[0]);
  EXPECT_EQ(third->get(name(1)), nullptr);
  EXPECT_EQ(third->get(name(3)), va[3]);
  EXPECT_EQ(second->get(name(1)), va[1]);
  // A zone is served under its own name only.
  EXPECT_THROW(first.with({{name(1), va[3], false}}), std::logic_error);
}

TEST(ZoneTable, PublisherSwapsAndReadersSeeNewVersion) {
  ZoneTablePublisher pub;
  ZoneTableReader reader(pub);
  EXPECT_TRUE(reader.get().size() == 0);
  std::map<std::string, std::shared_ptr<const Zone>> m;
  m[W("other.net.")] = load("other.net.zone", "other.net.");
  auto old = pub.current();
  pub.publish(std::make_shared<ZoneTable>(std::move(m)));
  EXPECT_EQ(reader.get().size(), 1u);
  EXPECT_TRUE(old->size() == 0);  // the old snapshot is untouched
}

}  // namespace
