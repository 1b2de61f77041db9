// Outgoing transfers without a socket: the generator's messages, as a client would read them.
#include "server/xfr_out.h"

#include <gtest/gtest.h>

#include <ctime>
#include <string>
#include <vector>

#include "tests/unit/server/message_builder.h"
#include "tests/unit/test_support.h"
#include "zone/changeset.h"
#include "zone/loader.h"
#include "zone/wire/rdata.h"

using namespace server;
using namespace zone::wire;
using namespace test_support;

namespace {

std::string zone_text(uint32_t serial, int hosts, const std::string& extra = "") {
  std::string t = "$ORIGIN big.test.\n$TTL 300\n@ SOA ns1 hostmaster " + std::to_string(serial) +
                  " 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\n";
  for (int i = 0; i < hosts; ++i)
    t += "host" + std::to_string(i) + " A 10." + std::to_string(i / 65536 % 256) + "." +
         std::to_string(i / 256 % 256) + "." + std::to_string(i % 256) + "\n";
  return t + extra;
}
std::shared_ptr<const zone::Zone> load(const std::string& text) {
  auto r = zone::load_zone_text(text, W("big.test."));
  for (const auto& e : r.errors) ADD_FAILURE() << e.str();
  return r.zone;
}

// One record of a message, decoded enough to check the stream.
struct Rr {
  std::string owner;  // lowercased wire
  uint16_t type;
  uint32_t serial;  // SOA only
};

struct Message {
  std::vector<uint8_t> bytes;
  uint16_t qd = 0, an = 0, ar = 0;
  std::vector<Rr> answer;
  bool opt = false;
  std::map<uint16_t, std::string> options;
};

Message decode(std::span<const uint8_t> framed) {
  Message m;
  EXPECT_GE(framed.size(), 2u + kHeaderSize);
  size_t len = static_cast<size_t>(framed[0]) << 8 | framed[1];
  EXPECT_EQ(len + 2, framed.size());
  m.bytes.assign(framed.begin() + 2, framed.end());
  const uint8_t* p = m.bytes.data();
  m.qd = get16(p + 4), m.an = get16(p + 6), m.ar = get16(p + 10);
  size_t pos = kHeaderSize;
  uint8_t name[kMaxNameLen];
  size_t nlen;
  for (uint16_t i = 0; i < m.qd; ++i) {
    read_name(p, m.bytes.size(), pos, name, nlen);
    pos += 4;
  }
  for (uint16_t i = 0; i < m.an; ++i) {
    Rr r{};
    EXPECT_EQ(read_name(p, m.bytes.size(), pos, name, nlen), NameError::ok);
    r.owner = lowered(std::string_view(reinterpret_cast<char*>(name), nlen));
    r.type = get16(p + pos);
    uint16_t rdlen = get16(p + pos + 8);
    if (r.type == rrtype::SOA) {
      size_t q = pos + 10;
      read_name(p, m.bytes.size(), q, name, nlen);
      read_name(p, m.bytes.size(), q, name, nlen);
      r.serial = get32(p + q);
    }
    pos += 10 + rdlen;
    m.answer.push_back(r);
  }
  if (auto o = response_options(m.bytes.data(), m.bytes.size())) {
    m.opt = true;
    m.options = *o;
  }
  return m;
}

std::vector<Message> drain(TransferOut& x) {
  std::vector<Message> out;
  for (int guard = 0; guard < 10000; ++guard) {
    auto m = x.next();
    if (m.empty()) break;
    out.push_back(decode(m));
  }
  return out;
}

std::vector<uint8_t> axfr_query(const std::string& zone = "big.test.") {
  QueryBuilder b;
  b.qname = zone;
  b.qtype = rrtype::AXFR;
  return b.wire();
}
std::vector<uint8_t> ixfr_query(uint32_t serial) {
  QueryBuilder b;
  b.qname = "big.test.";
  b.qtype = rrtype::IXFR;
  b.nscount = 1;
  b.authority = W("big.test.") + u16s(rrtype::SOA) + u16s(rrclass::IN) + u32s(0) +
                u16s(2 + 20) + std::string(1, '\0') + std::string(1, '\0') + u32s(serial) +
                u32s(0) + u32s(0) + u32s(0) + u32s(0);
  return b.wire();
}
ParsedQuery parsed(const std::vector<uint8_t>& q) {
  ParsedQuery p;
  EXPECT_EQ(parse_query(q.data(), q.size(), p), ParseStatus::ok);
  return p;
}
Peer client() {
  Peer p;
  Peer::parse("192.0.2.9:4000", p);
  return p;
}

}  // namespace

