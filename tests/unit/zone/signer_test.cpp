// The signer: RRSIGs that ldns verifies, and NSEC/NSEC3 chains that stay right when names
// come and go (only what changed is signed again).
#include "tests/unit/test_support.h"
#include "zone/signer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <ctime>
#include <functional>
#include <tuple>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <openssl/evp.h>

#include "zone/changeset.h"
#include "zone/loader.h"
#include "zone/overlay.h"
#include "zone/nsec3_params.h"
#include "zone/wire/name.h"
#include "zone/wire/rdata.h"
#include "zone/wire/types.h"

#include <ldns/ldns.h>

using namespace zone;
using test_support::W;
namespace rrtype = zone::wire::rrtype;

namespace {

bool base32hex_ok(const std::string& label, uint8_t* out) {
  return zone::base32hex_decode(label, out, 20);
}

struct RrFree {
  void operator()(ldns_rr* r) const { ldns_rr_free(r); }
};
struct ListFree {
  void operator()(ldns_rr_list* l) const { ldns_rr_list_deep_free(l); }
};

ldns_rr* to_ldns(const Record& r) {
  std::string wire = record_wire(r);
  ldns_rr* rr = nullptr;
  size_t pos = 0;
  if (ldns_wire2rr(&rr, reinterpret_cast<const uint8_t*>(wire.data()), wire.size(), &pos,
                   LDNS_SECTION_ANSWER) != LDNS_STATUS_OK)
    return nullptr;
  return rr;
}

const char* kZone =
    "$ORIGIN example.test.\n"
    "$TTL 300\n"
    "@ IN SOA ns1 hostmaster 1 3600 600 86400 60\n"
    "@ IN NS ns1\n"
    "@ IN NS ns2\n"
    "ns1 IN A 192.0.2.1\n"
    "ns2 IN A 192.0.2.2\n"
    "www IN A 192.0.2.10\n"
    "www IN AAAA 2001:db8::10\n"
    "a.b.c IN TXT \"deep\"\n"          // b.c and c are empty non-terminals
    "*.wild IN A 192.0.2.20\n"
    "sub IN NS ns.sub\n"                // an unsigned delegation with glue
    "ns.sub IN A 192.0.2.30\n"
    "secure IN NS ns.secure\n"
    "secure IN DS 12345 13 2 3803e64dcc3a8d2916b3acdd382b4c902a22d30ff47d983b112e99a9b6e885e4\n"
    "ns.secure IN A 192.0.2.31\n";

std::shared_ptr<const Zone> load(const std::string& text) {
  auto r = load_zone_text(text, W("example.test."));
  for (const auto& e : r.errors) ADD_FAILURE() << e.str();
  return r.zone;
}

std::vector<dnssec::Key> make_keys(uint8_t alg, bool csk) {
  std::vector<dnssec::Key> keys;
  if (csk) {
    keys.push_back(dnssec::generate_key(alg, true, true, std::time(nullptr)));
  } else {
    keys.push_back(dnssec::generate_key(alg, true, false, std::time(nullptr)));
    keys.push_back(dnssec::generate_key(alg, false, true, std::time(nullptr)));
  }
  return keys;
}

// Every RRSIG of the zone verified by ldns against the zone's DNSKEYs; returns how many.
size_t verify_all(const Zone& z) {
  std::unique_ptr<ldns_rr_list, ListFree> keys(ldns_rr_list_new());
  std::map<std::pair<std::string, uint16_t>, std::vector<Record>> sets;
  std::vector<Record> sigs;
  for (const auto& r : zone_records(z)) {
    if (r.type == rrtype::DNSKEY) ldns_rr_list_push_rr(keys.get(), to_ldns(r));
    if (r.type == rrtype::RRSIG) sigs.push_back(r);
    else sets[{r.owner, r.type}].push_back(r);
  }
  size_t n = 0;
  for (const auto& sig : sigs) {
    uint16_t covered = static_cast<uint16_t>(static_cast<uint8_t>(sig.rdata[0]) << 8 |
                                             static_cast<uint8_t>(sig.rdata[1]));
    auto it = sets.find({sig.owner, covered});
    if (it == sets.end()) {
      ADD_FAILURE() << "RRSIG without its RRset at " << wire::name_to_text(sig.owner);
      continue;
    }
    std::unique_ptr<ldns_rr_list, ListFree> rrset(ldns_rr_list_new());
    for (const auto& r : it->second) ldns_rr_list_push_rr(rrset.get(), to_ldns(r));
    std::unique_ptr<ldns_rr, RrFree> rrsig(to_ldns(sig));
    ldns_status st = ldns_verify_rrsig_keylist(rrset.get(), rrsig.get(), keys.get(), nullptr);
    EXPECT_EQ(st, LDNS_STATUS_OK) << wire::name_to_text(sig.owner) << " " << type_name(covered)
                                  << ": " << ldns_get_errorstr_by_id(st);
    ++n;
  }
  return n;
}

// The (owner, covered type) pairs that carry an RRSIG.
std::set<std::pair<std::string, uint16_t>> signed_sets(const Zone& z) {
  std::set<std::pair<std::string, uint16_t>> out;
  for (const auto& r : zone_records(z))
    if (r.type == rrtype::RRSIG)
      out.insert({wire::name_to_text(r.owner),
                  static_cast<uint16_t>(static_cast<uint8_t>(r.rdata[0]) << 8 |
                                        static_cast<uint8_t>(r.rdata[1]))});
  return out;
}

std::string hash_of(const std::string& text_name) {
  std::string n = W(text_name);
  unsigned char md[20];
  unsigned int len = 0;
  EVP_Digest(n.data(), n.size(), md, &len, EVP_sha1(), nullptr);
  return std::string(reinterpret_cast<char*>(md), 20);
}

// The NSEC3 chain as hash -> next hash, checked to be one closed ring.
std::map<std::string, std::string> nsec3_ring(const Zone& z) {
  std::map<std::string, std::string> ring;
  for (const auto& r : zone_records(z)) {
    if (r.type != rrtype::NSEC3) continue;
    uint8_t h[20];
    std::string label(r.owner.substr(1, static_cast<uint8_t>(r.owner[0])));
    EXPECT_EQ(static_cast<uint8_t>(r.rdata[1]) & 1, 0);  // no opt-out
    EXPECT_EQ(r.rdata[2], 0);                              // 0 iterations
    EXPECT_EQ(r.rdata[3], 0);
    EXPECT_EQ(r.rdata[4], 0);                              // no salt
    std::string next = r.rdata.substr(6, 20);
    EXPECT_TRUE(base32hex_ok(label, h));
    ring[std::string(reinterpret_cast<char*>(h), 20)] = next;
  }
  // Each next is the following hash, the last points at the first.
  for (auto it = ring.begin(); it != ring.end(); ++it) {
    auto nx = std::next(it);
    EXPECT_EQ(it->second, nx == ring.end() ? ring.begin()->first : nx->first);
  }
  return ring;
}

}  // namespace


