#include "tests/unit/test_support.h"
#include "zone/delegation.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "zone/changeset.h"
#include "zone/loader.h"
#include "zone/lookup.h"
#include "zone/wire/rdata.h"

using namespace zone;
using namespace zone::wire;

namespace {

using test_support::W;

std::string A(const char* text) {
  unsigned char b[4];
  EXPECT_EQ(inet_pton(AF_INET, text, b), 1) << text;
  return std::string(reinterpret_cast<char*>(b), 4);
}
std::string AAAA(const char* text) {
  unsigned char b[16];
  EXPECT_EQ(inet_pton(AF_INET6, text, b), 1) << text;
  return std::string(reinterpret_cast<char*>(b), 16);
}

// DS 12345 13 2 <32 bytes>, as wire RDATA.
std::string ds_rdata(uint8_t fill) {
  std::string d{0x30, 0x39, 13, 2};
  d.append(32, static_cast<char>(fill));
  return d;
}

// Two cuts share glue: b's NS ns.a.p.test is below a's cut.
const char* kZone = R"($ORIGIN p.test.
$TTL 3600
@       SOA  ns1 hm 10 7200 3600 1209600 300
@       NS   ns1
ns1     A    192.0.2.1
a       NS   ns.a
a       NS   ns2.a
a       DS   12345 13 2 0101010101010101010101010101010101010101010101010101010101010101
ns.a    A    192.0.2.10
ns.a    AAAA 2001:db8::10
ns2.a   A    192.0.2.11
b       NS   ns.a.p.test.
b       NS   ns.b
ns.b    A    192.0.2.20
www     A    192.0.2.80
)";

std::shared_ptr<const Zone> parse(const std::string& text, const std::string& origin) {
  LoadResult r = load_zone_text(text, W(origin));
  for (const auto& e : r.errors) ADD_FAILURE() << e.str();
  return r.zone;
}

using Key = std::tuple<std::string, uint16_t, uint32_t, std::string>;
std::set<Key> keys(const std::vector<Record>& v) {
  std::set<Key> out;
  for (const auto& r : v) out.insert({r.owner, r.type, r.ttl, r.rdata});
  return out;
}
Key K(const std::string& owner, uint16_t type, uint32_t ttl, const std::string& rdata) {
  return {W(owner), type, ttl, rdata};
}

std::string errors_text(const std::vector<std::string>& errors) {
  std::string s;
  for (const auto& e : errors) s += e + "\n";
  return s;
}

// Applies a planned changeset and checks it produced a valid zone at new_serial.
std::shared_ptr<const Zone> apply_plan(const std::shared_ptr<const Zone>& z, const Changeset& c) {
  std::vector<ZoneError> errors;
  auto out = apply_changeset(z, c, errors);
  for (const auto& e : errors) ADD_FAILURE() << e.str();
  if (out) {
    EXPECT_EQ(out->serial(), c.to_serial());
  }
  return out;
}

void expect_serial_only_change(const Changeset& c, const Zone& z, uint32_t serial) {
  EXPECT_EQ(c.from_serial(), z.serial());
  EXPECT_EQ(c.to_serial(), serial);
  SoaFields a, b;
  ASSERT_TRUE(parse_soa(c.soa_from.rdata, a));
  ASSERT_TRUE(parse_soa(c.soa_to.rdata, b));
  EXPECT_EQ(a.refresh, b.refresh);
  EXPECT_EQ(a.retry, b.retry);
  EXPECT_EQ(a.expire, b.expire);
  EXPECT_EQ(a.minimum, b.minimum);
  EXPECT_EQ(c.soa_to.owner, z.origin());
  EXPECT_EQ(c.soa_to.ttl, c.soa_from.ttl);
}

