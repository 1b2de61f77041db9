#include "replication/store.h"

#include <malloc.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <unordered_map>

#include "zone/wire/rdata.h"
#include "zone/wire/types.h"

namespace replication {

namespace {

using StmtCache = std::unordered_map<const char*, sqlite3_stmt*>;

class Stmt {
 public:
  // With a cache: compiled once per connection (`sql` must stay put: a literal), reset and
  // kept when done.
  Stmt(sqlite3* db, const char* sql, StmtCache* cache = nullptr) : db_(db), cached_(cache) {
    if (cache) {
      auto it = cache->find(sql);
      if (it != cache->end()) {
        s_ = it->second;
        return;
      }
    }
    if (sqlite3_prepare_v3(db, sql, -1, cache ? SQLITE_PREPARE_PERSISTENT : 0, &s_, nullptr) != SQLITE_OK)
      throw StoreError(std::string("sqlite prepare: ") + sqlite3_errmsg(db));
    if (cache) cache->emplace(sql, s_);
  }
  ~Stmt() {
    if (!cached_) {
      sqlite3_finalize(s_);
      return;
    }
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt& text(int i, const std::string& v) {
    sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  // Bytes that stay put until run(): bound without a copy.
  Stmt& blob(int i, std::string_view v) {
    sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
    return *this;
  }
  Stmt& str(int i, const std::string& v) {  // as TEXT, for comparing with SQLite's own names
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& num(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  bool step() {
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw StoreError(std::string("sqlite: ") + sqlite3_errmsg(db_));
  }
  void run() {
    step();
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  int64_t col_num(int i) { return sqlite3_column_int64(s_, i); }
  std::string col_blob(int i) {
    auto p = static_cast<const char*>(sqlite3_column_blob(s_, i));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s_, i))) : std::string();
  }

 private:
  sqlite3* db_;
  bool cached_;
  sqlite3_stmt* s_ = nullptr;
};

void write_meta(sqlite3* db, StmtCache* cache, const std::string& origin, uint32_t serial,
                const ZoneTimers& t, uint64_t hash) {
  Stmt(db,
       "INSERT INTO zones(name, serial, last_refresh, next_refresh, expire_at, hash) "
       "VALUES(?1,?2,?3,?4,?5,?6) ON CONFLICT(name) DO UPDATE SET serial=?2, last_refresh=?3, "
       "next_refresh=?4, expire_at=?5, hash=?6", cache)
      .text(1, origin)
      .num(2, serial)
      .num(3, t.last_refresh)
      .num(4, t.next_refresh)
      .num(5, t.expire_at)
      .num(6, static_cast<int64_t>(hash))
      .run();
}

bool has_column(sqlite3* db, const char* table, const char* column) {
  Stmt s(db, (std::string("SELECT 1 FROM pragma_table_info('") + table + "') WHERE name=?1").c_str());
  s.str(1, column);
  return s.step();
}

}  // namespace

Store::Store(const std::string& path) : path_(path) {
  std::error_code dir_ec;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, dir_ec);
  if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) {
    std::string m = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw StoreError(path + ": cannot open database: " + m);
  }
  sqlite3_busy_timeout(db_, 5000);
  try {
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=FULL");
    exec("CREATE TABLE IF NOT EXISTS zones(name BLOB PRIMARY KEY, serial INTEGER, "
         "last_refresh INTEGER, next_refresh INTEGER, expire_at INTEGER)");
    exec("CREATE TABLE IF NOT EXISTS records(zone BLOB, owner BLOB, type INTEGER, "
         "ttl INTEGER, rdata BLOB)");
    exec("CREATE INDEX IF NOT EXISTS records_zone ON records(zone, owner, type)");
    // Databases of earlier versions: the content hash and runtime configuration columns.
    if (!has_column(db_, "zones", "hash")) exec("ALTER TABLE zones ADD COLUMN hash INTEGER");
    if (!has_column(db_, "zones", "config")) exec("ALTER TABLE zones ADD COLUMN config TEXT");
    // Earlier versions kept primary zones' served serial and hash apart.
    if (Stmt(db_, "SELECT 1 FROM sqlite_master WHERE name='served'").step()) {
      exec("INSERT OR IGNORE INTO zones(name, serial, hash) SELECT zone, serial, hash FROM served");
      exec("DROP TABLE served");
    }
    exec("CREATE TABLE IF NOT EXISTS history(zone BLOB, seq INTEGER, from_serial INTEGER, "
         "to_serial INTEGER, data BLOB, PRIMARY KEY(zone, seq))");
  } catch (const StoreError& e) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw StoreError(path + ": " + e.what());
  }
}

