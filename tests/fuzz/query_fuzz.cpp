// libFuzzer target: arbitrary bytes through QueryProcessor::process (UDP and TCP) against the
// test zones (tests/data/zones, plus big.test whose answers exceed 512 and 1232 bytes), with
// a policy that makes every path reachable: a TSIG key, transfers and NOTIFY allowed from
// the fuzzer's address, an NSID, CHAOS identity, DNS cookies, an UPDATE handler, and (on a
// separate processor) the response rate limit. It checks what a client relies on rather
// than only "no crash":
//   - nothing answers a message shorter than a header or with QR=1;
//   - a response fits its transport: 512 bytes over UDP without EDNS, min(payload, 1232)
//     (never below 512) with EDNS, 65535 over TCP;
//   - it parses as a DNS message (ldns_wire2pkt), keeps the query's id, has QR set;
//   - the same input gives the same bytes whatever the output buffer held before
//     (catches reads of bytes the renderer never wrote);
//   - a UDP response without TC carries the same header, answer and authority as the TCP one
//     and all its in-domain glue (only optional additional records may be left out
//     without setting TC);
//   - a transfer is handed over only for AXFR/IXFR over TCP, an answer deferred only for
//     UPDATE; every message of a transfer parses and carries the query's id;
//   - under the rate limit a response is dropped, or sent no bigger than the query.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>

#include "server/query.h"
#include "zone/loader.h"
#include "zone/wire/name.h"

// Last: ldns/common.h #defines bool, true and false, which breaks libstdc++ headers after it.
#include <ldns/ldns.h>

#if !defined(ZONED_FUZZ_ZONE_DIR) || !defined(ZONED_FUZZ_BIG_ZONE_DIR)
#error "ZONED_FUZZ_ZONE_DIR and ZONED_FUZZ_BIG_ZONE_DIR must name the zone directories"
#endif

