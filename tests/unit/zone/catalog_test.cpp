// Catalog zones (RFC 9432): the zone a producer builds, and what a consumer reads out of one,
// including every kind of bad input the consumer must skip (or ignore the catalog for).
#include "tests/unit/test_support.h"
#include "zone/catalog.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "zone/loader.h"

using namespace zone;
using namespace zone::wire;
using test_support::W;

namespace {

std::shared_ptr<const Zone> load(const std::string& body) {
  std::string text = "$ORIGIN cat.test.\n$TTL 0\n@ SOA invalid. invalid. 1 3600 600 2147483646 0\n"
                     "@ NS invalid.\n" + body;
  auto r = load_zone_text(text, W("cat.test."));
  EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors.front().str());
  return r.zone;
}

bool has_problem(const catalog::Content& c, const std::string& text) {
  for (const auto& p : c.problems)
    if (p.find(text) != std::string::npos) return true;
  return false;
}

TEST(Catalog, MemberIdIsStableAndHex) {
  std::string a = catalog::member_id(W("example.com."));
  EXPECT_EQ(a.size(), 16u);
  EXPECT_EQ(a, catalog::member_id(W("example.com.")));
  EXPECT_NE(a, catalog::member_id(W("example.net.")));
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(Catalog, BuiltCatalogReadsBack) {
  std::vector<catalog::Member> ms = {
      {W("a.test."), catalog::member_id(W("a.test.")), "", ""},
      {W("b.test."), catalog::member_id(W("b.test.")), "blue", ""},
      {W("c.test."), catalog::member_id(W("c.test.")), "", W("other.test.")}};
  std::vector<ZoneError> errs;
  auto z = catalog::build(W("cat.test."), 7, ms, errs);
  ASSERT_TRUE(z) << (errs.empty() ? "" : errs.front().str());
  EXPECT_EQ(z->serial(), 7u);
  auto c = catalog::read(*z);
  ASSERT_TRUE(c.usable) << c.error;
  EXPECT_TRUE(c.problems.empty());
  ASSERT_EQ(c.members.size(), 3u);
  EXPECT_EQ(c.members[0].zone, W("a.test."));
  EXPECT_EQ(c.members[0].id, catalog::member_id(W("a.test.")));
  EXPECT_EQ(c.members[1].group, "blue");
  EXPECT_EQ(c.members[2].coo, W("other.test."));
}

TEST(Catalog, NoVersionOrUnknownVersionIgnoresTheCatalog) {
  auto c = catalog::read(*load("m.zones PTR m.test.\n"));
  EXPECT_FALSE(c.usable);
  EXPECT_NE(c.error.find("no version.cat.test TXT record"), std::string::npos) << c.error;
  EXPECT_TRUE(c.members.empty());
  c = catalog::read(*load("version TXT \"1\"\nm.zones PTR m.test.\n"));
  EXPECT_FALSE(c.usable);
  EXPECT_NE(c.error.find("version \"1\" is not the supported \"2\""), std::string::npos) << c.error;
  c = catalog::read(*load("version TXT \"2\"\nversion TXT \"3\"\nm.zones PTR m.test.\n"));
  EXPECT_FALSE(c.usable);
}

TEST(Catalog, BadMembersAreSkippedOthersKept) {
  auto c = catalog::read(*load(
      "version TXT \"2\"\n"
      "a.zones PTR good.test.\n"
      "b.zones PTR good.test.\n"            // duplicate
      "own.zones PTR cat.test.\n"           // the catalog itself
      "two.zones PTR x.test.\n"             // two PTRs under one id
      "two.zones PTR y.test.\n"
      "stray PTR outside.test.\n"           // not under zones
      "foo.ext PTR ignored.test.\n"         // extensions (ext.<catalog>): ignored silently
      "bad.zones PTR bad\\032name.test.\n"  // not a servable name
      "g.zones PTR grouped.test.\n"
      "group.g.zones TXT \"red\"\n"));
  ASSERT_TRUE(c.usable);
  ASSERT_EQ(c.members.size(), 2u);
  EXPECT_EQ(c.members[0].zone, W("good.test."));
  EXPECT_EQ(c.members[0].id, "a");
  EXPECT_EQ(c.members[1].zone, W("grouped.test."));
  EXPECT_EQ(c.members[1].group, "red");
  EXPECT_TRUE(has_problem(c, "b.zones.cat.test PTR good.test: duplicate of a.zones.cat.test"));
  EXPECT_TRUE(has_problem(c, "own.zones.cat.test PTR cat.test: the catalog cannot be its own member"));
  EXPECT_TRUE(has_problem(c, "two.zones.cat.test has 2 PTR records"));
  EXPECT_TRUE(has_problem(c, "stray.cat.test PTR outside.test: not under zones.cat.test"));
  EXPECT_TRUE(has_problem(c, "not a valid zone name"));
  EXPECT_FALSE(has_problem(c, "ignored.test"));
  EXPECT_EQ(c.problems.size(), 5u) << ::testing::PrintToString(c.problems);
}

}  // namespace
