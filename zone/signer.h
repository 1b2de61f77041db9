// Signs a zone (RFC 4033-4035, NSEC3 as RFC 5155 with RFC 9276's parameters: 0 extra
// iterations, no salt): the DNSKEY RRset at the apex, an RRSIG over every authoritative RRset
// (at a delegation only DS and the NSEC), and the NSEC or NSEC3 chain (with NSEC3PARAM).
//
// Signing is "make the signed zone for this content, keeping every signature of the version
// served now that still covers the same RRset, was made by a current key and is not due":
// so only what changed (and the NSEC/NSEC3 records around it) gets new signatures, and the
// difference to the served version is the signed changeset that goes to the store and IXFR.
// DNSSEC records found in the input (DNSKEY, RRSIG, NSEC, NSEC3, NSEC3PARAM, CDS, CDNSKEY)
// are dropped and made again: what Knot does with a zone file signed elsewhere.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "zone/changeset.h"
#include "zone/dnssec_keys.h"
#include "zone/zone.h"

namespace zone::dnssec {

struct SignPolicy {
  bool nsec3 = false;
  bool opt_out = false;
  uint32_t validity = 14 * 86400;  // expiration - now of a new signature (before jitter)
  uint32_t refresh = 7 * 86400;    // a signature expiring sooner than this is made again
  uint32_t dnskey_ttl = 3600;
  bool cds = false;  // CDS (SHA-256) and CDNSKEY of every KSK at the apex, signed by the KSKs
  bool cds_delete = false;  // the delete form instead (RFC 8078 4): the parent removes the DS
};

struct SignStats {
  size_t signatures_made = 0, signatures_kept = 0;
  size_t dnssec_dropped = 0;  // DNSSEC records of the input, dropped
  // When the earliest signature becomes due (expiration - refresh), unix time; 0: none.
  uint32_t next_refresh = 0;
  uint32_t max_ttl = 0;  // the largest TTL in the signed zone (rollover timing)
};

// The record types a signer owns.
bool is_dnssec_type(uint16_t type);

// `content` with `cs` applied and every DNSSEC record dropped (the input of sign_zone for a
// change to a signed zone); nullptr with errors when a removed record is missing.
std::shared_ptr<const Zone> unsigned_content(const Zone& content, const Changeset* cs,
                                             std::vector<ZoneError>& errors);

// The signed zone for `content`, reusing signatures of `prev` (may be null). `keys` with
// ksk sign the DNSKEY RRset, with zsk everything else; a key is in the DNSKEY RRset when
// `publish`, signs when `signs`, and (a KSK) is in CDS/CDNSKEY when `ds`. nullptr with errors on failure.
std::shared_ptr<const Zone> sign_zone(const Zone& content, const Zone* prev,
                                      const std::vector<Key>& keys, const SignPolicy& policy,
                                      uint32_t now, SignStats& stats,
                                      std::vector<ZoneError>& errors);

// A change to a signed NSEC zone, signed by itself: the signed changeset against `cur` (the
// version served, signed with these keys) for the unsigned change `cs` — the changed RRsets
// and their signatures, the SOA's, and the NSEC records of the changed names and of their
// chain neighbours — in O(change). nullopt with `why_not` when the change needs the whole
// pass (NSEC3, a key or DNSKEY change, a delegation or DNAME moving, neighbouring names
// changing together, a change that does not apply): the caller runs sign_zone then.
//
// With `refresh`, the signatures falling due (see SignPolicy::refresh) are made again in the
// same changeset, found by one look at every signature instead of a whole pass, and
// stats.next_refresh says when the next fall due.
std::optional<Changeset> sign_change(const Zone& cur, const Changeset& cs,
                                     const std::vector<Key>& keys, const SignPolicy& policy,
                                     uint32_t now, SignStats& stats, std::string& why_not,
                                     bool refresh = false);

// The RRSIG RDATA over one RRset (tests; sign_zone uses it).
std::string sign_rrset(const Key& key, NameView owner_lower, NameView origin_lower, uint16_t type,
                       uint32_t ttl, const std::vector<std::string>& rdatas, uint32_t inception,
                       uint32_t expiration);

// The data an RRSIG's signature covers (RFC 4034 3.1.8.1): its RDATA without the signature,
// then the RRset in canonical form and order.
std::string signed_data(std::string_view rrsig_fields, NameView owner_lower, uint16_t type,
                        uint32_t ttl, const std::vector<std::string>& rdatas);

}  // namespace zone::dnssec
