#include "tests/unit/test_support.h"
#include "zone/loader.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "zone/loader_internal.h"
#include "zone/lookup.h"
#include "zone/wire/types.h"

using namespace zone;
using namespace zone::wire;
namespace fs = std::filesystem;

namespace {

using test_support::TempDir;
using test_support::W;
const std::string kOrigin = W("example.com.");

std::string all_errors(const LoadResult& r) {
  std::string s;
  for (const auto& e : r.errors) s += e.str() + "\n";
  return s;
}

const RRset* find(const Zone& z, const std::string& name, uint16_t type) {
  const Node* n = z.find(W(name));
  return n ? n->find(type) : nullptr;
}

std::vector<std::string> rdatas(const RRset* s) {
  std::vector<std::string> v;
  if (s) s->for_each([&](std::string_view r) { v.emplace_back(r); });
  return v;
}


const char* kHead =
    "$ORIGIN example.com.\n"
    "$TTL 3600\n"
    "@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
    "  IN NS ns1\n"
    "ns1 IN A 192.0.2.1\n";  // lines 1-5

}  // namespace

TEST(Loader, TestZoneLoadsWithEveryType) {
  LoadResult r = load_zone_file(ZONED_TEST_DATA "/zones/example.com.zone", kOrigin);
  ASSERT_TRUE(r.ok()) << all_errors(r);
  const Zone& z = *r.zone;
  EXPECT_EQ(z.serial(), 2026112401u);
  EXPECT_EQ(z.negative_ttl(), 300u);
  EXPECT_EQ(z.origin(), kOrigin);
  struct Want {
    const char* name;
    uint16_t type;
    int count;
  };
  for (Want w : {Want{"example.com.", rrtype::SOA, 1}, Want{"example.com.", rrtype::NS, 2},
                 Want{"example.com.", rrtype::MX, 2}, Want{"example.com.", rrtype::A, 1},
                 Want{"example.com.", rrtype::AAAA, 1}, Want{"example.com.", rrtype::TXT, 1},
                 Want{"www.example.com.", rrtype::A, 2}, Want{"alias.example.com.", rrtype::CNAME, 1},
                 Want{"*.wild.example.com.", rrtype::A, 1}, Want{"*.wild.example.com.", rrtype::TXT, 1},
                 Want{"_sip._tcp.example.com.", rrtype::SRV, 1},
                 Want{"deleg.example.com.", rrtype::NS, 2}, Want{"deleg.example.com.", rrtype::DS, 1},
                 Want{"ns1.deleg.example.com.", rrtype::AAAA, 1},
                 Want{"dn.example.com.", rrtype::DNAME, 1}, Want{"txt.example.com.", rrtype::TXT, 1},
                 Want{"caa.example.com.", 257, 1}, Want{"ptr.example.com.", rrtype::PTR, 1},
                 Want{"tlsa.example.com.", 52, 1}, Want{"svc.example.com.", rrtype::HTTPS, 1},
                 Want{"unk.example.com.", 65400, 1}}) {
    const RRset* s = find(z, w.name, w.type);
    ASSERT_TRUE(s) << w.name << " type " << w.type;
    EXPECT_EQ(s->count, w.count) << w.name << " type " << w.type;
    EXPECT_EQ(s->ttl, 3600u) << w.name;
  }
  // Relative names in RDATA are completed with the origin.
  EXPECT_EQ(rdatas(find(z, "alias.example.com.", rrtype::CNAME)),
            std::vector<std::string>{*name_from_text("www.example.com.")});
  EXPECT_EQ(rdatas(find(z, "ptr.example.com.", rrtype::PTR)),
            std::vector<std::string>{*name_from_text("www.example.com.")});
  // Multi-line SOA in parentheses: all five numbers read.
  SoaFields f;
  ASSERT_TRUE(parse_soa(rdatas(&z.soa())[0], f));
  EXPECT_EQ(f.refresh, 7200u);
  EXPECT_EQ(f.retry, 3600u);
  EXPECT_EQ(f.expire, 1209600u);
  EXPECT_EQ(f.minimum, 300u);
  // TXT with two strings.
  EXPECT_EQ(rdatas(find(z, "txt.example.com.", rrtype::TXT))[0], std::string("\3one\3two"));
  // RFC 3597 data.
  EXPECT_EQ(rdatas(find(z, "unk.example.com.", 65400))[0], std::string("\x0A\x00\x00\x01", 4));
  // Empty non-terminals exist (ent, b.ent, _tcp) and are empty.
  ASSERT_TRUE(z.find(W("b.ent.example.com.")));
  EXPECT_TRUE(z.find(W("b.ent.example.com."))->empty());
  ASSERT_TRUE(z.find(W("_tcp.example.com.")));
  // Cut flags.
  EXPECT_TRUE(z.find(W("deleg.example.com."))->is_cut);
  EXPECT_FALSE(z.apex().is_cut);
  EXPECT_TRUE(z.find(W("dn.example.com."))->has_dname);
  EXPECT_TRUE(z.find(W("alias.example.com."))->has_cname);
}