TEST(PlanDelegation, NewDelegationWithInDomainGlueAndDs) {
  auto z = parse(kZone, "p.test.");
  ASSERT_TRUE(z);
  DelegationSpec spec;
  spec.child = W("c.p.test.");
  spec.ns = {{W("ns1.c.p.test."), {"192.0.2.30", "2001:db8::30"}}, {W("ns.other.net."), {}}};
  spec.ds = {ds_rdata(7)};
  spec.ttl = 7200;
  std::vector<std::string> errors;
  auto c = plan_delegation(*z, spec, 11, errors);
  ASSERT_TRUE(c) << errors_text(errors);
  EXPECT_TRUE(errors.empty());
  expect_serial_only_change(*c, *z, 11);
  EXPECT_TRUE(c->removed.empty());
  EXPECT_EQ(keys(c->added),
            (std::set<Key>{K("c.p.test.", rrtype::NS, 7200, W("ns1.c.p.test.")),
                           K("c.p.test.", rrtype::NS, 7200, W("ns.other.net.")),
                           K("c.p.test.", rrtype::DS, 7200, ds_rdata(7)),
                           K("ns1.c.p.test.", rrtype::A, 7200, A("192.0.2.30")),
                           K("ns1.c.p.test.", rrtype::AAAA, 7200, AAAA("2001:db8::30"))}));
  EXPECT_EQ(c->added.size(), 5u);

  auto z2 = apply_plan(z, *c);
  ASSERT_TRUE(z2);
  auto r = lookup(*z2, W("www.c.p.test."), rrtype::A);
  EXPECT_EQ(r.kind, Outcome::delegation);
  ASSERT_TRUE(r.node && r.rrset);
  EXPECT_EQ(r.node->name, W("c.p.test."));
  EXPECT_EQ(r.rrset->type, rrtype::NS);
  EXPECT_EQ(r.rrset->count, 2);
  EXPECT_EQ(r.rrset->ttl, 7200u);
  // The DS is answered by the parent; the glue is below the cut.
  auto ds = lookup(*z2, W("c.p.test."), rrtype::DS);
  EXPECT_EQ(ds.kind, Outcome::answer);
  EXPECT_EQ(lookup(*z2, W("ns1.c.p.test."), rrtype::A).kind, Outcome::delegation);

  auto list = list_delegations(*z2);
  auto it = std::find_if(list.begin(), list.end(),
                         [&](const Delegation& d) { return d.child == W("c.p.test."); });
  ASSERT_NE(it, list.end());
  EXPECT_EQ(it->ttl, 7200u);
  EXPECT_EQ(std::set<std::string>(it->ns.begin(), it->ns.end()),
            (std::set<std::string>{W("ns1.c.p.test."), W("ns.other.net.")}));
  EXPECT_EQ(keys(it->glue), (std::set<Key>{K("ns1.c.p.test.", rrtype::A, 7200, A("192.0.2.30")),
                                           K("ns1.c.p.test.", rrtype::AAAA, 7200,
                                             AAAA("2001:db8::30"))}));
  EXPECT_EQ(it->ds, std::vector<std::string>{ds_rdata(7)});
}

TEST(PlanDelegation, GlueForANameOutsideTheCutIsRefused) {
  auto z = parse(kZone, "p.test.");
  ASSERT_TRUE(z);
  // Out of the zone, and a sibling inside the zone but outside the cut.
  for (const char* ns : {"ns.other.net.", "ns1.p.test.", "ns.b.p.test."}) {
    SCOPED_TRACE(ns);
    DelegationSpec spec;
    spec.child = W("c.p.test.");
    spec.ns = {{W(ns), {"192.0.2.30"}}};
    std::vector<std::string> errors;
    EXPECT_FALSE(plan_delegation(*z, spec, 11, errors));
    ASSERT_EQ(errors.size(), 1u) << errors_text(errors);
    EXPECT_NE(errors[0].find("RFC 9471"), std::string::npos) << errors[0];
    EXPECT_NE(errors[0].find(ns), std::string::npos) << errors[0];
  }
}

