// Response rate limiting (RRL), as NSD and BIND do it: responses to one client prefix are
// counted per response class and name (answers by name and type, NXDOMAIN by zone,
// referrals by delegation, wildcard answers by the wildcard, errors together) in token
// buckets; past `responses-per-second`, every `slip`th limited response goes out truncated
// (TC=1, nothing in it: a real client retries over TCP, a spoofed victim gets no more bytes
// than the query had) and the others are dropped. Only UDP is limited; the caller exempts
// TCP, clients with a valid server cookie and the `exempt` prefixes.
//
// One limiter per worker thread: a fixed table allocated once (32768 buckets of 16 bytes, four
// to a cache line: a key may use any of the four of its line), no lock, no allocation per
// query. A prefix whose queries reach several workers is limited by each (at most
// workers x the rate).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "server/acl.h"
#include "server/peer.h"

namespace server {

struct RateLimit {
  unsigned responses_per_second = 0;  // 0: off
  unsigned slip = 2;                  // 0: drop every limited response; 1: truncate each
  unsigned ipv4_prefix = 24, ipv6_prefix = 56;
  Acl exempt;
  bool on() const { return responses_per_second > 0; }
};

enum class ResponseClass : uint8_t { answer, nodata, nxdomain, referral, wildcard, error };
const char* response_class_text(ResponseClass c);

class RateLimiter {
 public:
  enum class Verdict { send, drop, slip };

  RateLimiter();
  ~RateLimiter();
  // One response to `peer`: `name` (lowercased wire) and `qtype` are the bucket's key as
  // the class says (qtype matters for answers only). `now_ms` is a monotonic clock.
  Verdict check(const RateLimit& cfg, const Peer& peer, ResponseClass cls, std::string_view name,
                uint16_t qtype, uint64_t now_ms) {
    return check(cfg, prepare(cfg, peer, cls, name, qtype), peer, cls, name, qtype, now_ms);
  }
  // The same in two steps: the key, with its bucket's cache line requested (the query
  // processor asks as soon as it knows the class, and checks once the answer is rendered),
  // then the verdict.
  uint64_t prepare(const RateLimit& cfg, const Peer& peer, ResponseClass cls,
                   std::string_view name, uint16_t qtype);
  Verdict check(const RateLimit& cfg, uint64_t key, const Peer& peer, ResponseClass cls,
                std::string_view name, uint16_t qtype, uint64_t now_ms);

  // Logs the counts of every prefix limited in an interval that has ended and that no
  // limited response has logged yet (the flood stopped): called every few seconds.
  void flush(uint64_t now_ms);

  // Log lines are per prefix and at most one per interval (plus the first one).
  static constexpr uint64_t kLogIntervalMs = 10000;

 private:
  struct Bucket;
  struct Line;
  struct PrefixLog;
  void note_limited(const RateLimit& cfg, const Peer& peer, ResponseClass cls,
                    std::string_view name, uint16_t qtype, bool slipped, uint64_t now_ms);

  std::unique_ptr<Line[]> lines_;         // allocated on first use (rate limiting turned on)
  std::unique_ptr<PrefixLog[]> logs_;
  uint8_t hash_key_[16];                  // per limiter: bucket placement is not guessable
};

// "192.0.2.0/24", "2001:db8::/56": the prefix a peer is counted in.
std::string prefix_text(const Peer& peer, unsigned v4_bits, unsigned v6_bits);

}  // namespace server
