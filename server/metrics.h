// Prometheus text exposition (format 0.0.4) of what zoned counts: the query workers'
// counters (summed over workers by the caller), TCP connections, every zone's serial, last
// load or transfer and transfers, and what the primary knows of each downstream secondary.
// Pure: a snapshot in, text out; the HTTP side is server/metrics_http.h.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "server/stats.h"

namespace server {

// Builds the exposition text: each family's # HELP and # TYPE once, then its samples.
// Families must be added one after another (a family's samples together).
class Exposition {
 public:
  using Labels = std::vector<std::pair<std::string, std::string>>;
  void family(const std::string& name, const char* type, const std::string& help);
  void sample(const std::string& name, const Labels& labels, double value);
  void sample(const std::string& name, const Labels& labels, uint64_t value);
  const std::string& text() const { return out_; }

  // A label value with \ " and newline escaped as the format says.
  static std::string escape(const std::string& v);

 private:
  void labels(const Labels& l);
  std::string out_;
};

// Everything one scrape shows, gathered by its owners' threads (see main.cpp).
struct MetricsSnapshot {
  int64_t now = 0;                 // UNIX time of the scrape (ages are measured from it)
  QueryStats queries;              // summed over the workers
  unsigned workers = 0;
  unsigned tcp_open = 0;           // TCP client connections open now
  unsigned tcp_max = 0;

  struct Zone {
    std::string name;              // without the final dot
    bool served = false;
    uint32_t serial = 0;           // the serial served now
    bool secondary = false;
    // The last load (primary: its zone file) or transfer/refresh (secondary).
    int64_t last_update = 0;       // UNIX time, 0: none yet
    bool last_update_ok = true;
    uint64_t transfers_out = 0, transfer_out_bytes = 0;
    uint64_t transfers_in = 0, transfer_in_bytes = 0;
  };
  std::vector<Zone> zones;

  struct Downstream {
    std::string zone, remote, address;
    bool answered = false;
    uint32_t serial = 0;           // the serial it served at the last SOA check
    int64_t checked_at = 0;
    uint32_t behind = 0;           // serials behind ours
    int64_t behind_since = 0;      // 0: current
    uint64_t notify_failures = 0;
  };
  std::vector<Downstream> downstream;
};

std::string render_metrics(const MetricsSnapshot& s);

}  // namespace server
