#include "zone/wire/rdata.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "zone/wire/message.h"
#include "zone/wire/name.h"
#include "zone/wire/types.h"

using namespace zone::wire;

namespace {

std::string W(const std::string& text) { return *name_from_text(text); }

// Bytes as written in tests: "\xC0\x0C" is a pointer to offset 12.
std::string B(std::initializer_list<uint8_t> bytes) { return std::string(bytes.begin(), bytes.end()); }
std::string u16(uint16_t v) { return B({static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)}); }
std::string u32(uint32_t v) { return u16(static_cast<uint16_t>(v >> 16)) + u16(static_cast<uint16_t>(v)); }

const std::string kPtrExample = B({0xC0, 12});  // -> "example.com." at offset 12

// A message: a 12-byte header, "example.com." at offset 12, then records.
class Msg {
 public:
  Msg() : data_(12, '\0') { data_ += W("example.com."); }
  // Appends a record with the given RDATA (and RDLENGTH unless given) and returns its offset.
  size_t rr(const std::string& owner, uint16_t type, const std::string& rdata, uint32_t ttl = 3600,
            int rdlength = -1) {
    size_t at = data_.size();
    data_ += owner + u16(type) + u16(rrclass::IN) + u32(ttl) +
             u16(rdlength < 0 ? static_cast<uint16_t>(rdata.size()) : static_cast<uint16_t>(rdlength)) +
             rdata;
    return at;
  }
  size_t size() const { return data_.size(); }
  const uint8_t* data() const { return reinterpret_cast<const uint8_t*>(data_.data()); }
  std::string& bytes() { return data_; }

 private:
  std::string data_;
};

// Parses the record at `at`, which must end the message; returns it.
ParsedRR parse_ok(const Msg& m, size_t at) {
  ParsedRR rr;
  size_t pos = at;
  EXPECT_TRUE(parse_rr(m.data(), m.size(), pos, rr));
  EXPECT_EQ(pos, m.size());
  return rr;
}

bool parses(const Msg& m, size_t at) {
  ParsedRR rr;
  size_t pos = at;
  return parse_rr(m.data(), m.size(), pos, rr);
}

TEST(ParseRR, FixedFieldsAndCompressedOwnerWithCaseKept) {
  Msg m;
  size_t at = m.rr(B({3, 'W', 'w', 'W'}) + kPtrExample, rrtype::A, B({192, 0, 2, 1}), 0x01020304);
  ParsedRR rr = parse_ok(m, at);
  EXPECT_EQ(rr.owner, W("WwW.example.com."));
  EXPECT_EQ(rr.type, rrtype::A);
  EXPECT_EQ(rr.rclass, rrclass::IN);
  EXPECT_EQ(rr.ttl, 0x01020304u);
  EXPECT_EQ(rr.rdata, B({192, 0, 2, 1}));
}

// One type whose RDATA names are sent compressed and must come out uncompressed.
struct Case {
  const char* what;
  uint16_t type;
  std::string rdata;     // as sent
  std::string expected;  // as parsed
};

std::vector<Case> decompression_cases() {
  const std::string ns1 = B({3, 'n', 's', '1'}) + kPtrExample;
  const std::string ns1_full = W("ns1.example.com.");
  const std::string example = W("example.com.");
  const std::string soa_fields = u32(2026112401) + u32(7200) + u32(3600) + u32(1209600) + u32(300);
  const std::string naptr_head = u16(100) + u16(10) + B({1, 'U'}) + B({7}) + "E2U+sip" +
                                 B({5}) + "!^.*$";
  return {
      {"NS", rrtype::NS, ns1, ns1_full},
      {"NS entirely a pointer", rrtype::NS, kPtrExample, example},
      {"CNAME", rrtype::CNAME, ns1, ns1_full},
      {"PTR", rrtype::PTR, ns1, ns1_full},
      {"DNAME", rrtype::DNAME, ns1, ns1_full},
      {"MB", rrtype::MB, ns1, ns1_full},
      {"SOA", rrtype::SOA, ns1 + B({10, 'h', 'o', 's', 't', 'm', 'a', 's', 't', 'e', 'r'}) + kPtrExample + soa_fields,
       ns1_full + W("hostmaster.example.com.") + soa_fields},
      {"MX", rrtype::MX, u16(10) + ns1, u16(10) + ns1_full},
      {"KX", rrtype::KX, u16(10) + ns1, u16(10) + ns1_full},
      {"AFSDB", 18, u16(1) + ns1, u16(1) + ns1_full},
      {"RT", 21, u16(1) + ns1, u16(1) + ns1_full},
      {"SRV", rrtype::SRV, u16(0) + u16(5) + u16(5060) + ns1, u16(0) + u16(5) + u16(5060) + ns1_full},
      {"NAPTR", rrtype::NAPTR, naptr_head + ns1, naptr_head + ns1_full},
      {"NAPTR with the root as replacement", rrtype::NAPTR, naptr_head + B({0}), naptr_head + B({0})},
      {"MINFO", rrtype::MINFO, ns1 + kPtrExample, ns1_full + example},
      {"RP", 17, kPtrExample + ns1, example + ns1_full},
      {"PX", 26, u16(5) + ns1 + kPtrExample, u16(5) + ns1_full + example},
      {"uncompressed NS", rrtype::NS, ns1_full, ns1_full},
  };
}

