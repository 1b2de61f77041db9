// libFuzzer target: arbitrary text through zone::load_zone_text. Errors are fine; crashes,
// leaks, UB and hangs are not. The direct zone-file parser must give exactly what ldns gives
// (the same records and warnings as ParserKind::ldns, errors on the same lines). A zone that
// loads must be servable: every owner name is queried (its own types and ANY) and each
// response must parse with ldns, which exercises the renderer on RDATA the loader accepted.
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
#include "zone/loader_internal.h"
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

std::string hex(std::string_view s) {
  std::string o;
  char b[3];
  for (unsigned char c : s) {
    std::snprintf(b, sizeof b, "%02x", c);
    o += b;
  }
  return o;
}

// The direct parser against ldns: the same ZoneBuilder::add calls, errors and warnings.
void check_same(const zone::LoadResult& ref, const std::vector<zone::loader_internal::Added>& ref_adds,
                const zone::LoadResult& got, const std::vector<zone::loader_internal::Added>& got_adds) {
  auto errors = [](const std::vector<zone::ZoneError>& v) {
    std::string s;
    for (const auto& e : v) s += "  " + e.str() + "\n";
    return s;
  };
  // Errors on the same lines (the wording may differ: loader_test checks it).
  auto error_lines = [](const std::vector<zone::ZoneError>& v) {
    std::string s;
    for (const auto& e : v) s += e.where.str() + "\n";
    return s;
  };
  bool same_adds = ref_adds.size() == got_adds.size();
  for (size_t i = 0; same_adds && i < ref_adds.size(); ++i) same_adds = ref_adds[i] == got_adds[i];
  if (same_adds && error_lines(ref.errors) == error_lines(got.errors) &&
      errors(ref.warnings) == errors(got.warnings) && ref.ok() == got.ok())
    return;
  std::fprintf(stderr, "ldns: %zu records, errors:\n%s", ref_adds.size(), errors(ref.errors).c_str());
  std::fprintf(stderr, "fast: %zu records, errors:\n%s", got_adds.size(), errors(got.errors).c_str());
  for (size_t i = 0; i < std::max(ref_adds.size(), got_adds.size()); ++i) {
    auto show = [](const zone::loader_internal::Added& a) {
      return a.where.str() + " " + hex(a.owner) + " " + std::to_string(a.type) + " " +
             std::to_string(a.ttl) + " " + hex(a.rdata);
    };
    std::string l = i < ref_adds.size() ? show(ref_adds[i]) : "-";
    std::string f = i < got_adds.size() ? show(got_adds[i]) : "-";
    if (l != f) std::fprintf(stderr, "record %zu:\n  ldns %s\n  fast %s\n", i, l.c_str(), f.c_str());
  }
  fail("the direct zone-file parser gives what ldns gives");
}

void query_and_check(server::QueryProcessor& proc, const zone::ZoneTable& table,
                     std::string_view owner, uint16_t qtype, uint8_t* out) {
  // A plain query: header, question, no EDNS. TCP so that nothing is truncated away.
  uint8_t msg[kHeaderSize + kMaxNameLen + 4] = {};
  put16(msg, 0x1234);
  put16(msg + 4, 1);
  std::copy(owner.begin(), owner.end(), msg + kHeaderSize);
  put16(msg + kHeaderSize + owner.size(), qtype);
  put16(msg + kHeaderSize + owner.size() + 2, rrclass::IN);
  ParsedQuery q;
  static const server::Policy policy;
  server::Request req{msg, kHeaderSize + owner.size() + 4, server::Transport::tcp, {}, nullptr};
  server::QueryResult r = proc.process(req, table, policy, out, kMaxMessage, q);
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
  namespace li = zone::loader_internal;
  std::vector<li::Added> fast_adds, ldns_adds;
  li::Options fast_opts, ldns_opts;
  fast_opts.parser = li::ParserKind::fast;
  fast_opts.pipeline = false;
  fast_opts.trace = &fast_adds;
  ldns_opts.parser = li::ParserKind::ldns;
  ldns_opts.trace = &ldns_adds;
  zone::LoadResult res = li::load_text(text, origin, "<text>", fast_opts);
  zone::LoadResult ref = li::load_text(text, origin, "<text>", ldns_opts);
  check_same(ref, ldns_adds, res, fast_adds);
  if (!res.ok()) {
    if (res.errors.empty()) fail("a failed load says why");
    return 0;
  }
  if (!res.errors.empty()) fail("a loaded zone has no errors");
  if (res.zone->origin() != origin) fail("the zone has the origin it was loaded for");

  std::map<std::string, std::shared_ptr<const zone::Zone>> m{{origin, res.zone}};
  zone::ZoneTable table(std::move(m));
  static server::QueryProcessor proc;
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