Store::~Store() {
  for (auto& [sql, st] : stmts_) sqlite3_finalize(st);
  sqlite3_close(db_);
}

const std::string& Store::scope_sql(int depth, int kind) {
  while (scope_sql_.size() <= static_cast<size_t>(depth)) {
    std::string name = "s" + std::to_string(scope_sql_.size());
    scope_sql_.push_back({"SAVEPOINT " + name, "RELEASE " + name});
  }
  return scope_sql_[static_cast<size_t>(depth)][static_cast<size_t>(kind)];
}

void Store::exec_cached(const char* sql) {
  Stmt st(db_, sql, &stmts_);
  st.step();
}

Store::Scope::Scope(Store& s) : s_(s), name_("s" + std::to_string(s.depth_)) {
  s_.exec_cached(s_.depth_ == 0 ? "BEGIN IMMEDIATE" : s_.scope_sql(s_.depth_, 0).c_str());
  ++s_.depth_;
}

Store::Scope::~Scope() {
  if (done_) return;
  --s_.depth_;
  // Best effort: a failed rollback leaves SQLite to roll back on its own.
  if (s_.depth_ == 0) {
    sqlite3_exec(s_.db_, "ROLLBACK", nullptr, nullptr, nullptr);
  } else {
    std::string sql = "ROLLBACK TO " + name_ + "; RELEASE " + name_;
    sqlite3_exec(s_.db_, sql.c_str(), nullptr, nullptr, nullptr);
  }
}

void Store::Scope::commit() {
  s_.exec_cached(s_.depth_ == 1 ? "COMMIT" : s_.scope_sql(s_.depth_ - 1, 1).c_str());
  --s_.depth_;
  done_ = true;
}

Store::BigCache::BigCache(Store& s) : s_(s) {
  // A hint: a commit never fails for want of it.
  sqlite3_exec(s_.db_, "PRAGMA cache_size=-65536", nullptr, nullptr, nullptr);
}

Store::BigCache::~BigCache() {
  // Best effort, as a destructor must: the default size again, and the pages let go.
  sqlite3_exec(s_.db_, "PRAGMA cache_size=-2000", nullptr, nullptr, nullptr);
  sqlite3_db_release_memory(s_.db_);
  // ... and back to the system: tens of MB of pages otherwise stay resident in this thread's
  // heap (10,000 zones stored after a start-up: 12 MB).
  malloc_trim(0);
}

void Store::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string m = err ? err : "?";
    sqlite3_free(err);
    throw StoreError("sqlite: " + m);
  }
}

void Store::save_zone(const zone::Zone& z, const ZoneTimers& t, uint64_t hash) {
  Scope tx(*this);
  Stmt(db_, "DELETE FROM records WHERE zone=?1", &stmts_).text(1, z.origin()).run();
  // Rows in the index's order (zone, owner): a zone's rows then go into the index one after
  // the other instead of all over it (a signed 1M-record zone: 3M rows), and each is bound
  // from the zone's own memory.
  std::vector<const zone::Node*> nodes;
  nodes.reserve(z.node_count());
  z.for_each_node([&](const zone::Node& n) {
    if (!n.rrsets.empty()) nodes.push_back(&n);
  });
  std::sort(nodes.begin(), nodes.end(),
            [](const zone::Node* a, const zone::Node* b) { return a->name < b->name; });
  Stmt ins(db_, "INSERT INTO records(zone, owner, type, ttl, rdata) VALUES(?1,?2,?3,?4,?5)", &stmts_);
  for (const zone::Node* n : nodes)
    for (const auto& set : n->rrsets)
      set.for_each([&](std::string_view rd) {
        ins.blob(1, z.origin()).blob(2, n->name).num(3, set.type).num(4, n->record_ttl(set, rd))
            .blob(5, rd).run();
      });
  write_meta(db_, &stmts_, z.origin(), z.serial(), t, hash);
  tx.commit();
}

