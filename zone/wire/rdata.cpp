#include "zone/wire/rdata.h"

namespace zone::wire {

bool RRset::contains(std::string_view rdata) const {
  bool found = false;
  for_each([&](std::string_view r) { found = found || r == rdata; });
  return found;
}

bool rdata_compressible(uint16_t type) {
  switch (type) {
    case rrtype::NS: case rrtype::MD: case rrtype::MF: case rrtype::CNAME: case rrtype::SOA:
    case rrtype::MB: case rrtype::MG: case rrtype::MR: case rrtype::PTR: case rrtype::MINFO:
    case rrtype::MX:
      return true;
    default:
      return false;
  }
}

NameView rdata_target(uint16_t type, std::string_view rdata) {
  size_t off;
  switch (type) {
    case rrtype::NS: case rrtype::CNAME: case rrtype::PTR: case rrtype::DNAME: off = 0; break;
    case rrtype::MX: off = 2; break;
    case rrtype::SRV: off = 6; break;
    default: return {};
  }
  if (rdata.size() <= off) return {};
  size_t n = name_length(reinterpret_cast<const uint8_t*>(rdata.data()) + off,
                         rdata.size() - off);
  if (n == 0) return {};
  return rdata.substr(off, n);
}

size_t soa_serial_offset(std::string_view rdata) {
  auto p = reinterpret_cast<const uint8_t*>(rdata.data());
  size_t m = name_length(p, rdata.size());
  size_t r = m ? name_length(p + m, rdata.size() - m) : 0;
  return r && m + r + 20 == rdata.size() ? m + r : 0;
}

bool set_soa_serial(std::string& rdata, uint32_t serial) {
  size_t off = soa_serial_offset(rdata);
  if (!off) return false;
  put32(reinterpret_cast<uint8_t*>(rdata.data()) + off, serial);
  return true;
}

bool parse_soa(std::string_view rdata, SoaFields& out) {
  auto p = reinterpret_cast<const uint8_t*>(rdata.data());
  size_t m = name_length(p, rdata.size());
  if (m == 0) return false;
  size_t r = name_length(p + m, rdata.size() - m);
  if (r == 0 || m + r + 20 != rdata.size()) return false;
  const uint8_t* f = p + m + r;
  out.serial = get32(f);
  out.refresh = get32(f + 4);
  out.retry = get32(f + 8);
  out.expire = get32(f + 12);
  out.minimum = get32(f + 16);
  return true;
}

}  // namespace zone::wire

namespace zone::wire {

namespace {

// Layout of RDATA with embedded domain names: fixed bytes before the names, how many names,
// and whether character-strings come first (NAPTR).
struct NameLayout {
  size_t prefix;
  int names;
  int strings;  // character-strings after the prefix, before the name (NAPTR: 3)
};

bool name_layout(uint16_t type, NameLayout& l) {
  switch (type) {
    case rrtype::NS: case rrtype::MD: case rrtype::MF: case rrtype::CNAME: case rrtype::MB:
    case rrtype::MG: case rrtype::MR: case rrtype::PTR: case rrtype::DNAME:
      l = {0, 1, 0};
      return true;
    case rrtype::SOA: l = {0, 2, 0}; return true;  // + 20 fixed bytes after
    case rrtype::MINFO: case 17 /* RP */: l = {0, 2, 0}; return true;
    case rrtype::MX: case 18 /* AFSDB */: case 21 /* RT */: case rrtype::KX:
      l = {2, 1, 0};
      return true;
    case 26 /* PX */: l = {2, 2, 0}; return true;
    case rrtype::SRV: l = {6, 1, 0}; return true;
    case rrtype::NAPTR: l = {4, 1, 3}; return true;
    default: return false;
  }
}

}  // namespace

bool parse_rr(const uint8_t* msg, size_t len, size_t& pos, ParsedRR& out) {
  uint8_t name[kMaxNameLen];
  size_t nlen;
  if (read_name(msg, len, pos, name, nlen) != NameError::ok) return false;
  if (pos + 10 > len) return false;
  out.owner.assign(reinterpret_cast<char*>(name), nlen);
  out.type = get16(msg + pos);
  out.rclass = get16(msg + pos + 2);
  out.ttl = get32(msg + pos + 4);
  uint16_t rdlen = get16(msg + pos + 8);
  pos += 10;
  size_t end = pos + rdlen;
  if (end > len) return false;
  NameLayout l;
  if (!name_layout(out.type, l)) {
    out.rdata.assign(reinterpret_cast<const char*>(msg + pos), rdlen);
    pos = end;
    return true;
  }
  out.rdata.clear();
  size_t p = pos;
  if (p + l.prefix > end) return false;
  out.rdata.append(reinterpret_cast<const char*>(msg + p), l.prefix);
  p += l.prefix;
  for (int i = 0; i < l.strings; ++i) {
    if (p >= end || p + 1 + msg[p] > end) return false;
    out.rdata.append(reinterpret_cast<const char*>(msg + p), 1 + msg[p]);
    p += 1 + msg[p];
  }
  for (int i = 0; i < l.names; ++i) {
    // Compression pointers may point anywhere before; the name must start inside RDATA.
    if (p >= end) return false;
    size_t q = p;
    if (read_name(msg, end, q, name, nlen) != NameError::ok) {
      // read_name bounds pointer targets by `end` too, which is what we want.
      return false;
    }
    out.rdata.append(reinterpret_cast<char*>(name), nlen);
    p = q;
  }
  // Every such type ends with its last name, except SOA's 20 bytes of numbers.
  if (end - p != (out.type == rrtype::SOA ? 20u : 0u)) return false;
  out.rdata.append(reinterpret_cast<const char*>(msg + p), end - p);
  pos = end;
  return true;
}

std::string canonical_rdata(uint16_t type, std::string_view rdata) {
  std::string out(rdata);
  auto p = reinterpret_cast<uint8_t*>(out.data());
  size_t n = out.size();
  if (type == rrtype::RRSIG) {
    constexpr size_t kSigner = 18;  // after the fixed fields of RFC 4034 3.1
    if (n > kSigner)
      if (size_t l = name_length(p + kSigner, n - kSigner)) lower_name(p + kSigner, l);
    return out;
  }
  NameLayout lay;
  if (!name_layout(type, lay)) return out;
  size_t at = lay.prefix;
  for (int i = 0; i < lay.strings; ++i) {
    if (at >= n) return std::string(rdata);
    at += 1 + p[at];
  }
  for (int i = 0; i < lay.names; ++i) {
    if (at >= n) return std::string(rdata);
    size_t l = name_length(p + at, n - at);
    if (l == 0) return std::string(rdata);
    lower_name(p + at, l);
    at += l;
  }
  return out;
}

}  // namespace zone::wire
