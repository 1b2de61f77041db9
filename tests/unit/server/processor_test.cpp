// The query processor as a whole: opcodes, TSIG once for everything, DNS cookies, NSID,
// EXPIRE, CHAOS identity, NOTIFY, transfer admission, deferred UPDATE, rate limiting,
// counters and the query log line. No sockets: bytes in, bytes (or a decision) out.
#include "server/query.h"

#include <gtest/gtest.h>
#include <ldns/ldns.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "tests/unit/server/message_builder.h"
#include "tests/unit/test_support.h"
#include "zone/loader.h"

using namespace server;
using namespace zone::wire;
using namespace test_support;

namespace {

std::shared_ptr<const zone::ZoneTable> load_tables() {
  std::map<std::string, std::shared_ptr<const zone::Zone>> m;
  for (auto [file, origin] : {std::pair{"example.com.zone", "example.com."},
                              std::pair{"child.example.com.zone", "child.example.com."},
                              std::pair{"other.net.zone", "other.net."}}) {
    auto z = load_test_zone(file, origin);
    if (z) m[z->origin()] = z;
  }
  return std::make_shared<zone::ZoneTable>(std::move(m));
}
const zone::ZoneTable& zones() {
  static auto t = load_tables();
  return *t;
}

Peer peer(const std::string& text) {
  Peer p;
  EXPECT_TRUE(Peer::parse(text, p)) << text;
  return p;
}

struct Reply {
  QueryResult res;
  std::vector<uint8_t> bytes;
  bool dropped() const { return res.disposition == Disposition::drop; }
  uint16_t flags() const { return get16(bytes.data() + 2); }
  int opcode() const { return (flags() >> 11) & 0xF; }
  uint16_t count(int section) const { return get16(bytes.data() + 4 + 2 * section); }  // 0 = QD
  bool tc() const { return flags() & flag::TC; }
  bool aa() const { return flags() & flag::AA; }
  std::optional<std::map<uint16_t, std::string>> options() const {
    return response_options(bytes.data(), bytes.size());
  }
  // Header rcode and the OPT's extended bits.
  int rcode() const {
    int rc = flags() & 0xF;
    size_t pos = bytes.size();
    // The OPT, when present, is the last record unless a TSIG follows: find it by scanning.
    auto opts = options();
    if (!opts) return rc;
    // Walk to the OPT's TTL: reuse the parser on a copy of the answer.
    size_t p = kHeaderSize;
    uint8_t name[kMaxNameLen];
    size_t nlen;
    for (uint16_t i = 0; i < count(0); ++i) {
      read_name(bytes.data(), bytes.size(), p, name, nlen);
      p += 4;
    }
    for (uint32_t i = 0; i < static_cast<uint32_t>(count(1)) + count(2); ++i) skip_rr(bytes.data(), bytes.size(), p);
    for (uint16_t i = 0; i < count(3); ++i) {
      size_t start = p;
      read_name(bytes.data(), bytes.size(), p, name, nlen);
      if (get16(bytes.data() + p) == rrtype::OPT) return rc | (bytes[p + 4] << 4);
      p = start;
      skip_rr(bytes.data(), bytes.size(), p);
    }
    (void)pos;
    return rc;
  }
  // The answer section as text lines (via ldns), for record checks.
  std::vector<std::string> answer() const {
    std::vector<std::string> v;
    ldns_pkt* p = nullptr;
    if (ldns_wire2pkt(&p, bytes.data(), bytes.size()) != LDNS_STATUS_OK) return {"<unparsable>"};
    for (size_t i = 0; i < ldns_rr_list_rr_count(ldns_pkt_answer(p)); ++i) {
      char* s = ldns_rr2str(ldns_rr_list_rr(ldns_pkt_answer(p), i));
      std::string line(s);
      free(s);
      while (!line.empty() && line.back() == '\n') line.pop_back();
      for (auto& c : line)
        if (c == '\t') c = ' ';
      v.push_back(line);
    }
    ldns_pkt_free(p);
    return v;
  }
};

class Processor : public ::testing::Test {
 protected:
  Reply run(const std::vector<uint8_t>& in, Transport t = Transport::udp,
            const std::string& from = "192.0.2.1:5300", LateReplies* later = nullptr,
            const zone::ZoneTable* table = nullptr) {
    Reply r;
    std::vector<uint8_t> out(65535);
    Request req{in.data(), in.size(), t, peer(from), later};
    r.res = qp_->process(req, table ? *table : zones(), policy_, out.data(), out.size(), parsed_);
    r.bytes.assign(out.begin(), out.begin() + r.res.size);
    return r;
  }
  void options(QueryOptions o) { qp_ = std::make_unique<QueryProcessor>(std::move(o)); }

