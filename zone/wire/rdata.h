// RRsets as stored and rendered: RDATA in uncompressed wire form, packed into one buffer.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "zone/wire/message.h"
#include "zone/wire/name.h"

namespace zone::wire {

// One RRset as served: every RDATA as [u16 length][bytes], back to back. A view: a zone's
// RRsets point into the zone's one arena; RRsetBuf owns its bytes.
struct RRset {
  uint16_t type = 0;
  uint16_t count = 0;
  uint32_t ttl = 0;
  std::string_view data;

  // Calls f(std::string_view rdata) for each record, in order.
  template <class F>
  void for_each(F&& f) const {
    size_t p = 0;
    while (p + 2 <= data.size()) {
      uint16_t l = get16(reinterpret_cast<const uint8_t*>(data.data()) + p);
      f(data.substr(p + 2, l));
      p += 2 + l;
    }
  }
  bool contains(std::string_view rdata) const;
};

// An RRset being put together (tests, tools): owns its packed RDATA.
struct RRsetBuf {
  uint16_t type = 0;
  uint32_t ttl = 0;
  uint16_t count = 0;
  std::string data;

  void add(std::string_view rdata) {
    char len[2] = {static_cast<char>(rdata.size() >> 8), static_cast<char>(rdata.size())};
    data.append(len, 2);
    data.append(rdata);
    ++count;
  }
  RRset view() const { return RRset{type, count, ttl, data}; }
  operator RRset() const { return view(); }  // NOLINT: a buffer is usable as its view
};

// Types whose RDATA names may be compressed on output (RFC 3597 section 4).
bool rdata_compressible(uint16_t type);

// The single domain name of NS/CNAME/PTR/DNAME (offset 0), MX (2) or SRV (6); empty if the
// type has no such target or the RDATA is malformed.
NameView rdata_target(uint16_t type, std::string_view rdata);

// SOA fields.
struct SoaFields {
  uint32_t serial = 0, refresh = 0, retry = 0, expire = 0, minimum = 0;
};
bool parse_soa(std::string_view rdata, SoaFields& out);
// Where the serial sits in SOA RDATA (after MNAME and RNAME), or 0 if malformed.
size_t soa_serial_offset(std::string_view rdata);
// Rewrites the serial of SOA RDATA in place; false if malformed.
bool set_soa_serial(std::string& rdata, uint32_t serial);

}  // namespace zone::wire

namespace zone::wire {

// One resource record read from a message, with names in RDATA decompressed for the types
// RFC 3597 section 4 says a receiver must (RFC 1035 types) or should (SRV, RP, AFSDB, RT,
// PX, NAPTR) decompress. Owner is in wire form as received (case kept).
struct ParsedRR {
  std::string owner;
  uint16_t type = 0, rclass = 0;
  uint32_t ttl = 0;
  std::string rdata;
};

// Reads the record at pos and advances pos. False if malformed.
bool parse_rr(const uint8_t* msg, size_t len, size_t& pos, ParsedRR& out);

// RDATA with the domain names in it lowercased (RFC 4034 6.2 as corrected by RFC 6840 5.1:
// the RFC 1035 types, RP, AFSDB, RT, PX, KX, SRV, NAPTR, DNAME and the RRSIG signer), so
// that two RRs that differ only in the case of such a name compare equal (RFC 2136 1.1.1).
// Other types, and malformed RDATA, come back unchanged.
std::string canonical_rdata(uint16_t type, std::string_view rdata);

}  // namespace zone::wire
