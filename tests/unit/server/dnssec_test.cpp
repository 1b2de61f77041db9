// DO=1 answers from signed zones, checked the way a validator would: every RRset in the
// answer and authority sections carries RRSIGs that verify against the zone's DNSKEYs
// (wildcard expansions included), and negative answers carry exactly the NSEC/NSEC3 records
// of the proof (RFC 4035 3.1, RFC 5155 7.2). The zones are in tests/data/zones/signed
// (make_signed.sh; signatures valid 2017-2038).
#include <gtest/gtest.h>
#include <ldns/ldns.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "tests/unit/test_support.h"
#include "server/query.h"
#include "zone/loader.h"
#include "zone/wire/name.h"

using namespace zone;
using namespace zone::wire;
using server::Disposition;
using server::QueryProcessor;
using server::Transport;

namespace {

using test_support::W;

struct PktFree {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
using PktPtr = std::unique_ptr<ldns_pkt, PktFree>;
struct ListFree {
  void operator()(ldns_rr_list* l) const { ldns_rr_list_deep_free(l); }
};
using ListPtr = std::unique_ptr<ldns_rr_list, ListFree>;
struct RdfFree {
  void operator()(ldns_rdf* r) const { ldns_rdf_deep_free(r); }
};
using RdfPtr = std::unique_ptr<ldns_rdf, RdfFree>;

const ZoneTable& table(const std::string& variant) {
  static std::map<std::string, std::shared_ptr<const ZoneTable>> tables;
  auto& t = tables[variant];
  if (!t) {
    LoadResult r = load_zone_file(
        std::string(ZONED_TEST_DATA "/zones/signed/") + variant + ".example.test.zone",
        W("example.test."));
    for (const auto& e : r.errors) ADD_FAILURE() << e.str();
    for (const auto& w : r.warnings) ADD_FAILURE() << "warning: " << w.str();
    std::map<std::string, std::shared_ptr<const Zone>> m;
    if (r.zone) m[r.zone->origin()] = r.zone;
    t = std::make_shared<ZoneTable>(std::move(m));
  }
  return *t;
}

PktPtr ask(const std::string& variant, const std::string& name, uint16_t type, bool do_bit = true,
           Transport tr = Transport::udp, uint16_t payload = 4096) {
  ldns_pkt* raw = nullptr;
  EXPECT_EQ(ldns_pkt_query_new_frm_str(&raw, name.c_str(), static_cast<ldns_rr_type>(type),
                                       LDNS_RR_CLASS_IN, 0),
            LDNS_STATUS_OK);
  PktPtr q(raw);
  ldns_pkt_set_edns_udp_size(q.get(), payload);
  ldns_pkt_set_edns_do(q.get(), do_bit);
  ldns_pkt_set_cd(q.get(), true);
  uint8_t* w = nullptr;
  size_t n = 0;
  EXPECT_EQ(ldns_pkt2wire(&w, q.get(), &n), LDNS_STATUS_OK);
  std::vector<uint8_t> in(w, w + n);
  free(w);
  QueryProcessor qp;
  std::vector<uint8_t> out(65535);
  ParsedQuery parsed;
  static const server::Policy policy;
  server::Request req{in.data(), in.size(), tr, server::Peer{}, nullptr};
  auto res = qp.process(req, table(variant), policy, out.data(), out.size(), parsed);
  EXPECT_EQ(res.disposition, Disposition::respond);
  ldns_pkt* p = nullptr;
  EXPECT_EQ(ldns_wire2pkt(&p, out.data(), res.size), LDNS_STATUS_OK);
  return PktPtr(p);
}

std::string owner_text(const ldns_rr* rr) {
  char* s = ldns_rdf2str(ldns_rr_owner(rr));
  std::string t(s);
  free(s);
  std::transform(t.begin(), t.end(), t.begin(), ::tolower);
  return t;
}
std::string type_text(uint16_t t) {
  char* s = ldns_rr_type2str(static_cast<ldns_rr_type>(t));
  std::string r(s);
  free(s);
  return r;
}
uint16_t covered(const ldns_rr* sig) {
  return static_cast<uint16_t>(ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(sig)));
}

// "owner TYPE", RRSIGs as "owner RRSIG TYPE"; NSEC3 records (and their RRSIGs) left out
// when `skip_nsec3` (their owners are hashes: checked by match/cover below).
std::vector<std::string> summary(const ldns_rr_list* l, bool skip_nsec3) {
  std::set<std::string> s;
  for (size_t i = 0; i < ldns_rr_list_rr_count(l); ++i) {
    const ldns_rr* rr = ldns_rr_list_rr(l, i);
    uint16_t t = ldns_rr_get_type(rr);
    if (skip_nsec3 && (t == LDNS_RR_TYPE_NSEC3 ||
                       (t == LDNS_RR_TYPE_RRSIG && covered(rr) == LDNS_RR_TYPE_NSEC3)))
      continue;
    std::string e = owner_text(rr) + " " + type_text(t);
    if (t == LDNS_RR_TYPE_RRSIG) e += " " + type_text(covered(rr));
    s.insert(e);
  }
  return {s.begin(), s.end()};
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

ldns_rr_list* dnskeys(const std::string& variant) {
  static std::map<std::string, ListPtr> keys;
  auto& k = keys[variant];
  if (!k) {
    PktPtr p = ask(variant, "example.test.", LDNS_RR_TYPE_DNSKEY);
    // ldns_pkt_rr_list_by_type returns copies (or null).
    ldns_rr_list* l = ldns_pkt_rr_list_by_type(p.get(), LDNS_RR_TYPE_DNSKEY, LDNS_SECTION_ANSWER);
    k.reset(l ? l : ldns_rr_list_new());
  }
  return k.get();
}

// Every RRset of the section verifies with the zone keys, unless it is one that is never
// signed: the NS of a referral, a CNAME synthesized from a DNAME. Returns the number of
// signed RRsets verified.
int verify_section(const std::string& variant, const ldns_pkt* p, ldns_pkt_section sec) {
  ldns_rr_list* l = sec == LDNS_SECTION_ANSWER ? ldns_pkt_answer(p) : ldns_pkt_authority(p);
  ldns_rr_list* dnames = ldns_pkt_rr_list_by_type(p, LDNS_RR_TYPE_DNAME, LDNS_SECTION_ANSWER);
  bool has_dname = dnames != nullptr;
  ldns_rr_list_deep_free(dnames);
  std::map<std::pair<std::string, uint16_t>, ListPtr> sets, sigs;
  for (size_t i = 0; i < ldns_rr_list_rr_count(l); ++i) {
    ldns_rr* rr = ldns_rr_list_rr(l, i);
    uint16_t t = ldns_rr_get_type(rr);
    auto key = std::make_pair(owner_text(rr), t == LDNS_RR_TYPE_RRSIG ? covered(rr) : t);
    auto& m = t == LDNS_RR_TYPE_RRSIG ? sigs : sets;
    if (!m[key]) m[key].reset(ldns_rr_list_new());
    ldns_rr_list_push_rr(m[key].get(), ldns_rr_clone(rr));
  }
  int verified = 0;
  for (auto& [key, set] : sets) {
    bool unsigned_ok = (key.second == LDNS_RR_TYPE_NS && !ldns_pkt_aa(p) &&
                        sec == LDNS_SECTION_AUTHORITY) ||
                       (key.second == LDNS_RR_TYPE_CNAME && has_dname);
    auto s = sigs.find(key);
    if (unsigned_ok) {
      EXPECT_TRUE(s == sigs.end()) << key.first << " " << type_text(key.second) << " is signed";
      continue;
    }
    if (s == sigs.end()) {
      ADD_FAILURE() << key.first << " " << type_text(key.second) << " has no RRSIG";
      continue;
    }
    for (size_t i = 0; i < ldns_rr_list_rr_count(s->second.get()); ++i) {
      ldns_rr* sig = ldns_rr_list_rr(s->second.get(), i);
      EXPECT_EQ(ldns_rr_ttl(sig), ldns_rr_ttl(ldns_rr_list_rr(set.get(), 0)))
          << "RRSIG TTL differs from its RRset's, " << key.first;
      // good_keys receives pointers to the keys themselves: a shallow list.
      std::unique_ptr<ldns_rr_list, void (*)(ldns_rr_list*)> good(ldns_rr_list_new(),
                                                                 ldns_rr_list_free);
      ldns_status st = ldns_verify_rrsig_keylist(set.get(), sig, dnskeys(variant), good.get());
      EXPECT_EQ(st, LDNS_STATUS_OK) << key.first << " " << type_text(key.second) << ": "
                                    << ldns_get_errorstr_by_id(st);
    }
    ++verified;
  }
  for (auto& [key, s] : sigs)
    EXPECT_TRUE(sets.count(key)) << "RRSIG without its RRset: " << key.first << " "
                                 << type_text(key.second);
  return verified;
}

struct Case {
  const char* variant;  // nsec, nsec3, optout (ldns -p), bind-optout (dnssec-signzone -A)
  const char* qname;
  uint16_t qtype;
  int rcode;
  bool aa;
  std::vector<std::string> ans, ns;  // summaries (NSEC3 owners excluded from ns)
  std::vector<std::string> match = {};    // names whose matching NSEC3 must be in authority
  std::vector<std::string> cover = {};    // names whose covering NSEC3 must be in authority
  std::vector<std::string> opt_out = {};  // names whose covering NSEC3 must have opt-out set
};
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.variant << " " << c.qname << " " << type_text(c.qtype);
}

class Signed : public ::testing::TestWithParam<Case> {};

TEST_P(Signed, ValidatorView) {
  const Case& c = GetParam();
  PktPtr p = ask(c.variant, c.qname, c.qtype);
  ASSERT_TRUE(p);
  EXPECT_EQ(static_cast<int>(ldns_pkt_get_rcode(p.get())), c.rcode);
  EXPECT_EQ(ldns_pkt_aa(p.get()), c.aa);
  EXPECT_FALSE(ldns_pkt_ad(p.get()));  // never set by an authoritative server
  EXPECT_TRUE(ldns_pkt_cd(p.get()));   // copied (RFC 4035 3.1.6)
  EXPECT_FALSE(ldns_pkt_tc(p.get()));
  EXPECT_TRUE(ldns_pkt_edns_do(p.get()));
  EXPECT_EQ(summary(ldns_pkt_answer(p.get()), false), sorted(c.ans));
  EXPECT_EQ(summary(ldns_pkt_authority(p.get()), true), sorted(c.ns));
  verify_section(c.variant, p.get(), LDNS_SECTION_ANSWER);
  verify_section(c.variant, p.get(), LDNS_SECTION_AUTHORITY);

  // NSEC3: each record present is required by the proof, each part of the proof present.
  ListPtr n3(ldns_pkt_rr_list_by_type(p.get(), LDNS_RR_TYPE_NSEC3, LDNS_SECTION_AUTHORITY));
  size_t count = n3 ? ldns_rr_list_rr_count(n3.get()) : 0;
  std::vector<bool> used(count, false);
  auto find = [&](const std::string& name, bool want_match) -> const ldns_rr* {
    RdfPtr dn(ldns_dname_new_frm_str(name.c_str()));
    for (size_t i = 0; i < count; ++i) {
      const ldns_rr* rr = ldns_rr_list_rr(n3.get(), i);
      RdfPtr h(ldns_nsec3_hash_name_frm_nsec3(rr, dn.get()));
      RdfPtr zone_name(ldns_dname_new_frm_str("example.test."));
      if (!h) return nullptr;
      ldns_dname_cat(h.get(), zone_name.get());
      bool is_match = ldns_dname_compare(h.get(), ldns_rr_owner(rr)) == 0;
      bool is_cover = ldns_nsec_covers_name(rr, h.get());
      if (want_match ? is_match : (is_cover && !is_match)) {
        used[i] = true;
        return rr;
      }
    }
    return nullptr;
  };
  for (const auto& m : c.match) EXPECT_TRUE(find(m, true)) << "no NSEC3 matching " << m;
  for (const auto& m : c.cover) EXPECT_TRUE(find(m, false)) << "no NSEC3 covering " << m;
  for (const auto& m : c.opt_out) {
    const ldns_rr* rr = find(m, false);
    EXPECT_TRUE(rr && ldns_nsec3_optout(rr)) << "no opt-out NSEC3 covering " << m;
  }
  for (size_t i = 0; i < count; ++i)
    EXPECT_TRUE(used[i]) << "NSEC3 not part of the proof: "
                         << owner_text(ldns_rr_list_rr(n3.get(), i));
}

// Explicit macro would be too long: the test zone's names, as summaries.
#define A_(n, t) n ".example.test. " t
#define S_(n, t) n ".example.test. RRSIG " t
const char* const kApex = "example.test.";

const std::vector<std::string> kSoa = {"example.test. SOA", "example.test. RRSIG SOA"};
std::vector<std::string> soa_and(std::vector<std::string> more) {
  more.insert(more.end(), kSoa.begin(), kSoa.end());
  return more;
}
std::vector<std::string> nsec_at(std::initializer_list<const char*> owners) {
  std::vector<std::string> v;
  for (const char* o : owners) {
    std::string n = std::string(o).empty() ? std::string(kApex) : std::string(o) + "." + kApex;
    v.push_back(n + " NSEC");
    v.push_back(n + " RRSIG NSEC");
  }
  return v;
}
std::vector<std::string> cat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

namespace t = rrtype;
constexpr int NOERROR = 0, NXDOMAIN = 3;

// Canonical order of the NSEC chain: apex, alias, a.b.c, dn, gone, mail, ns1, ns2, secure,
// sub, walias, *.wild, www.
const Case kNsecCases[] = {
    {"nsec", "www.example.test.", t::A, NOERROR, true, {A_("www", "A"), S_("www", "A")}, {}},
    {"nsec", "example.test.", t::DNSKEY, NOERROR, true,
     {"example.test. DNSKEY", "example.test. RRSIG DNSKEY"}, {}},
    {"nsec", "www.example.test.", t::NSEC, NOERROR, true, nsec_at({"www"}), {}},
    // CNAME chain: both RRsets signed.
    {"nsec", "alias.example.test.", t::A, NOERROR, true,
     {A_("alias", "CNAME"), S_("alias", "CNAME"), A_("www", "A"), S_("www", "A")}, {}},
    // Wildcard answer: the wildcard's RRSIG under the query name, and the NSEC proving
    // that x.wild itself does not exist.
    {"nsec", "x.wild.example.test.", t::A, NOERROR, true, {A_("x.wild", "A"), S_("x.wild", "A")},
     nsec_at({"*.wild"})},
    {"nsec", "walias.example.test.", t::A, NOERROR, true,
     {A_("walias", "CNAME"), S_("walias", "CNAME"), A_("x.wild", "A"), S_("x.wild", "A")},
     nsec_at({"*.wild"})},
    // Wildcard NODATA: x.wild is covered and *.wild has no MX; one NSEC does both.
    {"nsec", "x.wild.example.test.", t::MX, NOERROR, true, {}, soa_and(nsec_at({"*.wild"}))},
    // NXDOMAIN: the NSEC covering the name and the one covering *.example.test.
    {"nsec", "nope.example.test.", t::A, NXDOMAIN, true, {}, soa_and(nsec_at({"mail", ""}))},
    {"nsec", "zzz.example.test.", t::A, NXDOMAIN, true, {}, soa_and(nsec_at({"www", ""}))},
    {"nsec", "x.a.b.c.example.test.", t::A, NXDOMAIN, true, {},
     soa_and(nsec_at({"a.b.c"}))},  // a.b.c -> dn covers both x.a.b.c and *.a.b.c
    {"nsec", "gone.example.test.", t::A, NXDOMAIN, true,
     {A_("gone", "CNAME"), S_("gone", "CNAME")}, soa_and(nsec_at({"mail", ""}))},
    // NODATA, and NODATA at empty non-terminals (the NSEC before them, pointing below).
    {"nsec", "www.example.test.", t::TXT, NOERROR, true, {}, soa_and(nsec_at({"www"}))},
    {"nsec", "c.example.test.", t::TXT, NOERROR, true, {}, soa_and(nsec_at({"alias"}))},
    {"nsec", "b.c.example.test.", t::A, NOERROR, true, {}, soa_and(nsec_at({"alias"}))},
    {"nsec", "wild.example.test.", t::A, NOERROR, true, {}, soa_and(nsec_at({"walias"}))},
    // Delegations: insecure (the NSEC at the cut shows NS and no DS), secure (DS + RRSIG).
    {"nsec", "host.sub.example.test.", t::A, NOERROR, false, {},
     cat({A_("sub", "NS")}, nsec_at({"sub"}))},
    {"nsec", "www.secure.example.test.", t::A, NOERROR, false, {},
     {A_("secure", "NS"), A_("secure", "DS"), S_("secure", "DS")}},
    // DS answered by the parent side of the cut.
    {"nsec", "secure.example.test.", t::DS, NOERROR, true,
     {A_("secure", "DS"), S_("secure", "DS")}, {}},
    {"nsec", "sub.example.test.", t::DS, NOERROR, true, {}, soa_and(nsec_at({"sub"}))},
    // DNAME: signed; the synthesized CNAME is not.
    {"nsec", "y.dn.example.test.", t::A, NOERROR, true,
     {A_("dn", "DNAME"), S_("dn", "DNAME"), A_("y.dn", "CNAME")}, {}},
};
INSTANTIATE_TEST_SUITE_P(Nsec, Signed, ::testing::ValuesIn(kNsecCases));

const Case kNsec3Cases[] = {
    {"nsec3", "www.example.test.", t::A, NOERROR, true, {A_("www", "A"), S_("www", "A")}, {}},
    // NXDOMAIN: closest-encloser proof (RFC 5155 7.2.2).
    {"nsec3", "nope.example.test.", t::A, NXDOMAIN, true, {}, kSoa, {"example.test."},
     {"nope.example.test.", "*.example.test."}},
    {"nsec3", "x.y.c.example.test.", t::A, NXDOMAIN, true, {}, kSoa, {"c.example.test."},
     {"y.c.example.test.", "*.c.example.test."}},
    {"nsec3", "gone.example.test.", t::A, NXDOMAIN, true,
     {A_("gone", "CNAME"), S_("gone", "CNAME")}, kSoa, {"example.test."},
     {"nothere.example.test.", "*.example.test."}},
    // NODATA (7.2.3), also at an empty non-terminal.
    {"nsec3", "www.example.test.", t::TXT, NOERROR, true, {}, kSoa, {"www.example.test."}},
    {"nsec3", "c.example.test.", t::TXT, NOERROR, true, {}, kSoa, {"c.example.test."}},
    // Wildcard answer: the next closer name is covered (7.2.6).
    {"nsec3", "x.wild.example.test.", t::A, NOERROR, true, {A_("x.wild", "A"), S_("x.wild", "A")},
     {}, {}, {"x.wild.example.test."}},
    {"nsec3", "a.b.wild.example.test.", t::TXT, NOERROR, true,
     {A_("a.b.wild", "TXT"), S_("a.b.wild", "TXT")}, {}, {}, {"b.wild.example.test."}},
    // Wildcard NODATA (7.2.5).
    {"nsec3", "x.wild.example.test.", t::MX, NOERROR, true, {}, kSoa,
     {"wild.example.test.", "*.wild.example.test."}, {"x.wild.example.test."}},
    // Delegations (7.2.7) and DS queries (7.2.3).
    {"nsec3", "host.sub.example.test.", t::A, NOERROR, false, {}, {A_("sub", "NS")},
     {"sub.example.test."}},
    {"nsec3", "www.secure.example.test.", t::A, NOERROR, false, {},
     {A_("secure", "NS"), A_("secure", "DS"), S_("secure", "DS")}},
    {"nsec3", "sub.example.test.", t::DS, NOERROR, true, {}, kSoa, {"sub.example.test."}},
    {"nsec3", "secure.example.test.", t::DS, NOERROR, true,
     {A_("secure", "DS"), S_("secure", "DS")}, {}},
    // Salted, iterated hashes; opt-out flag set but every name still has its NSEC3.
    {"optout", "nope.example.test.", t::A, NXDOMAIN, true, {}, kSoa, {"example.test."},
     {"nope.example.test.", "*.example.test."}},
    {"optout", "host.sub.example.test.", t::A, NOERROR, false, {}, {A_("sub", "NS")},
     {"sub.example.test."}},
    {"optout", "x.wild.example.test.", t::MX, NOERROR, true, {}, kSoa,
     {"wild.example.test.", "*.wild.example.test."}, {"x.wild.example.test."}},
    // Opt-out that leaves the insecure delegation out: closest provable encloser and the
    // opt-out NSEC3 covering the next closer name (7.2.4, 7.2.7).
    {"bind-optout", "host.sub.example.test.", t::A, NOERROR, false, {}, {A_("sub", "NS")},
     {"example.test."}, {}, {"sub.example.test."}},
    {"bind-optout", "sub.example.test.", t::DS, NOERROR, true, {}, kSoa, {"example.test."}, {},
     {"sub.example.test."}},
    {"bind-optout", "www.secure.example.test.", t::A, NOERROR, false, {},
     {A_("secure", "NS"), A_("secure", "DS"), S_("secure", "DS")}},
    {"bind-optout", "nope.example.test.", t::A, NXDOMAIN, true, {}, kSoa, {"example.test."},
     {"nope.example.test.", "*.example.test."}},
    {"bind-optout", "x.wild.example.test.", t::A, NOERROR, true,
     {A_("x.wild", "A"), S_("x.wild", "A")}, {}, {}, {"x.wild.example.test."}},
};
INSTANTIATE_TEST_SUITE_P(Nsec3, Signed, ::testing::ValuesIn(kNsec3Cases));

// Without DO nothing is added; DNSSEC types asked for are data.
TEST(SignedNoDo, NothingAdded) {
  for (const char* v : {"nsec", "nsec3"}) {
    PktPtr p = ask(v, "www.example.test.", t::A, false);
    EXPECT_EQ(summary(ldns_pkt_answer(p.get()), false),
              std::vector<std::string>{"www.example.test. A"});
    p = ask(v, "nope.example.test.", t::A, false);
    EXPECT_EQ(summary(ldns_pkt_authority(p.get()), false),
              std::vector<std::string>{"example.test. SOA"});
    p = ask(v, "host.sub.example.test.", t::A, false);
    EXPECT_EQ(summary(ldns_pkt_authority(p.get()), false),
              std::vector<std::string>{"sub.example.test. NS"});
    p = ask(v, "x.wild.example.test.", t::A, false);
    EXPECT_EQ(ldns_rr_list_rr_count(ldns_pkt_authority(p.get())), 0u);
    // RRSIGs asked for are data: all of the node's, without DO.
    p = ask(v, "www.example.test.", t::RRSIG, false);
    auto sigs = summary(ldns_pkt_answer(p.get()), false);
    EXPECT_EQ(sigs.size(), std::string(v) == "nsec" ? 3u : 2u);
    for (const auto& s : sigs) EXPECT_EQ(s.rfind("www.example.test. RRSIG ", 0), 0u) << s;
    EXPECT_FALSE(ldns_pkt_ad(p.get()));
  }
}

// An NSEC3 owner name is not a name of the zone (RFC 5155 7.2.8): no node, no ENT.
TEST(SignedNsec3, OwnerNamesAreNotNames) {
  PktPtr p = ask("nsec3", "example.test.", t::NSEC3PARAM);
  ASSERT_EQ(ldns_rr_list_rr_count(ldns_pkt_answer(p.get())), 2u);
  PktPtr all = ask("nsec3", "c.example.test.", t::TXT);
  ListPtr n3(ldns_pkt_rr_list_by_type(all.get(), LDNS_RR_TYPE_NSEC3, LDNS_SECTION_AUTHORITY));
  ASSERT_TRUE(n3);
  std::string owner = owner_text(ldns_rr_list_rr(n3.get(), 0));
  PktPtr q = ask("nsec3", owner, t::NSEC3);
  EXPECT_EQ(ldns_pkt_get_rcode(q.get()), LDNS_RCODE_NXDOMAIN);
  EXPECT_EQ(ldns_rr_list_rr_count(ldns_pkt_answer(q.get())), 0u);
}

// Truncation keeps an RRset and its RRSIGs together; over TCP everything fits.
TEST(SignedTruncation, RRsetAndSignaturesStayTogether) {
  for (const char* v : {"nsec", "nsec3", "bind-optout"}) {
    PktPtr tcp = ask(v, "x.y.c.example.test.", t::A, true, Transport::tcp, 512);
    EXPECT_FALSE(ldns_pkt_tc(tcp.get())) << v;
    EXPECT_GE(verify_section(v, tcp.get(), LDNS_SECTION_AUTHORITY), 3) << v;
    PktPtr p = ask(v, "x.y.c.example.test.", t::A, true, Transport::udp, 512);
    EXPECT_EQ(ldns_pkt_tc(p.get()), ldns_pkt_size(tcp.get()) > 512) << v;
    if (std::string(v) != "nsec") {
      EXPECT_TRUE(ldns_pkt_tc(p.get())) << v;
    }
    EXPECT_LE(ldns_pkt_size(p.get()), 512u);
    verify_section(v, p.get(), LDNS_SECTION_ANSWER);
    verify_section(v, p.get(), LDNS_SECTION_AUTHORITY);
  }
}

}  // namespace