  Policy policy_;
  std::unique_ptr<QueryProcessor> qp_ = std::make_unique<QueryProcessor>();
  ParsedQuery parsed_;
};

}  // namespace

// --- opcodes -------------------------------------------------------------------------------

// Regression (issue "Running on the Internet"): a header-only message of an opcode zoned
// does not implement got FORMERR because the question count was checked first; Knot, NSD and
// BIND answer NOTIMP (RFC 1035 4.1.1, RFC 3425).
TEST_F(Processor, Regression_UnimplementedOpcodeIsNotimpBeforeTheQuestionCount) {
  for (int op : {1, 2, 3, 6, 15}) {
    QueryBuilder b;
    b.opcode = op;
    b.flags = flag::RD;
    b.qdcount = 0;
    Reply r = run(b.wire());
    ASSERT_FALSE(r.dropped()) << op;
    EXPECT_EQ(r.flags() & 0xF, rcode::NOTIMP) << op;
    EXPECT_EQ(r.opcode(), op);
    EXPECT_TRUE(r.flags() & flag::QR);
    EXPECT_TRUE(r.flags() & flag::RD);
    EXPECT_EQ(r.count(0), 0);
    EXPECT_EQ(r.bytes.size(), kHeaderSize);
    // With an OPT: NOTIMP with an OPT.
    b.edns = true;
    r = run(b.wire());
    EXPECT_EQ(r.rcode(), rcode::NOTIMP) << op;
    EXPECT_TRUE(r.options()) << op;
    // With a question: echoed (as Knot does).
    b.edns = false;
    b.qdcount = 1;
    r = run(b.wire());
    EXPECT_EQ(r.rcode(), rcode::NOTIMP) << op;
    EXPECT_EQ(r.count(0), 1);
    EXPECT_EQ(r.count(1), 0);
    // Two questions: still NOTIMP, nothing echoed.
    b.qdcount = 2;
    r = run(b.wire());
    EXPECT_EQ(r.rcode(), rcode::NOTIMP) << op;
    EXPECT_EQ(r.count(0), 0);
  }
}

TEST_F(Processor, HeaderOnlyQueryNotifyAndUpdateAreFormerr) {
  for (int op : {0, 4, 5}) {
    QueryBuilder b;
    b.opcode = op;
    b.qdcount = 0;
    Reply r = run(b.wire());
    EXPECT_EQ(r.rcode(), rcode::FORMERR) << op;
    EXPECT_FALSE(r.options());
    b.edns = true;  // an OPT (without cookie): FORMERR with an OPT (RFC 6891 7)
    r = run(b.wire());
    EXPECT_EQ(r.rcode(), rcode::FORMERR) << op;
    EXPECT_TRUE(r.options());
  }
}

TEST_F(Processor, UpdateWithoutHandlerIsNotimpSignedWhenSigned) {
  TsigKey key = test_key();
  policy_.keys.push_back(key);
  QueryBuilder b;
  b.opcode = opcode::UPDATE;
  b.qname = "example.com.";
  b.qtype = rrtype::SOA;
  auto in = b.wire();
  uint64_t now = static_cast<uint64_t>(std::time(nullptr));
  std::string mac = sign(in, key, now);
  Reply r = run(in);
  EXPECT_EQ(r.rcode(), rcode::NOTIMP);
  EXPECT_EQ(r.opcode(), opcode::UPDATE);
  TsigCheck c = tsig_verify(r.bytes.data(), r.bytes.size(),
                            [&](std::string_view) { return &key; }, now, mac, false);
  EXPECT_EQ(c.status, TsigCheck::ok) << "the NOTIMP is signed with the request's key";
}

TEST_F(Processor, BadTsigIsAnsweredTheSameWayForEveryOpcode) {
  TsigKey key = test_key();
  TsigKey wrong = test_key("xfr-key", "b3RoZXJvdGhlcm90aGVyb3RoZXI=");
  policy_.keys.push_back(key);
  for (int op : {0, 4, 5}) {
    QueryBuilder b;
    b.opcode = op;
    b.qname = "example.com.";
    b.qtype = rrtype::SOA;
    auto in = b.wire();
    sign(in, wrong, static_cast<uint64_t>(std::time(nullptr)));
    Reply r = run(in);
    EXPECT_EQ(r.rcode(), rcode::NOTAUTH) << op;
    TsigCheck c = tsig_verify(r.bytes.data(), r.bytes.size(),
                              [&](std::string_view) { return &key; },
                              static_cast<uint64_t>(std::time(nullptr)), {}, false);
    EXPECT_EQ(c.error, tsig_error::BADSIG) << op;
  }
}

