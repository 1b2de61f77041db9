#include "tests/unit/test_support.h"
#include "server/query.h"

#include <gtest/gtest.h>
#include <ldns/ldns.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "zone/loader.h"
#include "zone/wire/name.h"

using namespace zone;
using namespace zone::wire;
using server::Disposition;
using server::QueryOptions;
using server::QueryProcessor;
using server::Transport;

namespace {

using test_support::W;

struct PktFree {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
using PktPtr = std::unique_ptr<ldns_pkt, PktFree>;

constexpr auto load_file = &test_support::load_test_zone;

std::shared_ptr<const Zone> load_text(const std::string& text, const std::string& origin) {
  LoadResult r = load_zone_text(text, W(origin), "test.zone");
  for (const auto& e : r.errors) ADD_FAILURE() << e.str();
  return r.zone;
}

std::shared_ptr<const ZoneTable> make_table(std::vector<std::shared_ptr<const Zone>> zones) {
  std::map<std::string, std::shared_ptr<const Zone>> m;
  for (auto& z : zones)
    if (z) m[z->origin()] = z;
  return std::make_shared<ZoneTable>(std::move(m));
}

const ZoneTable& test_zones() {
  static auto t = make_table({load_file("example.com.zone", "example.com."),
                              load_file("child.example.com.zone", "child.example.com."),
                              load_file("other.net.zone", "other.net.")});
  return *t;
}

struct Query {
  std::string name;
  uint16_t type = rrtype::A;
  uint16_t cls = rrclass::IN;
  bool edns = false;
  uint16_t payload = 1232;
  uint8_t version = 0;
  bool do_bit = false;
  int opcode = 0;
  Transport transport = Transport::udp;
};

std::vector<uint8_t> to_wire(const Query& q) {
  ldns_pkt* raw = nullptr;
  EXPECT_EQ(ldns_pkt_query_new_frm_str(&raw, q.name.c_str(), static_cast<ldns_rr_type>(q.type),
                                       static_cast<ldns_rr_class>(q.cls), LDNS_RD),
            LDNS_STATUS_OK);
  PktPtr p(raw);
  ldns_pkt_set_id(p.get(), 0x4242);
  ldns_pkt_set_opcode(p.get(), static_cast<ldns_pkt_opcode>(q.opcode));
  if (q.edns) {
    ldns_pkt_set_edns_udp_size(p.get(), q.payload);
    ldns_pkt_set_edns_version(p.get(), q.version);
    ldns_pkt_set_edns_do(p.get(), q.do_bit);
  }
  uint8_t* w = nullptr;
  size_t n = 0;
  EXPECT_EQ(ldns_pkt2wire(&w, p.get(), &n), LDNS_STATUS_OK);
  std::vector<uint8_t> v(w, w + n);
  free(w);
  return v;
}

struct Response {
  bool dropped = true;
  std::vector<uint8_t> bytes;
  PktPtr pkt;
  uint16_t flags() const { return get16(bytes.data() + 2); }
  bool aa() const { return flags() & flag::AA; }
  bool tc() const { return flags() & flag::TC; }
  int rcode() const {
    return ldns_pkt_get_rcode(pkt.get()) | (ldns_pkt_edns_extended_rcode(pkt.get()) << 4);
  }
};

Response run_bytes(const std::vector<uint8_t>& in, Transport t, const ZoneTable& zones,
                   QueryOptions opts = {}) {
  QueryProcessor qp(opts);
  std::vector<uint8_t> out(65535);
  ParsedQuery parsed;
  static const server::Policy policy;
  server::Request req{in.data(), in.size(), t, server::Peer{}, nullptr};
  auto res = qp.process(req, zones, policy, out.data(), out.size(), parsed);
  Response r;
  if (res.disposition == Disposition::drop) return r;
  r.dropped = false;
  r.bytes.assign(out.begin(), out.begin() + res.size);
  ldns_pkt* p = nullptr;
  EXPECT_EQ(ldns_wire2pkt(&p, r.bytes.data(), r.bytes.size()), LDNS_STATUS_OK)
      << "response does not parse";
  r.pkt.reset(p);
  return r;
}

Response ask(const Query& q, const ZoneTable& zones = test_zones(), QueryOptions opts = {}) {
  return run_bytes(to_wire(q), q.transport, zones, opts);
}

// Section contents as "owner ttl class type rdata" lines, sorted.
std::vector<std::string> section(const ldns_rr_list* list) {
  std::vector<std::string> v;
  for (size_t i = 0; i < ldns_rr_list_rr_count(list); ++i) {
    char* s = ldns_rr2str(ldns_rr_list_rr(list, i));
    std::string line(s);
    free(s);
    while (!line.empty() && line.back() == '\n') line.pop_back();
    std::replace(line.begin(), line.end(), '\t', ' ');
    v.push_back(line);
  }
  std::sort(v.begin(), v.end());
  return v;
}
std::vector<std::string> answer(const Response& r) { return section(ldns_pkt_answer(r.pkt.get())); }
std::vector<std::string> authority(const Response& r) {
  return section(ldns_pkt_authority(r.pkt.get()));
}
std::vector<std::string> additional(const Response& r) {
  return section(ldns_pkt_additional(r.pkt.get()));
}
std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

const char* kExampleSoa =
    "example.com. 300 IN SOA ns1.example.com. hostmaster.example.com. 2026112401 7200 3600 "
    "1209600 300";
const char* kChildSoa =
    "child.example.com. 600 IN SOA ns1.child.example.com. hostmaster.example.com. 2026112402 "
    "7200 3600 1209600 600";
const char* kOtherSoa =
    "other.net. 60 IN SOA ns.other.net. hostmaster.other.net. 7 3600 600 86400 60";

// A query against the three test zones and the whole expected response (CoreDNS test.Case).
struct Case {
  const char* qname;
  uint16_t qtype;
  int rcode;
  bool aa;
  std::vector<std::string> ans, ns, extra;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.qname << " type " << c.qtype; }

class TestZones : public ::testing::TestWithParam<Case> {};

TEST_P(TestZones, Response) {
  const Case& c = GetParam();
  Query q;
  q.name = c.qname;
  q.type = c.qtype;
  Response r = ask(q);
  ASSERT_FALSE(r.dropped);
  ASSERT_TRUE(r.pkt);
  EXPECT_EQ(r.rcode(), c.rcode);
  EXPECT_EQ(r.aa(), c.aa);
  EXPECT_FALSE(r.tc());
  EXPECT_TRUE(r.flags() & flag::QR);
  EXPECT_TRUE(r.flags() & flag::RD);  // echoed
  EXPECT_FALSE(r.flags() & flag::RA);
  EXPECT_EQ(get16(r.bytes.data()), 0x4242);
  EXPECT_EQ(answer(r), sorted(c.ans));
  EXPECT_EQ(authority(r), sorted(c.ns));
  EXPECT_EQ(additional(r), sorted(c.extra));
}

namespace t = rrtype;
constexpr int NOERROR = rcode::NOERROR, NXDOMAIN = rcode::NXDOMAIN, REFUSED = rcode::REFUSED;

const Case kCases[] = {
    // Authoritative answers.
    {"www.example.com.", t::A, NOERROR, true,
     {"www.example.com. 3600 IN A 192.0.2.10", "www.example.com. 3600 IN A 192.0.2.11"}, {}, {}},
    {"example.com.", t::TXT, NOERROR, true, {"example.com. 3600 IN TXT \"apex text\""}, {}, {}},
    // Additional section: addresses of NS, MX and SRV targets that are in the zone.
    {"example.com.", t::NS, NOERROR, true,
     {"example.com. 3600 IN NS ns1.example.com.", "example.com. 3600 IN NS ns2.example.com."},
     {},
     {"ns1.example.com. 3600 IN A 192.0.2.53", "ns2.example.com. 3600 IN A 192.0.2.54",
      "ns2.example.com. 3600 IN AAAA 2001:db8::54"}},
    {"example.com.", t::MX, NOERROR, true,
     {"example.com. 3600 IN MX 10 mail.example.com.",
      "example.com. 3600 IN MX 20 mail2.other.net."},
     {},
     {"mail.example.com. 3600 IN A 192.0.2.25"}},
    {"_sip._tcp.example.com.", t::SRV, NOERROR, true,
     {"_sip._tcp.example.com. 3600 IN SRV 0 5 5060 sip.example.com."}, {},
     {"sip.example.com. 3600 IN A 192.0.2.60"}},
    // ANY: a single RRset (RFC 8482).
    {"www.example.com.", t::ANY, NOERROR, true,
     {"www.example.com. 3600 IN A 192.0.2.10", "www.example.com. 3600 IN A 192.0.2.11"}, {}, {}},
    // CNAME chains.
    {"alias2.example.com.", t::A, NOERROR, true,
     {"alias2.example.com. 3600 IN CNAME alias.example.com.",
      "alias.example.com. 3600 IN CNAME www.example.com.",
      "www.example.com. 3600 IN A 192.0.2.10", "www.example.com. 3600 IN A 192.0.2.11"},
     {}, {}},
    {"alias.example.com.", t::CNAME, NOERROR, true,
     {"alias.example.com. 3600 IN CNAME www.example.com."}, {}, {}},
    {"toother.example.com.", t::A, NOERROR, true,
     {"toother.example.com. 3600 IN CNAME host.other.net.",
      "host.other.net. 600 IN A 198.51.100.10"},
     {}, {}},
    {"outside.example.com.", t::A, NOERROR, true,
     {"outside.example.com. 3600 IN CNAME www.example.org."}, {}, {}},
    {"dangling.example.com.", t::A, NXDOMAIN, true,
     {"dangling.example.com. 3600 IN CNAME nothere.example.com."}, {kExampleSoa}, {}},
    // Wildcards and empty non-terminals.
    {"foo.wild.example.com.", t::A, NOERROR, true, {"foo.wild.example.com. 3600 IN A 192.0.2.100"},
     {}, {}},
    {"foo.wild.example.com.", t::MX, NOERROR, true, {}, {kExampleSoa}, {}},
    {"x.wcname.example.com.", t::A, NOERROR, true,
     {"x.wcname.example.com. 3600 IN CNAME www.example.com.",
      "www.example.com. 3600 IN A 192.0.2.10", "www.example.com. 3600 IN A 192.0.2.11"},
     {}, {}},
    {"ent.example.com.", t::A, NOERROR, true, {}, {kExampleSoa}, {}},
    {"b.ent.example.com.", t::A, NOERROR, true, {}, {kExampleSoa}, {}},
    {"x.ent.example.com.", t::A, NOERROR, true, {"x.ent.example.com. 3600 IN A 192.0.2.102"}, {},
     {}},
    {"x.b.ent.example.com.", t::A, NXDOMAIN, true, {}, {kExampleSoa}, {}},
    // Negative answers: SOA with TTL min(SOA TTL, MINIMUM).
    {"nothere.example.com.", t::A, NXDOMAIN, true, {}, {kExampleSoa}, {}},
    {"www.example.com.", t::MX, NOERROR, true, {}, {kExampleSoa}, {}},
    {"nothere.child.example.com.", t::A, NXDOMAIN, true, {}, {kChildSoa}, {}},
    {"www.child.example.com.", t::TXT, NOERROR, true, {}, {kChildSoa}, {}},
    {"nothere.other.net.", t::A, NXDOMAIN, true, {}, {kOtherSoa}, {}},
    // Referrals: no AA, NS in authority, in-domain glue (A and AAAA) in additional.
    {"deleg.example.com.", t::A, NOERROR, false, {},
     {"deleg.example.com. 3600 IN NS ns1.deleg.example.com.",
      "deleg.example.com. 3600 IN NS ns.other.net."},
     {"ns1.deleg.example.com. 3600 IN A 192.0.2.201",
      "ns1.deleg.example.com. 3600 IN AAAA 2001:db8::201"}},
    {"a.b.deleg.example.com.", t::MX, NOERROR, false, {},
     {"deleg.example.com. 3600 IN NS ns1.deleg.example.com.",
      "deleg.example.com. 3600 IN NS ns.other.net."},
     {"ns1.deleg.example.com. 3600 IN A 192.0.2.201",
      "ns1.deleg.example.com. 3600 IN AAAA 2001:db8::201"}},
    {"ns1.deleg.example.com.", t::A, NOERROR, false, {},
     {"deleg.example.com. 3600 IN NS ns1.deleg.example.com.",
      "deleg.example.com. 3600 IN NS ns.other.net."},
     {"ns1.deleg.example.com. 3600 IN A 192.0.2.201",
      "ns1.deleg.example.com. 3600 IN AAAA 2001:db8::201"}},
    // Sibling glue.
    {"www.sibling.example.com.", t::A, NOERROR, false, {},
     {"sibling.example.com. 3600 IN NS ns1.example.com."},
     {"ns1.example.com. 3600 IN A 192.0.2.53"}},
    // DS at a cut: the parent answers, authoritatively.
    {"deleg.example.com.", t::DS, NOERROR, true,
     {"deleg.example.com. 3600 IN DS 12345 13 2 "
      "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
     {}, {}},
    // The child zone answers for its apex, except DS, which comes from the parent.
    {"child.example.com.", t::SOA, NOERROR, true,
     {"child.example.com. 3600 IN SOA ns1.child.example.com. hostmaster.example.com. 2026112402 "
      "7200 3600 1209600 600"},
     {}, {}},
    {"child.example.com.", t::NS, NOERROR, true,
     {"child.example.com. 3600 IN NS ns1.child.example.com."}, {},
     {"ns1.child.example.com. 3600 IN A 192.0.2.210"}},
    {"www.child.example.com.", t::A, NOERROR, true, {"www.child.example.com. 3600 IN A 192.0.2.211"},
     {}, {}},
    {"child.example.com.", t::DS, NOERROR, true, {}, {kExampleSoa}, {}},
    // DNAME: the DNAME, a synthesized CNAME, and the target's answer.
    {"www.dn.example.com.", t::A, NOERROR, true,
     {"dn.example.com. 3600 IN DNAME other.net.", "www.dn.example.com. 3600 IN CNAME www.other.net.",
      "www.other.net. 600 IN A 198.51.100.80"},
     {}, {}},
    {"nothere.dn.example.com.", t::A, NXDOMAIN, true,
     {"dn.example.com. 3600 IN DNAME other.net.",
      "nothere.dn.example.com. 3600 IN CNAME nothere.other.net."},
     {kOtherSoa}, {}},
    // Not ours.
    {"www.example.org.", t::A, REFUSED, false, {}, {}, {}},
    {"com.", t::NS, REFUSED, false, {}, {}, {}},
    {".", t::NS, REFUSED, false, {}, {}, {}},
};

INSTANTIATE_TEST_SUITE_P(Cases, TestZones, ::testing::ValuesIn(kCases));

// --- single behaviours -------------------------------------------------------------------

TEST(Query, CnameLoopTerminates) {
  Query q;
  q.name = "loop1.example.com.";
  Response r = ask(q);
  ASSERT_TRUE(r.pkt);
  EXPECT_EQ(r.rcode(), NOERROR);
  auto a = answer(r);
  EXPECT_GE(a.size(), 2u);
  EXPECT_LE(a.size(), 16u);
  for (const auto& line : a) EXPECT_NE(line.find(" CNAME loop"), std::string::npos) << line;
}

TEST(Query, QuestionCasePreserved) {
  Query q;
  q.name = "WwW.ExAmPlE.cOm.";
  Response r = ask(q);
  ASSERT_TRUE(r.pkt);
  EXPECT_EQ(r.rcode(), NOERROR);
  std::string wire = *name_from_text("WwW.ExAmPlE.cOm.");
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(r.bytes.data() + 12), wire.size()), wire);
  char* s = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_answer(r.pkt.get()), 0)));
  EXPECT_STREQ(s, "WwW.ExAmPlE.cOm.");  // the owner points at the question
  free(s);
  EXPECT_EQ(ldns_pkt_ancount(r.pkt.get()), 2);
}

