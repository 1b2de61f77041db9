// libFuzzer target: arbitrary bytes through QueryProcessor::process (UDP and TCP) against the
// test zones (tests/data/zones, plus big.test whose answers exceed 512 and 1232 bytes),
// checking what a client relies on rather than only "no crash":
//   - nothing answers a message shorter than a header or with QR=1;
//   - a response fits its transport: 512 bytes over UDP without EDNS, min(payload, 1232)
//     (never below 512) with EDNS, 65535 over TCP;
//   - it parses as a DNS message (ldns_wire2pkt), keeps the query's id, has QR set;
//   - the same input gives the same bytes whatever the output buffer held before
//     (catches reads of bytes the renderer never wrote);
//   - a UDP response without TC carries the same header, answer and authority as the TCP one
//     and all its in-domain glue (only optional additional records may be left out
//     without setting TC).
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

QueryResult run(const uint8_t* in, size_t len, Transport t, uint8_t* out, uint8_t fill,
                ParsedQuery& q) {
  std::memset(out, fill, kMaxMessage);
  static const QueryProcessor proc;
  return proc.process(in, len, t, zones(), out, kMaxMessage, q);
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
  // NOTIFY and transfers go to handlers that need the source address (the transport's);
  // the processor hands them over only for well-formed messages of those kinds.
  bool handed_over = udp.disposition != Disposition::respond || tcp.disposition != Disposition::respond;
  if (handed_over) {
    CHECK(tcp.size == 0);
    CHECK(udp.disposition == Disposition::respond || udp.size == 0);  // UDP AXFR: REFUSED
    bool notify = ((get16(data + 2) >> 11) & 0xF) == opcode::NOTIFY;
    CHECK(notify ? (udp.disposition == Disposition::notify && tcp.disposition == Disposition::notify)
                 : (q_tcp.qtype == rrtype::IXFR || q_tcp.qtype == rrtype::AXFR));
    CHECK(tcp.disposition != Disposition::respond);
    return 0;
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