TEST(PlanDelegation, InDomainNameWithoutAddressIsRefused) {
  auto z = parse(kZone, "p.test.");
  ASSERT_TRUE(z);
  DelegationSpec spec;
  spec.child = W("c.p.test.");
  spec.ns = {{W("ns1.c.p.test."), {}}, {W("ns.other.net."), {}}};
  std::vector<std::string> errors;
  EXPECT_FALSE(plan_delegation(*z, spec, 11, errors));
  ASSERT_EQ(errors.size(), 1u) << errors_text(errors);
  EXPECT_NE(errors[0].find("ns1.c.p.test."), std::string::npos) << errors[0];
  EXPECT_NE(errors[0].find("address"), std::string::npos) << errors[0];
}

TEST(PlanDelegation, ChildMustBeStrictlyBelowTheApex) {
  auto z = parse(kZone, "p.test.");
  ASSERT_TRUE(z);
  for (const char* child : {"p.test.", "x.other.test.", "test."}) {
    SCOPED_TRACE(child);
    DelegationSpec spec;
    spec.child = W(child);
    spec.ns = {{W("ns.other.net."), {}}};
    std::vector<std::string> errors;
    EXPECT_FALSE(plan_delegation(*z, spec, 11, errors));
    ASSERT_FALSE(errors.empty());
    EXPECT_NE(errors[0].find("is not below the zone p.test."), std::string::npos) << errors[0];
  }
}

TEST(PlanDelegation, ChildBelowAnExistingCutIsRefused) {
  auto z = parse(kZone, "p.test.");
  ASSERT_TRUE(z);
  DelegationSpec spec;
  spec.child = W("x.y.a.p.test.");
  spec.ns = {{W("ns.other.net."), {}}};
  std::vector<std::string> errors;
  EXPECT_FALSE(plan_delegation(*z, spec, 11, errors));
  ASSERT_EQ(errors.size(), 1u) << errors_text(errors);
  EXPECT_NE(errors[0].find("below the existing delegation a.p.test."), std::string::npos)
      << errors[0];
}

TEST(PlanDelegation, OtherBadInputIsRefused) {
  auto z = parse(kZone + std::string("cn CNAME www\n"), "p.test.");
  ASSERT_TRUE(z);
  struct Bad {
    const char* what;
    DelegationSpec spec;
    const char* error;
  } cases[] = {
      {"no NS", {W("c.p.test."), {}, {}, 3600}, "at least one NS"},
      {"NS twice",
       {W("c.p.test."), {{W("ns.other.net."), {}}, {W("ns.other.net."), {}}}, {}, 3600},
       "listed twice"},
      {"bad address",
       {W("c.p.test."), {{W("ns1.c.p.test."), {"192.0.2.300"}}}, {}, 3600},
       "'192.0.2.300' is not an IPv4 or IPv6 address"},
      {"CNAME at the child", {W("cn.p.test."), {{W("ns.other.net."), {}}}, {}, 3600}, "CNAME"},
  };
  for (const auto& b : cases) {
    SCOPED_TRACE(b.what);
    std::vector<std::string> errors;
    EXPECT_FALSE(plan_delegation(*z, b.spec, 11, errors));
    ASSERT_FALSE(errors.empty());
    EXPECT_NE(errors_text(errors).find(b.error), std::string::npos) << errors_text(errors);
  }
}

TEST(PlanDelegation, SameSpecAgainOnlyBumpsTheSerial) {
  auto z = parse(kZone, "p.test.");
  ASSERT_TRUE(z);
  DelegationSpec spec;
  spec.child = W("a.p.test.");
  spec.ns = {{W("ns.a.p.test."), {"192.0.2.10", "2001:db8::10"}}, {W("ns2.a.p.test."), {"192.0.2.11"}}};
  spec.ds = {ds_rdata(1)};
  std::vector<std::string> errors;
  auto c = plan_delegation(*z, spec, 12, errors);
  ASSERT_TRUE(c) << errors_text(errors);
  EXPECT_TRUE(c->empty()) << changeset_text(*c);
  expect_serial_only_change(*c, *z, 12);
}

