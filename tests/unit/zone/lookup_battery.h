// One battery of lookups (hickory-dns `basic_battery!`) for tests/data/zones/example.com.zone,
// however the zone was put together: loaded from its file, built from its records in another
// order (as the SQLite store does), reached by incremental changes, or read back from a real
// store. Every case states the outcome, the RRset (type, TTL, records), the node, whether a
// wildcard answered and the closest encloser.
//
//   #include "tests/unit/zone/lookup_battery.h"
//   lookup_battery::run(*zone);   // inside a gtest TEST
#pragma once
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "zone/lookup.h"
#include "zone/wire/name.h"
#include "zone/wire/rdata.h"
#include "zone/wire/types.h"

namespace lookup_battery {

struct Case {
  const char* qname;
  uint16_t qtype;
  zone::Outcome kind;
  uint16_t rrset_type;  // 0: no RRset
  uint32_t ttl;
  // The RRset's records, sorted and space separated: addresses for A/AAAA, target names for
  // NS/CNAME/DNAME/MX; otherwise only their number, as "#n".
  const char* records;
  const char* node;      // "" when the result has none
  bool wildcard;
  const char* encloser;  // closest encloser, "" when none is reported
};

inline const char* outcome_name(zone::Outcome o) {
  switch (o) {
    case zone::Outcome::answer: return "answer";
    case zone::Outcome::nodata: return "nodata";
    case zone::Outcome::nxdomain: return "nxdomain";
    case zone::Outcome::cname: return "cname";
    case zone::Outcome::dname: return "dname";
    case zone::Outcome::delegation: return "delegation";
  }
  return "?";
}

inline std::string records_text(const zone::wire::RRset& s) {
  namespace t = zone::wire::rrtype;
  std::vector<std::string> out;
  bool named = false;
  s.for_each([&](std::string_view rd) {
    char buf[64];
    if (s.type == t::A && rd.size() == 4 && inet_ntop(AF_INET, rd.data(), buf, sizeof buf)) {
      out.emplace_back(buf);
    } else if (s.type == t::AAAA && rd.size() == 16 && inet_ntop(AF_INET6, rd.data(), buf, sizeof buf)) {
      out.emplace_back(buf);
    } else if (zone::wire::NameView target = zone::wire::rdata_target(s.type, rd); !target.empty()) {
      out.push_back(zone::wire::name_to_text(target));
    } else {
      named = true;
    }
  });
  if (named) return std::string("#").append(std::to_string(s.count));
  std::sort(out.begin(), out.end());
  std::string text;
  for (const auto& r : out) {
    if (!text.empty()) text += ' ';
    text += r;
  }
  return text;
}

inline const std::vector<Case>& example_com() {
  using O = zone::Outcome;
  namespace t = zone::wire::rrtype;
  static const std::vector<Case> cases = {
      // Answers, NODATA, ANY (one RRset).
      {"example.com.", t::SOA, O::answer, t::SOA, 3600, "#1", "example.com.", false, ""},
      {"example.com.", t::NS, O::answer, t::NS, 3600, "ns1.example.com. ns2.example.com.", "example.com.", false, ""},
      {"example.com.", t::MX, O::answer, t::MX, 3600, "mail.example.com. mail2.other.net.", "example.com.", false, ""},
      {"www.example.com.", t::A, O::answer, t::A, 3600, "192.0.2.10 192.0.2.11", "www.example.com.", false, ""},
      {"www.example.com.", t::AAAA, O::answer, t::AAAA, 3600, "2001:db8::10", "www.example.com.", false, ""},
      {"www.example.com.", t::MX, O::nodata, 0, 0, "", "www.example.com.", false, ""},
      {"www.example.com.", t::ANY, O::answer, t::A, 3600, "192.0.2.10 192.0.2.11", "www.example.com.", false, ""},
      {"ns2.example.com.", t::AAAA, O::answer, t::AAAA, 3600, "2001:db8::54", "ns2.example.com.", false, ""},
      {"example.com.", t::DS, O::nodata, 0, 0, "", "example.com.", false, ""},
      {"txt.example.com.", t::TXT, O::answer, t::TXT, 3600, "#1", "txt.example.com.", false, ""},
      {"unk.example.com.", 65400, O::answer, 65400, 3600, "#1", "unk.example.com.", false, ""},
      // NXDOMAIN with its closest encloser.
      {"nothere.example.com.", t::A, O::nxdomain, 0, 0, "", "", false, "example.com."},
      {"a.b.www.example.com.", t::A, O::nxdomain, 0, 0, "", "", false, "www.example.com."},
      // Empty non-terminals: NODATA, and they block the wildcard above them.
      {"ent.example.com.", t::A, O::nodata, 0, 0, "", "ent.example.com.", false, ""},
      {"b.ent.example.com.", t::TXT, O::nodata, 0, 0, "", "b.ent.example.com.", false, ""},
      {"_tcp.example.com.", t::SRV, O::nodata, 0, 0, "", "_tcp.example.com.", false, ""},
      {"x.b.ent.example.com.", t::A, O::nxdomain, 0, 0, "", "", false, "b.ent.example.com."},
      {"a.b.ent.example.com.", t::A, O::answer, t::A, 3600, "192.0.2.101", "a.b.ent.example.com.", false, ""},
      // Wildcards: answer, NODATA, several labels deep, never for names that exist.
      {"x.ent.example.com.", t::A, O::answer, t::A, 3600, "192.0.2.102", "*.ent.example.com.", true, "ent.example.com."},
      {"foo.wild.example.com.", t::A, O::answer, t::A, 3600, "192.0.2.100", "*.wild.example.com.", true, "wild.example.com."},
      {"foo.wild.example.com.", t::MX, O::nodata, 0, 0, "", "*.wild.example.com.", true, "wild.example.com."},
      {"a.b.wild.example.com.", t::TXT, O::answer, t::TXT, 3600, "#1", "*.wild.example.com.", true, "wild.example.com."},
      {"sub.wild.example.com.", t::A, O::nodata, 0, 0, "", "sub.wild.example.com.", false, ""},
      {"x.sub.wild.example.com.", t::A, O::nxdomain, 0, 0, "", "", false, "sub.wild.example.com."},
      {"x.wcname.example.com.", t::A, O::cname, t::CNAME, 3600, "www.example.com.", "*.wcname.example.com.", true, "wcname.example.com."},
      // CNAME: the step of a chain, and the CNAME itself when asked for.
      {"alias.example.com.", t::A, O::cname, t::CNAME, 3600, "www.example.com.", "alias.example.com.", false, ""},
      {"alias2.example.com.", t::AAAA, O::cname, t::CNAME, 3600, "alias.example.com.", "alias2.example.com.", false, ""},
      {"alias.example.com.", t::CNAME, O::answer, t::CNAME, 3600, "www.example.com.", "alias.example.com.", false, ""},
      {"toother.example.com.", t::A, O::cname, t::CNAME, 3600, "host.other.net.", "toother.example.com.", false, ""},
      // DNAME: names below it are redirected, the owner itself is not.
      {"x.dn.example.com.", t::A, O::dname, t::DNAME, 3600, "other.net.", "dn.example.com.", false, ""},
      {"a.b.dn.example.com.", t::MX, O::dname, t::DNAME, 3600, "other.net.", "dn.example.com.", false, ""},
      {"dn.example.com.", t::A, O::nodata, 0, 0, "", "dn.example.com.", false, ""},
      // Delegations: at and below the cut, glue included; DS at the cut from the parent side.
      {"deleg.example.com.", t::A, O::delegation, t::NS, 3600, "ns.other.net. ns1.deleg.example.com.", "deleg.example.com.", false, ""},
      {"www.deleg.example.com.", t::AAAA, O::delegation, t::NS, 3600, "ns.other.net. ns1.deleg.example.com.", "deleg.example.com.", false, ""},
      {"ns1.deleg.example.com.", t::A, O::delegation, t::NS, 3600, "ns.other.net. ns1.deleg.example.com.", "deleg.example.com.", false, ""},
      {"deleg.example.com.", t::DS, O::answer, t::DS, 3600, "#1", "deleg.example.com.", false, ""},
      {"x.deleg.example.com.", t::DS, O::delegation, t::NS, 3600, "ns.other.net. ns1.deleg.example.com.", "deleg.example.com.", false, ""},
      {"sibling.example.com.", t::A, O::delegation, t::NS, 3600, "ns1.example.com.", "sibling.example.com.", false, ""},
      {"child.example.com.", t::DS, O::nodata, 0, 0, "", "child.example.com.", false, ""},
      {"child.example.com.", t::SOA, O::delegation, t::NS, 3600, "ns1.child.example.com.", "child.example.com.", false, ""},
  };
  return cases;
}

inline void run(const zone::Zone& z, const std::vector<Case>& cases = example_com()) {
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.qname) + " type " + std::to_string(c.qtype));
    std::string q = zone::wire::lowered(*zone::wire::name_from_text(c.qname));
    zone::LookupResult r = zone::lookup(z, q, c.qtype);
    EXPECT_STREQ(outcome_name(r.kind), outcome_name(c.kind));
    if (c.rrset_type) {
      if (!r.rrset) {
        ADD_FAILURE() << "no RRset";
        continue;
      }
      EXPECT_EQ(r.rrset->type, c.rrset_type);
      EXPECT_EQ(r.rrset->ttl, c.ttl);
      EXPECT_EQ(records_text(*r.rrset), c.records);
    } else {
      EXPECT_EQ(r.rrset, nullptr);
    }
    EXPECT_EQ(r.node ? zone::wire::name_to_text(r.node->name) : std::string(), c.node);
    EXPECT_EQ(r.wildcard, c.wildcard);
    if (*c.encloser || r.kind == zone::Outcome::nxdomain) {
      EXPECT_EQ(r.closest_encloser ? zone::wire::name_to_text(r.closest_encloser->name) : std::string(),
                c.encloser);
    }
  }
}

}  // namespace lookup_battery
