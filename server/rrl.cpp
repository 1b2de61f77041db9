#include "server/rrl.h"

#include <spdlog/spdlog.h>

#include <cstring>

#include "server/cookie.h"
#include "server/os_random.h"
#include "zone/wire/message.h"
#include "zone/wire/name.h"

namespace server {

namespace {

constexpr size_t kLines = 1 << 13;  // per worker: 8192 lines of 4 buckets
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
  // The key's hash; its low byte counts the limited responses in a row, modulo slip. 0: free.
  uint64_t tag = 0;
  uint32_t last_ms = 0;  // the clock's low 32 bits (an idle bucket wraps after 49 days)
  int32_t credit = 0;    // thousandths of a response
};

struct alignas(64) RateLimiter::Line {
  Bucket b[4];
};

struct RateLimiter::PrefixLog {
  uint64_t key = 0;
  uint64_t logged_ms = 0;
  uint32_t dropped = 0, slipped = 0;
  bool first = true;
  std::string prefix;  // "192.0.2.0/24", for a summary written by flush()
};

RateLimiter::RateLimiter() {
  if (!os_random(hash_key_, sizeof hash_key_))
    for (size_t i = 0; i < sizeof hash_key_; ++i) hash_key_[i] = static_cast<uint8_t>(i * 131 + 7);
}
RateLimiter::~RateLimiter() = default;

uint64_t RateLimiter::prepare(const RateLimit& cfg, const Peer& peer, ResponseClass cls,
                              std::string_view name, uint16_t qtype) {
  if (!lines_) {
    lines_.reset(new Line[kLines]);
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
  uint64_t key = (siphash13(hash_key_, in, 20 + n) | 0x100) & ~uint64_t{0xFF};
  __builtin_prefetch(&lines_[(key >> 8) & (kLines - 1)], 1);
  return key;
}

RateLimiter::Verdict RateLimiter::check(const RateLimit& cfg, uint64_t key, const Peer& peer,
                                        ResponseClass cls, std::string_view name, uint16_t qtype,
                                        uint64_t now_ms) {
  // The bucket of this key in its line; else a free one, or the one idle longest.
  uint32_t now32 = static_cast<uint32_t>(now_ms);
  Line& line = lines_[(key >> 8) & (kLines - 1)];
  constexpr uint64_t kTagMask = ~uint64_t{0xFF};
  int64_t cap = static_cast<int64_t>(cfg.responses_per_second) * kUnit;
  Bucket* b = nullptr;
  for (Bucket& x : line.b)
    if ((x.tag & kTagMask) == key) b = &x;
  if (!b) {
    b = &line.b[0];
    for (Bucket& x : line.b)
      if (b->tag != 0 && (x.tag == 0 || now32 - x.last_ms > now32 - b->last_ms)) b = &x;
    *b = Bucket{key, now32, static_cast<int32_t>(cap)};
  }
  // Refill: `rate` responses per second, at most one second's worth banked.
  uint32_t elapsed = now32 - b->last_ms;
  int64_t credit = b->credit;
  if (elapsed >= 1000) credit = cap;
  else credit += static_cast<int64_t>(elapsed) * cfg.responses_per_second;
  if (credit > cap) credit = cap;
  b->last_ms = now32;
  if (credit >= kUnit) {
    b->credit = static_cast<int32_t>(credit - kUnit);
    b->tag = key;  // no longer limited: the slip count starts over
    return Verdict::send;
  }
  b->credit = static_cast<int32_t>(credit);
  // Every slip-th limited response in a row is truncated, the others dropped.
  unsigned count = static_cast<unsigned>(b->tag & 0xFF) + 1;
  bool slip = cfg.slip > 0 && count >= cfg.slip;
  if (slip) count = 0;
  b->tag = key | (count & 0xFF);
  note_limited(cfg, peer, cls, name, qtype, slip, now_ms);
  return slip ? Verdict::slip : Verdict::drop;
}

// Aggregated per prefix: the first limited response says that limiting started, then at
// most one line per interval with what was dropped and slipped. Never a line per packet.
void RateLimiter::note_limited(const RateLimit& cfg, const Peer& peer, ResponseClass cls,
                               std::string_view name, uint16_t qtype, bool slipped,
                               uint64_t now_ms) {
  auto pre = masked(peer, cfg.ipv4_prefix, cfg.ipv6_prefix);
  uint64_t key = siphash13(hash_key_, pre.data(), 16) | 1;
  PrefixLog& l = logs_[key & (kPrefixLogs - 1)];
  if (l.key != key) l = PrefixLog{key, 0, 0, 0, true, {}};
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
    if (cls == ResponseClass::answer) what += " " + zone::wire::rrtype_text(qtype);
  }
  std::string prefix = prefix_text(peer, cfg.ipv4_prefix, cfg.ipv6_prefix);
  if (l.prefix.empty()) l.prefix = prefix;
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

void RateLimiter::flush(uint64_t now_ms) {
  if (!logs_) return;
  for (size_t i = 0; i < kPrefixLogs; ++i) {
    PrefixLog& l = logs_[i];
    if ((!l.dropped && !l.slipped) || l.first || now_ms - l.logged_ms < kLogIntervalMs) continue;
    auto log = spdlog::get("query");
    if (!log) log = spdlog::default_logger();
    log->warn("rate limit: {}: {} responses dropped, {} truncated in the last {} s", l.prefix,
              l.dropped, l.slipped, (now_ms - l.logged_ms + 500) / 1000);
    l.logged_ms = now_ms;
    l.dropped = l.slipped = 0;
  }
}

}  // namespace server
