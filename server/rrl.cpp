#include "server/rrl.h"

#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <cstring>

#include "server/cookie.h"
#include "zone/wire/message.h"
#include "zone/wire/name.h"

namespace server {

namespace {

constexpr size_t kBuckets = 1 << 15;  // per worker: 32768 x 24 bytes
constexpr size_t kPrefixLogs = 1 << 10;
constexpr int64_t kUnit = 1000;  // credit of one response, in thousandths

// The prefix bytes of a peer, the rest zeroed.
std::array<uint8_t, 16> masked(const Peer& p, unsigned v4_bits, unsigned v6_bits) {
  std::array<uint8_t, 16> a{};
  unsigned bits = p.v6 ? v6_bits : v4_bits;
  unsigned bytes = p.v6 ? 16 : 4;
  for (unsigned i = 0; i < bytes && bits > 0; ++i, bits = bits > 8 ? bits - 8 : 0)
    a[i] = static_cast<uint8_t>(p.addr[i] & (bits >= 8 ? 0xFF : 0xFF << (8 - bits)));
  return a;
}

}  // namespace

const char* response_class_text(ResponseClass c) {
  switch (c) {
    case ResponseClass::answer: return "answers";
    case ResponseClass::nodata: return "NODATA answers";
    case ResponseClass::nxdomain: return "NXDOMAIN answers";
    case ResponseClass::referral: return "referrals";
    case ResponseClass::wildcard: return "wildcard answers";
    case ResponseClass::error: return "errors";
  }
  return "responses";
}

std::string prefix_text(const Peer& peer, unsigned v4_bits, unsigned v6_bits) {
  Peer m = peer;
  m.addr = masked(peer, v4_bits, v6_bits);
  return m.address_text() + "/" + std::to_string(peer.v6 ? v6_bits : v4_bits);
}

struct RateLimiter::Bucket {
  uint64_t key = 0;    // 0: free
  uint64_t last_ms = 0;
  int32_t credit = 0;  // thousandths of a response
  uint32_t limited = 0;  // limited responses in a row (for slip)
};

struct RateLimiter::PrefixLog {
  uint64_t key = 0;
  uint64_t logged_ms = 0;
  uint32_t dropped = 0, slipped = 0;
  bool first = true;
};

RateLimiter::RateLimiter() {
  if (RAND_bytes(hash_key_, sizeof hash_key_) != 1)
    for (size_t i = 0; i < sizeof hash_key_; ++i) hash_key_[i] = static_cast<uint8_t>(i * 131 + 7);
}
RateLimiter::~RateLimiter() = default;

RateLimiter::Verdict RateLimiter::check(const RateLimit& cfg, const Peer& peer, ResponseClass cls,
                                        std::string_view name, uint16_t qtype, uint64_t now_ms) {
  if (!buckets_) {
    buckets_.reset(new Bucket[kBuckets]);
    logs_.reset(new PrefixLog[kPrefixLogs]);
  }
  // Key: prefix, class, and the name (and type for answers) the class is counted by.
  uint8_t in[16 + 4 + zone::wire::kMaxNameLen];
  auto pre = masked(peer, cfg.ipv4_prefix, cfg.ipv6_prefix);
  std::memcpy(in, pre.data(), 16);
  in[16] = static_cast<uint8_t>(cls);
  in[17] = peer.v6;
  zone::wire::put16(in + 18, cls == ResponseClass::answer ? qtype : 0);
  size_t n = name.size() <= zone::wire::kMaxNameLen ? name.size() : zone::wire::kMaxNameLen;
  if (n) std::memcpy(in + 20, name.data(), n);
  uint64_t key = siphash24(hash_key_, in, 20 + n) | 1;

  // Two candidate slots: the bucket of this key, or the older of the two is reused.
  size_t i = key & (kBuckets - 1), j = i ^ 1;
  Bucket* b = &buckets_[i];
  if (b->key != key) {
    if (buckets_[j].key == key) {
      b = &buckets_[j];
    } else {
      if (buckets_[j].last_ms < b->last_ms) b = &buckets_[j];
      *b = Bucket{key, now_ms, static_cast<int32_t>(cfg.responses_per_second * kUnit), 0};
    }
  }
  // Refill: `rate` responses per second, at most one second's worth banked.
  int64_t cap = static_cast<int64_t>(cfg.responses_per_second) * kUnit;
  uint64_t elapsed = now_ms > b->last_ms ? now_ms - b->last_ms : 0;
  int64_t credit = b->credit;
  if (elapsed >= 1000) credit = cap;
  else credit += static_cast<int64_t>(elapsed) * cfg.responses_per_second;
  if (credit > cap) credit = cap;
  b->last_ms = now_ms;
  if (credit >= kUnit) {
    b->credit = static_cast<int32_t>(credit - kUnit);
    b->limited = 0;
    return Verdict::send;
  }
  b->credit = static_cast<int32_t>(credit);
  ++b->limited;
  bool slip = cfg.slip > 0 && b->limited % cfg.slip == 0;
  note_limited(cfg, peer, cls, name, qtype, slip, now_ms);
  return slip ? Verdict::slip : Verdict::drop;
}

// Aggregated per prefix: the first limited response says that limiting started, then at
// most one line per interval with what was dropped and slipped. Never a line per packet.
void RateLimiter::note_limited(const RateLimit& cfg, const Peer& peer, ResponseClass cls,
                               std::string_view name, uint16_t qtype, bool slipped,
                               uint64_t now_ms) {
  auto pre = masked(peer, cfg.ipv4_prefix, cfg.ipv6_prefix);
  uint64_t key = siphash24(hash_key_, pre.data(), 16) | 1;
  PrefixLog& l = logs_[key & (kPrefixLogs - 1)];
  if (l.key != key) l = PrefixLog{key, 0, 0, 0, true};
  (slipped ? l.slipped : l.dropped)++;
  // A prefix quiet for a few intervals starts a new episode: say so, not "in the last hour".
  bool start = l.first || now_ms - l.logged_ms > 3 * kLogIntervalMs;
  if (!start && now_ms - l.logged_ms < kLogIntervalMs) return;
  auto log = spdlog::get("query");
  if (!log) log = spdlog::default_logger();
  std::string what = std::string(response_class_text(cls));
  if (cls != ResponseClass::error) {
    what += cls == ResponseClass::nxdomain ? " in " : " for ";
    what += zone::wire::name_to_text(name);
    if (cls == ResponseClass::answer) what += " " + zone::wire::type_text(qtype);
  }
  std::string prefix = prefix_text(peer, cfg.ipv4_prefix, cfg.ipv6_prefix);
  if (start)
    log->warn("rate limit: {} over {} responses/s ({}): limiting (slip {})", prefix,
              cfg.responses_per_second, what, cfg.slip);
  else
    log->warn("rate limit: {}: {} responses dropped, {} truncated in the last {} s (latest: {})",
              prefix, l.dropped, l.slipped, (now_ms - l.logged_ms + 500) / 1000, what);
  l.first = false;
  l.logged_ms = now_ms;
  l.dropped = l.slipped = 0;
}

}  // namespace server