TEST(SignerTest, SignedRRsetVerifiesWithLdnsAndOpenSsl) {
  for (uint8_t alg : {dnssec::kEcdsaP256Sha256, dnssec::kEd25519}) {
    auto key = dnssec::generate_key(alg, false, true, std::time(nullptr));
    EXPECT_EQ(key.tag, dnssec::key_tag(key.dnskey_rdata));
    std::string owner = W("www.Example.test.");
    std::vector<std::string> rds = {std::string("\xc0\x00\x02\x0a", 4), std::string("\xc0\x00\x02\x0b", 4)};
    uint32_t now = static_cast<uint32_t>(std::time(nullptr));
    std::string sig = dnssec::sign_rrset(key, owner, W("example.test."), rrtype::A, 300, rds,
                                         now - 60, now + 86400);
    // OpenSSL, through the DNSKEY's public key.
    std::string data = dnssec::signed_data(sig.substr(0, 18 + W("example.test.").size()), owner,
                                           rrtype::A, 300, rds);
    EXPECT_TRUE(dnssec::verify(key.dnskey_rdata,
                               data, sig.substr(18 + W("example.test.").size())));
    EXPECT_FALSE(dnssec::verify(key.dnskey_rdata, data + "x",
                                sig.substr(18 + W("example.test.").size())));
    // ldns, from the records as a validator sees them.
    std::unique_ptr<ldns_rr_list, ListFree> rrset(ldns_rr_list_new()), keys(ldns_rr_list_new());
    for (const auto& rd : rds) ldns_rr_list_push_rr(rrset.get(), to_ldns({owner, rrtype::A, 300, rd}));
    ldns_rr_list_push_rr(keys.get(), to_ldns({W("example.test."), rrtype::DNSKEY, 3600, key.dnskey_rdata}));
    std::unique_ptr<ldns_rr, RrFree> rrsig(to_ldns({owner, rrtype::RRSIG, 300, sig}));
    ASSERT_TRUE(rrsig);
    EXPECT_EQ(ldns_verify_rrsig_keylist(rrset.get(), rrsig.get(), keys.get(), nullptr), LDNS_STATUS_OK)
        << "algorithm " << int(alg);
  }
}

