// The SQLite store: the last good version of every zone (records, serial, content hash;
// secondary timers), the IXFR history of every zone, and the configuration of zones added
// at runtime. One connection, owned by the replication thread. Every change is one
// transaction (or a savepoint inside the committer's batch), so a crash (even SIGKILL)
// leaves the last committed version.
#pragma once
#include <cstdint>
#include <map>
#include <set>
#include <memory>
#include <optional>
#include <stdexcept>
#include <array>
#include <deque>
#include <unordered_map>
#include <string>
#include <vector>

#include "zone/changeset.h"
#include "zone/zone.h"

struct sqlite3;
struct sqlite3_stmt;

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

// What the store knows of a zone besides its records.
struct ZoneMeta {
  uint32_t serial = 0;
  uint64_t hash = 0;       // zone::content_hash of the stored version (0: unknown)
  ZoneTimers timers;
  std::string config;      // the configuration of a zone added at runtime (JSON), or empty
  bool has_records = false;  // a version of the zone is stored (not only its meta)
};

class Store {
 public:
  // Everything between construction and commit() is one unit: the outermost is a
  // transaction, nested ones are savepoints that roll back alone. Destroyed without
  // commit(): rolled back.
  class Scope {
   public:
    explicit Scope(Store& s);
    ~Scope();
    void commit();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    Store& s_;
    std::string name_;
    bool done_ = false;
  };

  explicit Store(const std::string& path);  // opens or creates; throws StoreError
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Replaces a zone's records (AXFR, a zone file loaded) and meta in one transaction.
  void save_zone(const zone::Zone& z, const ZoneTimers& t, uint64_t hash = 0);
  // Applies a changeset to the stored records in one transaction (also records it in the
  // history when keep_history > 0). Throws when the stored zone is not at its from-serial.
  void apply_changes(const std::string& origin, const zone::Changeset& c, const ZoneTimers& t,
                     size_t keep_history, uint64_t hash = 0);
  // A stored zone, or nullptr when there is none. Throws StoreError on a corrupt one.
  std::shared_ptr<const zone::Zone> load_zone(const std::string& origin, ZoneTimers& t);
  void save_timers(const std::string& origin, const ZoneTimers& t);
  // Serial, content hash, timers and runtime configuration of a stored zone, or nullopt.
  std::optional<ZoneMeta> load_meta(const std::string& origin);
  // Whether any record of the zone is stored.
  bool has_records(const std::string& origin);
  // Every stored zone's meta, by origin (start-up reads them all at once).
  std::map<std::string, ZoneMeta> load_all_meta();
  // A batch of many zones (a start-up, a reload of thousands of files) writes more pages
  // than SQLite's default cache of 2 MB holds: while a BigCache lives, the cache may grow to
  // 64 MB, and its pages are given back when it goes (100,000 new zones: 7.5 s to serve
  // instead of 8.5-10.5 s; a 1,000,000-record zone signed from scratch: 33-36 s instead of
  // 42.7).
  class BigCache {
   public:
    explicit BigCache(Store& s);
    ~BigCache();
    BigCache(const BigCache&) = delete;
    BigCache& operator=(const BigCache&) = delete;

   private:
    Store& s_;
  };
  // The configuration of a zone added at runtime ("" for a zone from the config file).
  void save_config(const std::string& origin, const std::string& config);
  // Records, meta, history and configuration of the zone go.
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
  // The zones that have any history stored (start-up looks only at those).
  std::set<std::string> zones_with_history();

 private:
  void exec(const char* sql);
  // A statement run often (each zone of a start-up, each Scope) is compiled once per
  // connection: by the address of its SQL text, which must stay put (a literal, or one of
  // scope_sql_).
  void exec_cached(const char* sql);
  const std::string& scope_sql(int depth, int kind);  // kind: 0 SAVEPOINT, 1 RELEASE
  std::unordered_map<const char*, sqlite3_stmt*> stmts_;
  std::deque<std::array<std::string, 2>> scope_sql_;
  int depth_ = 0;  // open Scopes
  void add_history_locked(const std::string& origin, const zone::Changeset& c, size_t keep);
  sqlite3* db_ = nullptr;
  std::string path_;
};

// The store as the committer uses it: opened on first use, and opened again after an error
// (a read-only or full disk, a file replaced under us), at most every few seconds, so that
// zoned recovers by itself when the fault goes.
class StoreHandle {
 public:
  explicit StoreHandle(std::string path) : path_(std::move(path)) {}
  bool configured() const { return !path_.empty(); }
  // The open store, or nullptr (with last_error()) when it cannot be opened now.
  Store* get();
  // A write failed: the connection is reopened before the next use.
  void failed(const std::string& error);
  const std::string& last_error() const { return error_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::unique_ptr<Store> store_;
  std::string error_;
  int64_t retry_at_ = 0;  // steady seconds
};

}  // namespace replication