TEST(Query, CompressionMakesResponseSmaller) {
  Query q;
  q.name = "example.com.";
  q.type = rrtype::NS;
  Response r = ask(q);
  ASSERT_TRUE(r.pkt);
  size_t uncompressed = 12 + W("example.com.").size() + 4;
  for (auto* list : {ldns_pkt_answer(r.pkt.get()), ldns_pkt_additional(r.pkt.get())})
    for (size_t i = 0; i < ldns_rr_list_rr_count(list); ++i)
      uncompressed += ldns_rr_uncompressed_size(ldns_rr_list_rr(list, i));
  // 2 NS + 3 addresses: owners and NS targets all share example.com.
  EXPECT_LT(r.bytes.size() + 60, uncompressed);
}

TEST(Query, RefusedForOtherClassAndAxfrOverUdp) {
  Query q;
  q.name = "example.com.";
  q.cls = rrclass::CH;
  q.type = rrtype::TXT;
  EXPECT_EQ(ask(q).rcode(), REFUSED);
  Query x;
  x.name = "example.com.";
  x.type = rrtype::AXFR;
  Response r = ask(x);
  ASSERT_TRUE(r.pkt);
  EXPECT_EQ(r.rcode(), REFUSED);
  EXPECT_EQ(ldns_pkt_ancount(r.pkt.get()), 0);
}

