// Versions made by apply_changeset (zone/overlay.h): what they share, what a change derives
// (empty non-terminals, NXDOMAIN for a name that goes, wildcards, glue, the NSEC3 spans of
// opt-out zones), compaction and when memory goes.
#include "tests/unit/test_support.h"
#include "zone/changeset.h"

#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "zone/loader.h"
#include "zone/lookup.h"
#include "zone/node_layout.h"
#include "zone/overlay.h"
#include "zone/wire/rdata.h"
#include "zone/wire/types.h"

using namespace zone;
using namespace zone::wire;

namespace {

using test_support::W;

std::shared_ptr<const Zone> parse(const std::string& text, const std::string& origin) {
  LoadResult r = load_zone_text(text, W(origin));
  for (const auto& e : r.errors) ADD_FAILURE() << e.str();
  return r.zone;
}

std::string a_rdata(int last) { return std::string{char(192), 0, 2, static_cast<char>(last)}; }
std::string txt(const std::string& s) { return std::string(1, static_cast<char>(s.size())) + s; }

// The changeset that moves z to the next serial with these records removed and added.
Changeset change(const Zone& z, std::vector<Record> removed, std::vector<Record> added) {
  Changeset c;
  c.soa_from = Record{z.origin(), rrtype::SOA, z.soa().ttl, std::string(std::string_view(z.soa().data).substr(2))};
  c.soa_to = c.soa_from;
  set_soa_serial(c.soa_to.rdata, z.serial() + 1);
  c.removed = std::move(removed);
  c.added = std::move(added);
  return c;
}

std::string errors_text(const std::vector<ZoneError>& errors) {
  std::string s;
  for (const auto& e : errors) s += e.str() + "\n";
  return s;
}

// Applies c as a version and as a full build: both must agree; returns the version.
std::shared_ptr<const Zone> apply_both(const std::shared_ptr<const Zone>& z, const Changeset& c,
                                       std::vector<ZoneError>& errors) {
  std::vector<ZoneError> full_errors;
  auto full = apply_changeset(z, c, full_errors, ApplyOptions{0, true});
  auto v = apply_changeset(z, c, errors);
  EXPECT_EQ(!v, !full) << "version:\n" << errors_text(errors) << "full build:\n" << errors_text(full_errors);
  return v;
}

bool has_error(const std::vector<ZoneError>& errors, const std::string& text) {
  return std::any_of(errors.begin(), errors.end(),
                     [&](const ZoneError& e) { return e.message.find(text) != std::string::npos; });
}

TEST(Version, SharesItsBaseAndHoldsOnlyWhatChanged) {
  auto z = test_support::load_test_zone("example.com.zone", "example.com.");
  ASSERT_TRUE(z);
  std::vector<ZoneError> errors;
  auto v = apply_changeset(z, change(*z, {}, {{W("new.example.com."), rrtype::A, 300, a_rdata(7)}}), errors);
  ASSERT_TRUE(v) << errors_text(errors);
  EXPECT_EQ(&v->flat_base(), z.get());
  // The new name, and the apex (its SOA and its one more child).
  EXPECT_EQ(v->delta_size(), 2u);
  EXPECT_EQ(v->record_count(), z->record_count() + 1);
  EXPECT_EQ(v->node_count(), z->node_count() + 1);
  EXPECT_EQ(v->serial(), z->serial() + 1);
  // Unchanged names are the base's own nodes.
  EXPECT_EQ(v->find(W("www.example.com.")), z->find(W("www.example.com.")));
  EXPECT_NE(&v->apex(), &z->apex());
  // A version of a version still has the flat zone as its base.
  auto v2 = apply_changeset(v, change(*v, {{W("new.example.com."), rrtype::A, 300, a_rdata(7)}}, {}), errors);
  ASSERT_TRUE(v2) << errors_text(errors);
  EXPECT_EQ(&v2->flat_base(), z.get());
  EXPECT_EQ(lookup(*v2, W("new.example.com."), rrtype::A).kind, Outcome::nxdomain);
  EXPECT_EQ(lookup(*v, W("new.example.com."), rrtype::A).kind, Outcome::answer);
}

TEST(Version, ANameThatGoesIsNxdomainAndItsEmptyParentsGoToo) {
  auto z = test_support::load_test_zone("example.com.zone", "example.com.");
  ASSERT_TRUE(z);
  // a.b.ent holds the only data below b.ent; *.ent is the wildcard of ent.
  EXPECT_EQ(lookup(*z, W("b.ent.example.com."), rrtype::A).kind, Outcome::nodata);
  std::vector<ZoneError> errors;
  auto v = apply_both(z, change(*z, {{W("a.b.ent.example.com."), rrtype::A, 3600, a_rdata(101)}}, {}), errors);
  ASSERT_TRUE(v) << errors_text(errors);
  // b.ent is gone with it: the wildcard answers for it now, and a.b.ent is no name either.
  LookupResult r = lookup(*v, W("b.ent.example.com."), rrtype::A);
  EXPECT_EQ(r.kind, Outcome::answer);
  EXPECT_TRUE(r.wildcard);
  EXPECT_EQ(lookup(*v, W("a.b.ent.example.com."), rrtype::A).kind, Outcome::answer);  // *.ent again
  EXPECT_FALSE(v->find(W("b.ent.example.com.")));
  // mail goes entirely: NXDOMAIN, not NODATA.
  auto v2 = apply_both(v, change(*v, {{W("mail.example.com."), rrtype::A, 3600, a_rdata(25)}}, {}), errors);
  ASSERT_TRUE(v2) << errors_text(errors);
  EXPECT_EQ(lookup(*v2, W("mail.example.com."), rrtype::AAAA).kind, Outcome::nxdomain);
  EXPECT_EQ(v2->node_count(), z->node_count() - 3);
}

TEST(Version, ANameBelowMissingParentsCreatesEmptyNonTerminalsThatBlockWildcards) {
  auto z = test_support::load_test_zone("example.com.zone", "example.com.");
  ASSERT_TRUE(z);
  EXPECT_TRUE(lookup(*z, W("p.wild.example.com."), rrtype::A).wildcard);
  std::vector<ZoneError> errors;
  auto v = apply_both(z, change(*z, {}, {{W("q.p.wild.example.com."), rrtype::TXT, 300, txt("deep")}}), errors);
  ASSERT_TRUE(v) << errors_text(errors);
  const Node* ent = v->find(W("p.wild.example.com."));
  ASSERT_TRUE(ent);
  EXPECT_TRUE(ent->empty());
  EXPECT_EQ(ent->children, 1u);
  // The empty non-terminal exists: NODATA, and the wildcard no longer applies to it.
  LookupResult r = lookup(*v, W("p.wild.example.com."), rrtype::A);
  EXPECT_EQ(r.kind, Outcome::nodata);
  EXPECT_FALSE(r.wildcard);
  EXPECT_EQ(v->find(W("wild.example.com."))->children, z->find(W("wild.example.com."))->children + 1);
}

TEST(Version, IsFreedWhenTheLastSnapshotDropsIt) {
  auto z = test_support::load_test_zone("example.com.zone", "example.com.");
  ASSERT_TRUE(z);
  std::weak_ptr<const Zone> base = z, first;
  std::shared_ptr<const Zone> v;
  {
    std::vector<ZoneError> errors;
    auto v1 = with_serial(z, z->serial() + 1);
    first = v1;
    v = apply_changeset(v1, change(*v1, {}, {{W("n.example.com."), rrtype::A, 60, a_rdata(1)}}), errors);
    ASSERT_TRUE(v) << errors_text(errors);
  }
  z.reset();
  EXPECT_TRUE(first.expired());  // a version does not hold the one it was made from
  EXPECT_FALSE(base.expired());  // but it holds the base it shares
  v.reset();
  EXPECT_TRUE(base.expired());
}

TEST(Version, CompactsIntoAFlatZonePastTheBound) {
  auto z = test_support::load_test_zone("example.com.zone", "example.com.");
  ASSERT_TRUE(z);
  std::shared_ptr<const Zone> v = z;
  bool compacted = false;
  for (int i = 0; i < 20; ++i) {
    std::vector<ZoneError> errors;
    std::string name = W("h" + std::to_string(i) + ".example.com.");
    auto next = apply_changeset(v, change(*v, {}, {{name, rrtype::A, 60, a_rdata(i)}}), errors,
                                ApplyOptions{8, false});
    ASSERT_TRUE(next) << errors_text(errors);
    EXPECT_LE(next->delta_size(), 8u);
    if (v->delta_size() && !next->delta_size()) {
      compacted = true;
      EXPECT_EQ(&next->flat_base(), next.get());
      EXPECT_EQ(next->record_count(), v->record_count() + 1);
      // What a full build of the same change makes.
      auto full = apply_changeset(v, change(*v, {}, {{name, rrtype::A, 60, a_rdata(i)}}), errors,
                                  ApplyOptions{0, true});
      ASSERT_TRUE(full);
      EXPECT_EQ(content_hash(*next), content_hash(*full));
      EXPECT_EQ(next->node_count(), full->node_count());
    }
    v = next;
  }
  EXPECT_TRUE(compacted);
  EXPECT_EQ(v->record_count(), z->record_count() + 20);
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(lookup(*v, W("h" + std::to_string(i) + ".example.com."), rrtype::A).kind, Outcome::answer);
}

TEST(Version, ContentHashAndDiffAreCarried) {
  auto z = test_support::load_test_zone("example.com.zone", "example.com.");
  ASSERT_TRUE(z);
  auto v = with_serial(z, 5);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->delta_size(), 1u);  // the apex only
  EXPECT_EQ(content_hash(*v), content_hash(*z));
  std::vector<ZoneError> errors;
  Record extra{W("x.example.com."), rrtype::TXT, 300, txt("x")};
  auto v2 = apply_changeset(v, change(*v, {}, {extra}), errors);
  ASSERT_TRUE(v2);
  EXPECT_NE(content_hash(*v2), content_hash(*z));
  // The same content reached by a full build has the same hash.
  auto full = apply_changeset(v, change(*v, {}, {extra}), errors, ApplyOptions{0, true});
  ASSERT_TRUE(full);
  EXPECT_EQ(content_hash(*v2), content_hash(*full));
  // Versions of one base: the diff looks at their overlays and finds the record.
  Changeset d = diff_zones(*z, *v2);
  ASSERT_EQ(d.added.size(), 1u);
  EXPECT_EQ(d.added[0], extra);
  EXPECT_TRUE(d.removed.empty());
  EXPECT_EQ(d.to_serial(), 6u);
}

