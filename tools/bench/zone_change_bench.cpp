// What a 1-record change to a big zone costs, and what versions cost queries.
//
//   build/zone_change_bench [--records 1000000] [--changes 5000] [--lookups 3000000]
//                           [--max-overlay N] [--signed]
//
// Generates a zone in memory (the mix of tools/bench/bench.py: hosts with A/AAAA, aliases,
// TXT, delegations with glue, a wildcard), then applies --changes changesets of one record
// each (a new name, a record more at a host, a record removed), each on the version before,
// timing apply_changeset (edit, derive, validate: everything but persisting and publishing).
// Then lookups per second on the flat zone and on the last version (the largest overlay
// before a compaction), on the same query mix; with --signed the zone has an NSEC chain and
// the NSEC proof lookup is timed too.
//
// Built with -DZONE_BENCH_LOOKUPS_ONLY it needs nothing but ZoneBuilder and lookup, so that
// it compiles against an older tree too: the flat zone's lookups, before and after.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <malloc.h>
#include <time.h>

#include "zone/changeset.h"
#include "zone/lookup.h"
#ifndef ZONE_BENCH_LOOKUPS_ONLY
#include "zone/overlay.h"
#endif
#include "zone/wire/rdata.h"
#include "zone/wire/types.h"
#include "zone/zone.h"

using namespace zone;
using namespace zone::wire;
using Clock = std::chrono::steady_clock;

namespace {

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

long rss_mib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6) / 1024;
  return -1;
}

std::string name(const std::string& label, const std::string& origin) {
  return std::string(1, static_cast<char>(label.size())) + label + origin;
}

std::string a_rdata(uint32_t i) {
  return std::string{10, static_cast<char>(i >> 16), static_cast<char>(i >> 8), static_cast<char>(i)};
}

struct Bench {
  std::string origin = name("bench", name("test", std::string(1, '\0')));
  size_t hosts = 0;
  bool dnssec = false;

  // The zone of tools/bench/bench.py (about 1.9 records per host).
  std::shared_ptr<const Zone> generate(size_t records) {
    std::mt19937 rnd(42);
    ZoneBuilder b(origin, "generated");
    b.reserve_for_text(records * 40);
    std::string soa = name("ns1", origin) + name("hostmaster", origin);
    soa += std::string{0, 0, 0, 1, 0, 0, 0x1c, 0x20, 0, 0, 0x0e, 0x10, 0, 0x12, 0x75, 0, 0, 0, 1, 0x2c};
    auto add = [&](const std::string& owner, uint16_t type, std::string rd) {
      b.add(owner, type, 3600, rd);
      if (dnssec && type != rrtype::NSEC) nsec_owners_.push_back(owner);
    };
    add(origin, rrtype::SOA, soa);
    add(origin, rrtype::NS, name("ns1", origin));
    add(origin, rrtype::NS, name("ns2", origin));
    add(name("ns1", origin), rrtype::A, a_rdata(1));
    add(name("ns2", origin), rrtype::A, a_rdata(2));
    add(name("*", name("wild", origin)), rrtype::A, a_rdata(99));
    if (dnssec) add(origin, rrtype::DNSKEY, std::string{1, 1, 3, 13} + std::string(64, 'k'));
    size_t n = 7;
    for (hosts = 0; n < records; ++hosts) {
      std::string h = name("host" + std::to_string(hosts), origin);
      add(h, rrtype::A, a_rdata(static_cast<uint32_t>(hosts)));
      ++n;
      double r = std::uniform_real_distribution<double>(0, 1)(rnd);
      if (r < 0.5) {
        std::string aaaa(16, '\0');
        aaaa[0] = 0x20, aaaa[1] = 0x01, aaaa[14] = static_cast<char>(hosts >> 8), aaaa[15] = static_cast<char>(hosts);
        add(h, rrtype::AAAA, aaaa);
        ++n;
      } else if (r < 0.7) {
        add(name("www" + std::to_string(hosts), origin), rrtype::CNAME, h);
        ++n;
      } else if (r < 0.8) {
        add(h, rrtype::TXT, "\x0ev=spf1 -all ok");
        ++n;
      } else if (r < 0.85) {
        std::string cut = name("sub" + std::to_string(hosts), origin);
        add(cut, rrtype::NS, name("ns", cut));
        b.add(name("ns", cut), rrtype::A, 3600, a_rdata(static_cast<uint32_t>(hosts)));  // glue: no NSEC
        n += 2;
      }
    }
    if (dnssec) {
      // Every authoritative name gets an NSEC (its next name is not checked beyond a
      // warning, and signatures not at all).
      std::sort(nsec_owners_.begin(), nsec_owners_.end());
      nsec_owners_.erase(std::unique(nsec_owners_.begin(), nsec_owners_.end()), nsec_owners_.end());
      for (const auto& o : nsec_owners_) b.add(o, rrtype::NSEC, 3600, origin + std::string("\x00\x01\x40", 3));
    }
    std::vector<ZoneError> errors;
    auto z = b.build(errors);
    for (const auto& e : errors) std::fprintf(stderr, "%s\n", e.str().c_str());
    return z;
  }

