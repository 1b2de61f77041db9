// ldns handles owned by unique_ptr, and an RR parsed by ldns as a zone-file Record: shared by
// the ldns loader and the direct parser's fallback. Include after the C++ standard headers
// (ldns defines a `bool` macro).
#pragma once
#include <memory>

#include "zone/zonefile_parser.h"

#include <ldns/ldns.h>

namespace zone::ldns_util {

struct RdfFree {
  void operator()(ldns_rdf* r) const { ldns_rdf_deep_free(r); }
};
struct RrFree {
  void operator()(ldns_rr* r) const { ldns_rr_free(r); }
};
struct BufferFree {
  void operator()(ldns_buffer* b) const { ldns_buffer_free(b); }
};
using RdfPtr = std::unique_ptr<ldns_rdf, RdfFree>;
using RrPtr = std::unique_ptr<ldns_rr, RrFree>;
using BufferPtr = std::unique_ptr<ldns_buffer, BufferFree>;

// Fills r's owner, type, TTL and RDATA (encoded into `buf`, which must outlive r) from `rr`;
// returns the error to report (class other than IN, RDATA that cannot be encoded or is too
// long), or nullptr.
const char* to_record(ldns_rr* rr, ldns_buffer* buf, zonefile::Record& r);

}  // namespace zone::ldns_util