TEST(Version, RefusalsNameTheRecordAndTheRule) {
  auto z = test_support::load_test_zone("example.com.zone", "example.com.");
  ASSERT_TRUE(z);
  struct Bad {
    std::vector<Record> removed, added;
    const char* error;
  } cases[] = {
      {{}, {{W("www.example.com."), rrtype::CNAME, 3600, W("mail.example.com.")}},
       "A record beside a CNAME at www.example.com."},
      {{}, {{W("alias.example.com."), rrtype::CNAME, 3600, W("mail.example.com.")}},
       "more than one CNAME record at alias.example.com."},
      {{}, {{W("x.dn.example.com."), rrtype::A, 3600, a_rdata(1)}},
       "name x.dn.example.com. is below the DNAME at dn.example.com."},
      {{}, {{W("deep.sub.example.com."), rrtype::SOA, 3600, std::string(std::string_view(z->soa().data).substr(2))}},
       "SOA record at deep.sub.example.com., below the zone apex"},
      // The glue of deleg goes while deleg's NS still names it.
      {{{W("ns1.deleg.example.com."), rrtype::A, 3600, a_rdata(201)},
        {W("ns1.deleg.example.com."), rrtype::AAAA, 3600, std::string("\x20\x01\x0d\xb8", 4) + std::string(10, '\0') + "\x02\x01"}},
       {},
       "NS ns1.deleg.example.com. of deleg.example.com. is inside the delegation deleg.example.com. and has no glue"},
      // An apex NS target turns into a CNAME.
      {{{W("ns2.example.com."), rrtype::A, 3600, a_rdata(54)},
        {W("ns2.example.com."), rrtype::AAAA, 3600, std::string("\x20\x01\x0d\xb8", 4) + std::string(10, '\0') + std::string("\x00\x54", 2)}},
       {{W("ns2.example.com."), rrtype::CNAME, 3600, W("www.example.com.")}},
       "NS ns2.example.com. of example.com. is a CNAME (RFC 2181 10.3)"},
      {{{W("www.example.com."), rrtype::A, 60, a_rdata(10)}}, {}, "removes 1 record(s) that the zone does not have"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.error);
    std::vector<ZoneError> errors;
    EXPECT_FALSE(apply_both(z, change(*z, c.removed, c.added), errors));
    EXPECT_TRUE(has_error(errors, c.error)) << errors_text(errors);
    EXPECT_EQ(z->serial(), 2026112401u);
  }
}