TEST(Query, NotImplementedOpcode) {
  Query q;
  q.name = "www.example.com.";
  q.opcode = 2;  // STATUS
  Response r = ask(q);
  ASSERT_TRUE(r.pkt);
  EXPECT_EQ(r.rcode(), rcode::NOTIMP);
  EXPECT_EQ((r.flags() >> 11) & 0xF, 2);  // opcode echoed
  EXPECT_EQ(ldns_pkt_ancount(r.pkt.get()), 0);
}

TEST(Query, FormerrForBadMessages) {
  // QDCOUNT 0: header-only FORMERR, id and RD echoed.
  std::vector<uint8_t> hdr = {0xAB, 0xCD, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0};
  Response r = run_bytes(hdr, Transport::udp, test_zones());
  ASSERT_FALSE(r.dropped);
  ASSERT_EQ(r.bytes.size(), 12u);
  EXPECT_EQ(get16(r.bytes.data()), 0xABCD);
  EXPECT_EQ(r.flags() & 0xF, rcode::FORMERR);
  EXPECT_TRUE(r.flags() & flag::QR);
  EXPECT_TRUE(r.flags() & flag::RD);
  // Question cut short.
  std::vector<uint8_t> cut = to_wire({.name = "www.example.com."});
  cut.resize(cut.size() - 3);
  r = run_bytes(cut, Transport::udp, test_zones());
  ASSERT_FALSE(r.dropped);
  EXPECT_EQ(r.flags() & 0xF, rcode::FORMERR);
  // QTYPE OPT.
  Query opt;
  opt.name = "www.example.com.";
  opt.type = rrtype::OPT;
  EXPECT_EQ(ask(opt).rcode(), rcode::FORMERR);
}