TEST(SignerTest, KeysSurviveTheKeyStoreWithMode0600) {
  test_support::TempDir dir;
  dnssec::KeyStore store(dir.path().string(), "example.test");
  EXPECT_TRUE(store.load().empty());
  auto keys = make_keys(dnssec::kEcdsaP256Sha256, false);
  store.save(keys, &keys[0]);
  store.save(keys, &keys[1]);
  auto back = store.load();
  ASSERT_EQ(back.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(back[i].tag, keys[i].tag);
    EXPECT_EQ(back[i].dnskey_rdata, keys[i].dnskey_rdata);
    EXPECT_EQ(back[i].ksk, keys[i].ksk);
    auto perms = std::filesystem::status(std::filesystem::path(store.zone_dir()) /
                                         (keys[i].id + ".pem")).permissions();
    EXPECT_EQ(perms & std::filesystem::perms::all,
              std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  }
  // A key file that cannot be read is an error naming it.
  std::filesystem::remove(std::filesystem::path(store.zone_dir()) / (keys[1].id + ".pem"));
  try {
    store.load();
    ADD_FAILURE() << "no error";
  } catch (const dnssec::KeyError& e) {
    EXPECT_NE(std::string(e.what()).find(keys[1].id + ".pem: cannot be read"), std::string::npos) << e.what();
  }
}

TEST(SignerTest, NsecZoneIsSignedAndVerifies) {
  auto content = load(kZone);
  ASSERT_TRUE(content);
  auto keys = make_keys(dnssec::kEcdsaP256Sha256, false);
  dnssec::SignPolicy p;
  dnssec::SignStats st;
  std::vector<ZoneError> errs;
  auto z = dnssec::sign_zone(*content, nullptr, keys, p, std::time(nullptr), st, errs);
  for (const auto& e : errs) ADD_FAILURE() << e.str();
  ASSERT_TRUE(z);
  EXPECT_EQ(z->denial(), Denial::nsec);
  EXPECT_GT(verify_all(*z), 10u);
  auto s = signed_sets(*z);
  EXPECT_TRUE(s.count({"example.test.", rrtype::DNSKEY}));
  EXPECT_TRUE(s.count({"*.wild.example.test.", rrtype::A}));
  EXPECT_TRUE(s.count({"secure.example.test.", rrtype::DS}));
  EXPECT_FALSE(s.count({"secure.example.test.", rrtype::NS}));  // the child's NS: not signed
  EXPECT_FALSE(s.count({"ns.sub.example.test.", rrtype::A}));   // glue: not signed
  EXPECT_TRUE(s.count({"sub.example.test.", rrtype::NSEC}));
  EXPECT_FALSE(s.count({"ns.sub.example.test.", rrtype::NSEC}));
  // The DNSKEY RRset is signed by the KSK, the rest by the ZSK.
  EXPECT_EQ(st.signatures_kept, 0u);
}

TEST(SignerTest, Nsec3ChainFollowsAnAddAndADelete) {
  auto content = load(kZone);
  ASSERT_TRUE(content);
  auto keys = make_keys(dnssec::kEd25519, true);
  dnssec::SignPolicy p;
  p.nsec3 = true;
  uint32_t now = static_cast<uint32_t>(std::time(nullptr));
  dnssec::SignStats st;
  std::vector<ZoneError> errs;
  auto z = dnssec::sign_zone(*content, nullptr, keys, p, now, st, errs);
  for (const auto& e : errs) ADD_FAILURE() << e.str();
  ASSERT_TRUE(z);
  EXPECT_EQ(z->denial(), Denial::nsec3);
  verify_all(*z);
  // Names with data, the cuts, and the empty non-terminals b.c and c; not the glue.
  std::set<std::string> names = {"example.test.", "ns1.example.test.", "ns2.example.test.",
                                 "www.example.test.", "a.b.c.example.test.", "b.c.example.test.",
                                 "c.example.test.", "*.wild.example.test.", "wild.example.test.",
                                 "sub.example.test.", "secure.example.test."};
  auto ring = nsec3_ring(*z);
  std::set<std::string> want;
  for (const auto& n : names) want.insert(hash_of(n));
  std::set<std::string> have;
  for (const auto& [h, next] : ring) have.insert(h);
  EXPECT_EQ(have, want);
  const size_t made_at_first = st.signatures_made;

  // Add x.y (and so the empty non-terminal y), delete www: only the changed RRsets and the
  // NSEC3 records around them get new signatures.
  Changeset cs;
  cs.soa_from = zone_records(*content).front();
  cs.soa_to = cs.soa_from;
  wire::set_soa_serial(cs.soa_to.rdata, 2);
  cs.added.push_back({W("x.y.example.test."), rrtype::A, 300, std::string("\xc0\x00\x02\x63", 4)});
  for (const auto& r : zone_records(*content))
    if (r.owner == W("www.example.test.")) cs.removed.push_back(r);
  auto content2 = dnssec::unsigned_content(*z, &cs, errs);
  for (const auto& e : errs) ADD_FAILURE() << e.str();
  ASSERT_TRUE(content2);
  dnssec::SignStats st2;
  auto z2 = dnssec::sign_zone(*content2, z.get(), keys, p, now, st2, errs);
  for (const auto& e : errs) ADD_FAILURE() << e.str();
  ASSERT_TRUE(z2);
  EXPECT_EQ(z2->serial(), 2u);
  verify_all(*z2);
  names.erase("www.example.test.");
  names.insert("x.y.example.test.");
  names.insert("y.example.test.");
  want.clear();
  for (const auto& n : names) want.insert(hash_of(n));
  have.clear();
  for (const auto& [h, next] : nsec3_ring(*z2)) have.insert(h);
  EXPECT_EQ(have, want);
  // SOA, x.y's A, two new NSEC3s and at most three whose next hash or nothing changed.
  EXPECT_LE(st2.signatures_made, 8u);
  EXPECT_GE(st2.signatures_made, 4u);
  // www's A and AAAA and its NSEC3 went; x.y's A and the NSEC3s of x.y and y came.
  EXPECT_EQ(st2.signatures_made + st2.signatures_kept, made_at_first);
  // The changeset between the versions carries just that.
  Changeset d = diff_zones(*z, *z2);
  EXPECT_LT(d.added.size(), 20u);
  EXPECT_LT(d.removed.size(), 20u);
}

TEST(SignerTest, Nsec3OptOutLeavesUnsignedDelegationsOut) {
  auto content = load(kZone);
  ASSERT_TRUE(content);
  auto keys = make_keys(dnssec::kEcdsaP256Sha256, false);
  dnssec::SignPolicy p;
  p.nsec3 = true;
  p.opt_out = true;
  dnssec::SignStats st;
  std::vector<ZoneError> errs;
  auto z = dnssec::sign_zone(*content, nullptr, keys, p, std::time(nullptr), st, errs);
  for (const auto& e : errs) ADD_FAILURE() << e.str();
  ASSERT_TRUE(z);
  verify_all(*z);
  std::set<std::string> hashes;
  for (const auto& r : zone_records(*z))
    if (r.type == rrtype::NSEC3) {
      EXPECT_EQ(static_cast<uint8_t>(r.rdata[1]) & 1, 1) << "opt-out flag";
      uint8_t h[20];
      ASSERT_TRUE(base32hex_ok(std::string(r.owner.substr(1, static_cast<uint8_t>(r.owner[0]))), h));
      hashes.insert(std::string(reinterpret_cast<char*>(h), 20));
    }
  EXPECT_FALSE(hashes.count(hash_of("sub.example.test.")));   // unsigned delegation: opted out
  EXPECT_TRUE(hashes.count(hash_of("secure.example.test.")));  // signed delegation (DS): kept
  EXPECT_TRUE(hashes.count(hash_of("www.example.test.")));
  EXPECT_TRUE(hashes.count(hash_of("c.example.test.")));       // empty non-terminal of a.b.c
}

namespace {

// The records of a zone without its signatures (what both ways of signing must agree on).
std::set<std::tuple<std::string, uint16_t, uint32_t, std::string>> unsigned_records(const Zone& z) {
  std::set<std::tuple<std::string, uint16_t, uint32_t, std::string>> out;
  for (const auto& r : zone_records(z))
    if (r.type != rrtype::RRSIG) out.insert({r.owner, r.type, r.ttl, r.rdata});
  return out;
}

Record rec(const std::string& owner, uint16_t type, uint32_t ttl, const std::string& rdata) {
  return Record{W(owner), type, ttl, rdata};
}

// The signed changeset `scs` (sign_change's for the change `cs`) applied to cur, checked
// against the whole pass over the same change: the same records, the same RRsets signed,
// every signature valid. Returns the new version and the unsigned content (nullptr: failed).
std::pair<std::shared_ptr<const Zone>, std::shared_ptr<const Zone>> matches_whole_pass(
    const std::shared_ptr<const Zone>& cur, const Changeset& cs, const Changeset& scs,
    const std::vector<dnssec::Key>& keys, const dnssec::SignPolicy& p, uint32_t now,
    dnssec::SignStats& whole_stats) {
  std::vector<ZoneError> errs;
  auto fast = apply_changeset(cur, scs, errs);
  auto plain = dnssec::unsigned_content(*cur, &cs, errs);
  auto whole = plain ? dnssec::sign_zone(*plain, cur.get(), keys, p, now, whole_stats, errs) : nullptr;
  for (const auto& e : errs) ADD_FAILURE() << e.str();
  if (!fast || !whole) {
    ADD_FAILURE() << "the change or the whole pass failed";
    return {nullptr, nullptr};
  }
  EXPECT_EQ(unsigned_records(*fast), unsigned_records(*whole));
  EXPECT_EQ(signed_sets(*fast), signed_sets(*whole));
  verify_all(*fast);
  return {fast, plain};
}

}  // namespace

// A change signed by itself (sign_change) gives the zone the whole pass gives: the same
// records and NSEC or NSEC3 chain, every RRset signed, every signature valid; and it refuses
// what the whole pass must judge. For NSEC, NSEC3, and NSEC3 with opt-out.
class SignChange : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    content = load(kZone);
    ASSERT_TRUE(content);
    keys = make_keys(dnssec::kEcdsaP256Sha256, false);
    p.nsec3 = GetParam() > 0;
    p.opt_out = GetParam() == 2;
  }
  std::shared_ptr<const Zone> content;
  std::vector<dnssec::Key> keys;
  dnssec::SignPolicy p;  // NSEC, NSEC3, NSEC3 with opt-out
};
INSTANTIATE_TEST_SUITE_P(Denial, SignChange, ::testing::Values(0, 1, 2),
                         [](const auto& info) {
                           return std::string(info.param == 0 ? "Nsec" : info.param == 1 ? "Nsec3" : "Nsec3OptOut");
                         });