TEST(Version, GlueNamedByAnotherDelegationStays) {
  // ns.a is the glue of a, and b (a sibling delegation) names it too: removing a's
  // delegation with its glue leaves b without it.
  auto z = parse(
      "$TTL 300\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n"
      "a NS ns.a\nns.a A 192.0.2.2\nb NS ns.a\n",
      "g.test.");
  ASSERT_TRUE(z);
  std::vector<ZoneError> errors;
  auto v = apply_both(z, change(*z, {{W("ns.a.g.test."), rrtype::A, 300, a_rdata(2)}}, {}), errors);
  EXPECT_FALSE(v);
  EXPECT_TRUE(has_error(errors, "NS ns.a.g.test. of b.g.test. is inside the delegation a.g.test. and has no glue"))
      << errors_text(errors);
  // Without b's NS the same change is fine (ns.a is then only hidden data, no glue).
  errors.clear();
  auto v2 = apply_both(z, change(*z, {{W("b.g.test."), rrtype::NS, 300, W("ns.a.g.test.")}}, {}), errors);
  ASSERT_TRUE(v2) << errors_text(errors);
  auto v3 = apply_both(v2, change(*v2, {{W("ns.a.g.test."), rrtype::A, 300, a_rdata(2)}}, {}), errors);
  EXPECT_FALSE(v3);  // a's own NS still names it
  errors.clear();
  auto v4 = apply_both(v2, change(*v2, {{W("ns.a.g.test."), rrtype::A, 300, a_rdata(2)},
                                        {W("a.g.test."), rrtype::NS, 300, W("ns.a.g.test.")}}, {}),
                       errors);
  ASSERT_TRUE(v4) << errors_text(errors);
  EXPECT_EQ(lookup(*v4, W("ns.a.g.test."), rrtype::A).kind, Outcome::nxdomain);
  EXPECT_EQ(v4->node_count(), 2u);  // apex and ns: nothing left of a or b
}

