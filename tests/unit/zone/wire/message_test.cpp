#include "zone/wire/message.h"

#include <gtest/gtest.h>

#include <string>

#include "zone/wire/name.h"

using namespace zone::wire;

namespace {

// Hand-built messages: header, then raw sections.
struct Msg {
  uint16_t id = 0x1234, flags = 0, qd = 1, an = 0, ns = 0, ar = 0;
  std::string body;

  std::string bytes() const {
    std::string m(12, '\0');
    auto p = reinterpret_cast<uint8_t*>(m.data());
    put16(p, id);
    put16(p + 2, flags);
    put16(p + 4, qd);
    put16(p + 6, an);
    put16(p + 8, ns);
    put16(p + 10, ar);
    return m + body;
  }
};

std::string u16(uint16_t v) { return {static_cast<char>(v >> 8), static_cast<char>(v)}; }
std::string u32(uint32_t v) { return u16(static_cast<uint16_t>(v >> 16)) + u16(static_cast<uint16_t>(v)); }

std::string question(const std::string& name, uint16_t type = rrtype::A) {
  return name + u16(type) + u16(rrclass::IN);
}
const std::string kWww("\3WwW\7ExAmPlE\3cOm\0", 17);
const std::string kRoot("\0", 1);

std::string rr(const std::string& owner, uint16_t type, uint16_t cls, uint32_t ttl,
               const std::string& rdata) {
  return owner + u16(type) + u16(cls) + u32(ttl) + u16(static_cast<uint16_t>(rdata.size())) + rdata;
}
std::string opt(uint16_t payload = 1232, uint32_t ttl = 0, const std::string& rdata = "") {
  return rr(kRoot, rrtype::OPT, payload, ttl, rdata);
}
std::string tsig() {
  // Content is not checked by the parser; only position and framing are.
  return rr(std::string("\3key\0", 5), rrtype::TSIG, rrclass::ANY, 0, std::string(20, 'x'));
}

ParseStatus parse(const std::string& m, ParsedQuery& q) {
  return parse_query(reinterpret_cast<const uint8_t*>(m.data()), m.size(), q);
}
ParseStatus parse(const Msg& m) {
  ParsedQuery q;
  return parse(m.bytes(), q);
}

}  // namespace

TEST(ParseQuery, PlainQuery) {
  Msg m;
  m.flags = flag::RD | flag::CD;
  m.body = question(kWww, rrtype::AAAA);
  ParsedQuery q;
  ASSERT_EQ(parse(m.bytes(), q), ParseStatus::ok);
  EXPECT_EQ(q.id, 0x1234);
  EXPECT_EQ(q.opcode, opcode::QUERY);
  EXPECT_TRUE(q.rd());
  EXPECT_TRUE(q.cd());
  EXPECT_EQ(q.qtype, rrtype::AAAA);
  EXPECT_EQ(q.qclass, rrclass::IN);
  EXPECT_EQ(q.name(), kWww);  // case as received
  EXPECT_EQ(q.name_lower(), *name_from_text("www.example.com."));
  EXPECT_EQ(q.question_end, 12u + kWww.size() + 4);
  EXPECT_FALSE(q.edns.present);
  EXPECT_FALSE(q.has_tsig);
}

TEST(ParseQuery, OpcodeIsExtracted) {
  Msg m;
  m.flags = 2 << 11;
  m.body = question(kWww);
  ParsedQuery q;
  ASSERT_EQ(parse(m.bytes(), q), ParseStatus::ok);
  EXPECT_EQ(q.opcode, 2);
}

TEST(ParseQuery, EdnsFields) {
  Msg m;
  m.ar = 1;
  // version 0, DO set; one option (code 10, cookie, 8 bytes).
  m.body = question(kWww) + opt(4096, 0x00008000, u16(10) + u16(8) + std::string(8, 'c'));
  ParsedQuery q;
  ASSERT_EQ(parse(m.bytes(), q), ParseStatus::ok);
  EXPECT_TRUE(q.edns.present);
  EXPECT_EQ(q.edns.udp_payload, 4096);
  EXPECT_EQ(q.edns.version, 0);
  EXPECT_TRUE(q.edns.do_bit);

  m.body = question(kWww) + opt(1232, 0x00010000);
  ASSERT_EQ(parse(m.bytes(), q), ParseStatus::ok);
  EXPECT_EQ(q.edns.version, 1);
  EXPECT_FALSE(q.edns.do_bit);
}