TEST(Loader, OtherTestZonesLoad) {
  LoadResult c = load_zone_file(ZONED_TEST_DATA "/zones/child.example.com.zone",
                                W("child.example.com."));
  ASSERT_TRUE(c.ok()) << all_errors(c);
  EXPECT_EQ(c.zone->negative_ttl(), 600u);
  LoadResult o = load_zone_file(ZONED_TEST_DATA "/zones/other.net.zone", W("other.net."));
  ASSERT_TRUE(o.ok()) << all_errors(o);
  EXPECT_EQ(o.zone->negative_ttl(), 60u);  // min(SOA TTL 600, MINIMUM 60)
  EXPECT_EQ(o.zone->serial(), 7u);
}

TEST(Loader, DirectivesCommentsAtAndRelativeNames) {
  std::string text = std::string(kHead) +
                     "; a comment line\n"
                     "www 60 IN A 192.0.2.10 ; trailing comment\n"
                     "    IN A 192.0.2.11\n"        // owner inherited
                     "$TTL 120\n"
                     "mail IN A 192.0.2.25\n"
                     "$ORIGIN sub.example.com.\n"
                     "host IN A 192.0.2.30\n"     // host.sub.example.com.
                     "@ IN TXT \"at sub\"\n"       // @ is the current origin
                     "abs.example.com. IN A 192.0.2.31\n"
                     "big IN TXT ( \"part one\"\n"
                     "             \"part two\" )\n";
  LoadResult r = load_zone_text(text, kOrigin, "t.zone");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  const Zone& z = *r.zone;
  ASSERT_TRUE(find(z, "www.example.com.", rrtype::A));
  EXPECT_EQ(find(z, "www.example.com.", rrtype::A)->count, 2);
  EXPECT_EQ(find(z, "www.example.com.", rrtype::A)->ttl, 60u);
  EXPECT_EQ(find(z, "mail.example.com.", rrtype::A)->ttl, 120u);
  EXPECT_TRUE(find(z, "host.sub.example.com.", rrtype::A));
  EXPECT_TRUE(find(z, "sub.example.com.", rrtype::TXT));
  EXPECT_TRUE(find(z, "abs.example.com.", rrtype::A));
  EXPECT_EQ(rdatas(find(z, "big.sub.example.com.", rrtype::TXT)),
            std::vector<std::string>{"\x08part one\x08part two"});
  EXPECT_EQ(rdatas(find(z, "example.com.", rrtype::NS)),
            std::vector<std::string>{*name_from_text("ns1.example.com.")});
}