// --- DNS cookies ---------------------------------------------------------------------------

namespace {
const std::string kClient = "\x11\x22\x33\x44\x55\x66\x77\x88";
}

TEST_F(Processor, CookieProbeWithoutQuestionGetsAServerCookie) {
  // RFC 7873 5.4: QDCOUNT 0, an OPT with a client cookie: NOERROR and our cookie.
  QueryBuilder b;
  b.qdcount = 0;
  b.edns = true;
  b.options = edns_opt(edns_option::COOKIE, kClient);
  Reply r = run(b.wire());
  EXPECT_EQ(r.rcode(), rcode::NOERROR);
  EXPECT_EQ(r.count(0), 0);
  EXPECT_EQ(r.count(1), 0);
  auto o = r.options();
  ASSERT_TRUE(o);
  std::string cookie = (*o)[edns_option::COOKIE];
  ASSERT_EQ(cookie.size(), 24u);
  EXPECT_EQ(cookie.substr(0, 8), kClient);
  EXPECT_EQ(cookie[8], 1);  // RFC 9018 version
  // Asking again with it: valid, so NOERROR and the same (young) cookie back.
  b.options = edns_opt(edns_option::COOKIE, cookie);
  r = run(b.wire());
  EXPECT_EQ(r.rcode(), rcode::NOERROR);
  EXPECT_EQ((*r.options())[edns_option::COOKIE], cookie);
  // From another address it is not valid: BADCOOKIE with a fresh cookie (5.4).
  r = run(b.wire(), Transport::udp, "192.0.2.99:5300");
  EXPECT_EQ(r.rcode(), rcode::BADCOOKIE);
  std::string fresh = (*r.options())[edns_option::COOKIE];
  ASSERT_EQ(fresh.size(), 24u);
  EXPECT_NE(fresh, cookie);
}

TEST_F(Processor, CookiesOnOrdinaryQueries) {
  QueryBuilder b;
  b.edns = true;
  b.options = edns_opt(edns_option::COOKIE, kClient);
  Reply r = run(b.wire());
  EXPECT_EQ(r.rcode(), rcode::NOERROR);
  EXPECT_EQ(r.count(1), 2);
  std::string cookie = (*r.options())[edns_option::COOKIE];
  ASSERT_EQ(cookie.size(), 24u);
  // The second query carries the server cookie and gets it back.
  b.options = edns_opt(edns_option::COOKIE, cookie);
  r = run(b.wire());
  EXPECT_EQ((*r.options())[edns_option::COOKIE], cookie);
  // A wrong server cookie: cookies are not required, so a normal answer and a fresh cookie
  // (RFC 7873 5.2.4 treated as 5.2.3).
  std::string wrong = cookie;
  wrong[23] ^= 0x5A;
  b.options = edns_opt(edns_option::COOKIE, wrong);
  r = run(b.wire());
  EXPECT_EQ(r.rcode(), rcode::NOERROR);
  EXPECT_EQ(r.count(1), 2);
  std::string fresh = (*r.options())[edns_option::COOKIE];
  EXPECT_EQ(fresh.substr(0, 8), kClient);
  EXPECT_NE(fresh, wrong);
  // After a rotation (the old secret kept second) the old cookie is still valid...
  policy_.cookie_secrets.insert(policy_.cookie_secrets.begin(), random_cookie_secret());
  b.options = edns_opt(edns_option::COOKIE, cookie);
  r = run(b.wire());
  std::string after = (*r.options())[edns_option::COOKIE];
  EXPECT_EQ(after, cookie) << "a young cookie made with the previous secret is echoed";
  // ...and once the previous secret is gone, it gets a fresh one made with the new secret.
  policy_.cookie_secrets.resize(1);
  r = run(b.wire());
  EXPECT_NE((*r.options())[edns_option::COOKIE], cookie);
}

TEST_F(Processor, MalformedCookieIsFormerrWithOpt) {
  for (size_t len : {0u, 5u, 9u, 12u, 15u, 41u}) {
    QueryBuilder b;
    b.edns = true;
    b.options = edns_opt(edns_option::COOKIE, std::string(len, 'c'));
    Reply r = run(b.wire());
    EXPECT_EQ(r.rcode(), rcode::FORMERR) << len;
    auto o = r.options();
    ASSERT_TRUE(o) << len;
    EXPECT_FALSE(o->count(edns_option::COOKIE)) << len;
  }
}

