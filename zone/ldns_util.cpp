#include "zone/ldns_util.h"

namespace zone::ldns_util {

const char* to_record(ldns_rr* rr, ldns_buffer* buf, zonefile::Record& r) {
  if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN) return "only class IN is served";
  if (ldns_rr_rdata2buffer_wire(buf, rr) != LDNS_STATUS_OK) return "cannot encode RDATA";
  size_t n = ldns_buffer_position(buf);
  if (n > 65535) return "RDATA longer than 65535 bytes";
  const ldns_rdf* owner = ldns_rr_owner(rr);
  r.owner = std::string_view(reinterpret_cast<const char*>(ldns_rdf_data(owner)),
                             ldns_rdf_size(owner));
  r.type = static_cast<uint16_t>(ldns_rr_get_type(rr));
  r.ttl = ldns_rr_ttl(rr);
  r.rdata = std::string_view(reinterpret_cast<const char*>(ldns_buffer_begin(buf)), n);
  return nullptr;
}

}  // namespace zone::ldns_util