TEST(ParseQuery, TsigLastIsAccepted) {
  Msg m;
  m.ar = 2;
  m.body = question(kWww) + opt();
  size_t tsig_at = 12 + m.body.size();
  m.body += tsig();
  ParsedQuery q;
  ASSERT_EQ(parse(m.bytes(), q), ParseStatus::ok);
  EXPECT_TRUE(q.has_tsig);
  EXPECT_EQ(q.tsig_offset, tsig_at);
  EXPECT_TRUE(q.edns.present);
}

TEST(ParseQuery, ParserStateDoesNotLeakBetweenMessages) {
  Msg with;
  with.ar = 2;
  with.body = question(kWww) + opt() + tsig();
  Msg without;
  without.body = question(kWww);
  ParsedQuery q;
  ASSERT_EQ(parse(with.bytes(), q), ParseStatus::ok);
  ASSERT_EQ(parse(without.bytes(), q), ParseStatus::ok);
  EXPECT_FALSE(q.edns.present);
  EXPECT_FALSE(q.has_tsig);
}

TEST(ParseQuery, AnswerAndAuthorityAreSkipped) {
  Msg m;
  m.an = 1;
  m.ns = 1;
  m.ar = 1;
  m.body = question(kWww) + rr(std::string("\xC0\x0C", 2), rrtype::A, 1, 60, "\1\2\3\4") +
           rr(kRoot, rrtype::NS, 1, 60, kWww) + opt(2048);
  ParsedQuery q;
  ASSERT_EQ(parse(m.bytes(), q), ParseStatus::ok);
  EXPECT_EQ(q.edns.udp_payload, 2048);
}

TEST(ParseQuery, Drops) {
  ParsedQuery q;
  EXPECT_EQ(parse(std::string(11, '\0'), q), ParseStatus::drop);
  EXPECT_EQ(parse(std::string(), q), ParseStatus::drop);
  Msg response;
  response.flags = flag::QR;
  response.body = question(kWww);
  EXPECT_EQ(parse(response), ParseStatus::drop);
  // QR=1 is dropped even when the rest is garbage (no FORMERR reflection).
  response.qd = 0;
  response.body = "junk";
  EXPECT_EQ(parse(response), ParseStatus::drop);
}

TEST(ParseQuery, FormerrKeepsHeader) {
  Msg m;
  m.qd = 2;
  m.flags = flag::RD | (1 << 11);
  ParsedQuery q;
  ASSERT_EQ(parse(m.bytes(), q), ParseStatus::formerr);
  EXPECT_EQ(q.id, 0x1234);
  EXPECT_EQ(q.flags, flag::RD | (1 << 11));
}

TEST(ParseQuery, NoQuestionIsForTheCallerToJudge) {
  // RFC 7873 5.4: a cookie probe has no question, only an OPT with a COOKIE.
  Msg m;
  m.qd = 0;
  m.ar = 1;
  m.body = opt(1232, 0, u16(10) + u16(8) + std::string(8, 'c'));
  ParsedQuery q;
  ASSERT_EQ(parse(m.bytes(), q), ParseStatus::ok);
  EXPECT_EQ(q.qdcount, 0);
  EXPECT_EQ(q.qname_len, 0u);
  EXPECT_TRUE(q.edns.present);
  EXPECT_EQ(q.edns.cookie_len, 8);
}

TEST(ParseQuery, SecondQuestionIsFormerrWithTheOptRead) {
  // The FORMERR answer carries an OPT when the query had one (RFC 6891 7).
  Msg m = {};
  m.qd = 2;
  m.ar = 1;
  m.body = question(kWww) + question(kWww, rrtype::MX) + opt(4096);
  ParsedQuery q;
  ASSERT_EQ(parse(m.bytes(), q), ParseStatus::formerr);
  EXPECT_TRUE(q.edns.present);
  EXPECT_EQ(q.edns.udp_payload, 4096);
  EXPECT_EQ(q.qtype, rrtype::A);  // the first question
}

TEST(ParseQuery, EdnsOptionsZonedActsOn) {
  Msg m;
  m.ar = 1;
  std::string cookie = "clientck" + std::string("\x01\0\0\0", 4) + "tstmhashhash";
  m.body = question(kWww, rrtype::SOA) +
           opt(1232, 0, u16(3) + u16(0) + u16(9) + u16(0) + u16(65001) + u16(2) + "xy" +
                            u16(10) + u16(24) + cookie);
  ParsedQuery q;
  ASSERT_EQ(parse(m.bytes(), q), ParseStatus::ok);
  EXPECT_TRUE(q.edns.nsid);
  EXPECT_TRUE(q.edns.expire);
  ASSERT_EQ(q.edns.cookie_len, 24);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(q.edns.cookie), 24), cookie);
  // An NSID with a payload still asks for ours (RFC 5001 2.1: the payload is ignored).
  m.body = question(kWww) + opt(1232, 0, u16(3) + u16(4) + "abcd");
  ASSERT_EQ(parse(m.bytes(), q), ParseStatus::ok);
  EXPECT_TRUE(q.edns.nsid);
  EXPECT_FALSE(q.edns.expire);
  EXPECT_EQ(q.edns.cookie_len, 0);
}