// --- NSID, EXPIRE, CHAOS --------------------------------------------------------------------

TEST_F(Processor, NsidOnlyWhenAskedAndConfigured) {
  QueryBuilder b;
  b.edns = true;
  b.options = edns_opt(edns_option::NSID);
  Reply r = run(b.wire());
  EXPECT_FALSE(r.options()->count(edns_option::NSID)) << "no nsid configured";
  policy_.identity.nsid = "ns1.example";
  r = run(b.wire());
  EXPECT_EQ((*r.options())[edns_option::NSID], "ns1.example");
  // A payload in the query is ignored (RFC 5001 2.1): still answered.
  b.options = edns_opt(edns_option::NSID, "junk");
  r = run(b.wire());
  EXPECT_EQ((*r.options())[edns_option::NSID], "ns1.example");
  b.options.clear();
  r = run(b.wire());
  EXPECT_FALSE(r.options()->count(edns_option::NSID));
  // Over TCP too, and with a cookie beside it.
  b.options = edns_opt(edns_option::NSID) + edns_opt(edns_option::COOKIE, kClient);
  r = run(b.wire(), Transport::tcp);
  EXPECT_EQ((*r.options())[edns_option::NSID], "ns1.example");
  EXPECT_EQ((*r.options())[edns_option::COOKIE].size(), 24u);
}

TEST_F(Processor, ExpireOnSoaQueries) {
  auto table = load_tables();  // its own copy: this test changes the zone's timer
  QueryBuilder b;
  b.qname = "example.com.";
  b.qtype = rrtype::SOA;
  b.edns = true;
  b.options = edns_opt(edns_option::EXPIRE);
  // A primary: the SOA expire field (example.com: 1209600).
  Reply r = run(b.wire(), Transport::udp, "192.0.2.1:5300", nullptr, table.get());
  EXPECT_EQ((*r.options())[edns_option::EXPIRE], u32s(1209600));
  // A secondary: what is left of its expire timer.
  const zone::Zone* z = table->find_exact(W("example.com."));
  z->set_expire_at(static_cast<int64_t>(std::time(nullptr)) + 1000);
  r = run(b.wire(), Transport::udp, "192.0.2.1:5300", nullptr, table.get());
  std::string v = (*r.options())[edns_option::EXPIRE];
  ASSERT_EQ(v.size(), 4u);
  uint32_t left = get32(reinterpret_cast<const uint8_t*>(v.data()));
  EXPECT_GE(left, 998u);
  EXPECT_LE(left, 1000u);
  // Not asked, not a SOA query, not the apex: no EXPIRE.
  b.options.clear();
  r = run(b.wire(), Transport::udp, "192.0.2.1:5300", nullptr, table.get());
  EXPECT_FALSE(r.options()->count(edns_option::EXPIRE));
  b.options = edns_opt(edns_option::EXPIRE);
  b.qtype = rrtype::A;
  b.qname = "www.example.com.";
  r = run(b.wire(), Transport::udp, "192.0.2.1:5300", nullptr, table.get());
  EXPECT_FALSE(r.options()->count(edns_option::EXPIRE));
  b.qtype = rrtype::SOA;
  r = run(b.wire(), Transport::udp, "192.0.2.1:5300", nullptr, table.get());
  EXPECT_FALSE(r.options()->count(edns_option::EXPIRE));
  // An expired secondary: SERVFAIL, no EXPIRE.
  b.qname = "example.com.";
  z->set_expired(true);
  r = run(b.wire(), Transport::udp, "192.0.2.1:5300", nullptr, table.get());
  EXPECT_EQ(r.rcode(), rcode::SERVFAIL);
  EXPECT_FALSE(r.options()->count(edns_option::EXPIRE));
}