TEST_P(SignChange, ChangeSignedAloneMatchesTheWholePass) {
  dnssec::SignStats st;
  std::vector<ZoneError> errs;
  const uint32_t now = static_cast<uint32_t>(std::time(nullptr));
  std::shared_ptr<const Zone> cur = dnssec::sign_zone(*content, nullptr, keys, p, now, st, errs);
  ASSERT_TRUE(cur);
  const std::string a1("\xc0\x00\x02\x63", 4), a2("\xc0\x00\x02\x64", 4);
  auto soa_change = [&](const Zone& z) {
    Changeset cs;
    cs.soa_from = Record{z.origin(), rrtype::SOA, z.soa().ttl, ""};
    z.soa().for_each([&](std::string_view rd) { cs.soa_from.rdata = std::string(rd); });
    cs.soa_to = cs.soa_from;
    wire::set_soa_serial(cs.soa_to.rdata, z.serial() + 1);
    return cs;
  };
  struct Case {
    const char* what;
    std::function<void(Changeset&)> edit;
    size_t max_signatures = 0;  // 0: 6 for NSEC, 8 for NSEC3
  };
  std::vector<Case> cases{
      {"a new name (NSEC inserted)", [&](Changeset& c) { c.added.push_back(rec("new.example.test.", rrtype::A, 300, a1)); }},
      {"a new type at a name (bitmap)", [&](Changeset& c) { c.added.push_back(rec("mail.example.test.", rrtype::TXT, 300, std::string("\x02hi", 3))); }},
      {"a changed RRset", [&](Changeset& c) {
         c.removed.push_back(rec("www.example.test.", rrtype::A, 300, std::string("\xc0\x00\x02\x0a", 4)));
         c.added.push_back(rec("www.example.test.", rrtype::A, 300, a2));
       }},
      {"a name removed (NSEC joined)", [&](Changeset& c) {
         c.removed.push_back(rec("www.example.test.", rrtype::A, 300, a2));
         c.removed.push_back(rec("www.example.test.", rrtype::AAAA, 300,
                                 std::string("\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x10", 16)));
       }},
      {"only the SOA", [&](Changeset&) {}},
      {"a new name right after the apex (whose NSEC moves)", [&](Changeset& c) {
         c.added.push_back(rec("0.example.test.", rrtype::A, 300, a1));
       }},
      {"that name removed again", [&](Changeset& c) {
         c.removed.push_back(rec("0.example.test.", rrtype::A, 300, a1));
       }},
      {"an ACME challenge under an empty non-terminal", [&](Changeset& c) {
         c.added.push_back(rec("_acme-challenge.x.y.example.test.", rrtype::TXT, 60, std::string("\x05token", 6)));
       }},
      {"that challenge removed again (the empty non-terminals go)", [&](Changeset& c) {
         c.removed.push_back(rec("_acme-challenge.x.y.example.test.", rrtype::TXT, 60, std::string("\x05token", 6)));
       }},
      {"an empty non-terminal given data", [&](Changeset& c) {
         c.added.push_back(rec("c.example.test.", rrtype::TXT, 300, std::string("\x02hi", 3)));
       }},
      {"and that data removed again", [&](Changeset& c) {
         c.removed.push_back(rec("c.example.test.", rrtype::TXT, 300, std::string("\x02hi", 3)));
       }},
  };
  // Delegations: at the cut only the DS is signed, glue is neither signed nor chained.
  const std::string ds_rd = [] {
    std::string d{0x30, 0x39, 13, 2};
    d.append(32, '\x5a');
    return d;
  }();
  std::string ds_rd2 = ds_rd;
  ds_rd2[4] = '\x5b';
  cases.push_back({"a new delegation with glue and a DS (zonectl delegate)", [&](Changeset& c) {
                     c.added.push_back(rec("shop.example.test.", rrtype::NS, 300, W("ns1.shop.example.test.")));
                     c.added.push_back(rec("shop.example.test.", rrtype::NS, 300, W("ns2.shop.example.test.")));
                     c.added.push_back(rec("shop.example.test.", rrtype::DS, 300, ds_rd));
                     c.added.push_back(rec("ns1.shop.example.test.", rrtype::A, 300, a1));
                     c.added.push_back(rec("ns2.shop.example.test.", rrtype::A, 300, a2));
                   }});
  cases.push_back({"its DS replaced (the child's KSK rollover)", [&](Changeset& c) {
                     c.removed.push_back(rec("shop.example.test.", rrtype::DS, 300, ds_rd));
                     c.added.push_back(rec("shop.example.test.", rrtype::DS, 300, ds_rd2));
                   }});
  cases.push_back({"its DS withdrawn (the child goes insecure)", [&](Changeset& c) {
                     c.removed.push_back(rec("shop.example.test.", rrtype::DS, 300, ds_rd2));
                   }});
  cases.push_back({"a DS given to the unsigned delegation", [&](Changeset& c) {
                     c.added.push_back(rec("shop.example.test.", rrtype::DS, 300, ds_rd));
                   }});
  cases.push_back({"glue added below a delegation", [&](Changeset& c) {
                     c.added.push_back(rec("ns3.shop.example.test.", rrtype::AAAA, 300, std::string(16, '\x01')));
                   }});
  cases.push_back({"an NS more at the delegation", [&](Changeset& c) {
                     c.added.push_back(rec("shop.example.test.", rrtype::NS, 300, W("ns3.shop.example.test.")));
                   }});
  cases.push_back({"the delegation removed with its glue (zonectl undelegate)", [&](Changeset& c) {
                     for (const char* ns : {"ns1", "ns2", "ns3"})
                       c.removed.push_back(rec("shop.example.test.", rrtype::NS, 300, W(std::string(ns) + ".shop.example.test.")));
                     c.removed.push_back(rec("shop.example.test.", rrtype::DS, 300, ds_rd));
                     c.removed.push_back(rec("ns1.shop.example.test.", rrtype::A, 300, a1));
                     c.removed.push_back(rec("ns2.shop.example.test.", rrtype::A, 300, a2));
                     c.removed.push_back(rec("ns3.shop.example.test.", rrtype::AAAA, 300, std::string(16, '\x01')));
                   }});
  cases.push_back({"an unsigned delegation under new empty non-terminals", [&](Changeset& c) {
                     c.added.push_back(rec("dept.corp.example.test.", rrtype::NS, 300, W("ns.elsewhere.test.")));
                   }});
  if (p.nsec3) {
    // NSEC3 chains are mended in hash order: names of one change may be neighbours there.
    cases.push_back({"a name and the new parent it makes", [&](Changeset& c) {
                       c.added.push_back(rec("p.q.example.test.", rrtype::A, 300, a1));
                       c.added.push_back(rec("q.example.test.", rrtype::A, 300, a1));
                     }, 10});
    cases.push_back({"five new names at once", [&](Changeset& c) {
                       for (const char* n : {"m1", "m2", "m3", "m4", "m5"})
                         c.added.push_back(rec(std::string(n) + ".example.test.", rrtype::A, 300, a1));
                     }, 16});
    cases.push_back({"three of them gone, one more come", [&](Changeset& c) {
                       for (const char* n : {"m1", "m3", "m5"})
                         c.removed.push_back(rec(std::string(n) + ".example.test.", rrtype::A, 300, a1));
                       c.added.push_back(rec("m6.example.test.", rrtype::A, 300, a1));
                     }, 12});
  }
  for (const auto& cs_case : cases) {
    SCOPED_TRACE(cs_case.what);
    Changeset cs = soa_change(*cur);
    cs_case.edit(cs);
    dnssec::SignStats s1;
    std::string why;
    auto scs = dnssec::sign_change(*cur, cs, keys, p, now, s1, why);
    std::vector<ZoneError> e2;
    if (!scs && p.opt_out && why == "an empty non-terminal in an opt-out zone") {
      // Whether it stays in the chain depends on every name below it: the whole pass.
      auto plain = dnssec::unsigned_content(*cur, &cs, e2);
      ASSERT_TRUE(plain);
      dnssec::SignStats s2;
      cur = dnssec::sign_zone(*plain, cur.get(), keys, p, now, s2, e2);
      ASSERT_TRUE(cur);
      continue;
    }
    ASSERT_TRUE(scs) << why;
    dnssec::SignStats s2;
    auto [fast, plain] = matches_whole_pass(cur, cs, *scs, keys, p, now, s2);
    ASSERT_TRUE(fast);
    // Only what changed was signed: the SOA, the changed RRsets and a few NSEC or NSEC3
    // (NSEC3: up to three names, the record's and two new empty non-terminals, each with
    // the predecessor whose next hash moves).
    EXPECT_LE(s1.signatures_made, cs_case.max_signatures ? cs_case.max_signatures : p.nsec3 ? 8u : 6u);
    EXPECT_LT(s1.signatures_made, signed_sets(*fast).size());
    // The unsigned content's hash moves by the change.
    EXPECT_EQ(content_hash(*plain), [&] {
      auto before = dnssec::unsigned_content(*cur, nullptr, e2);
      uint64_t h = content_hash(*before);
      for (const auto& r : cs.removed) h -= record_content_hash(r.owner, r.type, r.ttl, r.rdata);
      for (const auto& r : cs.added) h += record_content_hash(r.owner, r.type, r.ttl, r.rdata);
      return h + record_content_hash(cs.soa_to.owner, rrtype::SOA, cs.soa_to.ttl, cs.soa_to.rdata) -
             record_content_hash(cs.soa_from.owner, rrtype::SOA, cs.soa_from.ttl, cs.soa_from.rdata);
    }());
    cur = fast;  // the next case starts from the version served
  }
  // What the whole pass must judge.
  std::vector<Case> refused{
      {"a delegation over a name with data", [&](Changeset& c) { c.added.push_back(rec("mail.example.test.", rrtype::NS, 300, W("ns1.shop.example.test."))); }},
      {"a delegation over names below it", [&](Changeset& c) { c.added.push_back(rec("c.example.test.", rrtype::NS, 300, W("ns1.shop.example.test."))); }},
      {"a delegation goes but its glue stays", [&](Changeset& c) { c.removed.push_back(rec("sub.example.test.", rrtype::NS, 300, W("ns.sub.example.test."))); }},
      {"a DS without a delegation", [&](Changeset& c) { c.added.push_back(rec("www.example.test.", rrtype::DS, 300, std::string(36, '\x01'))); }},
      {"two new names in one gap", [&](Changeset& c) {
         if (p.nsec3) {  // a name and the one below it both lose their data
           c.removed.push_back(rec("p.q.example.test.", rrtype::A, 300, a1));
           c.removed.push_back(rec("q.example.test.", rrtype::A, 300, a1));
           return;
         }
         c.added.push_back(rec("zz1.example.test.", rrtype::A, 300, a1));
         c.added.push_back(rec("zz2.example.test.", rrtype::A, 300, a1));
       }},
      {"a record that is not there", [&](Changeset& c) { c.removed.push_back(rec("nope.example.test.", rrtype::A, 300, a1)); }},
  };
  for (const auto& r : refused) {
    SCOPED_TRACE(r.what);
    Changeset cs = soa_change(*cur);
    r.edit(cs);
    dnssec::SignStats s1;
    std::string why;
    EXPECT_FALSE(dnssec::sign_change(*cur, cs, keys, p, now, s1, why));
    EXPECT_FALSE(why.empty());
  }
  // Another denial of existence, NSEC3 opt-out switched, and changed keys: the whole pass.
  std::string why;
  dnssec::SignStats s1;
  dnssec::SignPolicy p3 = p;
  p3.nsec3 = !p.nsec3;
  EXPECT_FALSE(dnssec::sign_change(*cur, soa_change(*cur), keys, p3, now, s1, why));
  if (p.nsec3) {
    dnssec::SignPolicy po = p;
    po.opt_out = !p.opt_out;
    EXPECT_FALSE(dnssec::sign_change(*cur, soa_change(*cur), keys, po, now, s1, why));
    EXPECT_EQ(why, "the NSEC3 opt-out changes");
  }
  auto other = make_keys(dnssec::kEcdsaP256Sha256, false);
  EXPECT_FALSE(dnssec::sign_change(*cur, soa_change(*cur), other, p, now, s1, why));
  EXPECT_EQ(why, "the DNSKEY set changes");
  // Same DNSKEY set, but a ZSK stopped signing (a rollover step): the whole pass.
  auto two = make_keys(dnssec::kEcdsaP256Sha256, false);
  two.push_back(dnssec::generate_key(dnssec::kEcdsaP256Sha256, false, true, std::time(nullptr)));
  dnssec::SignStats s2;
  std::vector<ZoneError> e2;
  auto both = dnssec::sign_zone(*content, nullptr, two, p, now, s2, e2);
  ASSERT_TRUE(both);
  two.back().signs = false;
  EXPECT_FALSE(dnssec::sign_change(*both, soa_change(*both), two, p, now, s1, why));
  EXPECT_EQ(why, "the signing keys changed");
}

