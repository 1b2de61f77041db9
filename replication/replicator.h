// The replication thread: secondary zones (SOA checks, IXFR/AXFR with fallback, timers,
// persistence), IXFR history of every zone, and NOTIFY to downstream servers. Everything
// runs on its own io_context thread; the public methods only post work there.
#pragma once
#include <utility>  // before Asio

#include <boost/asio.hpp>

#include <functional>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "replication/store.h"
#include "replication/xfr_client.h"
#include "zone/history.h"

namespace replication {

struct ZoneRole {
  std::string origin;  // lowercased wire
  std::string name;    // as configured
  std::vector<Remote> primaries;  // non-empty: a secondary zone
  std::vector<Remote> notify;
  size_t history = 100;  // changesets kept for IXFR out
  bool secondary() const { return !primaries.empty(); }
};

struct ReplicationConfig {
  std::string database;  // empty: no persistence (secondaries need one)
  std::vector<ZoneRole> zones;
};

class Replicator {
 public:
  struct Hooks {
    // A new version of a secondary zone is ready to serve (nullptr: stop serving it).
    std::function<void(const std::string& origin, std::shared_ptr<const zone::Zone>)> publish;
  };
  Replicator(Hooks hooks, zone::History& history);
  ~Replicator();

  // Opens the store, serves what it holds for secondary zones, schedules their refresh.
  // Throws StoreError when the database cannot be opened. run() starts the thread.
  void start(const ReplicationConfig& cfg);
  void run();
  // Before run() only: the serial and content hash a primary zone was last served with.
  std::optional<std::pair<uint32_t, uint64_t>> last_served(const std::string& origin);
  void reconfigure(const ReplicationConfig& cfg);
  void stop();

  void notify_received(const std::string& origin, const std::string& from);
  void refresh(const std::string& origin, bool force_axfr);
  // A primary zone got a new version (reload or edit): history, then NOTIFY.
  void primary_changed(const std::string& origin, std::shared_ptr<const zone::Zone> before,
                       std::shared_ptr<const zone::Zone> after);
  // Tells the primary zone's initial version (start-up): history continuity check.
  void primary_loaded(const std::string& origin, std::shared_ptr<const zone::Zone> z);
  // NOTIFY every `notify` remote of the zone about this version of it.
  void send_notify(const std::string& origin, std::shared_ptr<const zone::Zone> z);

  struct SecondaryStatus {
    std::string origin;
    bool loaded = false;
    uint32_t serial = 0;
    bool expired = false;
    ZoneTimers timers;
    int64_t last_attempt = 0;
    std::string last_result;  // "ok", "up to date", or the error
  };
  // A snapshot of every secondary zone (asks the replication thread and waits).
  std::vector<SecondaryStatus> status();

 private:
  struct Secondary;
  void apply_config(const ReplicationConfig& cfg);
  boost::asio::awaitable<void> run_secondary(std::shared_ptr<Secondary> s);
  boost::asio::awaitable<bool> refresh_once(Secondary& s);
  boost::asio::awaitable<void> notify_one(Remote remote, std::string origin,
                                          std::shared_ptr<const zone::Zone> zone);
  void record_history(const std::string& origin, const zone::Changeset& c, size_t keep,
                      bool persist);
  const ZoneRole* role(const std::string& origin) const;

  Hooks hooks_;
  zone::History& history_;
  boost::asio::io_context io_{1};
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread thread_;
  std::unique_ptr<Store> store_;
  ReplicationConfig cfg_;
  std::map<std::string, std::shared_ptr<Secondary>> secondaries_;
  // Per zone and remote: the newest NOTIFY sequence; an older one still retransmitting stops.
  std::map<std::string, uint64_t> notify_generation_;
};

}  // namespace replication
