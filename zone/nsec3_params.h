// Reading NSEC3 and NSEC3PARAM RDATA and hashed owner labels (RFC 5155 3.2, 4.2): shared by
// the builder that indexes a zone's chain and the one that keeps a version's chain.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "zone/wire/name.h"

namespace zone {

// RFC 4648 base32hex, as NSEC3 owner labels are written (RFC 5155 3.3).
inline bool base32hex_decode(std::string_view in, uint8_t* out, size_t out_len) {
  if (in.size() * 5 / 8 != out_len) return false;
  uint32_t acc = 0;
  int bits = 0;
  size_t o = 0;
  for (char ch : in) {
    int v;
    uint8_t c = wire::ascii_lower(static_cast<uint8_t>(ch));
    if (c >= '0' && c <= '9') v = c - '0';
    else if (c >= 'a' && c <= 'v') v = c - 'a' + 10;
    else return false;
    acc = (acc << 5) | static_cast<uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      if (o < out_len) out[o++] = static_cast<uint8_t>(acc >> bits);
    }
  }
  return o == out_len;
}

struct Nsec3Params {
  uint8_t algorithm = 0, flags = 0;
  uint16_t iterations = 0;
  std::string_view salt;
  std::string_view next;  // NSEC3 only: the next hashed owner
};

inline bool parse_nsec3(std::string_view rd, bool param, Nsec3Params& p) {
  auto u = [&](size_t i) { return static_cast<uint8_t>(rd[i]); };
  if (rd.size() < 5) return false;
  p.algorithm = u(0);
  p.flags = u(1);
  p.iterations = static_cast<uint16_t>(u(2) << 8 | u(3));
  size_t sl = u(4);
  if (rd.size() < 5 + sl) return false;
  p.salt = rd.substr(5, sl);
  if (param) return true;
  if (rd.size() < 6 + sl) return false;
  size_t hl = u(5 + sl);
  if (rd.size() < 6 + sl + hl) return false;
  p.next = rd.substr(6 + sl, hl);
  return true;
}

}  // namespace zone