TEST(Query, ResponsesAndShortMessagesAreDropped) {
  std::vector<uint8_t> in = to_wire({.name = "www.example.com."});
  in[2] |= 0x80;  // QR
  EXPECT_TRUE(run_bytes(in, Transport::udp, test_zones()).dropped);
  EXPECT_TRUE(run_bytes(in, Transport::tcp, test_zones()).dropped);
  std::vector<uint8_t> shortmsg(11, 0);
  EXPECT_TRUE(run_bytes(shortmsg, Transport::udp, test_zones()).dropped);
}

// --- EDNS ----------------------------------------------------------------------------------

TEST(Edns, OptInResponseWithOurPayloadAndDo) {
  Query q;
  q.name = "www.example.com.";
  q.edns = true;
  q.payload = 4096;
  q.do_bit = true;
  QueryOptions opts;
  opts.udp_payload = 1400;
  Response r = ask(q, test_zones(), opts);
  ASSERT_TRUE(r.pkt);
  EXPECT_EQ(r.rcode(), NOERROR);
  EXPECT_TRUE(ldns_pkt_edns(r.pkt.get()));
  EXPECT_EQ(ldns_pkt_edns_udp_size(r.pkt.get()), 1400);
  EXPECT_EQ(ldns_pkt_edns_version(r.pkt.get()), 0);
  EXPECT_TRUE(ldns_pkt_edns_do(r.pkt.get()));
  EXPECT_EQ(ldns_pkt_ancount(r.pkt.get()), 2);

  Query plain;
  plain.name = "www.example.com.";
  Response p = ask(plain);
  ASSERT_TRUE(p.pkt);
  EXPECT_FALSE(ldns_pkt_edns(p.pkt.get()));
  EXPECT_EQ(get16(p.bytes.data() + 10), 0);  // no OPT without EDNS in the query
}