TEST_F(Processor, ChaosIdentityAndVersion) {
  policy_.identity.identity = "ns1.example.net";
  policy_.identity.version = "zoned 9.9";
  auto ask = [&](const std::string& name, uint16_t type) {
    QueryBuilder b;
    b.qname = name;
    b.qtype = type;
    b.qclass = rrclass::CH;
    return run(b.wire());
  };
  for (const char* n : {"id.server.", "hostname.bind.", "ID.SERVER."}) {
    Reply r = ask(n, rrtype::TXT);
    EXPECT_EQ(r.rcode(), rcode::NOERROR) << n;
    EXPECT_TRUE(r.aa());
    ASSERT_EQ(r.answer().size(), 1u) << n;
    EXPECT_NE(r.answer()[0].find("CH TXT \"ns1.example.net\""), std::string::npos) << r.answer()[0];
  }
  for (const char* n : {"version.bind.", "version.server."}) {
    Reply r = ask(n, rrtype::TXT);
    ASSERT_EQ(r.answer().size(), 1u) << n;
    EXPECT_NE(r.answer()[0].find("0 CH TXT \"zoned 9.9\""), std::string::npos) << r.answer()[0];
  }
  // Other names and types of class CH: REFUSED.
  EXPECT_EQ(ask("authors.bind.", rrtype::TXT).rcode(), rcode::REFUSED);
  EXPECT_EQ(ask("version.bind.", rrtype::A).rcode(), rcode::REFUSED);
  EXPECT_EQ(ask("version.bind.", rrtype::ANY).rcode(), rcode::REFUSED);
  EXPECT_EQ(ask("www.example.com.", rrtype::TXT).rcode(), rcode::REFUSED);
  // version "" turns the answer off.
  policy_.identity.version.clear();
  EXPECT_EQ(ask("version.bind.", rrtype::TXT).rcode(), rcode::REFUSED);
  EXPECT_EQ(ask("id.server.", rrtype::TXT).rcode(), rcode::NOERROR);
}

// --- NOTIFY and transfers ---------------------------------------------------------------------

namespace {
Acl acl_of(const std::string& prefix, const std::string& key_wire = "") {
  Acl acl;
  AclEntry e;
  EXPECT_TRUE(Acl::parse_prefix(prefix, e));
  e.key = key_wire;
  acl.add(e);
  return acl;
}
}  // namespace

TEST_F(Processor, NotifyIsDecidedAndScheduledHere) {
  TsigKey key = test_key();
  policy_.keys.push_back(key);
  policy_.allow_notify[W("example.com.")] = std::make_shared<Acl>(acl_of("192.0.2.53/32", key.name));
  std::vector<std::pair<std::string, std::string>> notified;
  QueryOptions o;
  o.on_notify = [&](const std::string& origin, const std::string& from) {
    notified.emplace_back(origin, from);
  };
  options(o);
  QueryBuilder b;
  b.opcode = opcode::NOTIFY;
  b.qname = "example.com.";
  b.qtype = rrtype::SOA;
  b.flags = flag::AA;
  // Unsigned, but the remote has a key: REFUSED.
  Reply r = run(b.wire(), Transport::udp, "192.0.2.53:53");
  EXPECT_EQ(r.rcode(), rcode::REFUSED);
  // Signed from another address: REFUSED.
  auto in = b.wire();
  uint64_t now = static_cast<uint64_t>(std::time(nullptr));
  std::string mac = sign(in, key, now);
  r = run(in, Transport::udp, "192.0.2.54:53");
  EXPECT_EQ(r.rcode(), rcode::REFUSED);
  EXPECT_TRUE(notified.empty());
  // Signed from the primary: NOERROR, AA, signed answer, then the refresh is scheduled.
  r = run(in, Transport::udp, "192.0.2.53:53");
  EXPECT_EQ(r.rcode(), rcode::NOERROR);
  EXPECT_TRUE(r.aa());
  EXPECT_EQ(r.opcode(), opcode::NOTIFY);
  EXPECT_EQ(tsig_verify(r.bytes.data(), r.bytes.size(), [&](std::string_view) { return &key; },
                        now, mac, false).status,
            TsigCheck::ok);
  ASSERT_EQ(notified.size(), 1u);
  EXPECT_EQ(notified[0].first, W("example.com."));
  EXPECT_EQ(notified[0].second, "192.0.2.53");
  // Over TCP the same.
  r = run(in, Transport::tcp, "192.0.2.53:40000");
  EXPECT_EQ(r.rcode(), rcode::NOERROR);
  EXPECT_EQ(notified.size(), 2u);
  // Not a secondary zone here: NOTAUTH. Not a SOA question: FORMERR.
  b.qname = "other.net.";
  r = run(b.wire(), Transport::udp, "192.0.2.53:53");
  EXPECT_EQ(r.rcode(), rcode::NOTAUTH);
  b.qname = "example.com.";
  b.qtype = rrtype::A;
  r = run(b.wire(), Transport::udp, "192.0.2.53:53");
  EXPECT_EQ(r.rcode(), rcode::FORMERR);
  EXPECT_EQ(notified.size(), 2u);
}

