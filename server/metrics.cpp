#include "server/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "zone/wire/message.h"

namespace server {

void Exposition::family(const std::string& name, const char* type, const std::string& help) {
  out_ += "# HELP " + name + " ";
  for (char c : help) {  // HELP text escapes only \ and newline
    if (c == '\\') out_ += "\\\\";
    else if (c == '\n') out_ += "\\n";
    else out_ += c;
  }
  out_ += "\n# TYPE " + name + " " + type + "\n";
}

std::string Exposition::escape(const std::string& v) {
  std::string o;
  o.reserve(v.size());
  for (char c : v) {
    if (c == '\\') o += "\\\\";
    else if (c == '"') o += "\\\"";
    else if (c == '\n') o += "\\n";
    else o += c;
  }
  return o;
}

void Exposition::labels(const Labels& l) {
  if (l.empty()) return;
  out_ += '{';
  bool first = true;
  for (const auto& [k, v] : l) {
    if (!first) out_ += ',';
    first = false;
    out_ += k + "=\"" + escape(v) + "\"";
  }
  out_ += '}';
}

void Exposition::sample(const std::string& name, const Labels& l, uint64_t value) {
  out_ += name;
  labels(l);
  out_ += ' ' + std::to_string(value) + '\n';
}

void Exposition::sample(const std::string& name, const Labels& l, double value) {
  out_ += name;
  labels(l);
  char buf[64];
  if (std::isnan(value)) std::snprintf(buf, sizeof buf, "NaN");
  else if (value == std::floor(value) && std::fabs(value) < 1e15)
    std::snprintf(buf, sizeof buf, "%.0f", value);
  else std::snprintf(buf, sizeof buf, "%.17g", value);
  out_ += ' ';
  out_ += buf;
  out_ += '\n';
}

namespace {

std::string opcode_text(unsigned op) {
  switch (op) {
    case 0: return "QUERY";
    case 1: return "IQUERY";
    case 2: return "STATUS";
    case 4: return "NOTIFY";
    case 5: return "UPDATE";
    case 6: return "DSO";
    default: return "OPCODE" + std::to_string(op);
  }
}

}  // namespace

std::string render_metrics(const MetricsSnapshot& s) {
  Exposition e;
  using L = Exposition::Labels;
  const QueryStats& q = s.queries;
  auto n = [&](size_t i) { return q.get(i); };

  e.family("zoned_workers", "gauge", "Query worker threads.");
  e.sample("zoned_workers", {}, static_cast<uint64_t>(s.workers));

  e.family("zoned_queries_total", "counter", "DNS messages received, by transport.");
  e.sample("zoned_queries_total", L{{"transport", "udp"}}, n(QueryStats::udp));
  e.sample("zoned_queries_total", L{{"transport", "tcp"}}, n(QueryStats::tcp));

  // Label values seen so far only: a scrape shows what happened, not 300 zeros.
  e.family("zoned_queries_opcode_total", "counter", "DNS messages received, by opcode.");
  for (unsigned op = 0; op < 16; ++op)
    if (n(QueryStats::opcode + op) || op == 0)
      e.sample("zoned_queries_opcode_total", L{{"opcode", opcode_text(op)}},
               n(QueryStats::opcode + op));

  e.family("zoned_queries_qtype_total", "counter",
           "DNS messages with a question, by question type (OTHER: type 256 and above).");
  for (unsigned t = 0; t < 256; ++t)
    if (n(QueryStats::qtype + t))
      e.sample("zoned_queries_qtype_total", L{{"qtype", zone::wire::rrtype_text(t)}},
               n(QueryStats::qtype + t));
  if (n(QueryStats::qtype_other))
    e.sample("zoned_queries_qtype_total", L{{"qtype", "OTHER"}}, n(QueryStats::qtype_other));

  e.family("zoned_responses_rcode_total", "counter", "Responses, by response code.");
  for (unsigned rc = 0; rc < 32; ++rc)
    if (n(QueryStats::rcode + rc) || rc == 0)
      e.sample("zoned_responses_rcode_total", L{{"rcode", zone::wire::rcode_text(rc)}},
               n(QueryStats::rcode + rc));

  e.family("zoned_responses_truncated_total", "counter",
           "Responses sent with TC=1 (rate-limit slips included).");
  e.sample("zoned_responses_truncated_total", {}, n(QueryStats::truncated));
  e.family("zoned_queries_malformed_total", "counter", "Messages dropped or answered FORMERR.");
  e.sample("zoned_queries_malformed_total", {}, n(QueryStats::malformed));
  e.family("zoned_rrl_dropped_total", "counter", "Responses not sent: response rate limit.");
  e.sample("zoned_rrl_dropped_total", {}, n(QueryStats::rrl_dropped));
  e.family("zoned_rrl_slipped_total", "counter",
           "Responses sent truncated instead (slip): response rate limit.");
  e.sample("zoned_rrl_slipped_total", {}, n(QueryStats::rrl_slipped));
  e.family("zoned_transfers_started_total", "counter", "AXFR/IXFR requests admitted (all zones).");
  e.sample("zoned_transfers_started_total", {}, n(QueryStats::transfers));

  e.family("zoned_tcp_connections_open", "gauge", "TCP client connections open now.");
  e.sample("zoned_tcp_connections_open", {}, static_cast<uint64_t>(s.tcp_open));
  e.family("zoned_tcp_connections_max", "gauge", "Cap on open TCP client connections.");
  e.sample("zoned_tcp_connections_max", {}, static_cast<uint64_t>(s.tcp_max));
  e.family("zoned_tcp_connections_accepted_total", "counter", "TCP client connections accepted.");
  e.sample("zoned_tcp_connections_accepted_total", {}, n(QueryStats::tcp_accepted));
  e.family("zoned_tcp_connections_refused_total", "counter",
           "TCP client connections closed at once: tcp-max-clients reached.");
  e.sample("zoned_tcp_connections_refused_total", {}, n(QueryStats::tcp_refused));

  // Per zone.
  e.family("zoned_zone_serial", "gauge", "SOA serial served now (absent: nothing served).");
  for (const auto& z : s.zones)
    if (z.served) e.sample("zoned_zone_serial", L{{"zone", z.name}}, static_cast<uint64_t>(z.serial));
  e.family("zoned_zone_last_update_success", "gauge",
           "1 if the last zone-file load (primary) or refresh/transfer (secondary) worked.");
  for (const auto& z : s.zones)
    if (z.last_update)
      e.sample("zoned_zone_last_update_success",
               L{{"zone", z.name}, {"kind", z.secondary ? "transfer" : "load"}},
               static_cast<uint64_t>(z.last_update_ok ? 1 : 0));
  e.family("zoned_zone_last_update_timestamp_seconds", "gauge",
           "UNIX time of the last zone-file load or refresh/transfer attempt.");
  for (const auto& z : s.zones)
    if (z.last_update)
      e.sample("zoned_zone_last_update_timestamp_seconds",
               L{{"zone", z.name}, {"kind", z.secondary ? "transfer" : "load"}},
               static_cast<uint64_t>(z.last_update));
  e.family("zoned_zone_last_update_age_seconds", "gauge",
           "Seconds since the last zone-file load or refresh/transfer attempt.");
  for (const auto& z : s.zones)
    if (z.last_update)
      e.sample("zoned_zone_last_update_age_seconds",
               L{{"zone", z.name}, {"kind", z.secondary ? "transfer" : "load"}},
               static_cast<uint64_t>(std::max<int64_t>(0, s.now - z.last_update)));
  e.family("zoned_zone_transfers_out_total", "counter", "AXFR/IXFR sent to clients, completed.");
  for (const auto& z : s.zones)
    e.sample("zoned_zone_transfers_out_total", L{{"zone", z.name}}, z.transfers_out);
  e.family("zoned_zone_transfer_out_bytes_total", "counter", "Bytes of AXFR/IXFR sent.");
  for (const auto& z : s.zones)
    e.sample("zoned_zone_transfer_out_bytes_total", L{{"zone", z.name}}, z.transfer_out_bytes);
  e.family("zoned_zone_transfers_in_total", "counter",
           "AXFR/IXFR received from a primary and committed (secondary zones).");
  for (const auto& z : s.zones)
    if (z.secondary) e.sample("zoned_zone_transfers_in_total", L{{"zone", z.name}}, z.transfers_in);
  e.family("zoned_zone_transfer_in_bytes_total", "counter", "Bytes of AXFR/IXFR received and committed.");
  for (const auto& z : s.zones)
    if (z.secondary)
      e.sample("zoned_zone_transfer_in_bytes_total", L{{"zone", z.name}}, z.transfer_in_bytes);

  // Per downstream secondary (zones with notify).
  auto dl = [](const MetricsSnapshot::Downstream& d) {
    return L{{"zone", d.zone}, {"remote", d.remote}, {"address", d.address}};
  };
  e.family("zoned_secondary_answered", "gauge",
           "1 if the secondary answered the last SOA query about the zone.");
  for (const auto& d : s.downstream)
    e.sample("zoned_secondary_answered", dl(d), static_cast<uint64_t>(d.answered ? 1 : 0));
  e.family("zoned_secondary_serial", "gauge", "Serial the secondary served at the last SOA query.");
  for (const auto& d : s.downstream)
    if (d.checked_at && d.answered)
      e.sample("zoned_secondary_serial", dl(d), static_cast<uint64_t>(d.serial));
  e.family("zoned_secondary_last_check_timestamp_seconds", "gauge",
           "UNIX time of the last SOA query to the secondary.");
  for (const auto& d : s.downstream)
    if (d.checked_at)
      e.sample("zoned_secondary_last_check_timestamp_seconds", dl(d),
               static_cast<uint64_t>(d.checked_at));
  e.family("zoned_secondary_behind_serials", "gauge",
           "How many serials the secondary is behind the version served here (0: current).");
  for (const auto& d : s.downstream)
    e.sample("zoned_secondary_behind_serials", dl(d), static_cast<uint64_t>(d.behind));
  e.family("zoned_secondary_behind_seconds", "gauge",
           "Seconds the secondary has been behind the version served here (0: current).");
  for (const auto& d : s.downstream)
    e.sample("zoned_secondary_behind_seconds", dl(d),
             static_cast<uint64_t>(d.behind_since ? std::max<int64_t>(0, s.now - d.behind_since) : 0));
  e.family("zoned_secondary_notify_failures_total", "counter",
           "NOTIFY messages to the secondary never acknowledged.");
  for (const auto& d : s.downstream)
    e.sample("zoned_secondary_notify_failures_total", dl(d), d.notify_failures);
  return e.text();
}

}  // namespace server