TEST(Loader, Rfc3597GenericData) {
  std::string text = std::string(kHead) +
                     "gen IN TYPE65300 \\# 3 ABCDEF\n"
                     "gen IN TYPE1 \\# 4 C0000201\n"  // a known type in generic form
                     "empty IN TYPE65301 \\# 0\n";
  LoadResult r = load_zone_text(text, kOrigin, "t.zone");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(rdatas(find(*r.zone, "gen.example.com.", 65300))[0], std::string("\xAB\xCD\xEF"));
  EXPECT_EQ(rdatas(find(*r.zone, "gen.example.com.", rrtype::A))[0],
            std::string("\xC0\x00\x02\x01", 4));
  ASSERT_TRUE(find(*r.zone, "empty.example.com.", 65301));
  EXPECT_EQ(rdatas(find(*r.zone, "empty.example.com.", 65301))[0], "");
}

TEST(Loader, DuplicateRecordsCollapseAndTtlMismatchWarns) {
  std::string text = std::string(kHead) +
                     "www 300 IN A 192.0.2.10\n"
                     "www 300 IN A 192.0.2.10\n"
                     "www 100 IN A 192.0.2.11\n";  // line 8
  LoadResult r = load_zone_text(text, kOrigin, "t.zone");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  const RRset* s = find(*r.zone, "www.example.com.", rrtype::A);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->count, 2);
  EXPECT_EQ(s->ttl, 100u);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].str().find("t.zone:8:"), std::string::npos) << r.warnings[0].str();
}

TEST(Loader, IncludeRelativeToIncludingFile) {
  TempDir d;
  std::string main = d.write("zones/main.zone", std::string(kHead) +
                                                    "$INCLUDE sub/hosts.zone\n"   // line 6
                                                    "after IN A 192.0.2.99\n");  // line 7
  d.write("zones/sub/hosts.zone",
          "h1 IN A 192.0.2.40\n"
          "$INCLUDE more.zone\n");  // relative to zones/sub/
  d.write("zones/sub/more.zone", "h2 IN A 192.0.2.41\n");
  LoadResult r = load_zone_file(main, kOrigin);
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_TRUE(find(*r.zone, "h1.example.com.", rrtype::A));
  EXPECT_TRUE(find(*r.zone, "h2.example.com.", rrtype::A));
  EXPECT_TRUE(find(*r.zone, "after.example.com.", rrtype::A));
}

TEST(Loader, IncludeWithOriginArgumentDoesNotLeak) {
  TempDir d;
  std::string main = d.write("main.zone", std::string(kHead) +
                                              "$INCLUDE hosts.zone lab\n"          // relative origin
                                              "$INCLUDE hosts.zone abs.example.com.\n"
                                              "$INCLUDE origin-change.zone\n"
                                              "back IN A 192.0.2.99\n");  // origin still example.com.
  d.write("hosts.zone", "h1 IN A 192.0.2.40\n@ IN TXT \"origin\"\n");
  d.write("origin-change.zone", "$ORIGIN elsewhere.example.com.\nx IN A 192.0.2.50\n");
  LoadResult r = load_zone_file(main, kOrigin);
  ASSERT_TRUE(r.ok()) << all_errors(r);
  const Zone& z = *r.zone;
  EXPECT_TRUE(find(z, "h1.lab.example.com.", rrtype::A));
  EXPECT_TRUE(find(z, "lab.example.com.", rrtype::TXT));
  EXPECT_TRUE(find(z, "h1.abs.example.com.", rrtype::A));
  EXPECT_TRUE(find(z, "x.elsewhere.example.com.", rrtype::A));
  EXPECT_TRUE(find(z, "back.example.com.", rrtype::A));
  EXPECT_FALSE(find(z, "back.elsewhere.example.com.", rrtype::A));
  EXPECT_FALSE(find(z, "h1.example.com.", rrtype::A));
}

TEST(Loader, IncludeLoopIsBounded) {
  TempDir d;
  std::string main = d.write("main.zone", std::string(kHead) + "$INCLUDE loop.zone\n");
  std::string loop = d.write("loop.zone", "l IN A 192.0.2.7\n$INCLUDE loop.zone\n");
  LoadResult r = load_zone_file(main, kOrigin);
  EXPECT_FALSE(r.ok());
  ASSERT_FALSE(r.errors.empty());
  EXPECT_NE(all_errors(r).find(loop + ":2: $INCLUDE nested"), std::string::npos) << all_errors(r);
}