// The signatures falling due are made again with the next change, found without a whole
// pass: the same zone as the whole pass makes, every signature valid and none due any more,
// only the due part of the zone re-signed (the jitter spreads them), and the next refresh
// is when the earliest of the rest falls due.
TEST_P(SignChange, SignaturesFallingDueAreMadeAgainWithTheChange) {
  const uint32_t now = static_cast<uint32_t>(std::time(nullptr));
  const uint32_t spread = std::min(p.refresh / 10, (p.validity - p.refresh) / 2);
  // Signed so long ago that about half of the signatures fall due now.
  const uint32_t then = now - (p.validity - p.refresh) + spread / 2;
  dnssec::SignStats st;
  std::vector<ZoneError> errs;
  auto cur = dnssec::sign_zone(*content, nullptr, keys, p, then, st, errs);
  ASSERT_TRUE(cur);
  const size_t total = st.signatures_made;
  Changeset cs;
  cs.soa_from = Record{cur->origin(), rrtype::SOA, cur->soa().ttl, ""};
  cur->soa().for_each([&](std::string_view rd) { cs.soa_from.rdata = std::string(rd); });
  cs.soa_to = cs.soa_from;
  wire::set_soa_serial(cs.soa_to.rdata, cur->serial() + 1);
  cs.added.push_back(rec("new.example.test.", rrtype::A, 300, std::string("\xc0\x00\x02\x63", 4)));

  dnssec::SignStats s1;
  std::string why;
  auto scs = dnssec::sign_change(*cur, cs, keys, p, now, s1, why, true);
  ASSERT_TRUE(scs) << why;
  dnssec::SignStats s2;
  auto fast = matches_whole_pass(cur, cs, *scs, keys, p, now, s2).first;
  ASSERT_TRUE(fast);
  EXPECT_EQ(s1.signatures_made, s2.signatures_made);
  EXPECT_GT(s1.signatures_made, total / 5);
  EXPECT_LT(s1.signatures_made, total);
  uint32_t earliest = 0;
  for (const auto& r : zone_records(*fast))
    if (r.type == rrtype::RRSIG) {
      uint32_t exp = static_cast<uint32_t>(static_cast<uint8_t>(r.rdata[8])) << 24 |
                     static_cast<uint32_t>(static_cast<uint8_t>(r.rdata[9])) << 16 |
                     static_cast<uint32_t>(static_cast<uint8_t>(r.rdata[10])) << 8 |
                     static_cast<uint8_t>(r.rdata[11]);
      EXPECT_GT(exp - now, p.refresh) << wire::name_to_text(r.owner);
      if (!earliest || exp - p.refresh < earliest) earliest = exp - p.refresh;
    }
  EXPECT_EQ(s1.next_refresh, earliest);
  EXPECT_GT(s1.next_refresh, now);
}
