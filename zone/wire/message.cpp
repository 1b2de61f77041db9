#include "zone/wire/message.h"

#include "zone/wire/name.h"

namespace zone::wire {

std::string rcode_text(uint16_t rc) {
  static const char* names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",
                                "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH",
                                "NOTZONE"};
  if (rc < 11) return names[rc];
  if (rc == rcode::BADVERS) return "BADVERS";
  return "RCODE" + std::to_string(rc);
}

bool skip_rr(const uint8_t* msg, size_t len, size_t& pos) {
  uint8_t name[kMaxNameLen];
  size_t nlen = 0;
  if (read_name(msg, len, pos, name, nlen) != NameError::ok) return false;
  if (pos + 10 > len) return false;
  uint16_t rdlen = get16(msg + pos + 8);
  pos += 10;
  if (pos + rdlen > len) return false;
  pos += rdlen;
  return true;
}

ParseStatus parse_query(const uint8_t* msg, size_t len, ParsedQuery& q) {
  if (len < kHeaderSize) return ParseStatus::drop;
  q.id = get16(msg);
  q.flags = get16(msg + 2);
  if (q.flags & flag::QR) return ParseStatus::drop;
  q.opcode = static_cast<uint8_t>((q.flags >> 11) & 0xF);
  q.qdcount = get16(msg + 4);
  uint16_t ancount = get16(msg + 6), nscount = get16(msg + 8), arcount = get16(msg + 10);
  q.edns = {};
  q.has_tsig = false;
  q.qname_len = 0;
  if (q.qdcount > 1) return ParseStatus::formerr;

  size_t pos = kHeaderSize;
  if (q.qdcount == 1) {
    if (read_name(msg, len, pos, q.qname, q.qname_len) != NameError::ok)
      return ParseStatus::formerr;
    if (pos + 4 > len) return ParseStatus::formerr;
    q.qtype = get16(msg + pos);
    q.qclass = get16(msg + pos + 2);
    pos += 4;
    for (size_t i = 0; i < q.qname_len; ++i) q.qname_lower[i] = q.qname[i];
    lower_name(q.qname_lower, q.qname_len);
  }
  q.question_end = pos;

  for (uint32_t i = 0; i < static_cast<uint32_t>(ancount) + nscount; ++i)
    if (!skip_rr(msg, len, pos)) return ParseStatus::formerr;

  for (uint16_t i = 0; i < arcount; ++i) {
    size_t rr_start = pos;
    uint8_t name[kMaxNameLen];
    size_t nlen = 0;
    if (read_name(msg, len, pos, name, nlen) != NameError::ok) return ParseStatus::formerr;
    if (pos + 10 > len) return ParseStatus::formerr;
    uint16_t type = get16(msg + pos);
    uint16_t rclass = get16(msg + pos + 2);
    uint32_t ttl = get32(msg + pos + 4);
    uint16_t rdlen = get16(msg + pos + 8);
    pos += 10;
    if (pos + rdlen > len) return ParseStatus::formerr;
    if (q.has_tsig) return ParseStatus::formerr;  // TSIG must be the last record
    if (type == rrtype::OPT) {
      // RFC 6891 6.1.1: one OPT, owned by the root.
      if (q.edns.present || nlen != 1) return ParseStatus::formerr;
      q.edns.present = true;
      q.edns.udp_payload = rclass;
      q.edns.version = static_cast<uint8_t>(ttl >> 16);
      q.edns.do_bit = ttl & kEdnsDo;
      // Options must tile the RDATA exactly.
      size_t o = pos, end = pos + rdlen;
      while (o < end) {
        if (o + 4 > end) return ParseStatus::formerr;
        uint16_t olen = get16(msg + o + 2);
        o += 4 + olen;
        if (o > end) return ParseStatus::formerr;
      }
    } else if (type == rrtype::TSIG) {
      q.has_tsig = true;
      q.tsig_offset = rr_start;
    }
    pos += rdlen;
  }
  // Trailing garbage after the last record is tolerated, as most servers do.
  // No question (e.g. an RFC 7873 cookie probe): FORMERR, but with the EDNS state read so
  // that the answer carries an OPT (RFC 6891 6.1.1).
  return q.qdcount == 1 ? ParseStatus::ok : ParseStatus::formerr;
}

}  // namespace zone::wire
