// Versions made in O(change) against zones built from scratch: long random sequences of
// changesets (names, types, delegations, glue, wildcards, CNAMEs and DNAMEs, deep names that
// create and remove empty non-terminals, SOA changes, signed zones with their NSEC/NSEC3
// records) are applied both ways, and after every step everything a query or a transfer can
// see must be the same: lookups and DNSSEC proofs for every name (and names that are not
// there), the nodes for_each_node visits, counts, hashes, diffs, and which changes are
// refused and why.
#include "tests/unit/test_support.h"
#include "zone/changeset.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <unordered_map>
#include <string>
#include <vector>

#include "zone/delegation.h"
#include "zone/dnssec.h"
#include "zone/lookup.h"
#include "zone/wire/message.h"
#include "zone/wire/rdata.h"
#include "zone/wire/types.h"

using namespace zone;
using namespace zone::wire;

namespace {

using test_support::W;

std::string hex(std::string_view s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

// Everything about an RRset but the order of its records (which no DNS client relies on).
std::string rrset_text(const RRset* s) {
  if (!s) return "-";
  std::vector<std::string> rds;
  s->for_each([&](std::string_view rd) { rds.push_back(hex(rd)); });
  std::sort(rds.begin(), rds.end());
  std::string out = type_name(s->type) + "/" + std::to_string(s->ttl) + "/" + std::to_string(s->count);
  for (const auto& r : rds) out += " " + r;
  return out;
}

std::string node_text(const Node* n) {
  if (!n) return "(none)";
  std::string out = name_to_text(n->name) + (n->is_cut ? " cut" : "") + (n->has_cname ? " cname" : "") +
                    (n->has_dname ? " dname" : "") + " children=" + std::to_string(n->children);
  for (const auto& r : n->rrsets) out += " [" + rrset_text(&r) + "]";
  std::vector<std::string> sigs;
  for (const auto& g : n->sigs) sigs.push_back(type_name(g.covered) + ":" + rrset_text(&g.rrsigs));
  std::sort(sigs.begin(), sigs.end());
  for (const auto& s : sigs) out += " {" + s + "}";
  return out;
}

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

// Node texts of one zone, each made once per comparison.
class NodeTexts {
 public:
  const std::string& operator()(const Node* n) {
    auto [it, added] = texts_.try_emplace(n);
    if (added) it->second = node_text(n);
    return it->second;
  }

 private:
  std::unordered_map<const Node*, std::string> texts_;
};

// A lookup result with the proof the query processor would add for it (server/query.cpp),
// its nodes as their texts: comparable across zones without building strings.
struct Seen {
  Outcome kind;
  const std::string* node;
  uint16_t rrset_type;  // the RRset is one of the node's: its type says which
  bool wildcard;
  NameView encloser;
  std::vector<const std::string*> proof;  // sorted by text

  bool operator==(const Seen& o) const {
    if (kind != o.kind || *node != *o.node || rrset_type != o.rrset_type || wildcard != o.wildcard ||
        encloser != o.encloser || proof.size() != o.proof.size())
      return false;
    for (size_t i = 0; i < proof.size(); ++i)
      if (*proof[i] != *o.proof[i]) return false;
    return true;
  }
  std::string str() const {
    std::string out = std::string(outcome_name(kind)) + " node=" + *node + " rrset=" +
                      (rrset_type ? type_name(rrset_type) : "-") + (wildcard ? " wildcard" : "") +
                      " ce=" + (encloser.empty() ? "-" : name_to_text(encloser));
    if (!proof.empty()) out += " proof:";
    for (const auto* p : proof) out += " <" + *p + ">";
    return out;
  }
};

Seen lookup_seen(const Zone& z, NameView q, uint16_t type, NodeTexts& texts) {
  LookupResult r = lookup(z, q, type);
  Seen s{r.kind, &texts(r.node), static_cast<uint16_t>(r.rrset ? r.rrset->type : 0), r.wildcard,
         r.closest_encloser ? r.closest_encloser->name : NameView(), {}};
  if (!z.is_signed()) return s;
  Proof p;
  switch (r.kind) {
    case Outcome::nodata:
      if (r.wildcard) prove_wildcard_nodata(z, q, *r.closest_encloser, *r.node, p);
      else prove_nodata(z, q, p);
      break;
    case Outcome::nxdomain: prove_nxdomain(z, q, *r.closest_encloser, p); break;
    case Outcome::answer:
    case Outcome::cname:
      if (r.wildcard) prove_wildcard_answer(z, q, *r.closest_encloser, p);
      break;
    case Outcome::delegation:
      if (!r.node->find(rrtype::DS)) prove_no_ds(z, *r.node, p);
      break;
    case Outcome::dname: break;
  }
  for (int i = 0; i < p.count; ++i) s.proof.push_back(&texts(p.nodes[i]));
  std::sort(s.proof.begin(), s.proof.end(), [](const auto* a, const auto* b) { return *a < *b; });
  return s;
}

std::string chains_text(const Zone& z, NameView q) {
  std::string out;
  if (z.denial() == Denial::nsec) {
    const Node* n = z.nsec_for(q);
    out = "nsec_for=" + (n ? name_to_text(n->name) : std::string("-"));
  } else if (z.denial() == Denial::nsec3) {
    bool match = false;
    const Nsec3Entry* e = z.nsec3_for_name(q, match);
    out = "nsec3_for=" + (e ? name_to_text(e->node->name) + " " + rrset_text(e->node->find(rrtype::NSEC3)) +
                                  (e->opt_out ? " opt-out" : "")
                            : std::string("-")) +
          (match ? " match" : "");
  }
  return out;
}

using Key = std::tuple<std::string, uint16_t, uint32_t, std::string>;

std::vector<Key> record_keys(const Zone& z) {
  std::vector<Key> out;
  for (const auto& r : zone_records(z)) out.emplace_back(r.owner, r.type, r.ttl, r.rdata);
  std::sort(out.begin(), out.end());
  return out;
}

// Every node for_each_node visits, once each, with what it holds; lookup-namespace nodes and
// NSEC3 owners told apart.
std::vector<std::string> node_list(const Zone& z) {
  std::vector<std::string> out;
  z.for_each_node([&](const Node& n) {
    out.push_back((z.find(n.name) == &n ? "name " : "nsec3-owner ") + node_text(&n));
  });
  std::sort(out.begin(), out.end());
  return out;
}

std::set<std::string> node_names(const Zone& z) {
  std::set<std::string> out;
  z.for_each_node([&](const Node& n) { out.emplace(n.name); });
  return out;
}

// What the first difference between two sorted lists is, for a failure message.
std::string first_difference(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<std::string> only_a, only_b;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(only_a));
  std::set_difference(b.begin(), b.end(), a.begin(), a.end(), std::back_inserter(only_b));
  return "version only: " + (only_a.empty() ? "-" : only_a[0]) +
         "\nrebuilt only: " + (only_b.empty() ? "-" : only_b[0]);
}

// Why a change was refused, as a class (the two builders word some messages differently).
std::set<std::string> refusal_classes(const std::vector<ZoneError>& errors) {
  static const std::pair<const char*, const char*> kClasses[] = {
      {"does not have", "missing record"},
      {"starts at serial", "serial"},
      {"outside the zone", "outside"},
      {"beside a CNAME", "cname beside data"},
      {"more than one CNAME", "two cnames"},
      {"more than one DNAME", "two dnames"},
      {"below the DNAME", "below dname"},
      {"below the zone apex", "soa below apex"},
      {"more than one SOA", "two soas"},
      {"no SOA", "no soa"},
      {"no NS records", "no apex ns"},
      {"has no glue", "ns without glue"},
      {"is a CNAME", "ns is cname"},
      {"but no NSEC3", "no nsec3"},
      {"but no NSEC in", "no nsec"},
      {"without an NSEC3 chain", "no nsec3 chain"},
  };
  std::set<std::string> out;
  for (const auto& e : errors) {
    bool known = false;
    for (const auto& [needle, cls] : kClasses)
      if (e.message.find(needle) != std::string::npos) {
        out.insert(cls);
        known = true;
        break;
      }
    if (!known) out.insert("other: " + e.message);
  }
  return out;
}

std::string join(const std::set<std::string>& s) {
  std::string out;
  for (const auto& x : s) out += (out.empty() ? "" : ", ") + x;
  return out;
}

std::string errors_text(const std::vector<ZoneError>& errors) {
  std::string out;
  for (const auto& e : errors) out += "  " + e.str() + "\n";
  return out;
}

// RFC 4648 base32hex, lowercase (NSEC3 owner labels).
std::string base32hex(const uint8_t* data, size_t len) {
  static const char* d = "0123456789abcdefghijklmnopqrstuv";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < len; ++i) {
    acc = (acc << 8) | data[i];
    bits += 8;
    while (bits >= 5) {
      out += d[(acc >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits) out += d[(acc << (5 - bits)) & 31];
  return out;
}

// Random changesets over the current zone: mostly valid changes (a signed zone's new names
// get their NSEC or NSEC3, removed ones lose them), with invalid ones mixed in.
class ChangeGen {
 public:
  ChangeGen(uint32_t seed, const Zone& start) : rng_(seed) {
    start.for_each_node([&](const Node& n) {
      if (n.name == NameView(start.origin()))
        if (const RRset* k = n.find(rrtype::DNSKEY))
          k->for_each([&](std::string_view rd) { dnskeys_.push_back({std::string(n.name), k->type, k->ttl, std::string(rd)}); });
      if (const RRset* s = n.find(rrtype::NSEC3))
        s->for_each([&](std::string_view rd) { nsec3_flags_ = rd.size() > 1 ? static_cast<uint8_t>(rd[1]) : 0; });
    });
  }

  Changeset next(const Zone& z) {
    z_ = &z;
    c_ = Changeset{};
    recs_ = zone_records(z);
    names_.clear();
    z.for_each_node([&](const Node& n) {
      if (z.find(n.name) == &n) names_.emplace_back(n.name);
    });
    c_.soa_from = recs_.front();
    c_.soa_to = recs_.front();
    uint32_t serial = z.serial() + 1;
    if (pick(40) == 0) {  // other SOA fields too: TTL, MINIMUM
      c_.soa_to.ttl = 60 + pick(4) * 100;
      put32(reinterpret_cast<uint8_t*>(c_.soa_to.rdata.data()) + c_.soa_to.rdata.size() - 4, 30 + pick(5) * 60);
    }
    set_soa_serial(c_.soa_to.rdata, serial);
    int ops = 1 + pick(4);
    for (int i = 0; i < ops; ++i) one_op();
    return c_;
  }

 private:
  uint32_t pick(uint32_t n) { return std::uniform_int_distribution<uint32_t>(0, n - 1)(rng_); }
  template <class T>
  const T& any(const std::vector<T>& v) { return v[pick(static_cast<uint32_t>(v.size()))]; }

  const std::string& origin() const { return z_->origin(); }
  bool signed_nsec() const { return z_->denial() == Denial::nsec; }
  bool signed_nsec3() const { return z_->denial() == Denial::nsec3; }

  std::string label() {
    static const char* kLabels[] = {"a", "b", "c", "www", "mail", "x", "deep", "ns1", "sub"};
    return kLabels[pick(9)];
  }
  static std::string prepend(const std::string& l, const std::string& name) {
    return std::string(1, static_cast<char>(l.size())) + l + name;
  }
  // A name at or below the apex: an existing one, or new labels (maybe a wildcard) on one.
  std::string some_name(bool allow_existing = true) {
    std::string base = pick(2) ? origin() : any(names_);
    if (allow_existing && pick(3) == 0) return base;
    int depth = 1 + pick(pick(4) == 0 ? 3 : 1);
    std::string n = base;
    for (int i = 0; i < depth; ++i) n = prepend(label(), n);
    if (pick(12) == 0) n = prepend("*", n);
    return n.size() > 200 ? origin() : n;
  }
  std::string target() {
    switch (pick(4)) {
      case 0: return W("ns.other.net.");
      case 1: return any(names_);
      default: return some_name();
    }
  }
  std::string rdata_for(uint16_t type) {
    static const uint8_t kAddrs[] = {1, 2, 3, 10, 53};
    switch (type) {
      case rrtype::A: return std::string{char(192), 0, 2, char(kAddrs[pick(5)])};
      case rrtype::AAAA: {
        std::string a(16, '\0');
        a[0] = 0x20, a[1] = 0x01, a[15] = static_cast<char>(kAddrs[pick(5)]);
        return a;
      }
      case rrtype::TXT: return std::string(1, 1) + char('a' + pick(3));
      case rrtype::MX: return std::string{0, char(10 * (1 + pick(2)))} + target();
      case rrtype::NS:
      case rrtype::CNAME: return target();
      case rrtype::DNAME: return pick(2) ? W("other.net.") : target();
      case rrtype::DS: return std::string{0x30, 0x39, 13, 2} + std::string(32, char(pick(3)));
      default: return "\x01z";
    }
  }
  bool has_data(const std::string& name) const {
    const Node* n = z_->find(name);
    return n && !n->empty();
  }
  void add(const std::string& owner, uint16_t type, std::string rdata, uint32_t ttl = 3600,
           bool deny = true) {
    bool new_name = !has_data(owner) && !added_names_.count(owner);
    c_.added.push_back({owner, type, ttl, std::move(rdata)});
    added_names_.insert(owner);
    if (new_name && deny && pick(12) != 0) deny_for(owner);
  }
  // The NSEC or NSEC3 a new name of a signed zone needs (the checks read no signatures).
  void deny_for(const std::string& owner) {
    if (signed_nsec()) {
      c_.added.push_back({owner, rrtype::NSEC, 300, origin() + std::string("\x00\x01\x40", 3)});
    } else if (signed_nsec3()) {
      std::string owner_name = nsec3_owner(owner);
      // Now and then with the other Opt-Out flag than the chain's (spans gain or lose it).
      std::string rd{1, static_cast<char>((nsec3_flags_ ^ (pick(5) == 0)) & 1)};
      const RRset* param = z_->apex().find(rrtype::NSEC3PARAM);
      std::string_view p = param ? std::string_view(param->data).substr(2) : std::string_view();
      if (p.size() < 5) return;
      rd += std::string(p.substr(2, 3 + static_cast<uint8_t>(p[4])));  // iterations, salt
      rd += char(kNsec3HashLen);
      rd += std::string(kNsec3HashLen, char(pick(250)));
      rd += std::string("\x00\x01\x40", 3);
      c_.added.push_back({owner_name, rrtype::NSEC3, 300, rd});
    }
  }
  std::string nsec3_owner(const std::string& name) const {
    uint8_t h[kNsec3HashLen];
    z_->nsec3_hash(name, h);
    return prepend(base32hex(h, kNsec3HashLen), origin());
  }
  void remove(const Record& r) {
    for (const auto& x : c_.removed)
      if (x == r) return;
    c_.removed.push_back(r);
  }
  void remove_name(const std::string& name, bool with_denial) {
    for (const auto& r : recs_)
      if (r.owner == name && r.type != rrtype::SOA) remove(r);
    if (with_denial && signed_nsec3()) {
      std::string o = nsec3_owner(name);
      for (const auto& r : recs_)
        if (r.owner == o) remove(r);
    }
  }

  void one_op() {
    switch (pick(20)) {
      case 0:
      case 1:
      case 2: {  // a record at a new or existing name
        static const uint16_t kTypes[] = {rrtype::A, rrtype::AAAA, rrtype::TXT, rrtype::MX, rrtype::A};
        uint16_t t = kTypes[pick(5)];
        add(some_name(), t, rdata_for(t));
        break;
      }
      case 3:
      case 4: {  // one record goes
        const Record& r = recs_[1 + pick(static_cast<uint32_t>(recs_.size() - 1))];
        if (r.type != rrtype::SOA) remove(r);
        break;
      }
      case 5:
      case 6:  // a whole name goes (its NSEC3 too, mostly)
        if (names_.size() > 1) remove_name(any(names_), pick(8) != 0);
        break;
      case 7: {  // a delegation with in-domain glue, or a sibling NS
        std::string cut = some_name(false);
        if (cut == origin()) break;
        std::string ns = prepend("ns", cut);
        bool secure = pick(3) == 0;
        // Opt-out exists for this: an insecure delegation without an NSEC3 of its own.
        bool deny = !(signed_nsec3() && (nsec3_flags_ & 1) && !secure && pick(2));
        add(cut, rrtype::NS, pick(4) ? ns : any(names_), 3600, deny);
        if (pick(6)) add(ns, rrtype::A, rdata_for(rrtype::A));
        if (secure) add(cut, rrtype::DS, rdata_for(rrtype::DS));
        break;
      }
      case 8: {  // a delegation goes with everything below it
        std::vector<std::string> cuts;
        for (const auto& n : names_)
          if (const Node* nd = z_->find(n); nd && nd->is_cut) cuts.push_back(n);
        if (cuts.empty()) break;
        const std::string& cut = any(cuts);
        for (const auto& n : names_)
          if (is_subdomain(n, cut)) remove_name(n, true);
        break;
      }
      case 9: {  // an RRset with another TTL
        const Record& r = recs_[1 + pick(static_cast<uint32_t>(recs_.size() - 1))];
        if (r.type == rrtype::SOA || r.type == rrtype::RRSIG) break;
        uint32_t ttl = r.ttl + 1 + pick(100);
        for (const auto& x : recs_)
          if (x.owner == r.owner && x.type == r.type) {
            remove(x);
            if (pick(5)) c_.added.push_back({x.owner, x.type, ttl, x.rdata});
          }
        break;
      }
      case 10:  // a CNAME (beside data: refused)
        add(pick(3) ? some_name(false) : some_name(), rrtype::CNAME, rdata_for(rrtype::CNAME));
        break;
      case 11:  // a DNAME (with names below: refused)
        add(pick(2) ? some_name(false) : some_name(), rrtype::DNAME, rdata_for(rrtype::DNAME));
        break;
      case 12: {  // a wildcard
        std::string w = prepend("*", pick(2) ? origin() : any(names_));
        add(w, pick(2) ? rrtype::A : rrtype::TXT, rdata_for(rrtype::A));
        break;
      }
      case 13: {  // a deep name, creating empty non-terminals
        std::string n = some_name(false);
        for (int i = 0; i < 2; ++i) n = prepend(label(), n);
        add(n.size() > 200 ? origin() : n, rrtype::TXT, rdata_for(rrtype::TXT));
        break;
      }
      case 14:  // an NS target that is (or becomes) a CNAME, an NS set at the apex
        if (pick(2)) add(origin(), rrtype::NS, any(names_));
        else add(any(names_), rrtype::CNAME, rdata_for(rrtype::CNAME));
        break;
      case 15:  // glue or a target's addresses go
        for (const auto& r : recs_)
          if ((r.type == rrtype::A || r.type == rrtype::AAAA) && pick(6) == 0) {
            remove(r);
            break;
          }
        break;
      case 16:  // a record the zone does not have, or an SOA below the apex (refused)
        if (pick(2)) remove({any(names_), rrtype::TXT, 3600, "\x03nah"});
        else add(some_name(false), rrtype::SOA, c_.soa_to.rdata);
        break;
      case 17:  // a record with another TTL than its RRset's, or one it already has
        if (pick(2)) {
          const Record& r = recs_[1 + pick(static_cast<uint32_t>(recs_.size() - 1))];
          if (r.type != rrtype::SOA) c_.added.push_back({r.owner, r.type, r.ttl, r.rdata});
        } else {
          add(any(names_), rrtype::A, rdata_for(rrtype::A), 60 + pick(7000));
        }
        break;
      case 18:  // the zone turns unsigned, or signed again
        if (pick(4) == 0) {
          if (z_->apex().find(rrtype::DNSKEY))
            for (const auto& r : recs_) {
              if (r.owner == origin() && r.type == rrtype::DNSKEY) remove(r);
            }
          else
            for (const auto& r : dnskeys_) c_.added.push_back(r);
        }
        break;
      case 19:  // an NSEC3 or NSEC alone goes
        for (const auto& r : recs_)
          if ((r.type == rrtype::NSEC3 || r.type == rrtype::NSEC) && pick(8) == 0) {
            remove(r);
            break;
          }
        break;
    }
  }

  std::mt19937 rng_;
  const Zone* z_ = nullptr;
  Changeset c_;
  std::vector<Record> recs_;
  std::vector<std::string> names_;
  std::set<std::string> added_names_;
  std::vector<Record> dnskeys_;
  uint8_t nsec3_flags_ = 0;
};

struct Stats {
  int steps = 0, accepted = 0, refused = 0, versions = 0, flat = 0;
};

// Everything a query or a transfer sees must be the same in the version and the rebuilt zone.
void expect_same(const Zone& v, const Zone& r, std::mt19937& rng, const std::string& at) {
  SCOPED_TRACE(at);
  ASSERT_EQ(v.serial(), r.serial());
  EXPECT_EQ(v.record_count(), r.record_count());
  EXPECT_EQ(v.node_count(), r.node_count());
  EXPECT_EQ(v.negative_ttl(), r.negative_ttl());
  EXPECT_EQ(rrset_text(&v.soa()), rrset_text(&r.soa()));
  EXPECT_EQ(node_text(&v.apex()), node_text(&r.apex()));
  EXPECT_EQ(v.denial(), r.denial());
  EXPECT_EQ(content_hash(v), content_hash(r));
  auto vn = node_list(v), rn = node_list(r);
  ASSERT_EQ(vn, rn) << first_difference(vn, rn);
  ASSERT_EQ(record_keys(v), record_keys(r));
  EXPECT_EQ(v.record_count(), zone_records(v).size());
  EXPECT_TRUE(diff_zones(v, r).empty());

  // Every name of either, names that are not there, and names below them.
  std::set<std::string> names = node_names(v);
  for (const auto& n : node_names(r)) names.insert(n);
  std::vector<std::string> more;
  static const char* kExtra[] = {"zz", "a", "nx", "*", "0"};
  for (const auto& n : names) {
    std::string c = std::string(1, 2) + kExtra[rng() % 5] + (rng() % 2 ? "x" : "y");
    c = std::string(1, static_cast<char>(c.size() - 1)) + c.substr(1) + n;
    if (c.size() <= 255) more.push_back(c);
  }
  names.insert(more.begin(), more.end());
  static const uint16_t kTypes[] = {rrtype::A,     rrtype::AAAA, rrtype::TXT,   rrtype::MX,
                                    rrtype::NS,    rrtype::DS,   rrtype::CNAME, rrtype::DNAME,
                                    rrtype::SOA,   rrtype::ANY,  rrtype::NSEC,  rrtype::RRSIG,
                                    rrtype::NSEC3};
  int bad = 0;
  NodeTexts vt, rt;
  for (const auto& n : names) {
    for (uint16_t t : kTypes) {
      Seen a = lookup_seen(v, n, t, vt), b = lookup_seen(r, n, t, rt);
      if (!(a == b) && bad++ < 3)
        ADD_FAILURE() << "lookup " << name_to_text(n) << " " << type_name(t) << "\n  version: " << a.str()
                      << "\n  rebuilt: " << b.str();
    }
    std::string a = chains_text(v, n), b = chains_text(r, n);
    if (a != b && bad++ < 3)
      ADD_FAILURE() << "chain for " << name_to_text(n) << "\n  version: " << a << "\n  rebuilt: " << b;
  }
  ASSERT_EQ(bad, 0);
}

// Applies `steps` random changesets to a zone twice: as versions (the overlay, compacted past
// `max_overlay`) and as full builds; compares after every step.
Stats run_sequence(std::shared_ptr<const Zone> start, uint32_t seed, int steps, size_t max_overlay) {
  Stats st;
  std::mt19937 rng(seed * 7 + 1);
  ChangeGen gen(seed, *start);
  std::shared_ptr<const Zone> ver = start, ref = start;
  ApplyOptions incremental{max_overlay, false}, full{0, true};
  for (int i = 0; i < steps; ++i) {
    std::string at = "seed " + std::to_string(seed) + " step " + std::to_string(i);
    Changeset c = gen.next(*ref);
    std::vector<ZoneError> ve, re;
    const uint64_t before_hash = content_hash(*ver);
    const auto before_records = record_keys(*ver);
    auto nv = apply_changeset(ver, c, ve, incremental);
    auto nr = apply_changeset(ref, c, re, full);
    ++st.steps;
    // The base is never changed, whatever happened.
    EXPECT_EQ(content_hash(*ver), before_hash) << at;
    EXPECT_EQ(record_keys(*ver), before_records) << at;
    EXPECT_EQ(!nv, !nr) << at << "\nversion errors:\n" << errors_text(ve) << "rebuilt errors:\n"
                        << errors_text(re) << "changeset:\n" << changeset_text(c);
    if (!nv || !nr) {
      if (!nv && !nr) {
        EXPECT_EQ(join(refusal_classes(ve)), join(refusal_classes(re)))
            << at << "\nversion errors:\n" << errors_text(ve) << "rebuilt errors:\n" << errors_text(re)
            << "changeset:\n" << changeset_text(c);
      }
      if (::testing::Test::HasFailure()) return st;
      ++st.refused;
      continue;
    }
    ++st.accepted;
    if (nv->delta_size()) ++st.versions;
    else ++st.flat;
    // The versions' own diff (over their overlays) says what the full builds' does.
    Changeset dv = diff_zones(*ver, *nv), dr = diff_zones(*ref, *nr);
    auto keys = [](const std::vector<Record>& v) {
      std::vector<Key> k;
      for (const auto& r : v) k.emplace_back(r.owner, r.type, r.ttl, r.rdata);
      std::sort(k.begin(), k.end());
      return k;
    };
    EXPECT_EQ(keys(dv.added), keys(dr.added)) << at;
    EXPECT_EQ(keys(dv.removed), keys(dr.removed)) << at;
    expect_same(*nv, *nr, rng, at + "\nchangeset:\n" + changeset_text(c));
    if (::testing::Test::HasFailure()) return st;
    ver = nv;
    ref = nr;
  }
  return st;
}

struct Start {
  const char* file;
  const char* origin;
};

class VersionDiff : public ::testing::TestWithParam<Start> {};

TEST_P(VersionDiff, RandomChangesMatchFullBuilds) {
  auto z = test_support::load_test_zone(GetParam().file, GetParam().origin);
  ASSERT_TRUE(z);
  Stats total;
  // A small bound makes compaction happen every few dozen steps; the default never here.
  const size_t bounds[] = {16, 64, 0};
#ifdef NDEBUG
  const uint32_t seeds = 5, steps = 200;
#else
  const uint32_t seeds = 2, steps = 60;  // unoptimized and sanitizer builds: a sample
#endif
  for (uint32_t seed = 1; seed <= seeds; ++seed) {
    Stats st = run_sequence(z, seed, steps, bounds[(seed - 1) % 3]);
    ASSERT_FALSE(HasFailure()) << "seed " << seed;
    total.steps += st.steps;
    total.accepted += st.accepted;
    total.refused += st.refused;
    total.versions += st.versions;
    total.flat += st.flat;
  }
  // The mix must exercise both outcomes and both kinds of result.
  EXPECT_GT(total.accepted, total.steps / 3);
  EXPECT_GT(total.refused, total.steps / 20);
  EXPECT_GT(total.versions, total.accepted / 2);
  EXPECT_GT(total.flat, 0);
  std::printf("%s: %d steps, %d accepted (%d versions, %d flat), %d refused\n", GetParam().file,
              total.steps, total.accepted, total.versions, total.flat, total.refused);
}

INSTANTIATE_TEST_SUITE_P(
    Zones, VersionDiff,
    ::testing::Values(Start{"example.com.zone", "example.com."}, Start{"other.net.zone", "other.net."},
                      Start{"signed/nsec.example.test.zone", "example.test."},
                      Start{"signed/nsec3.example.test.zone", "example.test."},
                      Start{"signed/optout.example.test.zone", "example.test."},
                      Start{"signed/bind-optout.example.test.zone", "example.test."}),
    [](const auto& info) {
      std::string n = info.param.file;
      for (auto& ch : n)
        if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
      return n;
    });

}  // namespace
