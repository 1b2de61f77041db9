#include "zone/wire/render.h"

#include <gtest/gtest.h>
#include <ldns/ldns.h>

#include <memory>
#include <string>
#include <vector>

using namespace zone::wire;

namespace {

std::string W(const char* text) { return *name_from_text(text); }

struct PktFree {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
using PktPtr = std::unique_ptr<ldns_pkt, PktFree>;

PktPtr parse(const uint8_t* buf, size_t len) {
  ldns_pkt* p = nullptr;
  if (ldns_wire2pkt(&p, buf, len) != LDNS_STATUS_OK) return nullptr;
  return PktPtr(p);
}

RRsetBuf a_set(std::initializer_list<uint32_t> addrs, uint32_t ttl = 300) {
  RRsetBuf s{rrtype::A, ttl, 0, {}};
  for (uint32_t a : addrs) {
    char b[4] = {char(a >> 24), char(a >> 16), char(a >> 8), char(a)};
    s.add(std::string_view(b, 4));
  }
  return s;
}

RRsetBuf txt_set(int n, size_t len) {
  RRsetBuf s{rrtype::TXT, 60, 0, {}};
  for (int i = 0; i < n; ++i) {
    std::string rd(1, static_cast<char>(len));
    rd += std::string(len, static_cast<char>('a' + i % 26));
    s.add(rd);
  }
  return s;
}

}  // namespace

TEST(Renderer, HeaderAndQuestion) {
  uint8_t buf[512];
  Renderer r(buf, sizeof buf);
  std::string q = W("WwW.Example.COM.");
  ASSERT_TRUE(r.begin(0xBEEF, flag::QR | flag::AA, q, rrtype::A, rrclass::IN));
  EXPECT_EQ(r.size(), 12 + q.size() + 4);
  EXPECT_EQ(get16(buf), 0xBEEF);
  EXPECT_EQ(get16(buf + 4), 1);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(buf + 12), q.size()), q);  // case kept
  r.set_rcode(rcode::NXDOMAIN);
  r.set_tc();
  EXPECT_EQ(r.flags(), flag::QR | flag::AA | flag::TC | rcode::NXDOMAIN);
}

TEST(Renderer, CompressionProducesPointers) {
  uint8_t buf[512];
  Renderer r(buf, sizeof buf);
  std::string q = W("www.example.com.");
  ASSERT_TRUE(r.begin(1, flag::QR, q, rrtype::A, rrclass::IN));
  size_t answer_at = r.size();
  ASSERT_TRUE(r.add_rrset(Section::answer, q, a_set({0xC0000201})));
  // Owner equal to the question: a bare pointer to offset 12.
  EXPECT_EQ(buf[answer_at], 0xC0);
  EXPECT_EQ(buf[answer_at + 1], 12);
  EXPECT_EQ(r.size(), answer_at + 2 + 10 + 4);

  // NS RDATA is compressed too (RFC 3597 4: well-known types): ns1 + pointer to example.com.
  RRsetBuf ns{rrtype::NS, 3600, 0, {}};
  ns.add(W("ns1.example.com."));
  size_t ns_at = r.size();
  ASSERT_TRUE(r.add_rrset(Section::authority, W("example.com."), ns));
  EXPECT_EQ(buf[ns_at], 0xC0);
  EXPECT_EQ(buf[ns_at + 1], 16);  // "example.com" inside the question
  size_t rdata_at = ns_at + 2 + 10;
  EXPECT_EQ(get16(buf + rdata_at - 2), 6);  // RDLENGTH: \3ns1 + pointer
  EXPECT_EQ(std::string(reinterpret_cast<char*>(buf + rdata_at), 4), "\3ns1");
  EXPECT_EQ(buf[rdata_at + 4], 0xC0);
  EXPECT_EQ(buf[rdata_at + 5], 16);

  auto pkt = parse(buf, r.size());
  ASSERT_TRUE(pkt);
  EXPECT_EQ(ldns_pkt_ancount(pkt.get()), 1);
  EXPECT_EQ(ldns_pkt_nscount(pkt.get()), 1);
  char* s = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_authority(pkt.get()), 0), 0));
  EXPECT_STREQ(s, "ns1.example.com.");
  free(s);
}