  std::vector<std::string> queries(size_t count) {
    std::mt19937 rnd(7);
    std::vector<std::string> out;
    out.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      std::string n = std::to_string(rnd() % hosts);
      uint32_t r = rnd() % 100;
      if (r < 70) out.push_back(name("host" + n, origin));
      else if (r < 80) out.push_back(name("www" + n, origin));
      else if (r < 90) out.push_back(name("nx" + n, origin));
      else if (r < 95) out.push_back(name("x" + n, name("wild", origin)));
      else out.push_back(name("a", name("sub" + n, origin)));
    }
    return out;
  }

  std::vector<std::string> nsec_owners_;
};

struct Args {
  size_t records = 1000000, changes = 5000, lookups = 3000000, max_overlay = 0;
  bool dnssec = false;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto num = [&]() -> size_t {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a number\n", k.c_str());
        std::exit(2);
      }
      return std::strtoull(argv[++i], nullptr, 10);
    };
    if (k == "--records") a.records = num();
    else if (k == "--changes") a.changes = num();
    else if (k == "--lookups") a.lookups = num();
    else if (k == "--max-overlay") a.max_overlay = num();
    else if (k == "--signed") a.dnssec = true;
    else {
      std::fprintf(stderr,
                   "usage: zone_change_bench [--records N] [--changes N] [--lookups N] "
                   "[--max-overlay N] [--signed]\n");
      std::exit(2);
    }
  }
  return a;
}

double cpu_ms() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// Lookups per second of this thread's CPU time (the machine may be shared) over the query
// mix, and, signed, the NSEC proof a negative answer needs.
double lookups_per_second(const Zone& z, const std::vector<std::string>& qs, size_t& sink) {
  double t = cpu_ms();
  for (const auto& q : qs) {
    LookupResult r = lookup(z, q, rrtype::A);
    sink += static_cast<size_t>(r.kind);
    if (z.is_signed() && r.kind == Outcome::nxdomain)
      if (const Node* n = z.nsec_for(q)) sink += n->name.size();
  }
  return static_cast<double>(qs.size()) / ((cpu_ms() - t) / 1000);
}

}  // namespace