// NSEC3 opt-out spans, with owner hashes chosen around the names of a small zone (no salt,
// no extra iterations: SHA-1 of the wire name).
class OptOut : public ::testing::Test {
 protected:
  static std::string base32hex(const uint8_t* d, size_t n) {
    static const char* a = "0123456789abcdefghijklmnopqrstuv";
    std::string out;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; ++i) {
      acc = (acc << 8) | d[i];
      bits += 8;
      while (bits >= 5) out += a[(acc >> (bits -= 5)) & 31];
    }
    return out;
  }
  static std::string hash_of(const std::string& text) {
    std::string w = W(text);
    uint8_t h[20];
    SHA1(reinterpret_cast<const uint8_t*>(w.data()), w.size(), h);
    return std::string(reinterpret_cast<char*>(h), 20);
  }
  static std::string owner(const std::string& hash) {
    return base32hex(reinterpret_cast<const uint8_t*>(hash.data()), 20) + ".o.test.";
  }
  static std::string nsec3_text(bool opt_out) {
    return std::string(" NSEC3 1 ") + (opt_out ? "1" : "0") + " 0 - 00000000000000000000000000000000 A\n";
  }
  static std::string nsec3_rdata(bool opt_out) {
    return std::string{1, static_cast<char>(opt_out), 0, 0, 0, 20} + std::string(20, '\0') +
           std::string("\x00\x01\x40", 3);
  }
  // The zone: data names with their NSEC3s (all opt-out), an insecure delegation `cut`
  // without one.
  void SetUp() override {
    std::string text = "$TTL 300\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\n@ DNSKEY 257 3 13 AAAA\n"
                       "@ NSEC3PARAM 1 0 0 -\nns A 192.0.2.1\n";
    for (const char* n : {"o.test.", "ns.o.test.", "a.o.test.", "b.o.test.", "c.o.test."}) {
      if (std::string(n) != "o.test." && std::string(n) != "ns.o.test.")
        text += std::string(n) + " A 192.0.2.9\n";
      text += owner(hash_of(n)) + nsec3_text(true);
    }
    text += cut_ + " NS ns.other.net.\n";
    z_ = parse(text, "o.test.");
    ASSERT_TRUE(z_);
    ASSERT_TRUE(z_->is_signed());
  }
  std::shared_ptr<const Zone> z_;
  const std::string cut_ = "cut.o.test.";
};