TEST(ParseQuery, CookieLengthsOfRfc7873) {
  // 8 (client only) and 16..40 (with a server cookie) are well formed; the rest, and a
  // second COOKIE option, are FORMERR (RFC 7873 5.2.2).
  for (int len = 0; len <= 44; ++len) {
    Msg m;
    m.ar = 1;
    m.body = question(kWww) + opt(1232, 0, u16(10) + u16(static_cast<uint16_t>(len)) +
                                              std::string(static_cast<size_t>(len), 'k'));
    ParsedQuery q;
    bool ok = len == 8 || (len >= 16 && len <= 40);
    EXPECT_EQ(parse(m.bytes(), q), ok ? ParseStatus::ok : ParseStatus::formerr) << len;
    EXPECT_TRUE(q.edns.present) << len;  // the FORMERR still gets an OPT
    EXPECT_EQ(q.edns.cookie_len, ok ? len : 0) << len;
  }
  Msg two;
  two.ar = 1;
  std::string c = u16(10) + u16(8) + std::string(8, 'k');
  two.body = question(kWww) + opt(1232, 0, c + c);
  EXPECT_EQ(parse(two), ParseStatus::formerr);
}

struct FormerrCase {
  const char* what;
  Msg msg;
};

Msg make(uint16_t qd, uint16_t an, uint16_t ns, uint16_t ar, std::string body) {
  Msg m;
  m.qd = qd;
  m.an = an;
  m.ns = ns;
  m.ar = ar;
  m.body = std::move(body);
  return m;
}

class ParseFormerr : public ::testing::TestWithParam<FormerrCase> {};

TEST_P(ParseFormerr, IsFormerr) { EXPECT_EQ(parse(GetParam().msg), ParseStatus::formerr) << GetParam().what; }

INSTANTIATE_TEST_SUITE_P(
    Cases, ParseFormerr,
    ::testing::Values(
        FormerrCase{"qdcount 2", make(2, 0, 0, 0, question(kWww) + question(kWww))},
        FormerrCase{"header only", make(1, 0, 0, 0, "")},
        FormerrCase{"name cut short", make(1, 0, 0, 0, kWww.substr(0, 6))},
        FormerrCase{"no type/class", make(1, 0, 0, 0, kWww)},
        FormerrCase{"class cut short", make(1, 0, 0, 0, kWww + u16(1) + "\0")},
        FormerrCase{"pointer loop in qname", make(1, 0, 0, 0, std::string("\xC0\x0C", 2) + u16(1) + u16(1))},
        FormerrCase{"label > 63 in qname", make(1, 0, 0, 0, std::string("\x40", 1) + std::string(64, 'a') + kRoot + u16(1) + u16(1))},
        FormerrCase{"two OPT", make(1, 0, 0, 2, question(kWww) + opt() + opt())},
        FormerrCase{"OPT with non-root owner", make(1, 0, 0, 1, question(kWww) + rr(kWww, rrtype::OPT, 1232, 0, ""))},
        FormerrCase{"OPT option header cut", make(1, 0, 0, 1, question(kWww) + opt(1232, 0, u16(10) + "\0"))},
        FormerrCase{"OPT option longer than RDATA", make(1, 0, 0, 1, question(kWww) + opt(1232, 0, u16(10) + u16(9) + std::string(8, 'c')))},
        FormerrCase{"OPT rdlength past end", make(1, 0, 0, 1, question(kWww) + kRoot + u16(41) + u16(1232) + u32(0) + u16(10))},
        FormerrCase{"TSIG not last", make(1, 0, 0, 2, question(kWww) + tsig() + opt())},
        FormerrCase{"two TSIG", make(1, 0, 0, 2, question(kWww) + tsig() + tsig())},
        FormerrCase{"arcount beyond data", make(1, 0, 0, 2, question(kWww) + opt())},
        FormerrCase{"ancount beyond data", make(1, 1, 0, 0, question(kWww))},
        FormerrCase{"truncated authority RR", make(1, 0, 1, 0, question(kWww) + kRoot + u16(2) + u16(1))}),
    [](const auto& info) {
      std::string n = info.param.what;
      for (auto& c : n)
        if (!isalnum(static_cast<unsigned char>(c))) c = '_';
      return n;
    });
