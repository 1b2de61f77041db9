#include "zone/lookup.h"

#include <cstring>

namespace zone {

using namespace wire;

namespace {

// The RRset answered for ANY (RFC 8482 4.1: one RRset of the node's choosing); DNSSEC
// records are only chosen when nothing else is there.
const RRset* pick_any(const Node& n) {
  for (const auto& r : n.rrsets)
    if (r.type != rrtype::RRSIG && r.type != rrtype::NSEC && r.type != rrtype::NSEC3)
      return &r;
  return n.rrsets.empty() ? nullptr : &n.rrsets.front();
}

LookupResult match_node(const Node& n, uint16_t qtype, bool wildcard) {
  LookupResult r;
  r.node = &n;
  r.wildcard = wildcard;
  // ANY matches the CNAME itself (RFC 1034 4.3.2 step 3b applies only when QTYPE does not
  // match CNAME), so ANY at an alias returns the CNAME and does not follow it.
  if (n.has_cname && qtype != rrtype::CNAME && qtype != rrtype::ANY) {
    r.kind = Outcome::cname;
    r.rrset = n.find(rrtype::CNAME);
    return r;
  }
  r.rrset = qtype == rrtype::ANY ? pick_any(n) : n.find(qtype);
  r.kind = r.rrset ? Outcome::answer : Outcome::nodata;
  return r;
}

}  // namespace

LookupResult lookup(const Zone& zone, NameView qname, uint16_t qtype) {
  // Label start offsets of qname, so that we can walk down from the apex.
  size_t offs[128];
  int n = 0;
  for (size_t p = 0; p < qname.size() && qname[p] != 0; p += 1 + static_cast<uint8_t>(qname[p]))
    offs[n++] = p;
  const size_t apex_off = qname.size() - zone.origin().size();
  int i = 0;
  while (i < n && offs[i] < apex_off) ++i;
  // offs[i-1] .. offs[0] are the names below the apex, from the top down.
  const Node* cur = &zone.apex();
  for (int k = i - 1; k >= 0; --k) {
    if (cur->has_dname) {
      LookupResult r;
      r.kind = Outcome::dname;
      r.node = cur;
      r.rrset = cur->find(rrtype::DNAME);
      return r;
    }
    const Node* next = zone.find(qname.substr(offs[k]));
    if (!next) {
      // cur is the closest encloser: try its wildcard (RFC 4592 3.3.1).
      char wc[kMaxNameLen + 2];
      size_t wl = 2 + cur->name.size();
      LookupResult r;
      r.closest_encloser = cur;
      if (wl <= kMaxNameLen) {
        wc[0] = 1;
        wc[1] = '*';
        std::memcpy(wc + 2, cur->name.data(), cur->name.size());
        if (const Node* w = zone.find(NameView(wc, wl))) {
          r = match_node(*w, qtype, true);
          r.closest_encloser = cur;
          return r;
        }
      }
      r.kind = Outcome::nxdomain;
      return r;
    }
    // At a cut, the parent answers only DS for the cut's own name.
    if (next->is_cut && !(k == 0 && qtype == rrtype::DS)) {
      LookupResult r;
      r.kind = Outcome::delegation;
      r.node = next;
      r.rrset = next->find(rrtype::NS);
      return r;
    }
    cur = next;
  }
  return match_node(*cur, qtype, false);
}

}  // namespace zone