TEST(TransferOut, AxfrIsSoaEverythingSoaOverSeveralSignedMessages) {
  auto z = load(zone_text(7, 5000));
  ASSERT_TRUE(z);
  TsigKey key = test_key();
  auto q = axfr_query();
  uint64_t now = static_cast<uint64_t>(std::time(nullptr));
  std::string request_mac = sign(q, key, now);
  TransferOut::Options o;
  o.key = key;
  o.request_mac = request_mac;
  o.now = now;
  TransferOut x(z, q.data(), q.size(), parsed(q), client(), o);
  auto msgs = drain(x);
  EXPECT_FALSE(x.failed());
  ASSERT_GT(msgs.size(), 1u) << "5000 records do not fit one 64 KiB message";
  EXPECT_EQ(x.messages(), msgs.size());
  size_t records = 0;
  for (const auto& m : msgs) records += m.an;
  EXPECT_EQ(records, z->record_count() + 1);  // the SOA twice
  EXPECT_EQ(x.records(), records);
  EXPECT_EQ(msgs.front().answer.front().type, rrtype::SOA);
  EXPECT_EQ(msgs.back().answer.back().type, rrtype::SOA);
  EXPECT_EQ(msgs.back().answer.back().serial, 7u);
  // The question only in the first message (RFC 5936 2.2.1).
  EXPECT_EQ(msgs[0].qd, 1);
  for (size_t i = 1; i < msgs.size(); ++i) EXPECT_EQ(msgs[i].qd, 0) << i;
  // Every message verifies with the key, each chained to the previous MAC (RFC 8945 5.3.1).
  std::string prior = request_mac;
  for (size_t i = 0; i < msgs.size(); ++i) {
    TsigCheck c = tsig_verify(msgs[i].bytes.data(), msgs[i].bytes.size(),
                              [&](std::string_view) { return &key; }, now, prior, i > 0);
    ASSERT_EQ(c.status, TsigCheck::ok) << "message " << i;
    prior = c.mac;
  }
  // Without a key: nothing signed.
  TransferOut plain(z, q.data(), q.size(), parsed(axfr_query()), client(), {});
  for (const auto& m : drain(plain)) EXPECT_EQ(m.ar, 0);
}

TEST(TransferOut, HoldsTheVersionItStartedWith) {
  auto z = load(zone_text(7, 50));
  std::weak_ptr<const zone::Zone> weak = z;
  auto q = axfr_query();
  TransferOut x(std::move(z), q.data(), q.size(), parsed(q), client(), {});
  ASSERT_FALSE(weak.expired()) << "the transfer keeps the zone alive";
  auto msgs = drain(x);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].an, 50 + 3 + 1);
}

TEST(TransferOut, IxfrCondensesTheHistorySinceTheClientsSerial) {
  auto v1 = load(zone_text(1, 10));
  auto v2 = load(zone_text(2, 10, "new1 A 192.0.2.101\n"));
  auto v3 = load(zone_text(3, 9, "new1 A 192.0.2.101\nnew2 A 192.0.2.102\n"));  // host9 gone
  zone::History h;
  h.add(W("big.test."), std::make_shared<const zone::Changeset>(zone::diff_zones(*v1, *v2)), 10);
  h.add(W("big.test."), std::make_shared<const zone::Changeset>(zone::diff_zones(*v2, *v3)), 10);
  TransferOut::Options o;
  o.history = &h;
  auto q = ixfr_query(1);
  TransferOut x(v3, q.data(), q.size(), parsed(q), client(), o);
  auto msgs = drain(x);
  EXPECT_STREQ(x.mode(), "IXFR");
  ASSERT_EQ(msgs.size(), 1u);
  // new SOA, old SOA, removed (host9), new SOA, added (new1, new2), new SOA: one
  // difference 1 -> 3, not two.
  std::vector<std::pair<uint16_t, uint32_t>> soas;
  std::vector<std::string> owners;
  for (const auto& r : msgs[0].answer) {
    if (r.type == rrtype::SOA) soas.emplace_back(r.type, r.serial);
    else owners.push_back(name_to_text(r.owner));
  }
  EXPECT_EQ(soas, (std::vector<std::pair<uint16_t, uint32_t>>{
                      {rrtype::SOA, 3}, {rrtype::SOA, 1}, {rrtype::SOA, 3}, {rrtype::SOA, 3}}));
  EXPECT_EQ(owners, (std::vector<std::string>{"host9.big.test.", "new1.big.test.", "new2.big.test."}));
  EXPECT_EQ(msgs[0].answer[2].type, rrtype::A);  // removed host9 after the old SOA
  // The client is current: one SOA.
  auto cur = ixfr_query(3);
  TransferOut y(v3, cur.data(), cur.size(), parsed(cur), client(), o);
  msgs = drain(y);
  EXPECT_STREQ(y.mode(), "IXFR (current)");
  ASSERT_EQ(msgs.size(), 1u);
  ASSERT_EQ(msgs[0].an, 1);
  EXPECT_EQ(msgs[0].answer[0].serial, 3u);
  // History that does not reach back: the whole zone (AXFR format).
  auto old = ixfr_query(0);
  TransferOut w(v3, old.data(), old.size(), parsed(old), client(), o);
  msgs = drain(w);
  EXPECT_STREQ(w.mode(), "AXFR-style IXFR");
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].an, v3->record_count() + 1);
  EXPECT_EQ(msgs[0].answer.front().serial, 3u);
  EXPECT_EQ(msgs[0].answer.back().serial, 3u);
}

TEST(TransferOut, OptWithTheGivenOptionsInEveryMessage) {
  auto z = load(zone_text(7, 5000));
  auto q = axfr_query();
  TransferOut::Options o;
  o.edns = true;
  o.opt_options = edns_opt(edns_option::EXPIRE, u32s(86400));
  TransferOut x(z, q.data(), q.size(), parsed(q), client(), o);
  auto msgs = drain(x);
  ASSERT_GT(msgs.size(), 1u);
  for (const auto& m : msgs) {
    ASSERT_TRUE(m.opt);
    EXPECT_EQ(m.options.at(edns_option::EXPIRE), u32s(86400));
  }
}