TEST_F(Processor, TransferAdmission) {
  TsigKey key = test_key();
  policy_.keys.push_back(key);
  policy_.allow_transfer[W("example.com.")] = std::make_shared<Acl>(acl_of("192.0.2.0/24", key.name));
  policy_.allow_transfer[W("other.net.")] = std::make_shared<Acl>(acl_of("192.0.2.0/24"));
  QueryBuilder b;
  b.qname = "example.com.";
  b.qtype = rrtype::AXFR;
  // Unsigned where a key is required: REFUSED.
  Reply r = run(b.wire(), Transport::tcp);
  EXPECT_EQ(r.res.disposition, Disposition::respond);
  EXPECT_EQ(r.rcode(), rcode::REFUSED);
  // Signed, from the allowed prefix: a transfer to stream.
  auto in = b.wire();
  std::string mac = sign(in, key, static_cast<uint64_t>(std::time(nullptr)));
  r = run(in, Transport::tcp);
  ASSERT_EQ(r.res.disposition, Disposition::transfer);
  ASSERT_TRUE(r.res.transfer);
  EXPECT_STREQ(r.res.transfer->mode(), "AXFR");
  // From elsewhere: REFUSED, signed.
  r = run(in, Transport::tcp, "198.51.100.1:4000");
  EXPECT_EQ(r.rcode(), rcode::REFUSED);
  // A zone not served here: NOTAUTH.
  b.qname = "example.org.";
  r = run(b.wire(), Transport::tcp);
  EXPECT_EQ(r.rcode(), rcode::NOTAUTH);
  // AXFR over UDP: REFUSED; IXFR over UDP: the current SOA, authoritatively.
  b.qname = "other.net.";
  r = run(b.wire(), Transport::udp);
  EXPECT_EQ(r.rcode(), rcode::REFUSED);
  b.qtype = rrtype::IXFR;
  r = run(b.wire(), Transport::udp);
  EXPECT_EQ(r.rcode(), rcode::NOERROR);
  EXPECT_TRUE(r.aa());
  ASSERT_EQ(r.answer().size(), 1u);
  EXPECT_NE(r.answer()[0].find("SOA ns.other.net."), std::string::npos);
}

// --- answers that come later ------------------------------------------------------------------

namespace {
// A transport's side of late answers, for the tests: collects what is sent.
class FakeLate : public LateReplies {
 public:
  LateSend open() override {
    ++opened;
    return [this](std::vector<uint8_t> bytes) {
      std::lock_guard<std::mutex> g(mu);
      sent.push_back(std::move(bytes));
    };
  }
  std::vector<std::vector<uint8_t>> take() {
    std::lock_guard<std::mutex> g(mu);
    return sent;
  }
  int opened = 0;
  std::mutex mu;
  std::vector<std::vector<uint8_t>> sent;
};
}  // namespace

TEST_F(Processor, UpdateIsDeferredToTheHandlerAndAnsweredFromAnotherThread) {
  TsigKey key = test_key();
  policy_.keys.push_back(key);
  std::shared_ptr<const DeferredRequest> got;
  Completion done;
  QueryOptions o;
  o.on_update = [&](std::shared_ptr<const DeferredRequest> r, Completion c) {
    got = std::move(r);
    done = std::move(c);
  };
  options(o);
  QueryBuilder b;
  b.opcode = opcode::UPDATE;
  b.qname = "example.com.";
  b.qtype = rrtype::SOA;
  auto in = b.wire();
  uint64_t now = static_cast<uint64_t>(std::time(nullptr));
  std::string mac = sign(in, key, now);
  FakeLate late;
  Reply r = run(in, Transport::udp, "192.0.2.7:3333", &late);
  EXPECT_EQ(r.res.disposition, Disposition::deferred);
  EXPECT_EQ(r.res.size, 0u);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->message, in);
  EXPECT_EQ(got->peer.str(), "192.0.2.7:3333");
  EXPECT_EQ(got->query.opcode, opcode::UPDATE);
  EXPECT_EQ(got->query.name_lower(), W("example.com."));
  ASSERT_EQ(got->tsig.status, TsigCheck::ok);
  ASSERT_TRUE(got->tsig.key);
  EXPECT_EQ(got->tsig.key->name, key.name);
  EXPECT_EQ(late.opened, 1);
  // The handler answers later, from its own thread; the answer goes out signed.
  std::vector<uint8_t> answer(got->message.begin(), got->message.begin() + 12 + W("example.com.").size() + 4);
  answer[2] |= 0x80;  // QR
  put16(answer.data() + 10, 0);
  std::thread t([&] { done(answer); });
  t.join();
  auto sent = late.take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_GT(sent[0].size(), answer.size());
  EXPECT_EQ(tsig_verify(sent[0].data(), sent[0].size(), [&](std::string_view) { return &key; },
                        now, mac, false).status,
            TsigCheck::ok);
  // Calling again does nothing; a completion dropped uncalled releases the transport's slot.
  done(answer);
  EXPECT_EQ(late.take().size(), 1u);
  r = run(b.wire(), Transport::tcp, "192.0.2.7:3334", &late);
  EXPECT_EQ(r.res.disposition, Disposition::deferred);
  done = nullptr;
  got.reset();
  sent = late.take();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_TRUE(sent[1].empty());
  // A transport that cannot answer later: NOTIMP.
  r = run(b.wire());
  EXPECT_EQ(r.rcode(), rcode::NOTIMP);
}

