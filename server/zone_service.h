// The zones this server serves, as the operator configures them: the configuration file's
// zones plus the ones added at runtime (kept in the database), primary zones loaded from
// their files (in parallel; a reload re-reads only files that changed), their last good
// version when a file is broken, edits from zonectl, and the write-back to zone files of
// changes that did not come from them (DNS UPDATE, zonectl). Every change goes through the
// one commit (zone/commit.h). Runs on the main thread; the parsing on a pool of threads.
#pragma once
#include <utility>  // before Asio

#include <boost/asio.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/config.h"
#include "zone/catalog.h"
#include "zone/commit.h"
#include "zone/zone_registry.h"

namespace server {

// What the store holds of a zone (start-up).
// What the store holds of a zone (serial, hash 0 if unknown, whether a version is stored:
// what the commit is told at a start-up), and a runtime zone's configuration.
struct StoredZoneMeta : zone::ZoneChange::Stored {
  std::string config;  // a zone added at runtime: its configuration (JSON)
};

struct ZoneServiceHooks {
  zone::Committer* committer = nullptr;
  std::function<std::map<std::string, StoredZoneMeta>()> stored_meta;
  // The last version the store holds (a primary whose file fails to load), or null + why.
  std::function<std::shared_ptr<const zone::Zone>(const std::string& origin, std::string& error)>
      stored_zone;
  // The content hash of the version served now, 0 if not known.
  std::function<uint64_t(const std::string& origin)> served_hash;
  // The set of zones or their settings changed (policy, replication): the effective config.
  std::function<void(const Config&)> configured;
};

// One zone's outcome of a load or reload.
struct ZoneReport {
  std::string name;
  enum class Result { loaded, unchanged, failed, removed } result = Result::unchanged;
  bool serving = false;      // something is served for it afterwards
  uint32_t serial = 0;       // the serial served afterwards (when serving)
  size_t records = 0;
  std::string serving_from;  // "file" or "database"
  size_t merged = 0;         // changes made here merged into a file edited by hand
  std::vector<std::string> errors, warnings;
};

struct LoadSummary {
  size_t loaded = 0, unchanged = 0, failed = 0, removed = 0;
  std::vector<ZoneReport> zones;  // only loaded, failed and removed ones
  std::string config_error;       // the configuration could not be re-read (old one kept)
};

// A primary zone's state, for `zonectl status` and the metrics.
struct PrimaryZoneStatus {
  std::string file;
  int64_t last_load = 0;     // UNIX time of the last load attempt
  bool last_load_ok = true;
  std::string last_result;
  std::string serving_from;  // "file", "database", or "" (nothing)
  size_t pending_sync = 0;   // changes not yet written back to the file
  std::string sync_error;    // why the last write-back failed
};

class ZoneService {
 public:
  ZoneService(boost::asio::io_context& io, zone::ZoneRegistry& registry, ZoneServiceHooks hooks);
  ~ZoneService();

  // Start-up: this configuration and the zones added at runtime; loads every primary zone.
  LoadSummary start(Config cfg);
  // SIGHUP / zonectl reload: the configuration file again (unless only_origin is given) and
  // the zone files that changed.
  LoadSummary reload(const std::string& only_origin = {});

  const Config& config() const { return cfg_; }
  // Why the configuration file could not be re-read at the last reload ("" when it could):
  // zoned goes on with the previous one, and status says so until a reload reads it.
  const std::string& config_error() const { return config_error_; }
  // A configured zone by name ("example.com" or "example.com.") or nullptr.
  const ZoneConfig* find_zone(const std::string& name) const;
  const ZoneConfig* zone(const std::string& origin) const;
  std::optional<PrimaryZoneStatus> primary_status(const std::string& origin) const;

  // A change from zonectl: the planner runs against the version current at commit time;
  // then the zone file is updated. dry_run: planned and validated, nothing committed.
  struct EditResult {
    zone::CommitResult commit;
    std::string file_note;  // what happened to the zone file
  };
  EditResult edit(const std::string& origin, const std::string& source, zone::Planner planner,
                  bool dry_run);

