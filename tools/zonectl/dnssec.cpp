#include "tools/zonectl/dnssec.h"

#include "zone/delegation.h"
#include "zone/wire/types.h"

// ldns after the C++ headers: it defines `bool` in a way <optional> does not survive.
#include <ldns/ldns.h>

namespace zonectl {

namespace {
ldns_rr* make_rr(const std::string& owner, uint16_t type, const std::string& rdata) {
  std::string wire = owner;
  uint8_t f[10] = {static_cast<uint8_t>(type >> 8), static_cast<uint8_t>(type), 0, 1, 0, 0, 0x0e, 0x10,
                   static_cast<uint8_t>(rdata.size() >> 8), static_cast<uint8_t>(rdata.size())};
  wire.append(reinterpret_cast<char*>(f), 10);
  wire += rdata;
  ldns_rr* rr = nullptr;
  size_t pos = 0;
  if (ldns_wire2rr(&rr, reinterpret_cast<const uint8_t*>(wire.data()), wire.size(), &pos,
                   LDNS_SECTION_ANSWER) != LDNS_STATUS_OK)
    return nullptr;
  return rr;
}
}  // namespace

bool ds_matches_any_key(const std::string& owner, const std::string& ds_rdata,
                        const std::vector<std::string>& keys) {
  if (ds_rdata.size() < 4) return false;
  auto digest_type = static_cast<ldns_hash>(static_cast<uint8_t>(ds_rdata[3]));
  for (const auto& k : keys) {
    ldns_rr* key = make_rr(owner, zone::wire::rrtype::DNSKEY, k);
    if (!key) continue;
    ldns_rr* ds = ldns_key_rr2ds(key, digest_type);
    bool match = false;
    if (ds) {
      ldns_buffer* b = ldns_buffer_new(128);
      if (ldns_rr_rdata2buffer_wire(b, ds) == LDNS_STATUS_OK)
        match = std::string(reinterpret_cast<const char*>(ldns_buffer_begin(b)),
                            ldns_buffer_position(b)) == ds_rdata;
      ldns_buffer_free(b);
      ldns_rr_free(ds);
    }
    ldns_rr_free(key);
    if (match) return true;
  }
  return false;
}

std::string ds_text(const std::string& owner, const std::string& ds_rdata) {
  std::string t = zone::record_text({owner, zone::wire::rrtype::DS, 0, ds_rdata});
  auto p = t.find(" DS ");
  return p == std::string::npos ? t : t.substr(p + 4);
}

}  // namespace zonectl
