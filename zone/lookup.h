// Lookup of one name and type in one zone (RFC 1034 4.3.2 steps 3a-3c, RFC 4592, RFC 6672).
#pragma once
#include <cstdint>

#include "zone/zone.h"

namespace zone {

enum class Outcome { answer, nodata, nxdomain, cname, dname, delegation };

struct LookupResult {
  Outcome kind = Outcome::nxdomain;
  // answer/nodata/cname: the node that matched (the wildcard node if `wildcard`);
  // dname: the node owning the DNAME; delegation: the cut node.
  const Node* node = nullptr;
  // answer: the RRset of the queried type; cname: the CNAME; dname: the DNAME;
  // delegation: the NS set at the cut.
  const RRset* rrset = nullptr;
  bool wildcard = false;
  // The closest encloser of the query name (nxdomain and wildcard answers).
  const Node* closest_encloser = nullptr;
};

// qname must be lowercased wire form and at or below zone.origin(). qtype ANY selects one
// RRset of the node (RFC 8482). No allocation.
LookupResult lookup(const Zone& zone, NameView qname, uint16_t qtype);

}  // namespace zone