int main(int argc, char** argv) {
  Args args = parse(argc, argv);
  Bench bench;
  bench.dnssec = args.dnssec;
  long rss0 = rss_mib();
  auto t0 = Clock::now();
  std::shared_ptr<const Zone> flat = bench.generate(args.records);
  if (!flat) return 1;
  double build_ms = ms_since(t0);
  std::printf("zone: %zu records, %zu names%s, built in %.0f ms, RSS %ld MiB (%ld MiB for the zone)\n",
              flat->record_count(), flat->node_count(), flat->is_signed() ? ", NSEC-signed" : "",
              build_ms, rss_mib(), rss_mib() - rss0);

#ifndef ZONE_BENCH_LOOKUPS_ONLY
  // One-record changes, each on the version before.
  std::mt19937 rnd(1);
  std::vector<double> times;
  std::vector<std::pair<std::string, uint32_t>> added;  // names added, with their address
  std::shared_ptr<const Zone> cur = flat, largest;
  size_t compactions = 0, max_delta = 0;
  ApplyOptions opts;
  opts.max_overlay = args.max_overlay;
  for (size_t i = 0; i < args.changes; ++i) {
    Changeset c;
    c.soa_from = Record{cur->origin(), rrtype::SOA, cur->soa().ttl,
                        std::string(std::string_view(cur->soa().data).substr(2))};
    c.soa_to = c.soa_from;
    set_soa_serial(c.soa_to.rdata, cur->serial() + 1);
    uint32_t r = rnd() % 4;
    if (r == 0 && !added.empty()) {  // a name added before goes
      size_t k = rnd() % added.size();
      c.removed.push_back({added[k].first, rrtype::A, 300, a_rdata(added[k].second)});
      if (bench.dnssec)
        c.removed.push_back({added[k].first, rrtype::NSEC, 300, cur->origin() + std::string("\x00\x01\x40", 3)});
      added[k] = added.back();
      added.pop_back();
    } else if (r == 1) {  // a host gets a record more
      std::string h = name("host" + std::to_string(rnd() % bench.hosts), bench.origin);
      c.added.push_back({h, rrtype::TXT, 3600, std::string("\x05").append(std::to_string(10000 + i % 90000))});
    } else {  // a new name
      std::string n = name("new" + std::to_string(i), bench.origin);
      c.added.push_back({n, rrtype::A, 300, a_rdata(static_cast<uint32_t>(i))});
      if (bench.dnssec) c.added.push_back({n, rrtype::NSEC, 300, cur->origin() + std::string("\x00\x01\x40", 3)});
      added.emplace_back(n, static_cast<uint32_t>(i));
    }
    std::vector<ZoneError> errors;
    auto t = Clock::now();
    auto next = apply_changeset(cur, c, errors, opts);
    times.push_back(ms_since(t));
    if (!next) {
      std::fprintf(stderr, "change %zu refused: %s\n", i, errors.empty() ? "?" : errors[0].str().c_str());
      return 1;
    }
    if (cur->delta_size() && !next->delta_size()) ++compactions;
    if (next->delta_size() >= max_delta) {
      max_delta = next->delta_size();
      largest = next;
    }
    cur = std::move(next);
  }
  std::vector<double> sorted = times;
  std::sort(sorted.begin(), sorted.end());
  auto pct = [&](double p) { return sorted.empty() ? 0 : sorted[std::min(sorted.size() - 1, static_cast<size_t>(p * sorted.size()))]; };
  double total = 0;
  for (double t : times) total += t;
  std::printf("changes: %zu of 1 record, apply_changeset: p50 %.3f ms, p99 %.3f ms, max %.1f ms, "
              "mean %.3f ms; %zu compactions (overlay bound %zu names)\n",
              times.size(), pct(0.50), pct(0.99), sorted.empty() ? 0 : sorted.back(),
              times.empty() ? 0 : total / times.size(), compactions,
              args.max_overlay ? args.max_overlay : default_overlay_limit(flat->node_count()));
  std::printf("after the changes: RSS %ld MiB (current version: %zu names in its overlay)\n", rss_mib(),
              cur->delta_size());

#else
  std::shared_ptr<const Zone> largest;
#endif
  std::vector<std::string> qs = bench.queries(args.lookups);
  size_t sink = 0;
  double flat_qps = 0, ver_qps = 0;
  for (int round = 0; round < 5; ++round) {  // interleaved, best of five
    flat_qps = std::max(flat_qps, lookups_per_second(*flat, qs, sink));
    if (largest) ver_qps = std::max(ver_qps, lookups_per_second(*largest, qs, sink));
  }
#ifndef ZONE_BENCH_LOOKUPS_ONLY
  std::printf("lookups/s: flat %.2fM, version with %zu names in its overlay %.2fM (%.0f%%)\n",
              flat_qps / 1e6, largest ? largest->delta_size() : 0, ver_qps / 1e6,
              flat_qps ? 100 * ver_qps / flat_qps : 0);
  // The generated zone, the largest version and the queries were kept for the lookups:
  // without them, what a server holding only the current version holds.
  flat.reset();
  largest.reset();
  std::vector<std::string>().swap(qs);
  malloc_trim(0);
  std::printf("RSS with only the current version held: %ld MiB\n", rss_mib());
#else
  std::printf("lookups/s: flat %.2fM\n", flat_qps / 1e6);
#endif
  return sink == 42 ? 3 : 0;
}