void Store::apply_changes(const std::string& origin, const zone::Changeset& c,
                          const ZoneTimers& t, size_t keep_history, uint64_t hash) {
  Scope tx(*this);
  Stmt del(db_,
           "DELETE FROM records WHERE rowid IN (SELECT rowid FROM records WHERE zone=?1 AND "
           "owner=?2 AND type=?3 AND ttl=?4 AND rdata=?5 LIMIT 1)");
  Stmt ins(db_, "INSERT INTO records(zone, owner, type, ttl, rdata) VALUES(?1,?2,?3,?4,?5)", &stmts_);
  auto remove = [&](const zone::Record& r) {
    del.text(1, origin).text(2, r.owner).num(3, r.type).num(4, r.ttl).text(5, r.rdata).run();
    if (sqlite3_changes(db_) != 1)
      throw StoreError("stored zone " + zone::wire::name_to_text(origin) + " lacks a record the change removes");
  };
  // The change must start at the stored serial. The SOA then goes by type: the change's old
  // SOA may differ from ours in more than the serial (another primary, a TTL).
  Stmt cur(db_, "SELECT serial FROM zones WHERE name=?1", &stmts_);
  cur.text(1, origin);
  if (!cur.step())
    throw StoreError("zone " + zone::wire::name_to_text(origin) + " is not stored");
  if (static_cast<uint32_t>(cur.col_num(0)) != c.from_serial())
    throw StoreError("stored zone " + zone::wire::name_to_text(origin) + " is at serial " +
                     std::to_string(cur.col_num(0)) + ", the change starts at " +
                     std::to_string(c.from_serial()));
  // By owner too: the index (zone, owner, type) finds it without a scan of the zone.
  Stmt(db_, "DELETE FROM records WHERE zone=?1 AND owner=?1 AND type=6", &stmts_).text(1, origin).run();
  if (sqlite3_changes(db_) != 1)
    throw StoreError("stored zone " + zone::wire::name_to_text(origin) + " has no single SOA");
  for (const auto& r : c.removed) remove(r);
  for (const auto* r : {&c.soa_to}) ins.text(1, origin).text(2, r->owner).num(3, r->type).num(4, r->ttl).text(5, r->rdata).run();
  for (const auto& r : c.added)
    ins.text(1, origin).text(2, r.owner).num(3, r.type).num(4, r.ttl).text(5, r.rdata).run();
  write_meta(db_, &stmts_, origin, c.to_serial(), t, hash);
  if (keep_history) add_history_locked(origin, c, keep_history);
  tx.commit();
}

std::shared_ptr<const zone::Zone> Store::load_zone(const std::string& origin, ZoneTimers& t) {
  Stmt z(db_, "SELECT last_refresh, next_refresh, expire_at FROM zones WHERE name=?1");
  z.text(1, origin);
  if (!z.step()) return nullptr;
  t.last_refresh = z.col_num(0);
  t.next_refresh = z.col_num(1);
  t.expire_at = z.col_num(2);
  zone::ZoneBuilder b(origin, path_);
  Stmt r(db_, "SELECT owner, type, ttl, rdata FROM records WHERE zone=?1");
  r.text(1, origin);
  size_t n = 0;
  while (r.step()) {
    b.add(r.col_blob(0), static_cast<uint16_t>(r.col_num(1)), static_cast<uint32_t>(r.col_num(2)),
          r.col_blob(3));
    ++n;
  }
  if (n == 0) return nullptr;
  std::vector<zone::ZoneError> errors;
  auto zone = b.build(errors);
  if (!zone)
    throw StoreError(path_ + ": stored zone " + zone::wire::name_to_text(origin) + " is unusable: " +
                     (errors.empty() ? "?" : errors.front().message));
  return zone;
}

void Store::save_timers(const std::string& origin, const ZoneTimers& t) {
  Stmt(db_, "UPDATE zones SET last_refresh=?2, next_refresh=?3, expire_at=?4 WHERE name=?1")
      .text(1, origin)
      .num(2, t.last_refresh)
      .num(3, t.next_refresh)
      .num(4, t.expire_at)
      .run();
}

namespace {
ZoneMeta meta_row(Stmt& s, int first) {
  ZoneMeta m;
  m.serial = static_cast<uint32_t>(s.col_num(first));
  m.hash = static_cast<uint64_t>(s.col_num(first + 1));
  m.timers.last_refresh = s.col_num(first + 2);
  m.timers.next_refresh = s.col_num(first + 3);
  m.timers.expire_at = s.col_num(first + 4);
  m.config = s.col_blob(first + 5);
  m.has_records = s.col_num(first + 6) != 0;
  return m;
}
}  // namespace

std::optional<ZoneMeta> Store::load_meta(const std::string& origin) {
  Stmt s(db_, "SELECT serial, hash, last_refresh, next_refresh, expire_at, config, "
              "EXISTS(SELECT 1 FROM records WHERE records.zone = zones.name) FROM zones "
              "WHERE name=?1");
  s.text(1, origin);
  if (!s.step()) return std::nullopt;
  return meta_row(s, 0);
}

bool Store::has_records(const std::string& origin) {
  Stmt s(db_, "SELECT 1 FROM records WHERE zone=?1 LIMIT 1");
  s.text(1, origin);
  return s.step();
}