TEST(PlanDelegation, ReplacingDropsGlueNoLongerNeededButKeepsSharedGlue) {
  auto z = parse(kZone, "p.test.");
  ASSERT_TRUE(z);
  // a gets one new in-domain NS and no DS. ns2.a's glue goes; ns.a's stays because b uses it.
  DelegationSpec spec;
  spec.child = W("a.p.test.");
  spec.ns = {{W("ns3.a.p.test."), {"192.0.2.12"}}};
  std::vector<std::string> errors;
  auto c = plan_delegation(*z, spec, 11, errors);
  ASSERT_TRUE(c) << errors_text(errors);
  EXPECT_EQ(keys(c->removed),
            (std::set<Key>{K("a.p.test.", rrtype::NS, 3600, W("ns.a.p.test.")),
                           K("a.p.test.", rrtype::NS, 3600, W("ns2.a.p.test.")),
                           K("a.p.test.", rrtype::DS, 3600, ds_rdata(1)),
                           K("ns2.a.p.test.", rrtype::A, 3600, A("192.0.2.11"))}));
  EXPECT_EQ(keys(c->added),
            (std::set<Key>{K("a.p.test.", rrtype::NS, 3600, W("ns3.a.p.test.")),
                           K("ns3.a.p.test.", rrtype::A, 3600, A("192.0.2.12"))}));
  auto z2 = apply_plan(z, *c);
  ASSERT_TRUE(z2);
  EXPECT_FALSE(z2->find(W("ns2.a.p.test.")));
  const Node* shared = z2->find(W("ns.a.p.test."));
  ASSERT_TRUE(shared);
  EXPECT_TRUE(shared->find(rrtype::A));
  EXPECT_TRUE(shared->find(rrtype::AAAA));
  EXPECT_EQ(lookup(*z2, W("a.p.test."), rrtype::DS).kind, Outcome::nodata);
  auto r = lookup(*z2, W("x.a.p.test."), rrtype::A);
  EXPECT_EQ(r.kind, Outcome::delegation);
  ASSERT_TRUE(r.rrset);
  EXPECT_EQ(r.rrset->count, 1);
  EXPECT_EQ(lookup(*z2, W("x.b.p.test."), rrtype::A).kind, Outcome::delegation);
}

TEST(PlanDelegation, ReplacingWhenNoOtherCutUsesTheGlueDropsIt) {
  auto z = parse(kZone, "p.test.");
  ASSERT_TRUE(z);
  // b moves entirely out of the zone: ns.b's glue goes, ns.a's (not b's glue) stays.
  DelegationSpec spec;
  spec.child = W("b.p.test.");
  spec.ns = {{W("ns.other.net."), {}}};
  std::vector<std::string> errors;
  auto c = plan_delegation(*z, spec, 11, errors);
  ASSERT_TRUE(c) << errors_text(errors);
  EXPECT_EQ(keys(c->removed),
            (std::set<Key>{K("b.p.test.", rrtype::NS, 3600, W("ns.a.p.test.")),
                           K("b.p.test.", rrtype::NS, 3600, W("ns.b.p.test.")),
                           K("ns.b.p.test.", rrtype::A, 3600, A("192.0.2.20"))}));
  EXPECT_EQ(keys(c->added), (std::set<Key>{K("b.p.test.", rrtype::NS, 3600, W("ns.other.net."))}));
  auto z2 = apply_plan(z, *c);
  ASSERT_TRUE(z2);
  EXPECT_TRUE(z2->find(W("ns.a.p.test.")));
  EXPECT_FALSE(z2->find(W("ns.b.p.test.")));
}

