// DS/DNSKEY matching for zonectl (ldns computes the digests).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "zone/zone.h"

namespace zonectl {

// Does any DNSKEY (RDATA wire) of `owner_wire` hash to the DS (RDATA wire)?
bool ds_matches_any_key(const std::string& owner_wire, const std::string& ds_rdata,
                        const std::vector<std::string>& dnskey_rdatas);

// "TAG ALG DIGTYPE DIGEST" of a DS RDATA, for messages.
std::string ds_text(const std::string& owner_wire, const std::string& ds_rdata);

// Verifies every RRSIG of a signed zone with the apex DNSKEYs, the way ldns-verify-zone
// does, and checks its validity window against `now` (RFC 4034 3.1.5 serial arithmetic).
// Each problem is one message: a signature that does not verify, is expired or not yet
// valid, or an authoritative RRset without any RRSIG. `where` maps (owner, rdata of the
// RRSIG) to "file:line" when it knows.
struct SignatureReport {
  size_t checked = 0;
  std::vector<std::string> errors;
};
SignatureReport verify_signatures(
    const zone::Zone& z, uint32_t now,
    const std::function<std::string(const std::string& owner, uint16_t type,
                                    const std::string& rdata)>& where);

}  // namespace zonectl