TEST(Edns, BadVersion) {
  Query q;
  q.name = "www.example.com.";
  q.edns = true;
  q.version = 1;
  Response r = ask(q);
  ASSERT_TRUE(r.pkt);
  EXPECT_EQ(r.rcode(), rcode::BADVERS);
  EXPECT_EQ(r.flags() & 0xF, 0);  // the low bits of 16
  EXPECT_TRUE(ldns_pkt_edns(r.pkt.get()));
  EXPECT_EQ(ldns_pkt_edns_version(r.pkt.get()), 0);
  EXPECT_EQ(ldns_pkt_ancount(r.pkt.get()), 0);
  EXPECT_FALSE(r.aa());
}

TEST(Edns, FormerrForMalformedOpt) {
  std::vector<uint8_t> in = to_wire({.name = "www.example.com.", .edns = true});
  // Second OPT: duplicate the last 11 bytes and bump ARCOUNT.
  std::vector<uint8_t> two = in;
  two.insert(two.end(), in.end() - 11, in.end());
  two[11] = 2;
  Response r = run_bytes(two, Transport::udp, test_zones());
  ASSERT_FALSE(r.dropped);
  EXPECT_EQ(r.flags() & 0xF, rcode::FORMERR);
}

// A zone with RRsets too big for 512 bytes, for truncation tests.
const ZoneTable& big_zones() {
  static auto t = [] {
    std::string text =
        "$ORIGIN big.test.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n"
        "alias CNAME txt\n";
    // 10 TXT records of ~100 bytes: about 1.1 KB.
    for (int i = 0; i < 10; ++i)
      text += "txt TXT \"" + std::to_string(i) + std::string(98, 'x') + "\"\n";
    // 6 TXT records: about 670 bytes, fits 1000 but not 512.
    for (int i = 0; i < 6; ++i)
      text += "mid TXT \"" + std::to_string(i) + std::string(98, 'y') + "\"\n";
    // A delegation whose in-domain glue does not fit in 512 bytes (RFC 9471).
    for (int i = 0; i < 8; ++i) {
      std::string ns = "ns" + std::to_string(i) + "-with-a-rather-long-label.glue";
      text += "glue NS " + ns + "\n";
      text += ns + " A 192.0.2." + std::to_string(10 + i) + "\n";
      text += ns + " AAAA 2001:db8::" + std::to_string(10 + i) + "\n";
    }
    // The same shape with sibling (not in-domain) name servers: their glue is optional.
    for (int i = 0; i < 8; ++i) {
      std::string ns = "ns" + std::to_string(i) + "-with-a-rather-long-label.hosts";
      text += "sib NS " + ns + "\n";
      text += ns + " A 192.0.2." + std::to_string(30 + i) + "\n";
      text += ns + " AAAA 2001:db8::" + std::to_string(30 + i) + "\n";
    }
    return make_table({load_text(text, "big.test.")});
  }();
  return *t;
}