TEST(PlanDelegation, NewAddressesForSharedGlueReplaceTheOldOnes) {
  auto z = parse(kZone, "p.test.");
  ASSERT_TRUE(z);
  // a keeps ns.a but renumbers it (IPv4 only now). b also uses ns.a, and must see the new
  // address, not the old and the new side by side.
  DelegationSpec spec;
  spec.child = W("a.p.test.");
  spec.ns = {{W("ns.a.p.test."), {"192.0.2.99"}}, {W("ns2.a.p.test."), {"192.0.2.11"}}};
  spec.ds = {ds_rdata(1)};
  std::vector<std::string> errors;
  auto c = plan_delegation(*z, spec, 11, errors);
  ASSERT_TRUE(c) << errors_text(errors);
  EXPECT_EQ(keys(c->removed),
            (std::set<Key>{K("ns.a.p.test.", rrtype::A, 3600, A("192.0.2.10")),
                           K("ns.a.p.test.", rrtype::AAAA, 3600, AAAA("2001:db8::10"))}))
      << changeset_text(*c);
  EXPECT_EQ(keys(c->added), (std::set<Key>{K("ns.a.p.test.", rrtype::A, 3600, A("192.0.2.99"))}))
      << changeset_text(*c);
  auto z2 = apply_plan(z, *c);
  ASSERT_TRUE(z2);
  const Node* g = z2->find(W("ns.a.p.test."));
  ASSERT_TRUE(g);
  ASSERT_TRUE(g->find(rrtype::A));
  EXPECT_EQ(g->find(rrtype::A)->count, 1);
  EXPECT_FALSE(g->find(rrtype::AAAA));
}

TEST(PlanUndelegation, RemovesNsDsAndOnlyItsOwnGlue) {
  auto z = parse(kZone, "p.test.");
  ASSERT_TRUE(z);
  std::vector<std::string> errors;
  auto c = plan_undelegation(*z, W("a.p.test."), 11, errors);
  ASSERT_TRUE(c) << errors_text(errors);
  expect_serial_only_change(*c, *z, 11);
  EXPECT_TRUE(c->added.empty());
  // ns.a stays: b still delegates to it.
  EXPECT_EQ(keys(c->removed),
            (std::set<Key>{K("a.p.test.", rrtype::NS, 3600, W("ns.a.p.test.")),
                           K("a.p.test.", rrtype::NS, 3600, W("ns2.a.p.test.")),
                           K("a.p.test.", rrtype::DS, 3600, ds_rdata(1)),
                           K("ns2.a.p.test.", rrtype::A, 3600, A("192.0.2.11"))}));
  auto z2 = apply_plan(z, *c);
  ASSERT_TRUE(z2);
  EXPECT_FALSE(z2->find(W("a.p.test."))->is_cut);
  EXPECT_EQ(lookup(*z2, W("ns.a.p.test."), rrtype::A).kind, Outcome::answer);
  EXPECT_EQ(lookup(*z2, W("x.b.p.test."), rrtype::A).kind, Outcome::delegation);

  auto b = plan_undelegation(*z, W("b.p.test."), 12, errors);
  ASSERT_TRUE(b) << errors_text(errors);
  EXPECT_EQ(keys(b->removed),
            (std::set<Key>{K("b.p.test.", rrtype::NS, 3600, W("ns.a.p.test.")),
                           K("b.p.test.", rrtype::NS, 3600, W("ns.b.p.test.")),
                           K("ns.b.p.test.", rrtype::A, 3600, A("192.0.2.20"))}));
  auto z3 = apply_plan(z, *b);
  ASSERT_TRUE(z3);
  EXPECT_EQ(lookup(*z3, W("x.b.p.test."), rrtype::A).kind, Outcome::nxdomain);
  EXPECT_EQ(lookup(*z3, W("x.a.p.test."), rrtype::A).kind, Outcome::delegation);
}

// A cut whose NS is the cut's own name has its glue at the cut node itself.
TEST(PlanUndelegation, GlueAtTheCutNameGoesWithTheDelegation) {
  auto z = parse(kZone + std::string("d NS d\nd A 192.0.2.40\n"), "p.test.");
  ASSERT_TRUE(z);
  std::vector<std::string> errors;
  auto c = plan_undelegation(*z, W("d.p.test."), 11, errors);
  ASSERT_TRUE(c) << errors_text(errors);
  EXPECT_EQ(keys(c->removed),
            (std::set<Key>{K("d.p.test.", rrtype::NS, 3600, W("d.p.test.")),
                           K("d.p.test.", rrtype::A, 3600, A("192.0.2.40"))}))
      << changeset_text(*c);
  auto z2 = apply_plan(z, *c);
  ASSERT_TRUE(z2);
  EXPECT_EQ(lookup(*z2, W("d.p.test."), rrtype::A).kind, Outcome::nxdomain);
}