TEST_F(OptOut, ANewSpanWithoutOptOutOverAnInsecureDelegationIsRefused) {
  // An NSEC3 right before the delegation's hash takes over its span, without opt-out.
  std::string h = hash_of(cut_);
  h[19] = static_cast<char>(static_cast<uint8_t>(h[19]) - 1);
  std::vector<ZoneError> errors;
  EXPECT_FALSE(apply_both(z_, change(*z_, {}, {{W(owner(h)), rrtype::NSEC3, 300, nsec3_rdata(false)}}), errors));
  EXPECT_TRUE(has_error(errors, "cut.o.test. has data but no NSEC3")) << errors_text(errors);
  // With opt-out it is fine.
  errors.clear();
  EXPECT_TRUE(apply_both(z_, change(*z_, {}, {{W(owner(h)), rrtype::NSEC3, 300, nsec3_rdata(true)}}), errors))
      << errors_text(errors);
}

TEST_F(OptOut, TheSpanOverAnInsecureDelegationLosingOptOutIsRefused) {
  bool match = false;
  const Nsec3Entry* cover = z_->nsec3_for_name(W(cut_), match);
  ASSERT_TRUE(cover && !match && cover->opt_out);
  std::string owner_name(cover->node->name);
  std::vector<ZoneError> errors;
  EXPECT_FALSE(apply_both(z_, change(*z_, {{owner_name, rrtype::NSEC3, 300, nsec3_rdata(true)}},
                                     {{owner_name, rrtype::NSEC3, 300, nsec3_rdata(false)}}),
                          errors));
  EXPECT_TRUE(has_error(errors, "cut.o.test. has data but no NSEC3")) << errors_text(errors);
}

TEST_F(OptOut, RemovingTheSpanSoThatOneWithoutOptOutCoversIsRefused) {
  // Make the span before the delegation's cover lose opt-out (fine: nothing unsigned in it),
  // then remove the cover with its name: the delegation falls into that span.
  bool match = false;
  const Nsec3Entry* cover = z_->nsec3_for_name(W(cut_), match);
  ASSERT_TRUE(cover);
  uint8_t before[20];
  std::memcpy(before, cover->hash, 20);
  before[19] = static_cast<uint8_t>(before[19] - 1);
  const Nsec3Entry* prev = z_->nsec3_for(before, match);
  ASSERT_TRUE(prev && prev != cover);
  // Which name the cover's NSEC3 belongs to.
  std::string cover_name;
  for (const char* n : {"a.o.test.", "b.o.test.", "c.o.test."})
    if (owner(hash_of(n)) == name_to_text(cover->node->name)) cover_name = n;
  if (cover_name.empty()) GTEST_SKIP() << "the delegation's span belongs to the apex or ns";
  std::string prev_owner(prev->node->name), cover_owner(cover->node->name);
  std::vector<ZoneError> errors;
  auto v = apply_both(z_, change(*z_, {{prev_owner, rrtype::NSEC3, 300, nsec3_rdata(true)}},
                                 {{prev_owner, rrtype::NSEC3, 300, nsec3_rdata(false)}}),
                      errors);
  ASSERT_TRUE(v) << errors_text(errors);
  EXPECT_FALSE(apply_both(v, change(*v, {{W(cover_name), rrtype::A, 300, a_rdata(9)},
                                         {cover_owner, rrtype::NSEC3, 300, nsec3_rdata(true)}},
                                    {}),
                          errors));
  EXPECT_TRUE(has_error(errors, "cut.o.test. has data but no NSEC3")) << errors_text(errors);
}

