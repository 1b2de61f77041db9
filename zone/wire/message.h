// Parsing of incoming DNS messages (queries, NOTIFY) into a flat, allocation-free view.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "zone/wire/types.h"

namespace zone::wire {

inline uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t get32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
         static_cast<uint32_t>(p[2]) << 8 | p[3];
}
inline void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void put32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

enum class ParseStatus {
  ok,
  drop,     // not worth an answer: too short for a header, or QR=1
  formerr,  // answerable with FORMERR (header is readable)
};

// EDNS option codes zoned reads or writes.
namespace edns_option {
inline constexpr uint16_t NSID = 3, EXPIRE = 9, COOKIE = 10;
}

struct EdnsInfo {
  bool present = false;
  uint16_t udp_payload = 0;
  uint8_t version = 0;
  bool do_bit = false;
  bool nsid = false;    // an NSID option (RFC 5001; a payload, if any, is ignored: 2.1)
  bool expire = false;  // an EXPIRE option (RFC 7314)
  // The COOKIE option (RFC 7873 4): 0 when absent, else 8 (client cookie only) or 16 to 40
  // (client cookie, then the server cookie the client got from us earlier).
  uint8_t cookie_len = 0;
  uint8_t cookie[40];
};

struct ParsedQuery {
  uint16_t id = 0;
  uint16_t flags = 0;  // raw header flags word
  uint8_t opcode = 0;
  uint16_t qdcount = 0;
  // The question, exactly as received (case preserved) and lowercased for lookup.
  uint8_t qname[kMaxNameLen];
  uint8_t qname_lower[kMaxNameLen];
  size_t qname_len = 0;
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  size_t question_end = 0;  // offset just past the question section
  EdnsInfo edns;
  // Offset and size of a TSIG record in the additional section (last RR), if any.
  size_t tsig_offset = 0;
  bool has_tsig = false;

  std::string_view name() const {
    return {reinterpret_cast<const char*>(qname), qname_len};
  }
  std::string_view name_lower() const {
    return {reinterpret_cast<const char*>(qname_lower), qname_len};
  }
  bool rd() const { return flags & flag::RD; }
  bool cd() const { return flags & flag::CD; }
};

// Parses a query-like message (QUERY/NOTIFY/UPDATE/...): the question (the zone section of
// UPDATE) when QDCOUNT is 1, the OPT and its options, where the TSIG is. A QDCOUNT of 0 is
// not an error here (an RFC 7873 5.4 cookie probe has none): the caller decides. Only the
// header is guaranteed to be filled when the result is formerr (and the EDNS state, when
// the error came after the OPT was read); nothing is when it is drop.
ParseStatus parse_query(const uint8_t* msg, size_t len, ParsedQuery& q);

// "NOERROR", "REFUSED", "BADCOOKIE", ... ("RCODE24" for the ones without a name here).
std::string rcode_text(uint16_t rc);
// "A", "AAAA", "SOA", ... ("TYPE65280" for the ones without a mnemonic here, RFC 3597).
std::string rrtype_text(uint16_t type);

// Skips one resource record at pos (name, fixed fields, rdata). Returns false if malformed.
bool skip_rr(const uint8_t* msg, size_t len, size_t& pos);

}  // namespace zone::wire