TEST(Loader, IncludeMissingFileNamesTheLine) {
  TempDir d;
  std::string main = d.write("main.zone", std::string(kHead) + "$INCLUDE nope.zone\n");
  LoadResult r = load_zone_file(main, kOrigin);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(all_errors(r).find(main + ":6: cannot open $INCLUDE file"), std::string::npos)
      << all_errors(r);
}

TEST(Loader, MissingFile) {
  LoadResult r = load_zone_file("/nonexistent/zoned/x.zone", kOrigin);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(all_errors(r).find("/nonexistent/zoned/x.zone"), std::string::npos);
}

// Every load-time check: the error must name the file and the line to look at.
struct ErrorCase {
  const char* what;
  std::string text;
  const char* where;    // "t.zone:N:" expected in the error
  const char* message;  // expected in the same error
};

class LoadErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(LoadErrors, NamesFileAndLine) {
  const auto& c = GetParam();
  LoadResult r = load_zone_text(c.text, kOrigin, "t.zone");
  EXPECT_FALSE(r.ok());
  bool found = false;
  for (const auto& e : r.errors) {
    std::string s = e.str();
    if (s.find(c.where) != std::string::npos && s.find(c.message) != std::string::npos)
      found = true;
  }
  EXPECT_TRUE(found) << "want " << c.where << " ... " << c.message << "\ngot:\n" << all_errors(r);
}