TEST(ParseRR, DecompressesNamesInRdata) {
  for (const auto& c : decompression_cases()) {
    SCOPED_TRACE(c.what);
    Msg m;
    size_t at = m.rr(kPtrExample, c.type, c.rdata);
    ParsedRR rr = parse_ok(m, at);
    EXPECT_EQ(rr.type, c.type);
    EXPECT_EQ(rr.rdata, c.expected);
  }
}

TEST(ParseRR, PointerToANameEarlierInTheSameRdata) {
  // RP: mbox ns1.example.com., txt a pointer back to the mbox name inside the RDATA.
  Msg m;
  size_t at = m.rr(kPtrExample, 17, "");
  size_t rdata_at = m.size();
  std::string rdata = B({3, 'n', 's', '1'}) + kPtrExample +
                      B({0xC0, static_cast<uint8_t>(rdata_at)});
  m.bytes().resize(at);
  at = m.rr(kPtrExample, 17, rdata);
  ASSERT_EQ(rdata_at, at + 2 + 10);
  EXPECT_EQ(parse_ok(m, at).rdata, W("ns1.example.com.") + W("ns1.example.com."));
}

TEST(ParseRR, OtherTypesAreCopiedAsIs) {
  // A TXT whose bytes look like a pointer, and an unknown type: never decompressed.
  for (uint16_t type : {rrtype::TXT, uint16_t{65400}, rrtype::HTTPS, rrtype::DS}) {
    SCOPED_TRACE(type);
    Msg m;
    std::string rdata = B({2}) + kPtrExample;
    size_t at = m.rr(kPtrExample, type, rdata);
    EXPECT_EQ(parse_ok(m, at).rdata, rdata);
  }
  Msg m;
  size_t at = m.rr(kPtrExample, rrtype::TXT, "");
  EXPECT_EQ(parse_ok(m, at).rdata, "");
}

TEST(ParseRR, ConsecutiveRecordsAdvancePos) {
  Msg m;
  size_t first = m.rr(kPtrExample, rrtype::NS, B({3, 'n', 's', '1'}) + kPtrExample);
  m.rr(kPtrExample, rrtype::MX, u16(5) + kPtrExample, 60);
  ParsedRR rr;
  size_t pos = first;
  ASSERT_TRUE(parse_rr(m.data(), m.size(), pos, rr));
  EXPECT_EQ(rr.rdata, W("ns1.example.com."));
  ASSERT_TRUE(parse_rr(m.data(), m.size(), pos, rr));
  EXPECT_EQ(rr.type, rrtype::MX);
  EXPECT_EQ(rr.ttl, 60u);
  EXPECT_EQ(rr.rdata, u16(5) + W("example.com."));
  EXPECT_EQ(pos, m.size());
  EXPECT_FALSE(parse_rr(m.data(), m.size(), pos, rr));
}