TEST(Truncation, NoEdnsCapsAt512WithTc) {
  Query q;
  q.name = "txt.big.test.";
  q.type = rrtype::TXT;
  Response r = ask(q, big_zones());
  ASSERT_TRUE(r.pkt);
  EXPECT_LE(r.bytes.size(), 512u);
  EXPECT_TRUE(r.tc());
  EXPECT_EQ(ldns_pkt_ancount(r.pkt.get()), 0);  // never a partial RRset
  EXPECT_EQ(r.rcode(), NOERROR);
}

TEST(Truncation, OverTcpItFits) {
  Query q;
  q.name = "txt.big.test.";
  q.type = rrtype::TXT;
  q.transport = Transport::tcp;
  Response r = ask(q, big_zones());
  ASSERT_TRUE(r.pkt);
  EXPECT_GT(r.bytes.size(), 1000u);
  EXPECT_FALSE(r.tc());
  EXPECT_EQ(ldns_pkt_ancount(r.pkt.get()), 10);
}

TEST(Truncation, EdnsLimitIsMinOfClientAndConfigured) {
  Query q;
  q.name = "mid.big.test.";
  q.type = rrtype::TXT;
  q.edns = true;
  QueryOptions opts;
  opts.udp_payload = 1232;
  q.payload = 4096;  // limit 1232: fits
  Response r = ask(q, big_zones(), opts);
  ASSERT_TRUE(r.pkt);
  EXPECT_FALSE(r.tc());
  EXPECT_EQ(ldns_pkt_ancount(r.pkt.get()), 6);
  q.payload = 600;  // limit 600: does not fit
  r = ask(q, big_zones(), opts);
  ASSERT_TRUE(r.pkt);
  EXPECT_TRUE(r.tc());
  EXPECT_LE(r.bytes.size(), 600u);
  EXPECT_EQ(ldns_pkt_ancount(r.pkt.get()), 0);
  EXPECT_TRUE(ldns_pkt_edns(r.pkt.get()));  // the OPT still fits
  q.payload = 4096;
  opts.udp_payload = 600;  // configured limit wins
  r = ask(q, big_zones(), opts);
  ASSERT_TRUE(r.pkt);
  EXPECT_TRUE(r.tc());
  EXPECT_LE(r.bytes.size(), 600u);
  q.payload = 100;  // below 512 counts as 512
  opts.udp_payload = 1232;
  q.name = "ns.big.test.";
  q.type = rrtype::A;
  r = ask(q, big_zones(), opts);
  ASSERT_TRUE(r.pkt);
  EXPECT_FALSE(r.tc());
  EXPECT_EQ(ldns_pkt_ancount(r.pkt.get()), 1);
}

