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
