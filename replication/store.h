// The SQLite store: secondary zones (records and timers) and IXFR history for every zone.
// One connection, owned by the replication thread. Every change is one transaction, so a
// crash (even SIGKILL) leaves the last committed version.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "zone/changeset.h"
#include "zone/zone.h"

struct sqlite3;

namespace replication {

class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Secondary timers, as absolute UNIX times so that a restart does not reset them.
struct ZoneTimers {
  int64_t last_refresh = 0;  // last successful SOA check or transfer
  int64_t next_refresh = 0;
  int64_t expire_at = 0;     // 0 = never expires (not yet loaded)
};

class Store {
 public:
  explicit Store(const std::string& path);  // opens or creates; throws StoreError
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Replaces a zone's records (AXFR) and timers in one transaction.
  void save_zone(const zone::Zone& z, const ZoneTimers& t);
  // Applies an IXFR changeset to the stored records in one transaction (also records it in
  // the history when keep_history > 0).
  void apply_changes(const std::string& origin, const zone::Changeset& c, const ZoneTimers& t,
                     size_t keep_history);
  // A stored zone, or nullptr when there is none. Throws StoreError on a corrupt one.
  std::shared_ptr<const zone::Zone> load_zone(const std::string& origin, ZoneTimers& t);
  void save_timers(const std::string& origin, const ZoneTimers& t);
  // The serial and content hash a primary zone was last served with (serial policies).
  void save_served(const std::string& origin, uint32_t serial, uint64_t hash);
  std::optional<std::pair<uint32_t, uint64_t>> load_served(const std::string& origin);
  void drop_zone(const std::string& origin);

  // IXFR history (primary reloads and secondaries with downstream), oldest first.
  void add_history(const std::string& origin, const zone::Changeset& c, size_t keep);
  // The chain of changesets leading from serial `from` to the newest, or nullopt if the
  // history does not reach back to `from`.
  std::optional<std::vector<zone::Changeset>> history_from(const std::string& origin,
                                                           uint32_t from);
  // Every stored changeset of a zone, oldest first.
  std::vector<zone::Changeset> history_all(const std::string& origin);
  void clear_history(const std::string& origin);

 private:
  void exec(const char* sql);
  void add_history_locked(const std::string& origin, const zone::Changeset& c, size_t keep);
  sqlite3* db_ = nullptr;
  std::string path_;
};

}  // namespace replication