using namespace zone::wire;
using server::Disposition;
using server::QueryProcessor;
using server::QueryResult;
using server::Request;
using server::Transport;

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "query_fuzz invariant broken: %s\n", what);
  std::abort();
}
#define CHECK(cond)                  \
  do {                               \
    if (!(cond)) fail(#cond);        \
  } while (0)

const zone::ZoneTable& zones() {
  static const zone::ZoneTable* table = [] {
    std::map<std::string, std::shared_ptr<const zone::Zone>> m;
    // The shared test zones, and a fuzz-only zone with RRsets large enough to truncate.
    const std::pair<const char*, const char*> files[] = {
        {ZONED_FUZZ_ZONE_DIR, "example.com."},
        {ZONED_FUZZ_ZONE_DIR, "child.example.com."},
        {ZONED_FUZZ_ZONE_DIR, "other.net."},
        {ZONED_FUZZ_BIG_ZONE_DIR, "big.test."},
    };
    for (const auto& [dir, name] : files) {
      auto origin = name_from_text(name);
      std::string path = std::string(dir) + "/" + name + "zone";
      zone::LoadResult res = zone::load_zone_file(path, *origin);
      if (!res.ok()) {
        // Fuzzing an empty table would "pass" while testing nothing.
        for (const auto& e : res.errors) std::fprintf(stderr, "%s\n", e.str().c_str());
        std::abort();
      }
      m.emplace(*origin, res.zone);
    }
    return new zone::ZoneTable(std::move(m));
  }();
  return *table;
}

struct PktFree {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
using PktPtr = std::unique_ptr<ldns_pkt, PktFree>;

// Exactly 65535 bytes on the heap, so that ASan sees any write past the promised capacity.
struct OutBuf {
  std::unique_ptr<uint8_t[]> p{new uint8_t[kMaxMessage]};
};

uint64_t fixed_clock() { return 1767225600; }  // the same second for every run: same bytes

zone::wire::TsigKey fuzz_key() {
  std::string err;
  auto k = zone::wire::make_tsig_key("fuzz-key", "hmac-sha256", "c2VjcmV0c2VjcmV0c2VjcmV0", &err);
  if (!k) fail("TSIG key");
  return *k;
}

const server::Policy& policy() {
  static const server::Policy* p = [] {
    auto* p = new server::Policy;
    p->keys.push_back(fuzz_key());
    server::AclEntry any;
    server::Acl::parse_prefix("192.0.2.0/24", any);
    auto acl = std::make_shared<server::Acl>();
    acl->add(any);
    for (const char* z : {"example.com.", "child.example.com.", "other.net.", "big.test."}) {
      p->allow_transfer[*name_from_text(z)] = acl;
      p->allow_notify[*name_from_text(z)] = acl;
    }
    p->identity.nsid = "fuzz-ns";
    p->identity.identity = "fuzz.example";
    p->identity.version = "zoned fuzz";
    p->cookie_secrets = {server::CookieSecret{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}};
    return p;
  }();
  return *p;
}

server::Peer fuzz_peer() {
  server::Peer p;
  server::Peer::parse("192.0.2.7:5353", p);
  return p;
}

// UPDATE goes to a handler that answers at once with what it was given (echoing the header).
class ImmediateLate : public server::LateReplies {
 public:
  server::LateSend open() override {
    return [](std::vector<uint8_t> bytes) {
      if (!bytes.empty() && bytes.size() < kHeaderSize) fail("a late answer has a header");
    };
  }
};

server::QueryOptions fuzz_options() {
  server::QueryOptions o;
  o.clock = fixed_clock;
  o.on_notify = [](const std::string&, const std::string&) {};
  o.on_update = [](std::shared_ptr<const server::DeferredRequest> r, server::Completion done) {
    if (r->query.opcode != opcode::UPDATE) fail("only UPDATE is deferred");
    std::vector<uint8_t> a(r->message.begin(), r->message.begin() + kHeaderSize);
    a[2] |= 0x80;
    done(std::move(a));
  };
  return o;
}

QueryResult run(const uint8_t* in, size_t len, Transport t, uint8_t* out, uint8_t fill,
                ParsedQuery& q) {
  std::memset(out, fill, kMaxMessage);
  static QueryProcessor proc(fuzz_options());
  static ImmediateLate late;
  Request req{in, len, t, fuzz_peer(), &late};
  return proc.process(req, zones(), policy(), out, kMaxMessage, q);
}

bool has_opt(const uint8_t* msg, size_t len) {
  // The OPT we add is always the last record: root name, type 41.
  return len >= kHeaderSize + 11 && get16(msg + 10) > 0 && msg[len - 11] == 0 &&
         get16(msg + len - 10) == rrtype::OPT;
}

PktPtr check_response(const uint8_t* in, size_t len, Transport t, const uint8_t* out,
                      const QueryResult& r, const ParsedQuery& q) {
  CHECK(r.size >= kHeaderSize);
  CHECK(r.size <= kMaxMessage);
  if (t == Transport::udp) {
    size_t limit = kClassicUdpSize;
    if (q.edns.present) {
      limit = q.edns.udp_payload < kDefaultUdpPayload ? q.edns.udp_payload : kDefaultUdpPayload;
      if (limit < kClassicUdpSize) limit = kClassicUdpSize;
    }
    CHECK(r.size <= limit);
    // Independent of the parse: without an OPT in the response, 512 is the most we may send.
    if (!has_opt(out, r.size)) CHECK(r.size <= kClassicUdpSize);
  }
  CHECK(get16(out) == get16(in));      // id
  CHECK(get16(out + 2) & flag::QR);
  CHECK(((get16(out + 2) ^ get16(in + 2)) & 0x7800) == 0);  // opcode echoed
  ldns_pkt* raw = nullptr;
  ldns_status s = ldns_wire2pkt(&raw, out, r.size);
  PktPtr pkt(raw);
  if (s != LDNS_STATUS_OK) {
    std::fprintf(stderr, "ldns_wire2pkt: %s\n", ldns_get_errorstr_by_id(s));
    fail("response parses with ldns_wire2pkt");
  }
  CHECK(ldns_pkt_id(pkt.get()) == get16(in));
  CHECK(ldns_pkt_qr(pkt.get()));
  return pkt;
}

bool same_section(ldns_rr_list* a, ldns_rr_list* b) {
  if (ldns_rr_list_rr_count(a) != ldns_rr_list_rr_count(b)) return false;
  for (size_t i = 0; i < ldns_rr_list_rr_count(a); ++i)
    if (ldns_rr_compare(ldns_rr_list_rr(a, i), ldns_rr_list_rr(b, i)) != 0) return false;
  return true;
}

bool contains(ldns_rr_list* list, const ldns_rr* rr) {
  for (size_t i = 0; i < ldns_rr_list_rr_count(list); ++i)
    if (ldns_rr_compare(ldns_rr_list_rr(list, i), rr) == 0) return true;
  return false;
}

// In-domain glue (addresses of names below a delegation in the authority section) is
// required (RFC 9471): a UDP referral may leave it out only with TC set.
bool has_required_glue(ldns_pkt* udp, ldns_pkt* tcp) {
  ldns_rr_list* auth = ldns_pkt_authority(tcp);
  ldns_rr_list* add = ldns_pkt_additional(tcp);
  for (size_t i = 0; i < ldns_rr_list_rr_count(add); ++i) {
    const ldns_rr* glue = ldns_rr_list_rr(add, i);
    for (size_t j = 0; j < ldns_rr_list_rr_count(auth); ++j) {
      const ldns_rr* ns = ldns_rr_list_rr(auth, j);
      if (ldns_rr_get_type(ns) == LDNS_RR_TYPE_NS &&
          ldns_dname_is_subdomain(ldns_rr_owner(glue), ldns_rr_owner(ns)) &&
          !contains(ldns_pkt_additional(udp), glue))
        return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  zones();  // load once, before the first input, so a bad zone fails loudly at start
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static OutBuf udp_out, udp_out2, tcp_out;
  ParsedQuery q_udp, q_udp2, q_tcp;

  QueryResult udp = run(data, size, Transport::udp, udp_out.p.get(), 0x00, q_udp);
  QueryResult tcp = run(data, size, Transport::tcp, tcp_out.p.get(), 0xA5, q_tcp);

  bool must_drop = size < kHeaderSize || (get16(data + 2) & flag::QR);
  if (must_drop) {
    CHECK(udp.disposition == Disposition::drop);
    CHECK(tcp.disposition == Disposition::drop);
    return 0;
  }
  // A transfer is streamed by the TCP session, an UPDATE answered later: nothing else is.
  bool is_update = ((get16(data + 2) >> 11) & 0xF) == opcode::UPDATE;
  CHECK(udp.disposition != Disposition::transfer);
  if (udp.disposition == Disposition::deferred || tcp.disposition == Disposition::deferred) {
    CHECK(is_update);
    return 0;
  }
  if (tcp.disposition == Disposition::transfer) {
    CHECK(q_tcp.qtype == rrtype::AXFR || q_tcp.qtype == rrtype::IXFR);
    CHECK(tcp.transfer);
    CHECK(tcp.size == 0);
    for (int i = 0; i < 1000; ++i) {
      auto m = tcp.transfer->next();
      if (m.empty()) break;
      CHECK(m.size() >= 2 + kHeaderSize);
      CHECK((static_cast<size_t>(m[0]) << 8 | m[1]) == m.size() - 2);
      CHECK(get16(m.data() + 2) == get16(data));
      ldns_pkt* raw = nullptr;
      CHECK(ldns_wire2pkt(&raw, m.data() + 2, m.size() - 2) == LDNS_STATUS_OK);
      ldns_pkt_free(raw);
    }
    CHECK(!tcp.transfer->failed());
    return 0;
  }
  CHECK(tcp.disposition == Disposition::respond);
  CHECK(udp.disposition == Disposition::respond);

  // Under a rate limit: dropped, or a response no bigger than the query (slips) or a normal
  // one; never a crash, never an amplification past the first responses.
  {
    static QueryProcessor limited([] {
      server::QueryOptions o = fuzz_options();
      return o;
    }());
    static server::Policy rl = [] {
      server::Policy p = policy();
      p.rate_limit.responses_per_second = 1;
      p.rate_limit.slip = 2;
      return p;
    }();
    static OutBuf rl_out;
    ParsedQuery q_rl;
    static ImmediateLate late;
    Request req{data, size, Transport::udp, fuzz_peer(), &late};
    QueryResult r = limited.process(req, zones(), rl, rl_out.p.get(), kMaxMessage, q_rl);
    if (r.rate_limited && r.disposition == Disposition::respond) {
      CHECK(r.size <= size + 11 + server::kCookieOptionLen);
      PktPtr p = check_response(data, size, Transport::udp, rl_out.p.get(), r, q_rl);
    }
  }

  PktPtr up = check_response(data, size, Transport::udp, udp_out.p.get(), udp, q_udp);
  PktPtr tp = check_response(data, size, Transport::tcp, tcp_out.p.get(), tcp, q_tcp);

  // Same input, different stale bytes in the buffer: same output.
  QueryResult udp2 = run(data, size, Transport::udp, udp_out2.p.get(), 0xFF, q_udp2);
  CHECK(udp2.size == udp.size);
  CHECK(std::memcmp(udp_out.p.get(), udp_out2.p.get(), udp.size) == 0);

  // TCP is never truncated (our zones are far below 64 KiB per answer).
  CHECK(!ldns_pkt_tc(tp.get()));
  if (!ldns_pkt_tc(up.get())) {
    CHECK(get16(udp_out.p.get() + 2) == get16(tcp_out.p.get() + 2));  // flags and rcode
    CHECK(ldns_pkt_get_rcode(up.get()) == ldns_pkt_get_rcode(tp.get()));
    CHECK(same_section(ldns_pkt_question(up.get()), ldns_pkt_question(tp.get())));
    CHECK(same_section(ldns_pkt_answer(up.get()), ldns_pkt_answer(tp.get())));
    CHECK(same_section(ldns_pkt_authority(up.get()), ldns_pkt_authority(tp.get())));
    CHECK(has_required_glue(up.get(), tp.get()));
  }
  return 0;
}
