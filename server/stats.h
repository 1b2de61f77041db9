// Per-worker query counters: written by the worker's thread only (plain increments, no
// lock), read by a metrics scrape from another thread, which sums the workers' copies.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace server {

struct QueryStats {
  // Index of each counter in `v`.
  enum : size_t {
    udp,                             // messages answered or dropped, by transport
    tcp,
    opcode,                          // + opcode (16)
    qtype = opcode + 16,             // + qtype, for qtype < 256
    qtype_other = qtype + 256,       // every other qtype
    rcode = qtype_other + 1,         // + rcode of the response (extended: 32 values)
    truncated = rcode + 32,          // responses sent with TC=1 (rate-limit slips included)
    malformed,                       // messages dropped or answered FORMERR
    rrl_dropped,                     // responses not sent: rate limit
    rrl_slipped,                     // responses sent truncated instead: rate limit
    transfers,                       // AXFR/IXFR handed to a TCP session
    deferred,                        // answers that come later (UPDATE)
    tcp_accepted,                    // TCP client connections accepted
    tcp_refused,                     // ... and closed at once: tcp-max-clients reached
    count
  };
  uint64_t v[count] = {};

  // Relaxed atomic accesses on plain counters: a mov and an add on x86, no lock prefix, and
  // no data race with a reader on another thread.
  void bump(size_t i) {
    std::atomic_ref<uint64_t> r(v[i]);
    r.store(r.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  uint64_t get(size_t i) const {
    return std::atomic_ref<uint64_t>(const_cast<uint64_t&>(v[i])).load(std::memory_order_relaxed);
  }
  // Adds this worker's counters to `total` (which only the caller's thread touches).
  void add_to(QueryStats& total) const {
    for (size_t i = 0; i < count; ++i) total.v[i] += get(i);
  }
};

// Completed outgoing transfers per zone (origin in wire form): rare next to queries, so one
// map under a mutex shared by the workers is fine here.
class TransferStats {
 public:
  struct Zone {
    uint64_t transfers = 0, bytes = 0;
  };
  void add(const std::string& origin, uint64_t bytes) {
    std::lock_guard<std::mutex> g(mu_);
    Zone& z = zones_[origin];
    ++z.transfers;
    z.bytes += bytes;
  }
  std::map<std::string, Zone> snapshot() const {
    std::lock_guard<std::mutex> g(mu_);
    return zones_;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, Zone> zones_;
};

}  // namespace server
