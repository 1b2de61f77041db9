// Messages for the server tests, built byte by byte (ldns cannot write COOKIE, NSID or
// EXPIRE options, nor header-only messages of other opcodes), and a reader for the EDNS
// options of a response.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tests/unit/test_support.h"
#include "zone/wire/message.h"
#include "zone/wire/tsig.h"

namespace test_support {

inline std::string u16s(uint16_t v) {
  return {static_cast<char>(v >> 8), static_cast<char>(v)};
}
inline std::string u32s(uint32_t v) {
  return u16s(static_cast<uint16_t>(v >> 16)) + u16s(static_cast<uint16_t>(v));
}
// One encoded EDNS option.
inline std::string edns_opt(uint16_t code, const std::string& data = "") {
  return u16s(code) + u16s(static_cast<uint16_t>(data.size())) + data;
}

struct QueryBuilder {
  uint16_t id = 0x4242;
  int opcode = 0;
  uint16_t flags = 0;           // other header bits (RD, CD, ...)
  uint16_t qdcount = 1;
  std::string qname = "www.example.com.";
  uint16_t qtype = zone::wire::rrtype::A, qclass = zone::wire::rrclass::IN;
  bool edns = false;
  uint16_t payload = 1232;
  bool do_bit = false;
  uint8_t version = 0;
  std::string options;          // encoded EDNS options
  std::string authority;        // raw records
  uint16_t nscount = 0;

  std::vector<uint8_t> wire() const {
    std::string m = u16s(id) + u16s(static_cast<uint16_t>(flags | (opcode << 11))) +
                    u16s(qdcount) + u16s(0) + u16s(nscount) + u16s(edns ? 1 : 0);
    for (int i = 0; i < qdcount; ++i)
      m += W(qname) + u16s(qtype) + u16s(qclass);
    m += authority;
    if (edns)
      m += std::string(1, '\0') + u16s(zone::wire::rrtype::OPT) + u16s(payload) +
           u32s(static_cast<uint32_t>(version) << 16 | (do_bit ? 0x8000 : 0)) +
           u16s(static_cast<uint16_t>(options.size())) + options;
    return std::vector<uint8_t>(m.begin(), m.end());
  }
};

// Appends a TSIG to `msg`; returns the request MAC (to verify the answer with).
inline std::string sign(std::vector<uint8_t>& msg, const zone::wire::TsigKey& key, uint64_t now) {
  size_t len = msg.size();
  msg.resize(len + 512);
  auto mac = zone::wire::tsig_sign(msg.data(), len, msg.size(), key, now, {}, false);
  msg.resize(len);
  return mac ? *mac : std::string();
}

inline zone::wire::TsigKey test_key(const std::string& name = "xfr-key",
                                    const std::string& secret = "c2VjcmV0c2VjcmV0c2VjcmV0") {
  std::string err;
  auto k = zone::wire::make_tsig_key(name, "hmac-sha256", secret, &err);
  EXPECT_TRUE(k) << err;
  return *k;
}

// The EDNS options of a response, by code (nullopt without an OPT).
inline std::optional<std::map<uint16_t, std::string>> response_options(const uint8_t* msg,
                                                                      size_t len) {
  using namespace zone::wire;
  if (len < kHeaderSize) return std::nullopt;
  size_t pos = kHeaderSize;
  uint8_t name[kMaxNameLen];
  size_t nlen;
  for (uint16_t i = 0; i < get16(msg + 4); ++i) {
    if (read_name(msg, len, pos, name, nlen) != NameError::ok) return std::nullopt;
    pos += 4;
  }
  uint32_t before = static_cast<uint32_t>(get16(msg + 6)) + get16(msg + 8);
  for (uint32_t i = 0; i < before; ++i)
    if (!skip_rr(msg, len, pos)) return std::nullopt;
  for (uint16_t i = 0; i < get16(msg + 10); ++i) {
    size_t start = pos;
    if (read_name(msg, len, pos, name, nlen) != NameError::ok || pos + 10 > len) return std::nullopt;
    uint16_t type = get16(msg + pos), rdlen = get16(msg + pos + 8);
    if (type != rrtype::OPT) {
      pos = start;
      if (!skip_rr(msg, len, pos)) return std::nullopt;
      continue;
    }
    std::map<uint16_t, std::string> out;
    size_t o = pos + 10, end = o + rdlen;
    while (o + 4 <= end) {
      uint16_t code = get16(msg + o), olen = get16(msg + o + 2);
      out[code] = std::string(reinterpret_cast<const char*>(msg + o + 4), olen);
      o += 4 + olen;
    }
    return out;
  }
  return std::nullopt;
}

}  // namespace test_support
