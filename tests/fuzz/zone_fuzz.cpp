// libFuzzer target: arbitrary text through zone::load_zone_text. Errors are fine; crashes,
// leaks, UB and hangs are not. A zone that loads must be servable: every owner name is
// queried (its own types and ANY) and each response must parse with ldns, which exercises the
// renderer on RDATA the loader accepted.
//
// Inputs with $INCLUDE are skipped: the loader would open whatever path the fuzzer wrote
// (/dev/stdin, /dev/urandom, ...), which tests the file system, not the parser.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "server/query.h"
#include "zone/loader.h"
#include "zone/wire/name.h"

// Last: ldns/common.h #defines bool, true and false, which breaks libstdc++ headers after it.
#include <ldns/ldns.h>

using namespace zone::wire;

namespace {

bool mentions_include(std::string_view text) {
  static constexpr std::string_view kInclude = "$include";
  auto it = std::search(text.begin(), text.end(), kInclude.begin(), kInclude.end(),
                        [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
  return it != text.end();
}

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "zone_fuzz invariant broken: %s\n", what);
  std::abort();
}

void query_and_check(const server::QueryProcessor& proc, const zone::ZoneTable& table,
                     std::string_view owner, uint16_t qtype, uint8_t* out) {
  // A plain query: header, question, no EDNS. TCP so that nothing is truncated away.
  uint8_t msg[kHeaderSize + kMaxNameLen + 4] = {};
  put16(msg, 0x1234);
  put16(msg + 4, 1);
  std::copy(owner.begin(), owner.end(), msg + kHeaderSize);
  put16(msg + kHeaderSize + owner.size(), qtype);
  put16(msg + kHeaderSize + owner.size() + 2, rrclass::IN);
  ParsedQuery q;
  server::QueryResult r = proc.process(msg, kHeaderSize + owner.size() + 4, server::Transport::tcp,
                                       table, out, kMaxMessage, q);
  if (r.disposition != server::Disposition::respond) fail("a query gets an answer");
  ldns_pkt* pkt = nullptr;
  ldns_status s = ldns_wire2pkt(&pkt, out, r.size);
  if (s != LDNS_STATUS_OK) {
    std::fprintf(stderr, "ldns_wire2pkt: %s (qtype %u)\n", ldns_get_errorstr_by_id(s), qtype);
    fail("response parses with ldns_wire2pkt");
  }
  ldns_pkt_free(pkt);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (mentions_include(text)) return -1;  // keep such inputs out of the corpus
  static const std::string origin = *name_from_text("example.com.");
  zone::LoadResult res = zone::load_zone_text(text, origin);
  if (!res.ok()) {
    if (res.errors.empty()) fail("a failed load says why");
    return 0;
  }
  if (!res.errors.empty()) fail("a loaded zone has no errors");
  if (res.zone->origin() != origin) fail("the zone has the origin it was loaded for");

  std::map<std::string, std::shared_ptr<const zone::Zone>> m{{origin, res.zone}};
  zone::ZoneTable table(std::move(m));
  static const server::QueryProcessor proc;
  static std::unique_ptr<uint8_t[]> out(new uint8_t[kMaxMessage]);
  size_t budget = 64;  // names queried per input, to keep executions fast
  res.zone->for_each_node([&](const zone::Node& n) {
    if (budget == 0) return;
    --budget;
    query_and_check(proc, table, n.name, rrtype::ANY, out.get());
    for (const auto& rrset : n.rrsets) query_and_check(proc, table, n.name, rrset.type, out.get());
  });
  return 0;
}
