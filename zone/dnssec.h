// Authenticated denial for the query path: which NSEC or NSEC3 records prove that a name or
// a type does not exist (RFC 4035 3.1.3, RFC 5155 7.2). Binary searches over the chains the
// ZoneBuilder indexed; no allocation.
#pragma once
#include "zone/zone.h"

namespace zone {

// The nodes whose NSEC (NSEC zones) or NSEC3 (NSEC3 zones) records, with their RRSIGs,
// make up a proof. At most four distinct nodes.
struct Proof {
  static constexpr int kMax = 4;
  const Node* nodes[kMax];
  int count = 0;
  void add(const Node* n) {
    if (!n) return;
    for (int i = 0; i < count; ++i)
      if (nodes[i] == n) return;
    if (count < kMax) nodes[count++] = n;
  }
};

// qname does not exist and `ce` is its closest encloser: the name and the wildcard at the
// closest encloser are denied (RFC 4035 3.1.3.2; RFC 5155 7.2.2 closest-encloser proof).
void prove_nxdomain(const Zone& z, NameView qname, const Node& ce, Proof& p);
// qname exists (with data, or as an empty non-terminal) without the queried type
// (RFC 4035 3.1.3.1; RFC 5155 7.2.3, and 7.2.4 when an opt-out span leaves it out).
void prove_nodata(const Zone& z, NameView qname, Proof& p);
// An answer synthesized from the wildcard at `ce`: qname itself does not exist
// (RFC 4035 3.1.3.3; RFC 5155 7.2.6).
void prove_wildcard_answer(const Zone& z, NameView qname, const Node& ce, Proof& p);
// The wildcard at `ce` matched qname but lacks the type (RFC 4035 3.1.3.4; RFC 5155 7.2.5).
void prove_wildcard_nodata(const Zone& z, NameView qname, const Node& ce, const Node& wildcard,
                           Proof& p);
// A delegation without DS (RFC 4035 3.1.4.1; RFC 5155 7.2.7).
void prove_no_ds(const Zone& z, const Node& cut, Proof& p);

}  // namespace zone