INSTANTIATE_TEST_SUITE_P(
    Checks, LoadErrors,
    ::testing::Values(
        ErrorCase{"missing SOA", "$ORIGIN example.com.\n@ 60 IN NS ns1\nns1 60 IN A 192.0.2.1\n",
                  "t.zone:2:", "no SOA record at the zone apex example.com."},
        ErrorCase{"two SOA",
                  std::string(kHead) + "@ IN SOA ns1 hostmaster 2 7200 3600 1209600 300\n",
                  "t.zone:3:", "more than one SOA"},
        ErrorCase{"SOA below apex",
                  std::string(kHead) + "sub IN SOA ns1 hostmaster 2 7200 3600 1209600 300\n",
                  "t.zone:6:", "SOA record below the zone apex"},
        ErrorCase{"no apex NS",
                  "$ORIGIN example.com.\n$TTL 60\n\n@ IN SOA ns1 h 1 2 3 4 5\nns1 IN A 192.0.2.1\n",
                  "t.zone:4:", "no NS records at the zone apex"},
        ErrorCase{"A beside CNAME",
                  std::string(kHead) + "x IN CNAME www\n; comment\nx IN A 192.0.2.9\n",
                  "t.zone:8:", "A record beside a CNAME at x.example.com."},
        ErrorCase{"two CNAMEs", std::string(kHead) + "x IN CNAME a\nx IN CNAME b\n", "t.zone:6:",
                  "more than one CNAME record at x.example.com."},
        ErrorCase{"CNAME at apex", std::string(kHead) + "@ IN CNAME www.example.org.\n",
                  "t.zone:3:", "SOA record beside a CNAME"},
        ErrorCase{"name below DNAME",
                  std::string(kHead) + "dn IN DNAME other.net.\nx.dn IN A 192.0.2.9\n",
                  "t.zone:7:", "is below the DNAME at dn.example.com."},
        ErrorCase{"deep name below DNAME",
                  std::string(kHead) + "dn IN DNAME other.net.\na.b.dn IN TXT \"x\"\n",
                  "t.zone:7:", "is below the DNAME"},
        ErrorCase{"two DNAMEs", std::string(kHead) + "dn IN DNAME a.net.\ndn IN DNAME b.net.\n",
                  "t.zone:6:", "more than one DNAME"},
        ErrorCase{"record outside the zone",
                  std::string(kHead) + "www.example.org. IN A 192.0.2.9\n", "t.zone:6:",
                  "www.example.org. A is outside the zone example.com."},
        ErrorCase{"parent of the apex", std::string(kHead) + "com. IN A 192.0.2.9\n", "t.zone:6:",
                  "is outside the zone"},
        ErrorCase{"NS target in child without glue",
                  std::string(kHead) + "deleg IN NS ns.deleg\n", "t.zone:6:",
                  "NS ns.deleg.example.com. of deleg.example.com. is inside the delegation "
                  "deleg.example.com. and has no glue"},
        ErrorCase{"NS target in another child without glue",
                  std::string(kHead) + "a IN NS ns.b\nb IN NS ns.b\nns.b IN TXT \"no address\"\n",
                  "t.zone:6:", "NS ns.b.example.com. of a.example.com. is inside the delegation b"},
        ErrorCase{"apex NS target is a CNAME",
                  std::string(kHead) + "@ IN NS alias\nalias IN CNAME ns1\n", "t.zone:4:",
                  "NS alias.example.com. of example.com. is a CNAME"},
        ErrorCase{"delegation NS target is a CNAME",
                  std::string(kHead) + "d IN NS alias\nalias IN CNAME ns1\n", "t.zone:6:",
                  "is a CNAME"},
        ErrorCase{"class CH", std::string(kHead) + "txt CH TXT \"x\"\n", "t.zone:6:",
                  "only class IN"},
        ErrorCase{"unknown type", std::string(kHead) + "x IN BOGUS 1\n", "t.zone:6:", ""},
        ErrorCase{"bad address", std::string(kHead) + "x IN A 192.0.2.300\n", "t.zone:6:", ""},
        ErrorCase{"bad address after multi-line record",
                  std::string(kHead) + "t IN TXT ( \"a\"\n  \"b\"\n  \"c\" )\n\n; c\nx IN A 1.2.3\n",
                  "t.zone:11:", ""},
        ErrorCase{"bad address after blank lines",
                  std::string(kHead) + "\n\n\nx IN A nope\n", "t.zone:9:", ""},
        ErrorCase{"bad RFC 3597 length", std::string(kHead) + "x IN TYPE65300 \\# 4 ABCD\n",
                  "t.zone:6:", ""},
        ErrorCase{"missing RDATA", std::string(kHead) + "x IN MX\n", "t.zone:6:", ""},
        ErrorCase{"error after comments, directives and an $INCLUDE-free $ORIGIN",
                  std::string(kHead) + "; one\n  ; two\n$ORIGIN sub.example.com.\n;three\n"
                  "\n  x IN AAAA 192.0.2.1\n",
                  "t.zone:11:", ""},
        ErrorCase{"$INCLUDE without a file", std::string(kHead) + "$INCLUDE\n", "t.zone:6:",
                  "$INCLUDE"},
        ErrorCase{"error after SOA in parentheses",
                  "$ORIGIN example.com.\n$TTL 60\n@ IN SOA ns1 h (\n 1 2 3\n 4 5 )\n"
                  " IN NS ns1\nns1 IN A 192.0.2.1\nbad IN MX x\n",
                  "t.zone:8:", ""}),
    [](const auto& info) {
      std::string n = info.param.what;
      for (auto& c : n)
        if (!isalnum(static_cast<unsigned char>(c))) c = '_';
      return n;
    });

TEST(Loader, CnameBesideRrsigAndNsecIsAllowed) {
  std::string text = std::string(kHead) +
                     "x IN CNAME www\n"
                     "x IN RRSIG CNAME 13 3 3600 20300101000000 20200101000000 12345 "
                     "example.com. AAAA\n"
                     "x IN NSEC z.example.com. CNAME RRSIG NSEC\n";
  LoadResult r = load_zone_text(text, kOrigin, "t.zone");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  EXPECT_TRUE(find(*r.zone, "x.example.com.", rrtype::RRSIG));
  EXPECT_TRUE(find(*r.zone, "x.example.com.", rrtype::NSEC));
}