TEST(Renderer, CompressionIgnoresCase) {
  uint8_t buf[512];
  Renderer r(buf, sizeof buf);
  ASSERT_TRUE(r.begin(1, flag::QR, W("WWW.EXAMPLE.COM."), rrtype::A, rrclass::IN));
  size_t at = r.size();
  ASSERT_TRUE(r.add_rrset(Section::answer, W("mail.example.com."), a_set({1})));
  EXPECT_EQ(std::string(reinterpret_cast<char*>(buf + at), 5), "\4mail");
  EXPECT_EQ(buf[at + 5], 0xC0);
  EXPECT_EQ(buf[at + 6], 16);
}

TEST(Renderer, SrvTargetIsNotCompressed) {
  uint8_t buf[512];
  Renderer r(buf, sizeof buf);
  std::string q = W("_sip._tcp.example.com.");
  ASSERT_TRUE(r.begin(1, flag::QR, q, rrtype::SRV, rrclass::IN));
  RRsetBuf srv{rrtype::SRV, 60, 0, {}};
  std::string target = W("sip.example.com.");
  srv.add(std::string("\0\0\0\5\x13\xC4", 6) + target);
  size_t at = r.size();
  ASSERT_TRUE(r.add_rrset(Section::answer, q, srv));
  EXPECT_EQ(get16(buf + at + 2 + 8), 6 + target.size());  // RDLENGTH: uncompressed
}

TEST(Renderer, RollbackOnOverflowKeepsMessageValid) {
  uint8_t buf[4096];
  Renderer r(buf, sizeof buf);
  r.set_limit(200);
  std::string q = W("www.example.com.");
  ASSERT_TRUE(r.begin(7, flag::QR, q, rrtype::TXT, rrclass::IN));
  ASSERT_TRUE(r.add_rrset(Section::answer, q, txt_set(1, 40)));
  size_t before = r.size();
  auto m = r.mark();
  // Three records of 60 bytes each: the first fits, the second does not. All are rolled back.
  EXPECT_FALSE(r.add_rrset(Section::answer, W("big.example.com."), txt_set(3, 60)));
  EXPECT_EQ(r.size(), before);
  EXPECT_EQ(r.count(Section::answer), 1);
  EXPECT_EQ(get16(buf + 6), 1);
  EXPECT_EQ(r.mark().ncomp, m.ncomp);
  // A later record whose owner was only in the rolled-back part must not point into it.
  ASSERT_TRUE(r.add_rrset(Section::additional, W("x.big.example.com."), a_set({2})));
  EXPECT_LE(r.size(), 200u);
  auto pkt = parse(buf, r.size());
  ASSERT_TRUE(pkt);
  EXPECT_EQ(ldns_pkt_ancount(pkt.get()), 1);
  EXPECT_EQ(ldns_pkt_arcount(pkt.get()), 1);
  char* s = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_additional(pkt.get()), 0)));
  EXPECT_STREQ(s, "x.big.example.com.");
  free(s);
}

TEST(Renderer, AddRrRollsBackToo) {
  uint8_t buf[4096];
  Renderer r(buf, sizeof buf);
  r.set_limit(60);
  std::string q = W("a.example.");
  ASSERT_TRUE(r.begin(7, flag::QR, q, rrtype::TXT, rrclass::IN));
  size_t before = r.size();
  std::string rd(1, '\x32');
  rd += std::string(50, 'z');
  EXPECT_FALSE(r.add_rr(Section::answer, W("long.owner.example."), rrtype::TXT, 1, rd));
  EXPECT_EQ(r.size(), before);
  EXPECT_EQ(r.count(Section::answer), 0);
  EXPECT_TRUE(r.add_rr(Section::answer, q, rrtype::TXT, 1, std::string("\3abc", 4)));
  auto pkt = parse(buf, r.size());
  ASSERT_TRUE(pkt);
  EXPECT_EQ(ldns_pkt_ancount(pkt.get()), 1);
}