// --- rate limiting --------------------------------------------------------------------------

TEST_F(Processor, RateLimitSlipsAndDropsOverUdpOnly) {
  policy_.rate_limit.responses_per_second = 5;
  policy_.rate_limit.slip = 2;
  QueryBuilder b;
  auto in = b.wire();
  int answered = 0, slipped = 0, dropped = 0;
  for (int i = 0; i < 45; ++i) {
    // Many addresses of one /24: one bucket.
    Reply r = run(in, Transport::udp, "198.51.100." + std::to_string(i) + ":4000");
    if (r.dropped()) {
      ++dropped;
      EXPECT_TRUE(r.res.rate_limited);
    } else if (r.tc()) {
      ++slipped;
      EXPECT_EQ(r.count(1) + r.count(2) + r.count(3), 0);
      EXPECT_LE(r.bytes.size(), in.size());  // never more bytes out than in
    } else {
      ++answered;
      EXPECT_EQ(r.count(1), 2);
    }
  }
  EXPECT_EQ(answered, 5);
  EXPECT_EQ(slipped, 20);
  EXPECT_EQ(dropped, 20);
  EXPECT_EQ(qp_->stats().get(QueryStats::rrl_dropped), 20u);
  EXPECT_EQ(qp_->stats().get(QueryStats::rrl_slipped), 20u);
  // TCP is never limited; nor is another /24.
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(run(in, Transport::tcp, "198.51.100.1:4000").count(1), 2);
    // Limited from the 6th on: the 1st, 3rd, ... limited ones dropped, the others slipped.
    EXPECT_EQ(run(in, Transport::udp, "198.51.101.1:4000").dropped(), i >= 5 && i % 2 == 1);
  }
}

TEST_F(Processor, RateLimitSparesCookiesTsigAndExemptPrefixes) {
  policy_.rate_limit.responses_per_second = 2;
  policy_.rate_limit.slip = 2;
  AclEntry e;
  ASSERT_TRUE(Acl::parse_prefix("203.0.113.0/24", e));
  policy_.rate_limit.exempt.add(e);
  QueryBuilder b;
  for (int i = 0; i < 20; ++i) EXPECT_FALSE(run(b.wire(), Transport::udp, "203.0.113.9:53").res.rate_limited);
  // A client with a valid server cookie proved its address.
  b.edns = true;
  b.options = edns_opt(edns_option::COOKIE, kClient);
  std::string cookie = (*run(b.wire(), Transport::udp, "192.0.2.44:53").options())[edns_option::COOKIE];
  b.options = edns_opt(edns_option::COOKIE, cookie);
  for (int i = 0; i < 20; ++i) {
    Reply r = run(b.wire(), Transport::udp, "192.0.2.44:53");
    EXPECT_FALSE(r.res.rate_limited) << i;
    EXPECT_EQ(r.count(1), 2);
  }
  // One with only a client cookie is limited, and its slips are BADCOOKIE with a fresh
  // server cookie (RFC 7873 5.2.3): it can retry over UDP with it at once.
  b.options = edns_opt(edns_option::COOKIE, kClient);
  int badcookie = 0;
  for (int i = 0; i < 10; ++i) {
    Reply r = run(b.wire(), Transport::udp, "192.0.3.45:53");
    if (r.res.rate_limited && !r.dropped()) {
      ++badcookie;
      EXPECT_EQ(r.rcode(), rcode::BADCOOKIE);
      EXPECT_FALSE(r.tc());
      EXPECT_EQ((*r.options())[edns_option::COOKIE].size(), 24u);
    }
  }
  EXPECT_EQ(badcookie, 4);
  // Signed queries are not limited.
  TsigKey key = test_key();
  policy_.keys.push_back(key);
  QueryBuilder s;
  for (int i = 0; i < 10; ++i) {
    auto in = s.wire();
    sign(in, key, static_cast<uint64_t>(std::time(nullptr)));
    EXPECT_FALSE(run(in, Transport::udp, "192.0.2.46:53").res.rate_limited);
  }
}

