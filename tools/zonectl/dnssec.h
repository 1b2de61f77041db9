// DS/DNSKEY matching for zonectl (ldns computes the digests).
#pragma once
#include <string>
#include <vector>

namespace zonectl {

// Does any DNSKEY (RDATA wire) of `owner_wire` hash to the DS (RDATA wire)?
bool ds_matches_any_key(const std::string& owner_wire, const std::string& ds_rdata,
                        const std::vector<std::string>& dnskey_rdatas);

// "TAG ALG DIGTYPE DIGEST" of a DS RDATA, for messages.
std::string ds_text(const std::string& owner_wire, const std::string& ds_rdata);

}  // namespace zonectl