TEST(PlanDelegation, GlueAtTheCutNameIsReplaced) {
  auto z = parse(kZone + std::string("d NS d\nd A 192.0.2.40\n"), "p.test.");
  ASSERT_TRUE(z);
  DelegationSpec spec;
  spec.child = W("d.p.test.");
  spec.ns = {{W("d.p.test."), {"192.0.2.41"}}};
  std::vector<std::string> errors;
  auto c = plan_delegation(*z, spec, 11, errors);
  ASSERT_TRUE(c) << errors_text(errors);
  EXPECT_EQ(keys(c->removed), (std::set<Key>{K("d.p.test.", rrtype::A, 3600, A("192.0.2.40"))}))
      << changeset_text(*c);
  EXPECT_EQ(keys(c->added), (std::set<Key>{K("d.p.test.", rrtype::A, 3600, A("192.0.2.41"))}))
      << changeset_text(*c);
}

TEST(PlanUndelegation, OnlyACutCanBeUndelegated) {
  auto z = parse(kZone, "p.test.");
  ASSERT_TRUE(z);
  for (const char* name : {"www.p.test.", "nothere.p.test.", "p.test.", "ns.a.p.test."}) {
    SCOPED_TRACE(name);
    std::vector<std::string> errors;
    EXPECT_FALSE(plan_undelegation(*z, W(name), 11, errors));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].find("is not delegated in p.test."), std::string::npos) << errors[0];
  }
}

TEST(ListDelegations, TheTestZoneCuts) {
  LoadResult r = load_zone_file(ZONED_TEST_DATA "/zones/example.com.zone", W("example.com."));
  ASSERT_TRUE(r.ok());
  auto list = list_delegations(*r.zone);
  ASSERT_EQ(list.size(), 3u);
  // Canonical order.
  EXPECT_EQ(list[0].child, W("child.example.com."));
  EXPECT_EQ(list[1].child, W("deleg.example.com."));
  EXPECT_EQ(list[2].child, W("sibling.example.com."));
  EXPECT_EQ(keys(list[0].glue), (std::set<Key>{K("ns1.child.example.com.", rrtype::A, 3600, A("192.0.2.210"))}));
  EXPECT_TRUE(list[0].ds.empty());
  EXPECT_EQ(list[1].ns.size(), 2u);
  EXPECT_EQ(list[1].glue.size(), 2u);
  EXPECT_EQ(list[1].ds.size(), 1u);
  EXPECT_EQ(list[2].ns, std::vector<std::string>{W("ns1.example.com.")});
}

TEST(ChangesetText, PrintsRemovalsAndAdditions) {
  auto z = parse(kZone, "p.test.");
  ASSERT_TRUE(z);
  EXPECT_EQ(record_text({W("www.p.test."), rrtype::A, 3600, A("192.0.2.80")}),
            "www.p.test. 3600 IN A 192.0.2.80");
  EXPECT_EQ(record_text({W("a.p.test."), rrtype::NS, 60, W("ns.a.p.test.")}),
            "a.p.test. 60 IN NS ns.a.p.test.");
  std::vector<std::string> errors;
  auto c = plan_undelegation(*z, W("b.p.test."), 11, errors);
  ASSERT_TRUE(c);
  std::string text = changeset_text(*c);
  EXPECT_EQ(text.rfind("- p.test. 3600 IN SOA ns1.p.test. hm.p.test. 10 ", 0), 0u) << text;
  EXPECT_NE(text.find("\n+ p.test. 3600 IN SOA ns1.p.test. hm.p.test. 11 "), std::string::npos) << text;
  EXPECT_NE(text.find("\n- ns.b.p.test. 3600 IN A 192.0.2.20\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\n- b.p.test. 3600 IN NS ns.a.p.test.\n"), std::string::npos) << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 5);
}

}  // namespace
