#include "zone/delegation.h"

#include <arpa/inet.h>
#include <ldns/ldns.h>

#include <algorithm>
#include <memory>
#include <map>
#include <set>

#include "zone/wire/message.h"
#include "zone/wire/rdata.h"

namespace zone {

using namespace wire;

namespace {

// Records of the given types at a node, as Records.
void collect(const Node& n, std::initializer_list<uint16_t> types, std::vector<Record>& out) {
  for (const auto& set : n.rrsets) {
    if (std::find(types.begin(), types.end(), set.type) == types.end()) continue;
    set.for_each([&](std::string_view rd) {
      out.push_back(Record{std::string(n.name), set.type, set.ttl, std::string(rd)});
    });
  }
}

// Glue at or below the cut that nothing but this delegation uses: the addresses of its NS
// targets inside the cut that no other NS record (of the apex or another cut) names. Found
// from the delegation's own NS set and the zone's count of NS references: O(delegation),
// not a scan of the zone.
void glue_to_remove(const Zone& z, const std::string& child,
                    std::vector<Record>& out) {
  const Node* cut = z.find(child);
  if (!cut || !cut->is_cut) return;
  const RRset* ns = cut->find(rrtype::NS);
  if (!ns) return;
  std::map<std::string, int64_t> mine;  // targets inside the cut, with this cut's references
  ns->for_each([&](std::string_view rd) {
    std::string t = lowered(rdata_target(rrtype::NS, rd));
    if (is_subdomain(t, child)) ++mine[t];
  });
  for (const auto& [t, refs] : mine) {
    if (z.ns_references(t) > refs) continue;  // another cut or the apex needs it too
    if (const Node* n = z.find(t)) collect(*n, {rrtype::A, rrtype::AAAA}, out);
  }
}

}  // namespace

std::vector<Delegation> list_delegations(const Zone& z) {
  std::vector<Delegation> out;
  z.for_each_node([&](const Node& n) {
    if (!n.is_cut) return;
    Delegation d;
    d.child = n.name;
    const RRset* ns = n.find(rrtype::NS);
    d.ttl = ns->ttl;
    ns->for_each([&](std::string_view rd) {
      std::string t = lowered(rdata_target(rrtype::NS, rd));
      d.ns.push_back(t);
      if (is_subdomain(t, z.origin()))
        if (const Node* g = z.find(t)) collect(*g, {rrtype::A, rrtype::AAAA}, d.glue);
    });
    if (const RRset* ds = n.find(rrtype::DS))
      ds->for_each([&](std::string_view rd) { d.ds.emplace_back(rd); });
    out.push_back(std::move(d));
  });
  std::sort(out.begin(), out.end(), [](const Delegation& a, const Delegation& b) {
    return canonical_compare(a.child, b.child) < 0;
  });
  return out;
}

std::optional<Changeset> plan_delegation(const Zone& z, const DelegationSpec& spec,
                                         uint32_t new_serial, std::vector<std::string>& errors) {
  const std::string& child = spec.child;
  std::string child_text = name_to_text(child);
  if (child == z.origin() || !is_subdomain(child, z.origin())) {
    errors.push_back(child_text + " is not below the zone " + name_to_text(z.origin()));
    return std::nullopt;
  }
  if (spec.ns.empty()) errors.push_back("a delegation needs at least one NS");
  // Nothing between the apex and the child may be a cut or a DNAME already.
  for (std::string_view p = parent_name(child); p.size() > z.origin().size(); p = parent_name(p)) {
    const Node* n = z.find(p);
    if (n && n->is_cut)
      errors.push_back(child_text + " is below the existing delegation " + name_to_text(p));
    if (n && n->has_dname)
      errors.push_back(child_text + " is below the DNAME at " + name_to_text(p));
  }
  if (const Node* n = z.find(child); n && (n->has_cname || n->has_dname))
    errors.push_back(child_text + " holds a CNAME or DNAME");

  Changeset c = serial_step(z, new_serial);
  std::set<std::string> keep_glue;
  std::vector<Record> want;
  std::set<std::string> seen_ns;
  for (const auto& ns : spec.ns) {
    std::string nst = name_to_text(ns.name);
    if (!seen_ns.insert(ns.name).second) {
      errors.push_back("NS " + nst + " is listed twice");
      continue;
    }
    want.push_back(Record{child, rrtype::NS, spec.ttl, ns.name});
    bool in_domain = is_subdomain(ns.name, child);
    if (in_domain && ns.addresses.empty())
      errors.push_back("NS " + nst + " is inside " + child_text +
                       ": give its address(es) for glue (--ns " + nst + "=ADDR)");
    if (!in_domain && !ns.addresses.empty())
      errors.push_back("NS " + nst + " is not inside " + child_text +
                       ": glue is only for names at or below the cut (RFC 9471); drop =ADDR");
    if (in_domain) keep_glue.insert(ns.name);
    for (const auto& a : ns.addresses) {
      unsigned char buf[16];
      if (inet_pton(AF_INET, a.c_str(), buf) == 1)
        want.push_back(Record{ns.name, rrtype::A, spec.ttl, std::string(reinterpret_cast<char*>(buf), 4)});
      else if (inet_pton(AF_INET6, a.c_str(), buf) == 1)
        want.push_back(Record{ns.name, rrtype::AAAA, spec.ttl, std::string(reinterpret_cast<char*>(buf), 16)});
      else
        errors.push_back("'" + a + "' is not an IPv4 or IPv6 address (NS " + nst + ")");
    }
  }
  for (const auto& ds : spec.ds) want.push_back(Record{child, rrtype::DS, spec.ttl, ds});
  if (!errors.empty()) return std::nullopt;

  // What is there now: NS and DS at the cut, glue below it (and the A/AAAA of the new glue
  // names, which get replaced).
  std::vector<Record> have;
  if (const Node* n = z.find(child)) collect(*n, {rrtype::NS, rrtype::DS}, have);
  glue_to_remove(z, child, have);
  // Glue another cut still needs stays, unless we are replacing its addresses: the names
  // given addresses get exactly those (glue_to_remove skipped the shared ones).
  for (const auto& name : keep_glue)
    if (const Node* g = z.find(name)) collect(*g, {rrtype::A, rrtype::AAAA}, have);
  std::set<std::tuple<std::string, uint16_t, uint32_t, std::string>> want_set, have_set;
  for (const auto& r : want) want_set.insert({r.owner, r.type, r.ttl, r.rdata});
  for (const auto& r : have)
    if (have_set.insert({r.owner, r.type, r.ttl, r.rdata}).second &&
        !want_set.count({r.owner, r.type, r.ttl, r.rdata}))
      c.removed.push_back(r);
  std::set<std::tuple<std::string, uint16_t, uint32_t, std::string>> added;
  for (const auto& r : want)
    if (!have_set.count({r.owner, r.type, r.ttl, r.rdata}) &&
        added.insert({r.owner, r.type, r.ttl, r.rdata}).second)  // an address given twice
      c.added.push_back(r);
  return c;
}

std::optional<Changeset> plan_undelegation(const Zone& z, const std::string& child,
                                           uint32_t new_serial, std::vector<std::string>& errors) {
  const Node* n = z.find(child);
  if (!n || !n->is_cut) {
    errors.push_back(name_to_text(child) + " is not delegated in " + name_to_text(z.origin()));
    return std::nullopt;
  }
  Changeset c = serial_step(z, new_serial);
  collect(*n, {rrtype::NS, rrtype::DS}, c.removed);
  glue_to_remove(z, child, c.removed);
  return c;
}

bool ds_from_text(const std::string& owner_text, const std::string& text, std::string& out) {
  ldns_rr* rr = nullptr;
  std::string line = owner_text + " 3600 IN DS " + text;
  if (ldns_rr_new_frm_str(&rr, line.c_str(), 3600, nullptr, nullptr) != LDNS_STATUS_OK || !rr)
    return false;
  ldns_buffer* buf = ldns_buffer_new(256);
  bool ok = ldns_rr_rd_count(rr) == 4 && ldns_rr_rdata2buffer_wire(buf, rr) == LDNS_STATUS_OK;
  if (ok)
    out.assign(reinterpret_cast<const char*>(ldns_buffer_begin(buf)), ldns_buffer_position(buf));
  ldns_buffer_free(buf);
  ldns_rr_free(rr);
  return ok;
}

std::string record_text(const Record& r) {
  ldns_rr* rr = ldns_rr_new();
  ldns_rr_set_owner(rr, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, r.owner.size(), r.owner.data()));
  ldns_rr_set_type(rr, static_cast<ldns_rr_type>(r.type));
  ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
  ldns_rr_set_ttl(rr, r.ttl);
  // Let ldns parse the RDATA from a wire-format record so that it prints every type.
  std::string wire = record_wire(r);
  ldns_rr_free(rr);
  ldns_rr* parsed = nullptr;
  size_t pos = 0;
  std::string out;
  if (ldns_wire2rr(&parsed, reinterpret_cast<const uint8_t*>(wire.data()), wire.size(), &pos,
                   LDNS_SECTION_ANSWER) == LDNS_STATUS_OK) {
    char* s = ldns_rr2str(parsed);
    if (s) {
      out = s;
      free(s);
    }
    ldns_rr_free(parsed);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  for (auto& ch : out)
    if (ch == '\t') ch = ' ';
  return out;
}

std::string changeset_text(const Changeset& c) {
  std::string out;
  out += "- " + record_text(c.soa_from) + "\n";
  for (const auto& r : c.removed) out += "- " + record_text(r) + "\n";
  out += "+ " + record_text(c.soa_to) + "\n";
  for (const auto& r : c.added) out += "+ " + record_text(r) + "\n";
  return out;
}

}  // namespace zone