  // Runtime zones (zonectl zone-add/zone-remove): committed with their configuration, so
  // they survive restarts. Errors come back in result.commit.error.
  EditResult add_zone(ZoneConfig z);
  EditResult remove_zone(const std::string& origin);

  // Catalog zones (RFC 9432). A consumed catalog was committed (a new version served): its
  // members are compared with the zones made from it before, and added, removed or reset.
  void catalog_changed(const std::string& origin);

  // A committed change that did not come from the zone file (any thread): it goes back to
  // the file within the zone's zonefile-sync delay.
  void changed_elsewhere(const std::string& origin, const zone::Changeset& applied);
  // Called every few hundred milliseconds on the main thread: due write-backs, retries.
  void tick();

 private:
  struct Primary;
  struct WriteBack;
  struct Prepared;
  // `pending`: changes made here wait to be written to the file; the file's serial may then
  // be below the served one (the merge sets the serial).
  Prepared prepare(const ZoneConfig& zc, std::shared_ptr<const zone::Zone> cur,
                   std::optional<StoredZoneMeta> base, bool pending = false) const;
  LoadSummary load(const std::vector<const ZoneConfig*>& zones, bool startup,
                   const std::map<std::string, StoredZoneMeta>& stored);
  void decide_load(size_t i, std::vector<Prepared>& prepared, int64_t now, bool startup,
                   std::vector<std::string>& from_database, std::vector<zone::ZoneChange>& changes,
                   std::vector<size_t>& change_of, LoadSummary& sum);
  void finish_load(const std::vector<zone::CommitResult>& results,
                   const std::vector<size_t>& change_of, std::vector<Prepared>& prepared,
                   const std::vector<std::string>& from_database, bool startup,
                   LoadSummary& sum);
  void set_config(Config cfg);  // as read from the configuration file
  void runtime_changed();
  void drain_incoming();
  // Writes the changes not yet in the zone file; waits for it when `wait` and the file is
  // small, else it happens on the pool and `note` says so.
  bool sync_file(const std::string& origin, std::string& note, bool wait);
  void remove_configured(const std::vector<std::string>& origins, LoadSummary& sum);
  // Produced catalogs: each one rebuilt from its members and committed when it differs.
  void update_produced(bool startup);
  // Consumed catalogs: the member zones of `catalog` as its served version lists them.
  void consume(const ZoneConfig& catalog, const zone::Zone& version, bool startup);
  // Members of catalogs that are no longer consumed here are removed.
  void drop_orphan_members();
  ZoneConfig member_config(const ZoneConfig& catalog, const std::string& member_origin,
                           const std::string& id, const std::string& group) const;
  void remove_members(const std::vector<std::string>& origins, const std::string& why);

  boost::asio::io_context& io_;
  zone::ZoneRegistry& registry_;
  ZoneServiceHooks hooks_;
  boost::asio::thread_pool pool_;
  Config cfg_;              // the configuration file's zones, then the zones added at runtime
  std::string config_error_;
  size_t file_zones_ = 0;   // how many of cfg_.zones come from the file
  std::unordered_map<std::string, size_t> by_origin_;  // index into cfg_.zones
  std::map<std::string, ZoneConfig> runtime_;  // by origin
  std::map<std::string, ZoneConfig> members_;  // zones made from consumed catalogs, by origin
  // What each consumed catalog listed when last read: catalog origin -> member origin -> entry.
  std::map<std::string, std::map<std::string, zone::catalog::Member>> listed_;
  std::map<std::string, std::string> catalog_error_;  // last logged "ignored" reason per catalog
  std::unordered_map<std::string, std::unique_ptr<Primary>> primaries_;  // by origin
  std::set<std::string> waiting_;  // zones with a write-back or a retry to do
  std::mutex incoming_mu_;
  std::map<std::string, std::vector<zone::Changeset>> incoming_;
};

}  // namespace server
