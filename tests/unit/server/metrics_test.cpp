// The Prometheus exposition: family names, labels, escaping, and counters summed over
// workers as a scrape shows them.
#include "server/metrics.h"
#include "server/watchdog.h"

#include <gtest/gtest.h>

#include <regex>
#include <sstream>

namespace server {
namespace {

// Every line of the exposition: a comment (HELP/TYPE) or `name{labels} value`.
void expect_well_formed(const std::string& text) {
  static const std::regex sample(
      R"re(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\"n])*",?)*\})? -?[0-9.eE+-]+$)re");
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) continue;
    EXPECT_TRUE(std::regex_match(line, sample)) << line;
  }
}

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

TEST(Exposition, EscapesLabelValues) {
  EXPECT_EQ(Exposition::escape(R"(a"b\c)"), R"(a\"b\\c)");
  EXPECT_EQ(Exposition::escape("two\nlines"), "two\\nlines");
  Exposition e;
  e.family("x_total", "counter", "help with \\ and\nnewline");
  e.sample("x_total", {{"zone", "we\"ird\\zone"}, {"b", "2"}}, uint64_t{7});
  EXPECT_EQ(e.text(),
            "# HELP x_total help with \\\\ and\\nnewline\n"
            "# TYPE x_total counter\n"
            "x_total{zone=\"we\\\"ird\\\\zone\",b=\"2\"} 7\n");
}

TEST(Exposition, SumsWorkersAndNamesLabels) {
  // Two workers' counters, summed as Listener::stats() does on a scrape.
  QueryStats w1, w2, total;
  for (int i = 0; i < 3; ++i) w1.bump(QueryStats::udp);
  w2.bump(QueryStats::udp);
  w2.bump(QueryStats::tcp);
  w1.bump(QueryStats::opcode + 0);
  w2.bump(QueryStats::opcode + 5);
  w1.bump(QueryStats::qtype + 28);
  w2.bump(QueryStats::qtype + 28);
  w2.bump(QueryStats::qtype_other);
  w1.bump(QueryStats::rcode + 3);
  w2.bump(QueryStats::rcode + 23);
  w1.bump(QueryStats::truncated);
  w2.bump(QueryStats::rrl_dropped);
  w2.bump(QueryStats::rrl_slipped);
  w1.bump(QueryStats::tcp_accepted);
  w2.bump(QueryStats::tcp_refused);
  w1.add_to(total);
  w2.add_to(total);

  MetricsSnapshot s;
  s.now = 1000;
  s.queries = total;
  s.workers = 2;
  s.tcp_open = 1;
  s.tcp_max = 100;
  std::string t = render_metrics(s);
  expect_well_formed(t);
  EXPECT_TRUE(has_line(t, "zoned_workers 2")) << t;
  EXPECT_TRUE(has_line(t, "zoned_queries_total{transport=\"udp\"} 4")) << t;
  EXPECT_TRUE(has_line(t, "zoned_queries_total{transport=\"tcp\"} 1")) << t;
  EXPECT_TRUE(has_line(t, "zoned_queries_opcode_total{opcode=\"QUERY\"} 1")) << t;
  EXPECT_TRUE(has_line(t, "zoned_queries_opcode_total{opcode=\"UPDATE\"} 1")) << t;
  EXPECT_TRUE(has_line(t, "zoned_queries_qtype_total{qtype=\"AAAA\"} 2")) << t;
  EXPECT_TRUE(has_line(t, "zoned_queries_qtype_total{qtype=\"OTHER\"} 1")) << t;
  EXPECT_FALSE(has_line(t, "zoned_queries_qtype_total{qtype=\"A\"} 0")) << "zeros left out";
  EXPECT_TRUE(has_line(t, "zoned_responses_rcode_total{rcode=\"NXDOMAIN\"} 1")) << t;
  EXPECT_TRUE(has_line(t, "zoned_responses_rcode_total{rcode=\"BADCOOKIE\"} 1")) << t;
  EXPECT_TRUE(has_line(t, "zoned_responses_rcode_total{rcode=\"NOERROR\"} 0")) << t;
  EXPECT_TRUE(has_line(t, "zoned_responses_truncated_total 1")) << t;
  EXPECT_TRUE(has_line(t, "zoned_rrl_dropped_total 1")) << t;
  EXPECT_TRUE(has_line(t, "zoned_rrl_slipped_total 1")) << t;
  EXPECT_TRUE(has_line(t, "zoned_tcp_connections_open 1")) << t;
  EXPECT_TRUE(has_line(t, "zoned_tcp_connections_accepted_total 1")) << t;
  EXPECT_TRUE(has_line(t, "zoned_tcp_connections_refused_total 1")) << t;
  // Each family's HELP and TYPE exactly once.
  size_t pos = 0, types = 0;
  while ((pos = t.find("# TYPE zoned_queries_total ", pos)) != std::string::npos) ++types, ++pos;
  EXPECT_EQ(types, 1u);
}

TEST(Exposition, ZonesAndSecondaries) {
  MetricsSnapshot s;
  s.now = 10'000;
  MetricsSnapshot::Zone p;
  p.name = "example.com";
  p.served = true;
  p.serial = 2026120401;
  p.last_update = 9'990;
  p.transfers_out = 2;
  p.transfer_out_bytes = 1234;
  MetricsSnapshot::Zone sec;
  sec.name = "example.net";
  sec.secondary = true;
  sec.served = false;  // nothing to serve yet: no serial sample
  sec.last_update = 9'000;
  sec.last_update_ok = false;
  sec.transfers_in = 1;
  sec.transfer_in_bytes = 999;
  s.zones = {p, sec};
  MetricsSnapshot::Downstream d;
  d.zone = "example.com";
  d.remote = "secondary-1";
  d.address = "127.0.0.1:5354";
  d.answered = true;
  d.serial = 2026120400;
  d.checked_at = 9'995;
  d.behind = 1;
  d.behind_since = 9'970;
  d.notify_failures = 3;
  s.downstream = {d};
  std::string t = render_metrics(s);
  expect_well_formed(t);
  EXPECT_TRUE(has_line(t, "zoned_zone_serial{zone=\"example.com\"} 2026120401")) << t;
  EXPECT_EQ(t.find("zoned_zone_serial{zone=\"example.net\"}"), std::string::npos) << t;
  EXPECT_TRUE(has_line(t, "zoned_zone_last_update_success{zone=\"example.com\",kind=\"load\"} 1")) << t;
  EXPECT_TRUE(has_line(t, "zoned_zone_last_update_success{zone=\"example.net\",kind=\"transfer\"} 0")) << t;
  EXPECT_TRUE(has_line(t, "zoned_zone_last_update_age_seconds{zone=\"example.com\",kind=\"load\"} 10")) << t;
  EXPECT_TRUE(has_line(t, "zoned_zone_last_update_age_seconds{zone=\"example.net\",kind=\"transfer\"} 1000")) << t;
  EXPECT_TRUE(has_line(t, "zoned_zone_transfers_out_total{zone=\"example.com\"} 2")) << t;
  EXPECT_TRUE(has_line(t, "zoned_zone_transfer_out_bytes_total{zone=\"example.com\"} 1234")) << t;
  EXPECT_TRUE(has_line(t, "zoned_zone_transfers_in_total{zone=\"example.net\"} 1")) << t;
  EXPECT_TRUE(has_line(t, "zoned_zone_transfer_in_bytes_total{zone=\"example.net\"} 999")) << t;
  const std::string l = "{zone=\"example.com\",remote=\"secondary-1\",address=\"127.0.0.1:5354\"}";
  EXPECT_TRUE(has_line(t, "zoned_secondary_serial" + l + " 2026120400")) << t;
  EXPECT_TRUE(has_line(t, "zoned_secondary_behind_serials" + l + " 1")) << t;
  EXPECT_TRUE(has_line(t, "zoned_secondary_behind_seconds" + l + " 30")) << t;
  EXPECT_TRUE(has_line(t, "zoned_secondary_notify_failures_total" + l + " 3")) << t;
  EXPECT_TRUE(has_line(t, "zoned_secondary_answered" + l + " 1")) << t;
}

TEST(Watchdog, PingsOnlyWhileEveryWorkerBeats) {
  std::vector<uint64_t> beats{0, 0};
  int pings = 0;
  Watchdog w(std::chrono::milliseconds(10), [&] { return beats; }, [&] { ++pings; });
  EXPECT_TRUE(w.check());  // the first check records where the workers are
  beats = {1, 1};
  EXPECT_TRUE(w.check());
  beats = {2, 1};  // worker 1 is stuck
  EXPECT_FALSE(w.check());
  EXPECT_FALSE(w.check());
  beats = {3, 2};  // it runs again
  EXPECT_TRUE(w.check());
  EXPECT_EQ(pings, 3);
}

}  // namespace
}  // namespace server
