// Serial number arithmetic (RFC 1982) for SOA serials.
#pragma once
#include <cstdint>

namespace zone::wire {

// a < b in serial arithmetic; undefined pairs (exactly 2^31 apart) compare false both ways.
constexpr bool serial_lt(uint32_t a, uint32_t b) {
  return a != b && ((a < b && b - a < 0x80000000u) || (a > b && a - b > 0x80000000u));
}
constexpr bool serial_gt(uint32_t a, uint32_t b) { return serial_lt(b, a); }

}  // namespace zone::wire