TEST(Loader, GlueBelowCutIsAcceptedAndOtherDataWarns) {
  std::string text = std::string(kHead) +
                     "d IN NS ns.d\n"
                     "ns.d IN A 192.0.2.5\n"
                     "ns.d IN AAAA 2001:db8::5\n"
                     "txt.d IN TXT \"hidden\"\n";  // line 9
  LoadResult r = load_zone_text(text, kOrigin, "t.zone");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].str().find("t.zone:9:"), std::string::npos) << r.warnings[0].str();
  EXPECT_NE(r.warnings[0].str().find("hidden below the delegation"), std::string::npos);
}

TEST(Loader, NsTargetOutsideZoneOrOwnGlueIsFine) {
  std::string text = std::string(kHead) +
                     "d IN NS ns.other.net.\n"
                     "e IN NS ns1.example.com.\n";  // sibling: in the zone, not below a cut
  LoadResult r = load_zone_text(text, kOrigin, "t.zone");
  EXPECT_TRUE(r.ok()) << all_errors(r);
}

// Signed zones (tests/data/zones/signed): recognised, indexed, and a broken chain reported
// with the file:line of the record concerned.
namespace signed_zones {

std::string read_signed(const std::string& variant) {
  std::ifstream in(std::string(ZONED_TEST_DATA "/zones/signed/") + variant + ".example.test.zone");
  return std::string(std::istreambuf_iterator<char>(in), {});
}
// The text without the lines that contain every one of `needles` ("^x": starts with x).
std::string without(const std::string& text, std::vector<std::string> needles) {
  std::string out, line;
  std::istringstream in(text);
  while (std::getline(in, line)) {
    bool all = true;
    for (const auto& n : needles)
      if (n[0] == '^' ? line.rfind(n.substr(1), 0) != 0 : line.find(n) == std::string::npos)
        all = false;
    if (!all) out += line + "\n";
  }
  return out;
}
const std::string kTest = W("example.test.");

TEST(LoaderSigned, RecognisesNsecAndNsec3) {
  for (auto [v, d] : {std::pair{"nsec", Denial::nsec}, {"nsec3", Denial::nsec3},
                      {"optout", Denial::nsec3}, {"bind-optout", Denial::nsec3}}) {
    LoadResult r = load_zone_text(read_signed(v), kTest, v);
    ASSERT_TRUE(r.ok()) << v << all_errors(r);
    EXPECT_TRUE(r.warnings.empty()) << v << r.warnings.front().str();
    EXPECT_EQ(r.zone->denial(), d) << v;
    // RRSIGs split by covered type.
    const Node* www = r.zone->find(W("www.example.test."));
    ASSERT_TRUE(www);
    ASSERT_TRUE(www->sigs_for(rrtype::A));
    EXPECT_EQ(www->sigs_for(rrtype::A)->count, 1);
    EXPECT_FALSE(www->sigs_for(rrtype::MX));
  }
  // Unsigned zones stay unsigned, even with RRSIG-looking data.
  LoadResult plain = load_zone_text(without(read_signed("nsec"), {"DNSKEY"}), kTest, "x");
  ASSERT_TRUE(plain.ok()) << all_errors(plain);
  EXPECT_FALSE(plain.zone->is_signed());
}

TEST(LoaderSigned, Nsec3OwnersAreNotNodes) {
  LoadResult r = load_zone_text(read_signed("nsec3"), kTest, "nsec3");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  size_t nsec3 = 0, nodes = 0;
  r.zone->for_each_node([&](const Node& n) {
    if (n.find(rrtype::NSEC3)) ++nsec3;
    ++nodes;
  });
  EXPECT_GT(nsec3, 10u);
  // A hashed owner is not found by lookup: the query for it is NXDOMAIN.
  bool found_hash_node = false;
  r.zone->for_each_node([&](const Node& n) {
    if (n.find(rrtype::NSEC3) && r.zone->find(n.name)) found_hash_node = true;
  });
  EXPECT_FALSE(found_hash_node);
}

TEST(LoaderSigned, NameWithoutNsec3IsAnErrorWithItsLine) {
  // Drop the NSEC3 of www (its hash): find it by loading and hashing.
  std::string text = read_signed("nsec3");
  LoadResult ok = load_zone_text(text, kTest, "z");
  ASSERT_TRUE(ok.ok());
  bool match = false;
  const Nsec3Entry* e = ok.zone->nsec3_for_name(W("www.example.test."), match);
  ASSERT_TRUE(match);
  std::string label = name_to_text(e->node->name).substr(0, 32);
  LoadResult r = load_zone_text(without(text, {"^" + label + ".example.test."}), kTest, "z.zone");
  ASSERT_FALSE(r.ok());
  std::string errs = all_errors(r);
  EXPECT_NE(errs.find("www.example.test. has data but no NSEC3"), std::string::npos) << errs;
  EXPECT_NE(errs.find("z.zone:"), std::string::npos) << errs;
  EXPECT_EQ(errs.find("z.zone:0"), std::string::npos) << errs;
}

TEST(LoaderSigned, Nsec3ParamWithoutChainIsAnError) {
  std::string text = without(read_signed("nsec3"), {"\tNSEC3\t"});
  text = without(text, {"RRSIG\tNSEC3 "});
  LoadResult r = load_zone_text(text, kTest, "p.zone");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(all_errors(r).find("NSEC3PARAM without an NSEC3 chain"), std::string::npos)
      << all_errors(r);
}

TEST(LoaderSigned, NsecMissingIsAnErrorAndAGapAWarning) {
  std::string text = read_signed("nsec");
  LoadResult r = load_zone_text(without(text, {"^mail.example.test.", "\tNSEC\t"}), kTest, "n.zone");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(all_errors(r).find("mail.example.test. has data but no NSEC"), std::string::npos)
      << all_errors(r);
  // Removing mail entirely leaves gone -> mail pointing at a name that is not there.
  LoadResult g = load_zone_text(without(text, {"^mail.example.test."}), kTest, "n.zone");
  ASSERT_TRUE(g.ok()) << all_errors(g);
  bool gap = false;
  for (const auto& w : g.warnings)
    if (w.message.find("NSEC chain gap") != std::string::npos) gap = true;
  EXPECT_TRUE(gap);
}

}  // namespace signed_zones

