#include "zone/wire/message.h"

#include <cstring>

#include "zone/wire/name.h"

namespace zone::wire {

std::string rcode_text(uint16_t rc) {
  static const char* names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",
                                "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH",
                                "NOTZONE"};
  if (rc < 11) return names[rc];
  if (rc == rcode::BADVERS) return "BADVERS";
  if (rc == rcode::BADCOOKIE) return "BADCOOKIE";
  return "RCODE" + std::to_string(rc);
}

std::string rrtype_text(uint16_t type) {
  struct Entry {
    uint16_t type;
    const char* name;
  };
  static const Entry names[] = {
      {1, "A"},          {2, "NS"},        {5, "CNAME"},      {6, "SOA"},     {12, "PTR"},
      {13, "HINFO"},     {15, "MX"},       {16, "TXT"},       {17, "RP"},     {18, "AFSDB"},
      {24, "SIG"},       {25, "KEY"},      {28, "AAAA"},      {29, "LOC"},    {33, "SRV"},
      {35, "NAPTR"},     {36, "KX"},       {37, "CERT"},      {39, "DNAME"},  {41, "OPT"},
      {42, "APL"},       {43, "DS"},       {44, "SSHFP"},     {45, "IPSECKEY"}, {46, "RRSIG"},
      {47, "NSEC"},      {48, "DNSKEY"},   {49, "DHCID"},     {50, "NSEC3"},  {51, "NSEC3PARAM"},
      {52, "TLSA"},      {53, "SMIMEA"},   {55, "HIP"},       {59, "CDS"},    {60, "CDNSKEY"},
      {61, "OPENPGPKEY"}, {62, "CSYNC"},   {63, "ZONEMD"},    {64, "SVCB"},   {65, "HTTPS"},
      {99, "SPF"},       {108, "EUI48"},   {109, "EUI64"},    {249, "TKEY"},  {250, "TSIG"},
      {251, "IXFR"},     {252, "AXFR"},    {253, "MAILB"},    {254, "MAILA"}, {255, "ANY"},
      {256, "URI"},      {257, "CAA"},
  };
  for (const auto& e : names)
    if (e.type == type) return e.name;
  return "TYPE" + std::to_string(type);
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

namespace {

// The options of an OPT's RDATA (RFC 6891 6.1.2): they must tile it exactly. Reads the ones
// zoned acts on; a COOKIE of a length RFC 7873 5.2.2 does not allow is a format error, and so
// is a second COOKIE (one client cookie per message, 4).
bool read_options(const uint8_t* msg, size_t o, size_t end, EdnsInfo& e) {
  while (o < end) {
    if (o + 4 > end) return false;
    uint16_t code = get16(msg + o), olen = get16(msg + o + 2);
    o += 4;
    if (o + olen > end) return false;
    switch (code) {
      case edns_option::NSID:
        e.nsid = true;
        break;
      case edns_option::EXPIRE:
        e.expire = true;
        break;
      case edns_option::COOKIE:
        if (e.cookie_len || olen < 8 || (olen > 8 && olen < 16) || olen > 40) return false;
        std::memcpy(e.cookie, msg + o, olen);
        e.cookie_len = static_cast<uint8_t>(olen);
        break;
      default:
        break;  // unknown options are ignored (RFC 6891 6.1.2)
    }
    o += olen;
  }
  return true;
}

}  // namespace

ParseStatus parse_query(const uint8_t* msg, size_t len, ParsedQuery& q) {
  if (len < kHeaderSize) return ParseStatus::drop;
  q.id = get16(msg);
  q.flags = get16(msg + 2);
  if (q.flags & flag::QR) return ParseStatus::drop;
  q.opcode = static_cast<uint8_t>((q.flags >> 11) & 0xF);
  q.qdcount = get16(msg + 4);
  uint16_t ancount = get16(msg + 6), nscount = get16(msg + 8), arcount = get16(msg + 10);
  q.edns.present = false;
  q.edns.nsid = q.edns.expire = false;
  q.edns.cookie_len = 0;
  q.has_tsig = false;
  q.qname_len = 0;
  q.qtype = q.qclass = 0;
  q.question_end = kHeaderSize;
  size_t pos = kHeaderSize;
  // More than one question is a format error (RFC 9619), but the rest is still read so that
  // the FORMERR carries an OPT when the query had one (RFC 6891 7).
  for (uint16_t i = 0; i < q.qdcount; ++i) {
    uint8_t* into = i == 0 ? q.qname : nullptr;
    uint8_t skip[kMaxNameLen];
    size_t nlen = 0;
    if (read_name(msg, len, pos, into ? into : skip, nlen) != NameError::ok || pos + 4 > len) {
      q.qname_len = 0;
      return ParseStatus::formerr;
    }
    if (i == 0) {
      q.qname_len = nlen;
      q.qtype = get16(msg + pos);
      q.qclass = get16(msg + pos + 2);
      for (size_t k = 0; k < q.qname_len; ++k) q.qname_lower[k] = q.qname[k];
      lower_name(q.qname_lower, q.qname_len);
    }
    pos += 4;
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
      if (!read_options(msg, pos, pos + rdlen, q.edns)) {
        q.edns.cookie_len = 0;  // never echo a cookie from a malformed option list
        return ParseStatus::formerr;
      }
    } else if (type == rrtype::TSIG) {
      q.has_tsig = true;
      q.tsig_offset = rr_start;
    }
    pos += rdlen;
  }
  // Trailing garbage after the last record is tolerated, as most servers do.
  return q.qdcount > 1 ? ParseStatus::formerr : ParseStatus::ok;
}

}  // namespace zone::wire