TEST(Renderer, LimitNeverAboveCapacity) {
  uint8_t buf[100];
  Renderer r(buf, sizeof buf);
  r.set_limit(65535);
  EXPECT_EQ(r.limit(), 100u);
}

TEST(Renderer, ReservedOptAlwaysFits) {
  uint8_t buf[4096];
  Renderer r(buf, sizeof buf);
  r.set_limit(512);
  std::string q = W("www.example.com.");
  ASSERT_TRUE(r.begin(9, flag::QR, q, rrtype::A, rrclass::IN));
  r.reserve_opt();
  // Fill with single A records until nothing fits any more.
  int added = 0;
  while (r.add_rrset(Section::answer, q, a_set({static_cast<uint32_t>(added)}))) ++added;
  EXPECT_GT(added, 20);
  EXPECT_GT(r.size() + 16, 512u);  // really full: another A (16 bytes) + OPT do not fit
  r.add_opt(1232, rcode::BADVERS, true);
  EXPECT_LE(r.size(), 512u);
  auto pkt = parse(buf, r.size());
  ASSERT_TRUE(pkt);
  EXPECT_EQ(ldns_pkt_ancount(pkt.get()), added);
  EXPECT_EQ(get16(buf + 10), 1);  // ARCOUNT on the wire: the OPT
  EXPECT_TRUE(ldns_pkt_edns(pkt.get()));
  EXPECT_EQ(ldns_pkt_edns_udp_size(pkt.get()), 1232);
  EXPECT_TRUE(ldns_pkt_edns_do(pkt.get()));
  EXPECT_EQ(ldns_pkt_edns_extended_rcode(pkt.get()), 1);  // 16 >> 4
  EXPECT_EQ(ldns_pkt_edns_version(pkt.get()), 0);
}

TEST(Renderer, OptCarriesOptionsInItsReservedRoom) {
  uint8_t buf[4096];
  Renderer r(buf, sizeof buf);
  r.set_limit(512);
  std::string q = W("www.example.com.");
  ASSERT_TRUE(r.begin(9, flag::QR, q, rrtype::A, rrclass::IN));
  // NSID "ns1" and EXPIRE 86400, encoded.
  std::string options = std::string("\0\3\0\3ns1", 7) + std::string("\0\x09\0\4\0\1\x51\x80", 8);
  r.reserve_opt(options.size());
  int added = 0;
  while (r.add_rrset(Section::answer, q, a_set({static_cast<uint32_t>(added)}))) ++added;
  r.add_opt(1232, 0, false, options);
  EXPECT_LE(r.size(), 512u);
  auto pkt = parse(buf, r.size());
  ASSERT_TRUE(pkt);
  EXPECT_EQ(ldns_pkt_ancount(pkt.get()), added);
  ldns_rdf* data = ldns_pkt_edns_data(pkt.get());
  ASSERT_TRUE(data);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(ldns_rdf_data(data)), ldns_rdf_size(data)),
            options);
}

TEST(Renderer, RecordOfAnotherClass) {
  uint8_t buf[512];
  Renderer r(buf, sizeof buf);
  std::string q = W("version.bind.");
  ASSERT_TRUE(r.begin(9, flag::QR, q, rrtype::TXT, rrclass::CH));
  ASSERT_TRUE(r.add_rr(Section::answer, q, rrtype::TXT, 0, std::string("\5zoned", 6), rrclass::CH));
  auto pkt = parse(buf, r.size());
  ASSERT_TRUE(pkt);
  ASSERT_EQ(ldns_pkt_ancount(pkt.get()), 1);
  EXPECT_EQ(ldns_rr_get_class(ldns_rr_list_rr(ldns_pkt_answer(pkt.get()), 0)), LDNS_RR_CLASS_CH);
}