// A name holding only an NSEC3 right below the apex is an NSEC3 owner, not a name of the zone;
// a name below it still gets its empty non-terminal (found by lookup), apart from the owner.
TEST(Loader, NameBelowAnNsec3OnlyNameGetsItsOwnEmptyNonTerminal) {
  std::string text = std::string(kHead) +
                     "b.b IN A 192.0.2.7\n"
                     "b IN NSEC3 1 0 6 00 p4jhjf2hukjlgrqe1522qdvkn3cctbor nsec3param SOA\n";
  LoadResult r = load_zone_text(text, kOrigin, "t.zone");
  ASSERT_TRUE(r.ok()) << all_errors(r);
  const Zone& z = *r.zone;
  const Node* ent = z.find(W("b.example.com."));
  ASSERT_TRUE(ent);
  EXPECT_TRUE(ent->empty());  // the lookup namespace's b: an empty non-terminal
  const Node* owner = z.find_stored(W("b.example.com."));
  ASSERT_TRUE(owner);
  EXPECT_TRUE(find(z, "b.b.example.com.", rrtype::A));
  size_t with_nsec3 = 0;
  z.for_each_node([&](const Node& n) {
    if (n.find(rrtype::NSEC3)) ++with_nsec3;
  });
  EXPECT_EQ(with_nsec3, 1u);
  EXPECT_EQ(z.record_count(), 5u);  // SOA, NS, ns1 A, b.b A, NSEC3
}

