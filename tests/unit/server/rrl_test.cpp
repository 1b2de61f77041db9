#include "server/rrl.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>
#include <string>

#include "tests/unit/test_support.h"

using namespace server;
using test_support::W;
using V = RateLimiter::Verdict;

namespace {

Peer peer(const std::string& text) {
  Peer p;
  EXPECT_TRUE(Peer::parse(text, p)) << text;
  return p;
}

RateLimit limit(unsigned rps, unsigned slip = 2) {
  RateLimit r;
  r.responses_per_second = rps;
  r.slip = slip;
  return r;
}

struct Tally {
  int sent = 0, dropped = 0, slipped = 0;
  void add(V v) { (v == V::send ? sent : v == V::drop ? dropped : slipped)++; }
};

Tally burst(RateLimiter& rl, const RateLimit& cfg, const std::string& from, int n, uint64_t at,
            ResponseClass cls = ResponseClass::answer, const std::string& name = "www.example.com.",
            uint16_t qtype = 1) {
  Tally t;
  std::string wire = W(name);
  for (int i = 0; i < n; ++i) t.add(rl.check(cfg, peer(from), cls, wire, qtype, at));
  return t;
}

}  // namespace

TEST(RateLimit, BurstOfOneSecondThenEverySlipthTruncated) {
  RateLimiter rl;
  RateLimit cfg = limit(10, 2);
  Tally t = burst(rl, cfg, "192.0.2.1", 110, 1000000);
  EXPECT_EQ(t.sent, 10);
  EXPECT_EQ(t.slipped, 50);  // every second limited response
  EXPECT_EQ(t.dropped, 50);
}

TEST(RateLimit, SlipZeroDropsAllAndOneTruncatesAll) {
  RateLimiter rl;
  Tally none = burst(rl, limit(5, 0), "192.0.2.1", 25, 1000000);
  EXPECT_EQ(none.sent, 5);
  EXPECT_EQ(none.slipped, 0);
  EXPECT_EQ(none.dropped, 20);
  Tally all = burst(rl, limit(5, 1), "192.0.2.9", 25, 1000000, ResponseClass::answer, "x.example.com.");
  EXPECT_EQ(all.sent, 5);
  EXPECT_EQ(all.slipped, 20);
}

TEST(RateLimit, CreditComesBackWithTime) {
  RateLimiter rl;
  RateLimit cfg = limit(10);
  EXPECT_EQ(burst(rl, cfg, "192.0.2.1", 20, 5000000).sent, 10);
  // 100 ms later: one more response's worth.
  EXPECT_EQ(burst(rl, cfg, "192.0.2.1", 5, 5000100).sent, 1);
  // A second later the bucket is full again, and not more than full.
  EXPECT_EQ(burst(rl, cfg, "192.0.2.1", 30, 5005000).sent, 10);
}

TEST(RateLimit, ClientsOfOnePrefixShareABucket) {
  RateLimiter rl;
  RateLimit cfg = limit(10);
  Tally t;
  for (int i = 0; i < 100; ++i)
    t.add(rl.check(cfg, peer("198.51.100." + std::to_string(i)), ResponseClass::answer,
                   W("www.example.com."), 1, 7000000));
  EXPECT_EQ(t.sent, 10);
  // Another /24 has its own.
  EXPECT_EQ(burst(rl, cfg, "198.51.101.1", 10, 7000000).sent, 10);
  // IPv6: one /56.
  Tally six;
  for (int i = 0; i < 30; ++i)
    six.add(rl.check(cfg, peer("2001:db8:0:" + std::to_string(i) + "::1"), ResponseClass::answer,
                     W("www.example.com."), 1, 7000000));
  EXPECT_EQ(six.sent, 10);
  EXPECT_EQ(burst(rl, cfg, "2001:db8:0:100::1", 5, 7000000).sent, 5);  // another /56
}

TEST(RateLimit, PrefixLengthsAreConfigurable) {
  RateLimiter rl;
  RateLimit cfg = limit(10);
  cfg.ipv4_prefix = 32;
  EXPECT_EQ(burst(rl, cfg, "203.0.113.1", 20, 1000).sent, 10);
  EXPECT_EQ(burst(rl, cfg, "203.0.113.2", 20, 1000).sent, 10);
  EXPECT_EQ(prefix_text(peer("203.0.113.77"), 24, 56), "203.0.113.0/24");
  EXPECT_EQ(prefix_text(peer("203.0.113.77"), 22, 56), "203.0.112.0/22");
  EXPECT_EQ(prefix_text(peer("2001:db8:1:2ff::1"), 24, 56), "2001:db8:1:200::/56");
}

TEST(RateLimit, BucketsByClassAndName) {
  RateLimiter rl;
  RateLimit cfg = limit(5);
  // Answers: per name and type.
  EXPECT_EQ(burst(rl, cfg, "192.0.2.1", 10, 1000, ResponseClass::answer, "a.example.com.", 1).sent, 5);
  EXPECT_EQ(burst(rl, cfg, "192.0.2.1", 10, 1000, ResponseClass::answer, "a.example.com.", 28).sent, 5);
  EXPECT_EQ(burst(rl, cfg, "192.0.2.1", 10, 1000, ResponseClass::answer, "b.example.com.", 1).sent, 5);
  // NXDOMAIN is counted by zone (the caller passes the zone): random names share it.
  EXPECT_EQ(burst(rl, cfg, "192.0.2.1", 10, 1000, ResponseClass::nxdomain, "example.com.").sent, 5);
  // Errors: one bucket per prefix whatever the name.
  Tally e;
  for (int i = 0; i < 10; ++i)
    e.add(rl.check(cfg, peer("192.0.2.1"), ResponseClass::error, {}, static_cast<uint16_t>(i), 1000));
  EXPECT_EQ(e.sent, 5);
}

// A flood that stops: its summary used to wait for the prefix's next limited response (maybe
// never). flush() (the worker's timer) writes it once the interval is over, and only once.
TEST(RateLimit, FlushLogsTheSummaryOfAFloodThatStopped) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  auto previous = spdlog::get("query");
  spdlog::drop("query");
  auto log = std::make_shared<spdlog::logger>("query", sink);
  spdlog::register_logger(log);
  RateLimiter rl;
  RateLimit cfg = limit(10, 2);
  burst(rl, cfg, "192.0.2.1", 110, 1000000);  // "limiting" at the first limited response
  rl.flush(1000000 + RateLimiter::kLogIntervalMs - 1);
  log->flush();
  EXPECT_EQ(out.str().find("dropped"), std::string::npos) << out.str();
  rl.flush(1000000 + RateLimiter::kLogIntervalMs);
  log->flush();
  EXPECT_NE(out.str().find("rate limit: 192.0.2.0/24: 49 responses dropped, 50 truncated in the "
                           "last 10 s"),
            std::string::npos)
      << out.str();
  size_t len = out.str().size();
  rl.flush(1000000 + 3 * RateLimiter::kLogIntervalMs);  // nothing new: nothing more
  log->flush();
  EXPECT_EQ(out.str().size(), len) << out.str();
  spdlog::drop("query");
  if (previous) spdlog::register_logger(previous);
}
