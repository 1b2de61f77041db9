// The replication thread: the store and the one commit (commit.h), secondary zones (SOA
// checks, IXFR/AXFR with fallback, timers), NOTIFY to downstream servers and what is known
// of them (notifier.h). Everything runs on its own io_context thread; the public methods
// post work there (the ones that return something wait for it).
#pragma once
#include <utility>  // before Asio

#include <boost/asio.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <optional>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "replication/commit.h"
#include "replication/notifier.h"
#include "replication/store.h"
#include "replication/xfr_client.h"
#include "zone/history.h"
#include "zone/zone_registry.h"

namespace replication {

struct ZoneRole {
  std::string origin;  // lowercased wire
  std::string name;    // without the final dot, for logs
  std::vector<Remote> primaries;  // non-empty: a secondary zone
  std::vector<Remote> notify;
  size_t history = 100;  // changesets kept for IXFR out
  bool secondary() const { return !primaries.empty(); }
};

struct ReplicationConfig {
  std::string database;  // empty: no persistence (secondaries need one)
  std::vector<ZoneRole> zones;
};

// A primary's answer to the last SOA query of a secondary zone.
struct UpstreamState {
  std::string remote, address;
  bool answered = false;
  uint32_t serial = 0;
  int64_t checked_at = 0;
  std::string error;
};

struct ZoneReplicationStatus {
  std::string origin;
  bool secondary = false;
  // Secondary zones:
  bool loaded = false;
  uint32_t serial = 0;
  bool expired = false;
  ZoneTimers timers;
  int64_t last_attempt = 0;
  bool last_ok = true;      // the last refresh reached a primary and it worked
  std::string last_result;  // "up to date with ...", "IXFR from ...", or the error
  uint64_t transfers_in = 0, transfer_in_bytes = 0;  // transfers received and committed
  std::vector<UpstreamState> primaries;
  // Every zone with notify remotes:
  std::vector<DownstreamState> downstream;
};

class Replicator {
 public:
  Replicator(zone::ZoneRegistry& registry, zone::History& history);
  ~Replicator();

  // Opens the store (a failure is logged: zoned serves what it can and retries), serves
  // what it holds for secondary zones, schedules their refresh. run() starts the thread.
  void start(const ReplicationConfig& cfg);
  void run();
  void stop();
  void reconfigure(const ReplicationConfig& cfg);

  ZoneCommitter& committer() { return committer_; }

  // What the store holds: every zone's meta (start-up reads them at once) and one zone's
  // last stored version (a primary whose file fails to load). Empty/null when the store is
  // unusable. These wait for the replication thread (inline before run()).
  std::map<std::string, ZoneMeta> stored_meta();
  std::shared_ptr<const zone::Zone> stored_zone(const std::string& origin, std::string& error);
  // Whether the store is usable now, and why not.
  bool store_ok(std::string& error);

  void notify_received(const std::string& origin, const std::string& from);
  void refresh(const std::string& origin, bool force_axfr);
  // NOTIFY every `notify` remote of the zone about the version served now.
  void send_notify(const std::string& origin);

  // Asks each server for one RRset (on the replication thread, one after the other) and
  // hands the answers, in order, to `done` there (the DS of a child at its parental agents).
  void query_servers(std::vector<Remote> servers, std::string name_wire, uint16_t qtype,
                     std::function<void(std::vector<RRsetCheck>)> done);

  // A snapshot of every zone's replication state (waits for the replication thread).
  std::vector<ZoneReplicationStatus> status();
  // The same, unless the replication thread is busy for longer than `wait` (a big commit):
  // then nothing, and the caller (a metrics scrape) shows what it had before.
  std::optional<std::vector<ZoneReplicationStatus>> status_within(std::chrono::milliseconds wait);

 private:
  struct Secondary;
  template <class F>
  auto on_thread(F&& f) -> decltype(f());
  void apply_config(const ReplicationConfig& cfg);
  boost::asio::awaitable<void> run_secondary(std::shared_ptr<Secondary> s);
  boost::asio::awaitable<bool> refresh_once(Secondary& s);
  const ZoneRole* role(const std::string& origin) const;
  struct PendingCommit {
    explicit PendingCommit(boost::asio::io_context& io)
        : done(io, boost::asio::steady_timer::time_point::max()) {}
    zone::ZoneChange change;
    zone::CommitResult result;
    bool finished = false;
    boost::asio::steady_timer done;
  };
  boost::asio::awaitable<zone::CommitResult> commit_batched(zone::ZoneChange c);
  void flush_commits();
  std::vector<std::shared_ptr<PendingCommit>> pending_commits_;
  bool flush_posted_ = false;
  // `asked`: a NOTIFY or an operator asked for this refresh; it goes before the timers'
  // refreshes (a catalog's NOTIFY must not wait behind its 1,000 members' retries) and may
  // use a few slots beyond the cap.
  boost::asio::awaitable<void> acquire_refresh_slot(bool asked);
  void release_refresh_slot();
  static constexpr size_t kMaxRefreshes = 32;
  static constexpr size_t kAskedExtra = 8;
  size_t active_refreshes_ = 0;
  std::deque<std::shared_ptr<boost::asio::steady_timer>> refresh_waiters_;

  zone::ZoneRegistry& registry_;
  boost::asio::io_context io_{1};
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread thread_;
  StoreHandle store_{""};
  Notifier notifier_{io_};
  ReplicationConfig cfg_;
  std::map<std::string, const ZoneRole*> roles_;  // by origin, into cfg_
  ZoneCommitter committer_;
  std::map<std::string, std::shared_ptr<Secondary>> secondaries_;
};

}  // namespace replication