TEST_F(OptOut, RemovingTheNsec3OfANameTheChangeDoesNotTouchIsRefused) {
  std::vector<ZoneError> errors;
  std::string o = W(owner(hash_of("b.o.test.")));
  EXPECT_FALSE(apply_both(z_, change(*z_, {{o, rrtype::NSEC3, 300, nsec3_rdata(true)}}, {}), errors));
  EXPECT_TRUE(has_error(errors, "b.o.test. has data but no NSEC3")) << errors_text(errors);
  // With the name, it is an ordinary removal.
  errors.clear();
  auto v = apply_both(z_, change(*z_, {{o, rrtype::NSEC3, 300, nsec3_rdata(true)},
                                       {W("b.o.test."), rrtype::A, 300, a_rdata(9)}}, {}),
                      errors);
  ASSERT_TRUE(v) << errors_text(errors);
  EXPECT_GT(v->delta_size(), 0u);
  EXPECT_EQ(lookup(*v, W("b.o.test."), rrtype::A).kind, Outcome::nxdomain);
}

}  // namespace

namespace {

// An RRSIG's RDATA covering `covered`, told apart by `tag`.
std::string rrsig_rdata(uint16_t covered, char tag) {
  std::string rd{static_cast<char>(covered >> 8), static_cast<char>(covered), 13, 2};
  rd.append(14, tag);   // TTL, expiration, inception, key tag
  rd += W("example.com.");
  rd.append(64, tag);   // the signature
  return rd;
}

// The signatures at `n` covering each type are the right ones and lie inside the node's
// RRSIG RRset: a signature is stored once, not once more per covered type.
void expect_signatures_sliced(const Node& n, size_t a_sigs, size_t mx_sigs) {
  const RRset* all = n.find(rrtype::RRSIG);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->count, a_sigs + mx_sigs);
  for (auto tw : {std::pair{rrtype::A, a_sigs}, {rrtype::MX, mx_sigs}}) {
    const uint16_t type = tw.first;
    const size_t want = tw.second;
    const RRset* s = n.sigs_for(type);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->count, want);
    s->for_each([&](std::string_view rd) { EXPECT_EQ(rrsig_covered(rd), type); });
    EXPECT_GE(s->data.data(), all->data.data());
    EXPECT_LE(s->data.data() + s->data.size(), all->data.data() + all->data.size());
  }
}

}  // namespace

TEST(Version, SignaturesOfEachTypeAreSlicesOfTheRrsigSet) {
  auto z = parse("$ORIGIN example.com.\n@ 3600 SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n"
                 "www A 192.0.2.2\nwww MX 10 mail\n", "example.com.");
  ASSERT_TRUE(z);
  const std::string www = W("www.example.com.");
  // Signatures added in an interleaved order: A, MX, A.
  std::vector<Record> sigs{{www, rrtype::RRSIG, 3600, rrsig_rdata(rrtype::A, 'a')},
                           {www, rrtype::RRSIG, 3600, rrsig_rdata(rrtype::MX, 'm')},
                           {www, rrtype::RRSIG, 3600, rrsig_rdata(rrtype::A, 'b')}};
  // A flat zone (ZoneBuilder) and a version (VersionBuilder) lay them out alike.
  std::vector<ZoneError> errors;
  auto full = apply_changeset(z, change(*z, {}, sigs), errors, ApplyOptions{0, true});
  ASSERT_TRUE(full) << errors_text(errors);
  auto v = apply_changeset(z, change(*z, {}, sigs), errors);
  ASSERT_TRUE(v) << errors_text(errors);
  for (const auto& version : {full, v}) {
    const Node* n = version->find(www);
    ASSERT_TRUE(n);
    expect_signatures_sliced(*n, 2, 1);
  }
  // One more MX signature on the version: still one slice per type.
  auto v2 = apply_changeset(v, change(*v, {}, {{www, rrtype::RRSIG, 3600, rrsig_rdata(rrtype::MX, 'n')}}),
                            errors);
  ASSERT_TRUE(v2) << errors_text(errors);
  expect_signatures_sliced(*v2->find(www), 2, 2);
}