TEST(ParseRR, RejectsMalformedRecords) {
  const std::string ns1 = B({3, 'n', 's', '1'}) + kPtrExample;
  const std::string soa_fields = u32(1) + u32(2) + u32(3) + u32(4) + u32(5);
  const std::string naptr_head = u16(100) + u16(10);
  struct Bad {
    const char* what;
    uint16_t type;
    std::string rdata;
    int rdlength;  // -1: the real length
  } cases[] = {
      {"RDLENGTH past the end of the message", rrtype::A, B({192, 0, 2, 1}), 5},
      {"NS with empty RDATA", rrtype::NS, "", -1},
      {"NS name longer than RDLENGTH", rrtype::NS, ns1, 4},
      {"NS name without its root label", rrtype::NS, B({3, 'n', 's', '1'}), -1},
      {"NS with a forward pointer", rrtype::NS, B({0xC0, 0xFF}), -1},
      {"NS with a pointer to itself", rrtype::NS, B({0xC0, 0x00}), -1},  // patched below
      {"NS with an extended label type", rrtype::NS, B({0x41, 'x', 0}), -1},
      {"NS with bytes after the name", rrtype::NS, ns1 + B({0, 0}), -1},
      {"CNAME with bytes after the name", rrtype::CNAME, W("a.b.") + B({1}), -1},
      {"MX without its preference", rrtype::MX, B({0}), -1},
      {"MX with bytes after the name", rrtype::MX, u16(1) + ns1 + B({7}), -1},
      {"SRV cut in the fixed fields", rrtype::SRV, u16(0) + u16(5), -1},
      {"SOA with one name", rrtype::SOA, ns1 + soa_fields, -1},
      {"SOA missing a byte of its fields", rrtype::SOA, ns1 + kPtrExample + soa_fields.substr(1), -1},
      {"SOA with a byte too many", rrtype::SOA, ns1 + kPtrExample + soa_fields + B({0}), -1},
      {"NAPTR string past RDLENGTH", rrtype::NAPTR, naptr_head + B({9, 'U'}), -1},
      {"NAPTR without the replacement", rrtype::NAPTR, naptr_head + B({1, 'U', 0, 0}), -1},
      {"MINFO with one name", rrtype::MINFO, ns1, -1},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    Msg m;
    size_t at = m.rr(kPtrExample, c.type, c.rdata, 3600, c.rdlength);
    if (std::string(c.what) == "NS with a pointer to itself")
      m.bytes()[at + 12 + 1] = static_cast<char>(at + 12);
    EXPECT_FALSE(parses(m, at));
  }
}

TEST(ParseRR, RejectsTruncatedRecordsAtEveryLength) {
  Msg m;
  size_t at = m.rr(B({3, 'w', 'w', 'w'}) + kPtrExample, rrtype::SOA,
                   B({3, 'n', 's', '1'}) + kPtrExample + kPtrExample + u32(1) + u32(2) + u32(3) +
                       u32(4) + u32(5));
  ASSERT_TRUE(parses(m, at));
  for (size_t len = at; len < m.size(); ++len) {
    ParsedRR rr;
    size_t pos = at;
    EXPECT_FALSE(parse_rr(m.data(), len, pos, rr)) << "length " << len;
  }
}

TEST(ParseRR, RejectsABadOwner) {
  Msg m;
  size_t at = m.rr(B({0xC0, 0x7F}), rrtype::A, B({192, 0, 2, 1}));  // forward pointer
  EXPECT_FALSE(parses(m, at));
  Msg m2;
  size_t at2 = m2.size();
  m2.bytes() += B({3, 'w', 'w'});  // label runs off the end
  EXPECT_FALSE(parses(m2, at2));
}

TEST(RdataTarget, FindsTheNameOfEachType) {
  const std::string n = W("t.example.");
  EXPECT_EQ(rdata_target(rrtype::NS, n), n);
  EXPECT_EQ(rdata_target(rrtype::CNAME, n), n);
  EXPECT_EQ(rdata_target(rrtype::MX, u16(10) + n), n);
  EXPECT_EQ(rdata_target(rrtype::SRV, u16(0) + u16(0) + u16(53) + n), n);
  EXPECT_EQ(rdata_target(rrtype::A, B({1, 2, 3, 4})), "");
  EXPECT_EQ(rdata_target(rrtype::MX, u16(10)), "");
  EXPECT_EQ(rdata_target(rrtype::NS, B({3, 'a', 'b'})), "");
}

TEST(ParseSoa, ReadsTheFieldsAndRejectsBadLengths) {
  std::string rd = W("ns.example.") + W("hm.example.") + u32(1) + u32(2) + u32(3) + u32(4) + u32(5);
  SoaFields f;
  ASSERT_TRUE(parse_soa(rd, f));
  EXPECT_EQ(f.serial, 1u);
  EXPECT_EQ(f.refresh, 2u);
  EXPECT_EQ(f.retry, 3u);
  EXPECT_EQ(f.expire, 4u);
  EXPECT_EQ(f.minimum, 5u);
  EXPECT_FALSE(parse_soa(rd.substr(0, rd.size() - 1), f));
  EXPECT_FALSE(parse_soa(rd + B({0}), f));
  EXPECT_FALSE(parse_soa("", f));
}

}  // namespace