// Errors an operator can act on: which field, which value (regressions of "an operator's
// first days", 4: "Syntax error, could not parse the RR's rdata" said neither, the TTL after
// the class got no hint, and a missing SOA was reported at "file:0"). The same words from
// the direct parser and from ldns (ZONED_ZONE_PARSER=ldns).
struct Wording {
  std::string text;     // the zone
  std::string error;    // the whole first error, file:line included
};

class ZoneFileErrors : public ::testing::TestWithParam<Wording> {};

TEST_P(ZoneFileErrors, NameTheFieldAndTheValue) {
  for (auto kind : {loader_internal::ParserKind::fast, loader_internal::ParserKind::ldns}) {
    loader_internal::Options o;
    o.parser = kind;
    LoadResult r = loader_internal::load_text(GetParam().text, kOrigin, "t.zone", o);
    ASSERT_FALSE(r.ok());
    ASSERT_FALSE(r.errors.empty());
    EXPECT_EQ(r.errors.front().str(), GetParam().error)
        << (kind == loader_internal::ParserKind::ldns ? "ldns" : "fast");
  }
}

INSTANTIATE_TEST_SUITE_P(
    Words, ZoneFileErrors,
    ::testing::Values(
        Wording{std::string(kHead) + "www IN A 192.0.2.300\n",
                "t.zone:6: 192.0.2.300 is not an IPv4 address"},
        Wording{std::string(kHead) + "www IN AAAA 192.0.2.1\n",
                "t.zone:6: 192.0.2.1 is not an IPv6 address"},
        Wording{std::string(kHead) + "www IN 300 A 192.0.2.1\n",
                "t.zone:6: 'IN 300': the TTL goes before the class (write 'www 300 IN A 192.0.2.1 "
                "...')"},
        Wording{std::string(kHead) + "mx IN MX 70000 mail\n",
                "t.zone:6: MX preference '70000' is out of range (0..65535)"},
        Wording{std::string(kHead) + "mx IN MX -1 mail\n",
                "t.zone:6: MX preference '-1' is out of range (0..65535)"},
        Wording{std::string(kHead) + "mx IN MX ten mail\n",
                "t.zone:6: MX preference 'ten' is not a number"},
        Wording{std::string(kHead) + "mx IN MX 10\n",
                "t.zone:6: MX needs 2 field(s) (preference, exchange), the line has 1"},
        Wording{std::string(kHead) + "_sip._udp IN SRV 10 60 70000 sip\n",
                "t.zone:6: SRV port '70000' is out of range (0..65535)"},
        Wording{std::string(kHead) + "ds IN DS 12345 13 300 AABB\n",
                "t.zone:6: DS digest type '300' is out of range (0..255)"},
        Wording{std::string(kHead) + "x IN CNAME a..b\n",
                "t.zone:6: CNAME target 'a..b' is not a domain name"},
        Wording{std::string(kHead) + "x IN A 192.0.2.1 192.0.2.2\n",
                "t.zone:6: unexpected text after the A record: '192.0.2.2'"},
        Wording{std::string(kHead) + "x IN BOGUS 1\n", "t.zone:6: 'BOGUS' is not a record type"},
        Wording{"$ORIGIN example.com.\n@ IN SOA ns1 h 1 abc 3 4 5\n",
                "t.zone:2: SOA refresh 'abc' is not a TTL (seconds, or as 1h30m)"},
        Wording{"$ORIGIN example.com.\n@ IN SOA ns1 h (\n 4294967296 ; serial\n 2 3 4 5 )\n",
                "t.zone:2: SOA serial '4294967296' is out of range (0..4294967295)"},
        Wording{"$ORIGIN example.com.\n$TTL 60\n\nwww IN A 192.0.2.1\n@ IN NS ns1\n",
                "t.zone:4: no SOA record at the zone apex example.com. (a zone file starts with "
                "the SOA of its zone; its first record is here)"},
        Wording{"; nothing here\n",
                "t.zone:1: no SOA record at the zone apex example.com.: the zone file has no "
                "records"}));
