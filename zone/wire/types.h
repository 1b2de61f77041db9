// DNS constants: types, classes, opcodes, rcodes, header flags.
#pragma once
#include <cstdint>

namespace zone::wire {

namespace rrtype {
inline constexpr uint16_t A = 1, NS = 2, MD = 3, MF = 4, CNAME = 5, SOA = 6, MB = 7, MG = 8,
                          MR = 9, PTR = 12, HINFO = 13, MINFO = 14, MX = 15, TXT = 16,
                          AAAA = 28, SRV = 33, NAPTR = 35, KX = 36, DNAME = 39, OPT = 41,
                          DS = 43, RRSIG = 46, NSEC = 47, DNSKEY = 48, NSEC3 = 50,
                          NSEC3PARAM = 51, SVCB = 64, HTTPS = 65, TKEY = 249, TSIG = 250,
                          IXFR = 251, AXFR = 252, MAILB = 253, MAILA = 254, ANY = 255;
}  // namespace rrtype

namespace rrclass {
inline constexpr uint16_t IN = 1, CH = 3, NONE = 254, ANY = 255;
}

namespace opcode {
inline constexpr uint8_t QUERY = 0, IQUERY = 1, STATUS = 2, NOTIFY = 4, UPDATE = 5, DSO = 6;
}

namespace rcode {
inline constexpr uint16_t NOERROR = 0, FORMERR = 1, SERVFAIL = 2, NXDOMAIN = 3, NOTIMP = 4,
                          REFUSED = 5, YXDOMAIN = 6, YXRRSET = 7, NXRRSET = 8, NOTAUTH = 9,
                          NOTZONE = 10, BADVERS = 16, BADCOOKIE = 23;
}

// Header flag bits within the 16-bit flags word.
namespace flag {
inline constexpr uint16_t QR = 0x8000, AA = 0x0400, TC = 0x0200, RD = 0x0100, RA = 0x0080,
                          AD = 0x0020, CD = 0x0010;
}

inline constexpr uint16_t kEdnsDo = 0x8000;  // DO bit in the OPT TTL's low 16 bits
inline constexpr size_t kHeaderSize = 12;
inline constexpr size_t kMaxNameLen = 255;
inline constexpr size_t kMaxLabelLen = 63;
inline constexpr size_t kMaxMessage = 65535;
inline constexpr uint16_t kDefaultUdpPayload = 1232;
inline constexpr uint16_t kClassicUdpSize = 512;

// Meta types are never stored in a zone and never answered from one.
constexpr bool is_meta_type(uint16_t t) {
  return t == rrtype::OPT || (t >= 128 && t <= 255);
}

}  // namespace zone::wire