namespace {
// Every record of a rendered message as text, in order ("owner type rdata" per record).
std::vector<std::string> records_text(const uint8_t* buf, size_t len) {
  std::vector<std::string> out;
  auto pkt = parse(buf, len);
  if (!pkt) return out;
  ldns_rr_list* l = ldns_pkt_answer(pkt.get());
  for (size_t i = 0; i < ldns_rr_list_rr_count(l); ++i) {
    char* s = ldns_rr2str(ldns_rr_list_rr(l, i));
    out.emplace_back(s);
    free(s);
  }
  return out;
}

// A transfer-like message: thousands of owners, NS/MX/CNAME/SOA targets, mixed case.
size_t fill_transfer_message(Renderer& r, int first, int& added) {
  std::string q = W("Example.COM.");
  r.begin(3, flag::QR, q, rrtype::AXFR, rrclass::IN);
  added = 0;
  for (int i = first;; ++i) {
    std::string owner = W(("h" + std::to_string(i) + (i % 3 ? ".sub" : "") + ".example.com.").c_str());
    bool ok;
    switch (i % 4) {
      case 0: ok = r.add_rr(Section::answer, owner, rrtype::A, 60, std::string("\x0a\0\0\1", 4)); break;
      case 1: ok = r.add_rr(Section::answer, owner, rrtype::CNAME, 60,
                            W(("T" + std::to_string(i / 2) + ".Example.com.").c_str())); break;
      case 2: ok = r.add_rr(Section::answer, owner, rrtype::MX, 60,
                            std::string("\0\x0a", 2) + W(("mx" + std::to_string(i % 50) + ".example.net.").c_str())); break;
      default: ok = r.add_rr(Section::answer, owner, rrtype::NS, 60, W("ns1.example.com.")); break;
    }
    if (!ok) return static_cast<size_t>(i);
    ++added;
  }
}
}  // namespace

TEST(Renderer, IndexedCompressionGivesTheSameRecordsInFewerBytes) {
  std::vector<uint8_t> a(65535), b(65535);
  Renderer plain(a.data(), a.size());
  Renderer indexed(b.data(), b.size());
  CompressionIndex index;
  indexed.use_index(&index);
  int na = 0, nb = 0;
  fill_transfer_message(plain, 0, na);
  fill_transfer_message(indexed, 0, nb);
  ASSERT_GT(nb, 1500);  // really a big message, far past the scanned table's 96 targets
  ASSERT_GE(nb, na);    // better compression: at least as many records fit
  auto ta = records_text(a.data(), plain.size());
  auto tb = records_text(b.data(), indexed.size());
  ASSERT_EQ(tb.size(), static_cast<size_t>(nb));
  ta.resize(std::min(ta.size(), tb.size()));
  tb.resize(ta.size());
  EXPECT_EQ(ta, tb);

  // The next message starts clean (begin clears the index): no pointer into the old one.
  int next = 0;
  size_t stop = fill_transfer_message(indexed, nb, next);
  EXPECT_GT(next, 1500);
  auto tc = records_text(b.data(), indexed.size());
  ASSERT_EQ(tc.size(), static_cast<size_t>(next));
  EXPECT_NE(tc.front().find("h" + std::to_string(nb) + "."), std::string::npos);
  EXPECT_NE(tc.back().find("h" + std::to_string(stop - 1) + "."), std::string::npos);
}

TEST(Renderer, IndexedRollbackForgetsTargetsOfTheRolledBackRecord) {
  uint8_t buf[4096];
  Renderer r(buf, sizeof buf);
  CompressionIndex index;
  r.use_index(&index);
  r.set_limit(120);
  std::string q = W("a.example.");
  ASSERT_TRUE(r.begin(7, flag::QR, q, rrtype::TXT, rrclass::IN));
  std::string big(1, '\x50');
  big += std::string(80, 'z');
  EXPECT_FALSE(r.add_rr(Section::answer, W("gone.example."), rrtype::TXT, 1, big));
  // "gone.example." was written then rolled back: a later name must not point at it.
  ASSERT_TRUE(r.add_rr(Section::answer, W("x.gone.example."), rrtype::TXT, 1, std::string("\3abc", 4)));
  ASSERT_TRUE(r.add_rr(Section::answer, W("gone.example."), rrtype::TXT, 1, std::string("\3def", 4)));
  auto t = records_text(buf, r.size());
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].rfind("x.gone.example.", 0), 0u);
  EXPECT_EQ(t[1].rfind("gone.example.", 0), 0u);
}