TEST(Truncation, AtRrsetBoundaries) {
  // The CNAME fits, the TXT RRset it leads to does not: the CNAME stays, whole.
  Query q;
  q.name = "alias.big.test.";
  q.type = rrtype::TXT;
  Response r = ask(q, big_zones());
  ASSERT_TRUE(r.pkt);
  EXPECT_TRUE(r.tc());
  EXPECT_EQ(answer(r), std::vector<std::string>{"alias.big.test. 60 IN CNAME txt.big.test."});
  EXPECT_EQ(ldns_pkt_nscount(r.pkt.get()), 0);
  EXPECT_EQ(ldns_pkt_arcount(r.pkt.get()), 0);
}

TEST(Truncation, Rfc9471InDomainGlueThatDoesNotFitSetsTc) {
  Query q;
  q.name = "www.glue.big.test.";
  Response r = ask(q, big_zones());
  ASSERT_TRUE(r.pkt);
  EXPECT_FALSE(r.aa());
  EXPECT_EQ(ldns_pkt_nscount(r.pkt.get()), 8);  // the NS RRset fits
  EXPECT_LT(ldns_pkt_arcount(r.pkt.get()), 16);  // not all of the glue does
  EXPECT_TRUE(r.tc());
  EXPECT_LE(r.bytes.size(), 512u);
  // Over TCP all glue is there and TC is clear.
  q.transport = Transport::tcp;
  r = ask(q, big_zones());
  ASSERT_TRUE(r.pkt);
  EXPECT_FALSE(r.tc());
  EXPECT_EQ(ldns_pkt_arcount(r.pkt.get()), 16);
}

TEST(Truncation, SiblingGlueIsOptional) {
  Query q;
  q.name = "www.sib.big.test.";
  Response r = ask(q, big_zones());
  ASSERT_TRUE(r.pkt);
  EXPECT_EQ(ldns_pkt_nscount(r.pkt.get()), 8);
  EXPECT_LT(ldns_pkt_arcount(r.pkt.get()), 16);
  EXPECT_GT(ldns_pkt_arcount(r.pkt.get()), 0);
  EXPECT_FALSE(r.tc());
}

// --- DNAME ---------------------------------------------------------------------------------

TEST(Dname, YxdomainWhenSynthesizedNameTooLong) {
  auto table = make_table({load_text("$ORIGIN example.org.\n$TTL 60\n@ SOA ns h 1 2 3 4 5\n"
                                     "@ NS ns\nns A 192.0.2.1\n"
                                     "d DNAME a-much-much-longer-target-name.example.net.\n",
                                     "example.org.")});
  std::string l55(55, 'a');
  // 4 labels of 55 + d.example.org. (15 bytes) = 239 bytes: legal; the synthesized name
  // (224 + 44 bytes) exceeds 255.
  Query q;
  q.name = l55 + "." + l55 + "." + l55 + "." + l55 + ".d.example.org.";
  Response r = ask(q, *table);
  ASSERT_TRUE(r.pkt);
  EXPECT_EQ(r.rcode(), rcode::YXDOMAIN);
  EXPECT_EQ(answer(r),
            std::vector<std::string>{
                "d.example.org. 60 IN DNAME a-much-much-longer-target-name.example.net."});
  // A shorter name below the DNAME is synthesized normally (out of every zone: stops).
  q.name = "x.d.example.org.";
  r = ask(q, *table);
  ASSERT_TRUE(r.pkt);
  EXPECT_EQ(r.rcode(), NOERROR);
  EXPECT_EQ(answer(r), sorted({"d.example.org. 60 IN DNAME a-much-much-longer-target-name.example.net.",
                               "x.d.example.org. 60 IN CNAME x.a-much-much-longer-target-name.example.net."}));
}

}  // namespace
