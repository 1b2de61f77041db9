// Downstream servers: NOTIFY (RFC 1996) to every `notify` remote of a zone when it gets a new
// version, retransmitted with backoff, and a watch on each of them (SOA queries after the
// NOTIFY until it serves the new serial, then at the zone's refresh interval), so that
// `zonectl status` and the metrics tell how far behind each secondary is without asking
// anyone at that moment. Runs on the replication thread.
#pragma once
#include <utility>  // before Asio

#include <boost/asio.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "replication/xfr_client.h"
#include "zone/zone.h"

namespace replication {

// What is known of one downstream server for one zone.
struct DownstreamState {
  std::string remote;      // its name in the configuration
  std::string address;     // addr:port
  bool answered = false;   // the last SOA query got an answer
  uint32_t serial = 0;     // the serial it served then
  int64_t checked_at = 0;  // UNIX time of the last SOA query (0: never)
  std::string error;       // why the last SOA query failed
  uint32_t behind = 0;     // serials behind ours (RFC 1982 distance, 0 when current)
  int64_t behind_since = 0;  // since when it has been behind (0: it is current)
  uint64_t notify_failures = 0;  // NOTIFYs never acknowledged
  std::string last_notify;       // result of the last NOTIFY
};

class Notifier {
 public:
  explicit Notifier(boost::asio::io_context& io) : io_(io) {}

  // On the replication thread: NOTIFY every remote about version z of the zone (superseding
  // any NOTIFY still retransmitting an older serial), then watch them.
  void notify(const std::string& origin, const std::vector<Remote>& remotes,
              std::shared_ptr<const zone::Zone> z);
  // The zone stops being served or loses these remotes: its watches end.
  void forget(const std::string& origin);
  // The state of the zone's downstream servers (replication thread).
  std::vector<DownstreamState> state(const std::string& origin) const;

 private:
  struct Watch;
  boost::asio::awaitable<void> send_notify(std::shared_ptr<Watch> w, uint64_t generation);
  boost::asio::awaitable<void> watch(std::shared_ptr<Watch> w);
  boost::asio::io_context& io_;
  // By zone, then by remote address.
  std::map<std::string, std::map<std::string, std::shared_ptr<Watch>>> watches_;
};

}  // namespace replication