TEST_F(Processor, RateLimitCountsNxdomainByZone) {
  policy_.rate_limit.responses_per_second = 3;
  policy_.rate_limit.slip = 0;
  int answered = 0;
  for (int i = 0; i < 10; ++i) {
    QueryBuilder b;
    b.qname = "random" + std::to_string(i) + ".example.com.";  // every name different
    if (!run(b.wire()).dropped()) ++answered;
  }
  EXPECT_EQ(answered, 3);
}

// --- counters and the log line ----------------------------------------------------------------

TEST_F(Processor, CountersByTransportOpcodeTypeAndRcode) {
  QueryBuilder a;
  run(a.wire());
  run(a.wire(), Transport::tcp);
  QueryBuilder nx;
  nx.qname = "nothere.example.com.";
  nx.qtype = rrtype::AAAA;
  run(nx.wire());
  QueryBuilder st;
  st.opcode = opcode::STATUS;
  st.qdcount = 0;
  run(st.wire());
  std::vector<uint8_t> junk = {1, 2, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0};  // QR=1
  run(junk);
  const QueryStats& s = qp_->stats();
  EXPECT_EQ(s.get(QueryStats::udp), 4u);
  EXPECT_EQ(s.get(QueryStats::tcp), 1u);
  EXPECT_EQ(s.get(QueryStats::opcode + 0), 3u);
  EXPECT_EQ(s.get(QueryStats::opcode + opcode::STATUS), 1u);
  EXPECT_EQ(s.get(QueryStats::qtype + rrtype::A), 2u);
  EXPECT_EQ(s.get(QueryStats::qtype + rrtype::AAAA), 1u);
  EXPECT_EQ(s.get(QueryStats::rcode + rcode::NOERROR), 2u);
  EXPECT_EQ(s.get(QueryStats::rcode + rcode::NXDOMAIN), 1u);
  EXPECT_EQ(s.get(QueryStats::rcode + rcode::NOTIMP), 1u);
  EXPECT_EQ(s.get(QueryStats::malformed), 1u);
  QueryStats total;
  s.add_to(total);
  s.add_to(total);
  EXPECT_EQ(total.get(QueryStats::udp), 8u);
}

TEST_F(Processor, QueryLogLineNamesEverything) {
  QueryBuilder b;
  b.edns = true;
  b.do_bit = true;
  Reply r = run(b.wire(), Transport::udp, "127.0.0.1:40521");
  EXPECT_EQ(query_log_line(Transport::udp, peer("127.0.0.1:40521"), parsed_, r.res),
            "udp 127.0.0.1:40521 www.example.com A -> NOERROR " + std::to_string(r.bytes.size()) +
                " bytes edns 1232 do");
  QueryBuilder nx;
  nx.qname = "nothere.example.com.";
  nx.qtype = rrtype::MX;
  r = run(nx.wire(), Transport::tcp, "[::1]:5353");
  EXPECT_EQ(query_log_line(Transport::tcp, peer("[::1]:5353"), parsed_, r.res),
            "tcp [::1]:5353 nothere.example.com MX -> NXDOMAIN " + std::to_string(r.bytes.size()) +
                " bytes");
  QueryBuilder st;
  st.opcode = opcode::STATUS;
  st.qdcount = 0;
  r = run(st.wire());
  EXPECT_EQ(query_log_line(Transport::udp, peer("192.0.2.1:5300"), parsed_, r.res),
            "udp 192.0.2.1:5300 OPCODE2 - -> NOTIMP 12 bytes");
  QueryBuilder ch;
  ch.qname = "version.bind.";
  ch.qtype = rrtype::TXT;
  ch.qclass = rrclass::CH;
  r = run(ch.wire());
  EXPECT_NE(query_log_line(Transport::udp, peer("192.0.2.1:5300"), parsed_, r.res)
                .find("version.bind CH TXT -> "),
            std::string::npos);
}