std::map<std::string, ZoneMeta> Store::load_all_meta() {
  Stmt s(db_, "SELECT name, serial, hash, last_refresh, next_refresh, expire_at, config, "
              "EXISTS(SELECT 1 FROM records WHERE records.zone = zones.name) FROM zones");
  std::map<std::string, ZoneMeta> out;
  while (s.step()) out.emplace(s.col_blob(0), meta_row(s, 1));
  return out;
}

void Store::save_config(const std::string& origin, const std::string& config) {
  Stmt(db_, "INSERT INTO zones(name, serial, config) VALUES(?1, 0, ?2) "
            "ON CONFLICT(name) DO UPDATE SET config=?2")
      .text(1, origin)
      .text(2, config)
      .run();
}

void Store::drop_zone(const std::string& origin) {
  Scope tx(*this);
  Stmt(db_, "DELETE FROM records WHERE zone=?1", &stmts_).text(1, origin).run();
  Stmt(db_, "DELETE FROM zones WHERE name=?1").text(1, origin).run();
  Stmt(db_, "DELETE FROM history WHERE zone=?1", &stmts_).text(1, origin).run();
  tx.commit();
}

void Store::add_history_locked(const std::string& origin, const zone::Changeset& c,
                               size_t keep) {
  Stmt last(db_, "SELECT COALESCE(MAX(seq), 0) FROM history WHERE zone=?1");
  last.text(1, origin);
  int64_t seq = last.step() ? last.col_num(0) + 1 : 1;
  Stmt(db_, "INSERT INTO history(zone, seq, from_serial, to_serial, data) VALUES(?1,?2,?3,?4,?5)")
      .text(1, origin)
      .num(2, seq)
      .num(3, c.from_serial())
      .num(4, c.to_serial())
      .text(5, zone::serialize(c))
      .run();
  Stmt(db_, "DELETE FROM history WHERE zone=?1 AND seq <= ?2")
      .text(1, origin)
      .num(2, seq - static_cast<int64_t>(keep))
      .run();
}

void Store::add_history(const std::string& origin, const zone::Changeset& c, size_t keep) {
  Scope tx(*this);
  add_history_locked(origin, c, keep);
  tx.commit();
}

std::optional<std::vector<zone::Changeset>> Store::history_from(const std::string& origin,
                                                                uint32_t from) {
  Stmt s(db_, "SELECT from_serial, to_serial, data FROM history WHERE zone=?1 ORDER BY seq");
  s.text(1, origin);
  std::vector<zone::Changeset> chain;
  bool started = false;
  uint32_t at = from;
  while (s.step()) {
    uint32_t f = static_cast<uint32_t>(s.col_num(0));
    if (!started) {
      if (f != from) continue;
      started = true;
    }
    if (f != at) {  // a gap (history restarted after an AXFR): the chain is broken
      chain.clear();
      started = f == from;
      if (!started) continue;
    }
    zone::Changeset c;
    if (!zone::deserialize(s.col_blob(2), c)) throw StoreError("corrupt history for " + zone::wire::name_to_text(origin));
    at = static_cast<uint32_t>(s.col_num(1));
    chain.push_back(std::move(c));
  }
  if (!started || chain.empty()) return std::nullopt;
  return chain;
}

std::vector<zone::Changeset> Store::history_all(const std::string& origin) {
  Stmt s(db_, "SELECT data FROM history WHERE zone=?1 ORDER BY seq");
  s.text(1, origin);
  std::vector<zone::Changeset> out;
  while (s.step()) {
    zone::Changeset c;
    if (!zone::deserialize(s.col_blob(0), c)) throw StoreError("corrupt history for " + zone::wire::name_to_text(origin));
    out.push_back(std::move(c));
  }
  return out;
}

std::set<std::string> Store::zones_with_history() {
  Stmt s(db_, "SELECT DISTINCT zone FROM history");
  std::set<std::string> out;
  while (s.step()) out.insert(s.col_blob(0));
  return out;
}

void Store::clear_history(const std::string& origin) {
  Stmt(db_, "DELETE FROM history WHERE zone=?1", &stmts_).text(1, origin).run();
}

Store* StoreHandle::get() {
  if (store_ || path_.empty()) return store_.get();
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::steady_clock::now().time_since_epoch()).count();
  if (now < retry_at_) return nullptr;
  try {
    store_ = std::make_unique<Store>(path_);
    error_.clear();
  } catch (const StoreError& e) {
    error_ = e.what();
    retry_at_ = now + 5;
  }
  return store_.get();
}

void StoreHandle::failed(const std::string& error) {
  error_ = error;
  store_.reset();
  retry_at_ = 0;  // the next use tries again at once
}

}  // namespace replication
