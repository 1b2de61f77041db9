#include "server/zone_service.h"

#include "zone/signer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <deque>
#include <fstream>
#include <future>
#include <set>
#include <thread>

#include "zone/catalog.h"
#include "zone/changeset.h"
#include "zone/loader.h"
#include "zone/serial_policy.h"
#include "zone/wire/rdata.h"
#include "zone/wire/serial.h"
#include "zone/wire/types.h"
#include "zone/zonefile_edit.h"

namespace server {

namespace asio = boost::asio;
using namespace zone::wire;
using Clock = std::chrono::steady_clock;

namespace {

std::shared_ptr<spdlog::logger> zone_log() {
  auto l = spdlog::get("zone");
  return l ? l : spdlog::default_logger();
}

int64_t unix_now() { return static_cast<int64_t>(std::time(nullptr)); }

using zone::FileStamp;
using zone::stamp_of;

// The stamps of every file a zone was read from: the zone file's (its path is the
// configuration's: not kept again here, one per zone), then each $INCLUDE's with its path.
struct Stamps {
  bool known = false;  // not known: read it again
  FileStamp main;
  std::vector<std::pair<std::string, FileStamp>> includes;
};

// A load's outcome as status and reload say it.
std::string loaded_text(uint32_t serial, size_t records) {
  return "loaded serial " + std::to_string(serial) + " (" + std::to_string(records) + " records)";
}

bool unchanged_files(const std::string& main_path, const Stamps& stamps) {
  if (!stamps.known || !(stamp_of(main_path) == stamps.main)) return false;
  for (const auto& [path, st] : stamps.includes)
    if (!(stamp_of(path) == st)) return false;
  return true;
}

std::string name_of(const std::string& origin) {
  std::string n = name_to_text(origin);
  if (n.size() > 1 && n.back() == '.') n.pop_back();
  return n;
}

zone::Record soa_record(const zone::Zone& z) {
  return zone::Record{z.origin(), rrtype::SOA, z.soa().ttl,
                      std::string(std::string_view(z.soa().data).substr(2))};
}

std::string first(const std::vector<std::string>& v, const std::string& otherwise) {
  return v.empty() ? otherwise : v.front();
}

}  // namespace

// Changes made here (UPDATE, zonectl) on their way to the zone file. Most zones never have
// any: they carry a null pointer instead of this state (10,000 zones: ~2 MB).
struct ZoneService::WriteBack {
  std::vector<zone::Changeset> pending;  // committed, not yet written to the file
  bool syncing = false;    // a write-back is under way on the pool
  bool scheduled = false;  // a write-back is due at `due`
  Clock::time_point due;
  std::string error;         // why the last write-back failed (status)
  std::string logged_error;  // logged once, not on every retry
};

struct ZoneService::Primary {
  Stamps stamps;  // the files as last read or written
  int64_t last_load = 0;  // UNIX time of the last load attempt
  bool last_load_ok = true;
  bool retry_load = false;  // the store could not take the last load: try again
  Clock::time_point retry_at;
  const char* serving_from = "";  // "file", "database", or "" (nothing)
  // The last load's outcome for status; when empty, "loaded serial S (R records)" with these
  // (the common case, kept as two numbers rather than a string per zone).
  std::string last_result;
  uint32_t loaded_serial = 0;
  size_t loaded_records = 0;
  std::unique_ptr<WriteBack> wb;  // null: nothing waits for the file

  WriteBack& write_back() {
    if (!wb) wb = std::make_unique<WriteBack>();
    return *wb;
  }
  bool has_pending() const { return wb && !wb->pending.empty(); }
  bool syncing() const { return wb && wb->syncing; }
  bool sync_scheduled() const { return wb && wb->scheduled; }
};

struct ZoneService::Prepared {
  const ZoneConfig* zc = nullptr;
  Primary* st = nullptr;  // at a load: the zone's state
  enum class What { commit, unchanged, failed } what = What::failed;
  std::shared_ptr<const zone::Zone> cur;   // the version served when prepared
  std::shared_ptr<const zone::Zone> zone;  // what to serve
  uint64_t hash = 0;
  // Behind pointers: most zones at a load have neither, and every byte of the 10,000
  // Prepared of a start-up is fresh memory (a page fault costs ~15 us on a VM).
  std::unique_ptr<zone::Changeset> diff;     // from cur
  std::unique_ptr<zone::Changeset> rebased;  // pending changes merged into a hand-edited file
  Stamps stamps;
  std::vector<std::string> errors, warnings;
  // A start-up: what the store holds of the zone (read for every zone at once), passed on to
  // the commit so that it does not read it again.
  std::optional<zone::ZoneChange::Stored> stored;
};

ZoneService::ZoneService(asio::io_context& io, zone::ZoneRegistry& registry,
                         ZoneServiceHooks hooks)
    : io_(io),
      registry_(registry),
      hooks_(std::move(hooks)),
      pool_(std::max(1u, std::thread::hardware_concurrency())) {}

ZoneService::~ZoneService() {
  pool_.join();
}

const ZoneConfig* ZoneService::zone(const std::string& origin) const {
  auto it = by_origin_.find(origin);
  return it == by_origin_.end() ? nullptr : &cfg_.zones[it->second];
}

const ZoneConfig* ZoneService::find_zone(const std::string& text) const {
  std::string t = text;
  if (t.empty() || t.back() != '.') t += '.';
  auto wire = name_from_text(t);
  return wire ? zone(lowered(*wire)) : nullptr;
}

std::optional<PrimaryZoneStatus> ZoneService::primary_status(const std::string& origin) const {
  auto it = primaries_.find(origin);
  if (it == primaries_.end()) return std::nullopt;
  const Primary& p = *it->second;
  PrimaryZoneStatus st;
  if (const ZoneConfig* zc = zone(origin)) st.file = zc->file;  // one copy of it: the config's
  st.last_load = p.last_load;
  st.last_load_ok = p.last_load_ok;
  st.last_result =
      !p.last_result.empty() ? p.last_result : loaded_text(p.loaded_serial, p.loaded_records);
  st.serving_from = p.serving_from;
  if (p.wb) {
    st.pending_sync = p.wb->pending.size();
    st.sync_error = p.wb->error;
  }
  return st;
}

void ZoneService::set_config(Config cfg) {
  file_zones_ = cfg.zones.size();
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < cfg.zones.size(); ++i) index.emplace(cfg.zones[i].origin, i);
  for (const auto& [origin, z] : runtime_) {
    if (index.count(origin)) continue;  // the configuration file took it over
    index.emplace(origin, cfg.zones.size());
    cfg.zones.push_back(z);
  }
  for (const auto& [origin, z] : members_) {
    if (index.count(origin)) continue;  // configured otherwise: that one wins
    index.emplace(origin, cfg.zones.size());
    cfg.zones.push_back(z);
  }
  cfg_ = std::move(cfg);
  by_origin_ = std::move(index);
  if (hooks_.configured) hooks_.configured(cfg_);
}

void ZoneService::runtime_changed() {
  // The file's zones stay as they are (no copy of them is kept: 10,000 zones of config are
  // megabytes); the runtime ones after them are made again.
  Config cfg = std::move(cfg_);
  cfg.zones.resize(file_zones_);
  set_config(std::move(cfg));
}

// Parses one zone file and decides what to serve (serial policy, pending changes): on the
// pool, touching nothing shared.
ZoneService::Prepared ZoneService::prepare(const ZoneConfig& zc,
                                           std::shared_ptr<const zone::Zone> cur,
                                           std::optional<StoredZoneMeta> base,
                                           bool pending) const {
  Prepared p;
  p.zc = &zc;
  p.cur = cur;
  // Each file's stamp as it was opened, before it was read: an edit made meanwhile is seen
  // next time.
  zone::LoadResult res = zone::load_zone_file(zc.file, zc.origin);
  p.stamps.known = !res.files.empty() && res.stamps.size() == res.files.size();
  if (p.stamps.known) {
    p.stamps.main = res.stamps[0];
    for (size_t i = 1; i < res.files.size(); ++i)
      p.stamps.includes.emplace_back(res.files[i], res.stamps[i]);
  }
  for (const auto& w : res.warnings) p.warnings.push_back(w.str());
  for (const auto& e : res.errors) p.errors.push_back(e.str());
  if (!res.ok()) return p;
  auto z = res.zone;
  p.hash = zone::content_hash(*z);
  std::optional<std::pair<uint32_t, uint64_t>> b;
  if (cur) {
    uint64_t h = hooks_.served_hash ? hooks_.served_hash(zc.origin) : 0;
    b = std::make_pair(cur->serial(), h ? h : zone::content_hash(*cur));
  } else if (base) {
    b = std::make_pair(base->serial, base->hash);
  }
  if (b) {
    const uint32_t fs = z->serial();
    uint32_t serial = fs;
    bool same = b->second && p.hash == b->second;
    if (same) {
      if (!serial_gt(fs, b->first)) serial = b->first;  // keep serving the serial set before
    } else if (!serial_gt(fs, b->first)) {
      if (!zc.dnssec_policy.empty()) {
        // Signed here: the served serial moves with every re-signing, so the file's lags.
        serial = zone::next_serial(zc.serial_policy == "unixtime" ? "unixtime" : "increment",
                                   b->first);
        zone_log()->info("zone {}: content changed, signed zone takes serial {} (file has {})",
                         zc.name, serial, fs);
      } else if (zc.serial_policy != "keep") {
        serial = zone::next_serial(zc.serial_policy, b->first);
        zone_log()->info("zone {}: content changed, serial-policy {} sets serial {} (file has {})",
                         zc.name, zc.serial_policy, serial, fs);
      } else if (pending && cur) {
        // The served serial came from changes made here: the merge below sets the serial.
      } else if (cur || b->second) {
        p.errors.push_back(zc.file + ": zone changed but its serial " + std::to_string(fs) +
                           " is not greater than the served " + std::to_string(b->first) +
                           "; increase the serial (or set serial-policy: increment)");
        return p;
      } else if (serial_lt(fs, b->first)) {
        p.warnings.push_back(zc.file + ": serial " + std::to_string(fs) + " is lower than the " +
                             std::to_string(b->first) +
                             " served before: secondaries keep their copy until it is higher");
      }
    }
    if (serial != fs) z = zone::with_serial(z, serial);
    if (cur && same && serial == cur->serial()) {
      p.what = Prepared::What::unchanged;
      p.zone = cur;
      return p;
    }
  }
  p.zone = z;
  if (cur) p.diff = std::make_unique<zone::Changeset>(zone::diff_zones(*cur, *z));
  p.what = Prepared::What::commit;
  return p;
}

LoadSummary ZoneService::load(const std::vector<const ZoneConfig*>& zones, bool startup,
                              const std::map<std::string, StoredZoneMeta>& stored) {
  auto t_begin = Clock::now();
  drain_incoming();
  LoadSummary sum;
  auto table = registry_.current();
  // 1. Parse in parallel the files that may have changed, a batch of zones per task: one task
  // per zone cost a wake-up and a wait per zone (at 10,000 zones, 37,000 futex calls). The
  // task first asks the file system whether a file changed since it was read (`stat` of the
  // file and its $INCLUDEs: at a reload of 100,000 zones, most of the work): an unchanged
  // file is not read. The zones' state is the main thread's, which waits here meanwhile.
  struct Job {
    const ZoneConfig* zc;
    Primary* st;  // looked up once per zone (100,000 zones: a hash lookup is a cache miss)
    std::shared_ptr<const zone::Zone> cur;
    std::optional<StoredZoneMeta> base;
    bool if_changed;  // parsed only if its files changed since they were last read
  };
  struct Batch {
    std::vector<Prepared> parsed;
    std::vector<char> same;  // per job of the batch: its files did not change, not parsed
  };
  // Shared with the tasks: should this function leave by an exception, the tasks still queued
  // hold the jobs.
  auto jobs = std::make_shared<std::vector<Job>>();
  jobs->reserve(zones.size());
  for (const ZoneConfig* zc : zones) {
    auto& slot = primaries_[zc->origin];
    if (!slot) slot = std::make_unique<Primary>();
    Primary& st = *slot;
    auto cur = table->get(zc->origin);
    if (!startup && cur && st.syncing()) {
      ++sum.unchanged;  // being written from here: read when that is done
      continue;
    }
    std::optional<StoredZoneMeta> base;
    if (auto it = stored.find(zc->origin); it != stored.end()) base = it->second;
    const bool if_changed = !startup && cur && st.last_load_ok && !st.retry_load;
    jobs->push_back({zc, &st, std::move(cur), std::move(base), if_changed});
  }
  const std::vector<Job>& all = *jobs;
  constexpr size_t batch = 32;
  std::vector<std::future<Batch>> futs;
  futs.reserve((all.size() + batch - 1) / batch);
  for (size_t b = 0; b < all.size(); b += batch) {
    std::packaged_task<Batch()> task([this, jobs, b] {
      const std::vector<Job>& js = *jobs;
      Batch out;
      out.parsed.reserve(std::min(js.size() - b, size_t{batch}));
      for (size_t i = b; i < std::min(js.size(), b + batch); ++i) {
        const Job& j = js[i];
        const bool same = j.if_changed && unchanged_files(j.zc->file, j.st->stamps);
        out.same.push_back(same);
        if (!same) out.parsed.push_back(prepare(*j.zc, j.cur, j.base, j.st->has_pending()));
      }
      return out;
    });
    futs.push_back(task.get_future());
    // Wrapped: a packaged_task given to post() is taken as a completion token instead.
    asio::post(pool_, [t = std::move(task)]() mutable { t(); });
  }
  Batch got;  // the batch being decided
  size_t next_parsed = 0;  // in got.parsed
  std::vector<Prepared> prepared;
  prepared.reserve(all.size());  // never moved: the slices below point into it
  std::vector<std::string> from_database(all.size());

  // 2. Decide per zone and commit, a slice of the zones at a time, in order: the store takes
  // one slice while the pool parses the next (a reload of thousands of changed files: both
  // take hundreds of ms). Each commit is one SQLite transaction and one table publication for
  // its slice. At start-up, one commit: what it stores, it stores after serving (zones read
  // from their files), or it holds already (a restart).
  const int64_t now = unix_now();
  const size_t slice = startup ? std::max<size_t>(1, all.size())
                               : std::max<size_t>(512, (all.size() + 3) / 4);
  struct InFlight {
    std::future<std::vector<zone::CommitResult>> results;
    std::vector<size_t> change_of;  // index into prepared, per result
  };
  std::deque<InFlight> in_flight;
  size_t commits = 0;
  for (size_t begin = 0; begin < all.size(); begin += slice) {
    const size_t end = std::min(all.size(), begin + slice);
    std::vector<zone::ZoneChange> changes;
    std::vector<size_t> change_of;
    changes.reserve(end - begin);
    change_of.reserve(end - begin);
    for (size_t i = begin; i < end; ++i) {
      if (i % batch == 0) {
        got = futs[i / batch].get();
        next_parsed = 0;
      }
      if (got.same[i % batch]) {
        ++sum.unchanged;  // same files as last read or written
        continue;
      }
      prepared.push_back(std::move(got.parsed[next_parsed++]));
      prepared.back().st = all[i].st;
      // A start-up read every zone's: none is none stored.
      if (startup) prepared.back().stored = all[i].base.value_or(StoredZoneMeta{});
      decide_load(prepared.size() - 1, prepared, now, startup, from_database, changes, change_of,
                  sum);
    }
    if (!changes.empty()) {
      auto done = std::make_shared<std::promise<std::vector<zone::CommitResult>>>();
      in_flight.push_back({done->get_future(), std::move(change_of)});
      hooks_.committer->commit(std::move(changes), [done](std::vector<zone::CommitResult> r) {
        done->set_value(std::move(r));
      });
      ++commits;
    }
    // The slice before this one has been committed meanwhile (or nearly): its outcome.
    while (in_flight.size() > 1) {
      finish_load(in_flight.front().results.get(), in_flight.front().change_of, prepared,
                  from_database, startup, sum);
      in_flight.pop_front();
    }
  }
  for (auto& f : in_flight)
    finish_load(f.results.get(), f.change_of, prepared, from_database, startup, sum);
  if (commits)
    zone_log()->debug("load: {} file(s) parsed and committed in {} ms ({} commit(s))",
                      prepared.size(),
                      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t_begin)
                          .count(),
                      commits);
  return sum;
}

// One parsed zone file at a load: nothing to do, a failure (reported, and the last good
// version from the database committed when nothing is served), or a change to commit
// (appended to `changes`, with its index into `prepared` in `change_of`).
void ZoneService::decide_load(size_t i, std::vector<Prepared>& prepared, int64_t now, bool startup,
                              std::vector<std::string>& from_database,
                              std::vector<zone::ZoneChange>& changes,
                              std::vector<size_t>& change_of, LoadSummary& sum) {
  auto log = zone_log();
  Prepared& p = prepared[i];
  const ZoneConfig& zc = *p.zc;
  Primary& st = *p.st;
  st.last_load = now;
  for (const auto& w : p.warnings) log->warn("zone {}: {}", zc.name, w);
  // Changes made here (UPDATE, zonectl) that the file does not have yet.
  if (st.has_pending() && p.cur && p.what != Prepared::What::failed) {
    zone::Changeset pend = zone::condense(st.wb->pending);
    zone::Changeset m;
    m.soa_from = soa_record(*p.zone);
    m.soa_to = m.soa_from;
    uint32_t fs = p.zone->serial();
    uint32_t serial =
        serial_gt(fs, p.cur->serial())
            ? fs
            : zone::next_serial(zc.serial_policy == "unixtime" ? "unixtime" : "increment",
                                p.cur->serial());
    set_soa_serial(m.soa_to.rdata, serial);
    m.removed = pend.removed;
    m.added = pend.added;
    std::vector<zone::ZoneError> errs;
    auto merged = zone::apply_changeset(p.zone, m, errs);
    if (!merged) {
      p.what = Prepared::What::failed;
      p.errors.push_back(zc.file + " was edited while " + std::to_string(st.wb->pending.size()) +
                         " change(s) made here were not yet written to it, and they conflict (" +
                         (errs.empty() ? std::string("?") : errs.front().message) +
                         "): fix the file, or put it back and reload");
    } else {
      p.zone = merged;
      p.hash = zone::content_hash(*merged);
      p.diff = std::make_unique<zone::Changeset>(zone::diff_zones(*p.cur, *merged));
      p.rebased = std::make_unique<zone::Changeset>(m);
      p.what = Prepared::What::commit;
    }
  }
  ZoneReport rep;
  rep.name = zc.name;
  rep.warnings = p.warnings;
  rep.errors = p.errors;
  if (p.what == Prepared::What::unchanged) {
    st.stamps = p.stamps;
    st.last_load_ok = true;
    st.last_result = "unchanged, serial " + std::to_string(p.zone->serial());
    log->debug("zone {}: serial {} unchanged", zc.name, p.zone->serial());
    ++sum.unchanged;
    return;
  }
  if (p.what == Prepared::What::failed) {
    for (const auto& e : p.errors) log->error("zone {}: {}", zc.name, e);
    st.last_load_ok = false;
    std::string why = first(p.errors, "failed");
    if (p.cur) {
      st.stamps = p.stamps;  // do not re-read it until it changes again
      rep.serving = true;
      rep.serial = p.cur->serial();
      rep.serving_from = st.serving_from;
      st.last_result =
          "failed: " + why + "; still serving serial " + std::to_string(p.cur->serial());
      log->error("zone {}: not reloaded, still serving serial {}", zc.name, p.cur->serial());
    } else {
      std::string err;
      auto last_good = hooks_.stored_zone ? hooks_.stored_zone(zc.origin, err) : nullptr;
      if (last_good) {
        zone::ZoneChange c;
        c.kind = zone::ZoneChange::Kind::replace;
        c.origin = zc.origin;
        c.name = zc.name;
        c.source = "last good version from the database, the zone file failed to load";
        c.zone = last_good;
        c.keep_history = zc.ixfr_history;
        c.notify = false;
        c.serve_if_store_fails = true;
        from_database[i] = why;
        changes.push_back(std::move(c));
        change_of.push_back(i);
        st.stamps = p.stamps;
      } else {
        registry_.publish(zc.origin, nullptr);  // configured, nothing to serve: SERVFAIL
        st.serving_from = "";
        st.last_result = "failed: " + why + "; nothing to serve (" + err + "): SERVFAIL";
        log->error("zone {}: not loaded and nothing stored to serve ({}): answering SERVFAIL",
                   zc.name, err);
      }
    }
    ++sum.failed;
    rep.result = ZoneReport::Result::failed;
    if (from_database[i].empty()) sum.zones.push_back(std::move(rep));
    return;
  }
  zone::ZoneChange c;
  c.kind = zone::ZoneChange::Kind::replace;
  c.origin = zc.origin;
  c.name = zc.name;
  c.source = "zone file " + zc.file;
  c.zone = p.zone;
  c.hash = p.hash;
  c.base = p.cur;
  if (p.diff) c.changes = std::move(*p.diff);
  c.keep_history = zc.ixfr_history;
  // At start-up the listeners are not up yet: main NOTIFYs every zone once they are.
  c.notify = !startup && !zc.notify.empty();
  c.serve_if_store_fails = !p.cur;
  c.stored = p.stored;
  changes.push_back(std::move(c));
  change_of.push_back(i);
}

// The outcome of one committed slice of a load: each zone's state, report and log lines.
void ZoneService::finish_load(const std::vector<zone::CommitResult>& results,
                              const std::vector<size_t>& change_of,
                              std::vector<Prepared>& prepared,
                              const std::vector<std::string>& from_database, bool startup,
                              LoadSummary& sum) {
  for (size_t k = 0; k < results.size() && k < change_of.size(); ++k) {
    Prepared& p = prepared[change_of[k]];
    const ZoneConfig& zc = *p.zc;
    Primary& st = *p.st;
    const zone::CommitResult& r = results[k];
    ZoneReport rep;
    rep.name = zc.name;
    rep.warnings = p.warnings;
    rep.errors = p.errors;
    const std::string& db_why = from_database[change_of[k]];
    if (r.ok && !db_why.empty()) {
      rep.result = ZoneReport::Result::failed;
      rep.serving = true;
      rep.serial = r.zone->serial();
      rep.serving_from = "database";
      st.serving_from = "database";
      st.last_result = "failed: " + db_why + "; serving the last good version, serial " +
                          std::to_string(r.zone->serial()) + ", from the database";
      zone_log()->error("zone {}: zone file failed to load: serving the last good version "
                        "(serial {}) from the database until the file is fixed",
                        zc.name, r.zone->serial());
      sum.zones.push_back(std::move(rep));
      continue;
    }
    if (!r.ok) {
      rep.result = ZoneReport::Result::failed;
      rep.errors.push_back(r.error);
      st.last_load_ok = false;
      st.last_result = "failed: " + r.error;
      if (r.store_fault || r.error.find("changed while") != std::string::npos) {
        st.retry_load = true;  // the file is fine: try again soon
        st.retry_at = Clock::now() + std::chrono::seconds(r.store_fault ? 10 : 0);
        waiting_.insert(zc.origin);
      }
      if (p.cur) {
        rep.serving = true;
        rep.serial = p.cur->serial();
      }
      ++sum.failed;
      sum.zones.push_back(std::move(rep));
      continue;
    }
    st.stamps = p.stamps;
    st.retry_load = false;
    st.last_load_ok = true;
    st.serving_from = "file";
    zone_log()->debug("zone {}: loaded serial {} ({} records) from its file", zc.name,
                      r.zone->serial(), r.zone->record_count());
    if (p.rebased) {
      rep.merged = p.rebased->added.size() + p.rebased->removed.size();
      // The merged changes still have to reach the file: written now, over the operator's edit.
      WriteBack& wb = st.write_back();
      wb.pending = {*p.rebased};
      wb.error.clear();
      wb.logged_error.clear();
      wb.scheduled = true;
      wb.due = Clock::now();
      waiting_.insert(zc.origin);
    }
    rep.result = ZoneReport::Result::loaded;
    rep.serving = true;
    rep.serial = r.zone->serial();
    rep.records = r.zone->record_count();
    rep.serving_from = "file";
    st.loaded_serial = rep.serial;
    st.loaded_records = rep.records;
    st.last_result.clear();  // "loaded serial S (R records)"
    if (p.rebased || !r.stored)
      st.last_result = loaded_text(rep.serial, rep.records) +
                       (p.rebased ? ", merged with changes made here" : "") +
                       (r.stored ? "" : "; not stored: " + r.error);
    ++sum.loaded;
    // A start-up logs how many, not which: 100,000 reports nobody reads.
    if (!startup || !rep.warnings.empty()) sum.zones.push_back(std::move(rep));
  }
}

void ZoneService::remove_configured(const std::vector<std::string>& origins, LoadSummary& sum) {
  if (origins.empty()) return;
  std::vector<zone::ZoneChange> changes;
  for (const auto& o : origins) {
    zone::ZoneChange c;
    c.kind = zone::ZoneChange::Kind::remove;
    c.origin = o;
    c.name = name_of(o);
    c.source = "no longer configured";
    changes.push_back(std::move(c));
  }
  auto results = hooks_.committer->commit_wait(std::move(changes));
  for (size_t i = 0; i < origins.size(); ++i) {
    primaries_.erase(origins[i]);
    // A zone that was only ever a placeholder has nothing to remove: take it off the table.
    if (registry_.current()->unavailable(origins[i])) registry_.remove(origins[i]);
    ZoneReport rep;
    rep.name = name_of(origins[i]);
    rep.result = ZoneReport::Result::removed;
    if (!results[i].ok) rep.errors.push_back(results[i].error);
    ++sum.removed;
    sum.zones.push_back(std::move(rep));
  }
}

LoadSummary ZoneService::start(Config cfg) {
  std::map<std::string, StoredZoneMeta> stored;
  if (hooks_.stored_meta) stored = hooks_.stored_meta();
  // Zones added at runtime, kept in the database.
  for (const auto& [origin, meta] : stored) {
    if (meta.config.empty()) continue;
    try {
      ZoneConfig z = zone_config_from_json(meta.config, cfg);
      runtime_[z.origin] = z;
    } catch (const ConfigError& e) {
      zone_log()->error("zone {} (added at runtime): {}: not served", name_of(origin), e.what());
    }
  }
  set_config(std::move(cfg));
  // Members of consumed catalogs, as the stored catalog lists them: served from the
  // database at once, like any secondary zone.
  {
    auto table = registry_.current();
    std::vector<const ZoneConfig*> cats;
    for (const auto& z : cfg_.zones)
      if (z.cat().catalog == "consume") cats.push_back(&z);
    for (const ZoneConfig* c : cats)
      if (auto v = table->get(c->origin)) consume(*c, *v, true);
    if (!members_.empty()) runtime_changed();
  }
  std::vector<const ZoneConfig*> zones;
  for (const auto& z : cfg_.zones)
    if (z.from_file()) zones.push_back(&z);
  LoadSummary sum = load(zones, true, stored);
  update_produced(true);
  return sum;
}

LoadSummary ZoneService::reload(const std::string& only_origin) {
  LoadSummary sum;
  std::vector<const ZoneConfig*> zones;
  if (only_origin.empty()) {
    std::vector<std::string> before;
    before.reserve(cfg_.zones.size());
    for (const auto& z : cfg_.zones) before.push_back(z.origin);
    try {
      // The same file as the configuration in effect is not parsed again (10,000 zones of
      // configuration take a third of a second to parse).
      if (auto cfg = reload_config(cfg_.path, cfg_.fingerprint))
        set_config(std::move(*cfg));
      else
        zone_log()->debug("configuration {} unchanged: not read again", cfg_.path);
      config_error_.clear();
    } catch (const ConfigError& e) {
      sum.config_error = config_error_ = e.what();
      auto l = spdlog::get("server");
      (l ? l : zone_log())->error("configuration not reloaded, the previous one stays: {}", e.what());
    }
    std::vector<std::string> gone;
    for (const auto& o : before)
      if (!zone(o)) gone.push_back(o);
    remove_configured(gone, sum);
    drop_orphan_members();
    // Consumed catalogs read again: a template may have changed, a zone configured here
    // before may have gone (its catalog entry now taken).
    std::vector<std::string> cats;
    for (const auto& z : cfg_.zones)
      if (z.cat().catalog == "consume") cats.push_back(z.origin);
    for (const auto& c : cats) catalog_changed(c);
    for (const auto& z : cfg_.zones)
      if (z.from_file()) zones.push_back(&z);
  } else if (const ZoneConfig* z = zone(only_origin)) {
    if (z->from_file()) {
      zones.push_back(z);
      // Asked for by name: read it even if its files did not change.
      if (auto it = primaries_.find(z->origin); it != primaries_.end()) it->second->stamps = {};
    }
  }
  LoadSummary loaded = load(zones, false, {});
  sum.loaded += loaded.loaded;
  sum.unchanged += loaded.unchanged;
  sum.failed += loaded.failed;
  for (auto& r : loaded.zones) sum.zones.push_back(std::move(r));
  if (only_origin.empty()) update_produced(false);
  return sum;
}

ZoneService::EditResult ZoneService::edit(const std::string& origin, const std::string& source,
                                          zone::Planner planner, bool dry_run) {
  EditResult out;
  const ZoneConfig* zc = zone(origin);
  auto fail = [&](std::string why) {
    out.commit.ok = false;
    out.commit.error = std::move(why);
    return out;
  };
  if (!zc) return fail("zone " + name_of(origin) + " is not configured here");
  if (zc->secondary()) return fail("zone " + zc->name + " is a secondary zone here: change it at its primary");
  if (zc->cat().catalog == "produce")
    return fail("zone " + zc->name + " is a produced catalog: it is built from its members "
                "(catalog-member, zonectl zone-add --catalog)");
  auto cur = registry_.current()->get(origin);
  if (!cur) return fail("zone " + zc->name + " is not loaded");
  // An operator's edit on a file edited by hand since it was read: reload first, rather than
  // a change served and stored but not written to the file.
  if (auto it = primaries_.find(origin);
      !dry_run && it != primaries_.end() && !it->second->has_pending()) {
    Primary& st = *it->second;
    if (!unchanged_files(zc->file, st.stamps)) {
      std::string err;
      auto held = cur;
      if (!zc->dnssec_policy.empty()) {  // the file holds the zone without its signatures
        std::vector<zone::ZoneError> errs;
        if (auto u = zone::dnssec::unsigned_content(*cur, nullptr, errs)) held = u;
      }
      if (!zone::zone_file_holds(zc->file, origin, *held, err)) return fail(err);
    }
  }
  zone::ZoneChange c;
  c.kind = zone::ZoneChange::Kind::plan;
  c.origin = origin;
  c.name = zc->name;
  c.source = source;
  c.planner = std::move(planner);
  c.keep_history = zc->ixfr_history;
  c.notify = !zc->notify.empty();
  c.sync_to_file = true;
  // A dry run is the commit's own validate and sign step, stopped before anything is kept.
  c.dry_run = dry_run;
  out.commit = hooks_.committer->commit_wait(std::move(c));
  if (dry_run) return out;
  if (out.commit.ok && out.commit.changed) {
    if (auto it = primaries_.find(origin); it != primaries_.end())
      it->second->last_result = source + ", serial " + std::to_string(out.commit.zone->serial());
    // The observer has queued the change for the file: write it now, not in a second.
    sync_file(origin, out.file_note, true);
  }
  return out;
}

ZoneService::EditResult ZoneService::add_zone(ZoneConfig z) {
  EditResult out;
  auto fail = [&](std::string why) {
    out.commit.ok = false;
    out.commit.error = std::move(why);
    return out;
  };
  if (const ZoneConfig* have = zone(z.origin))
    return fail("zone " + z.name + " is already served here (" +
                (have->runtime ? std::string("added at runtime") : "in " + cfg_.path) + ")");
  if (cfg_.server.database.empty())
    return fail("zone-add needs server.database in " + cfg_.path +
                ": a zone added at runtime is kept there, or it would be gone after a restart");
  try {
    check_zone_config(z, cfg_);
  } catch (const ConfigError& e) {
    return fail(e.what());
  }
  if (z.secondary()) return fail("zone-add makes primary zones (give --file)");
  Prepared p = prepare(z, nullptr, std::nullopt);
  for (const auto& w : p.warnings) zone_log()->warn("zone {}: {}", z.name, w);
  if (p.what != Prepared::What::commit) return fail(first(p.errors, "the zone file does not load"));
  z.runtime = true;
  runtime_[z.origin] = z;
  Config saved = cfg_;
  runtime_changed();  // now with the new zone: ACLs and NOTIFY targets know it
  zone::ZoneChange c;
  c.kind = zone::ZoneChange::Kind::replace;
  c.origin = z.origin;
  c.name = z.name;
  c.source = "zonectl zone-add";
  c.zone = p.zone;
  c.hash = p.hash;
  c.keep_history = z.ixfr_history;
  c.notify = !z.notify.empty();
  c.stored_config = zone_config_to_json(z);
  out.commit = hooks_.committer->commit_wait(std::move(c));
  if (!out.commit.ok) {
    runtime_.erase(z.origin);
    runtime_changed();
    return out;
  }
  auto& slot = primaries_[z.origin];
  slot = std::make_unique<Primary>();
  slot->stamps = p.stamps;
  slot->last_load = unix_now();
  slot->serving_from = "file";
  slot->last_result = "added, serial " + std::to_string(p.zone->serial());
  if (!z.cat().catalog_member.empty()) update_produced(false);
  return out;
}

ZoneService::EditResult ZoneService::remove_zone(const std::string& origin) {
  EditResult out;
  const ZoneConfig* zc = zone(origin);
  if (!zc) {
    out.commit.error = "zone " + name_of(origin) + " is not configured here";
    return out;
  }
  if (!zc->runtime) {
    out.commit.error = "zone " + zc->name + " is in the configuration file " + cfg_.path +
                       ": remove it there and reload";
    return out;
  }
  zone::ZoneChange c;
  c.kind = zone::ZoneChange::Kind::remove;
  c.origin = origin;
  c.name = zc->name;
  c.source = "zonectl zone-remove";
  out.commit = hooks_.committer->commit_wait(std::move(c));
  if (!out.commit.ok) return out;
  bool member = !zc->cat().catalog_member.empty();
  runtime_.erase(origin);
  primaries_.erase(origin);
  runtime_changed();
  if (member) update_produced(false);
  return out;
}

void ZoneService::changed_elsewhere(const std::string& origin, const zone::Changeset& applied) {
  std::lock_guard<std::mutex> g(incoming_mu_);
  incoming_[origin].push_back(applied);
}

void ZoneService::drain_incoming() {
  std::map<std::string, std::vector<zone::Changeset>> in;
  {
    std::lock_guard<std::mutex> g(incoming_mu_);
    in.swap(incoming_);
  }
  for (auto& [origin, list] : in) {
    auto it = primaries_.find(origin);
    const ZoneConfig* zc = zone(origin);
    if (it == primaries_.end() || !zc) continue;
    WriteBack& wb = it->second->write_back();
    for (auto& c : list) wb.pending.push_back(std::move(c));
    if (!wb.scheduled) {
      wb.scheduled = true;
      wb.due = Clock::now() + std::chrono::seconds(zc->zonefile_sync);
      waiting_.insert(origin);
    }
  }
}

bool ZoneService::sync_file(const std::string& origin, std::string& note, bool wait) {
  drain_incoming();
  auto it = primaries_.find(origin);
  const ZoneConfig* zc = zone(origin);
  if (it == primaries_.end() || !zc) return false;
  Primary& st = *it->second;
  if (!st.has_pending()) {
    if (st.wb) st.wb->scheduled = false;
    return true;
  }
  WriteBack& wb = *st.wb;
  wb.scheduled = false;
  const std::string file = zc->file;
  if (wb.syncing) {  // a write is under way: these changes follow it
    wb.scheduled = true;
    wb.due = Clock::now() + std::chrono::milliseconds(200);
    waiting_.insert(origin);
    note = "zone file " + file + " will be updated in a moment";
    return false;
  }
  zone::Changeset cs = zone::condense(wb.pending);
  auto served = registry_.current()->get(origin);
  if (!served || served->serial() != cs.to_serial()) {
    // A change is being committed right now: write them all at the next tick.
    wb.scheduled = true;
    wb.due = Clock::now();
    waiting_.insert(origin);
    note = "zone file " + file + " will be updated in a moment";
    return false;
  }
  // The edit reads, writes and reads the file again (O(file)): on the pool, so that the
  // main thread goes on answering zonectl; waited for when the file is small.
  struct Outcome {
    bool ok = false;
    std::string error;
    FileStamp after;
  };
  auto chain = std::make_shared<std::vector<zone::Changeset>>(wb.pending);
  const bool signed_here = !zc->dnssec_policy.empty();
  auto job = [file, origin, chain, served, signed_here]() mutable {
    Outcome o;
    if (signed_here) {
      // The file holds the unsigned zone: compare it with the served one without its
      // DNSSEC records (made by the sign step).
      std::vector<zone::ZoneError> errs;
      auto u = zone::dnssec::unsigned_content(*served, nullptr, errs);
      if (!u) {
        o.error = "the served zone without its signatures does not build: " +
                  (errs.empty() ? std::string("?") : errs.front().str());
        return o;
      }
      served = u;
    }
    // The edit checks that the file holds the served zone without these changes: a file
    // edited by hand meanwhile is never overwritten (`zonectl reload` merges the two).
    o.ok = zone::edit_zone_file(file, origin, *chain, *served, o.error);
    if (o.ok) o.after = stamp_of(file);
    return o;
  };
  auto finish = [this, origin, n = chain->size(), cs](const Outcome& o) {
    auto it = primaries_.find(origin);
    const ZoneConfig* zc = zone(origin);
    if (it == primaries_.end() || !zc) return;
    Primary& st = *it->second;
    WriteBack& wb = st.write_back();
    wb.syncing = false;
    if (!o.ok) {
      wb.error = o.error;
      if (wb.logged_error != o.error) {
        zone_log()->error("zone {}: zone file {} not updated: {} (the change is committed and "
                          "kept in the database)", zc->name, zc->file, o.error);
        wb.logged_error = o.error;
      }
      return;
    }
    // Our own write: the next reload need not read it again.
    if (st.stamps.known) st.stamps.main = o.after;
    wb.error.clear();
    wb.logged_error.clear();
    zone_log()->info("zone {}: zone file {} updated to serial {} (+{} -{} records)", zc->name,
                     zc->file, cs.to_serial(), cs.added.size(), cs.removed.size());
    wb.pending.erase(wb.pending.begin(), wb.pending.begin() + static_cast<ptrdiff_t>(
                                                                 std::min(n, wb.pending.size())));
    if (wb.scheduled) return;
    if (wb.pending.empty()) {
      st.wb.reset();  // all written: nothing waits for the file
    } else {  // more came meanwhile
      wb.scheduled = true;
      wb.due = Clock::now();
      waiting_.insert(origin);
    }
  };
  wb.syncing = true;
  FileStamp now = stamp_of(file);
  if (wait && now.ok && now.size < (4 << 20)) {
    Outcome o = job();
    finish(o);
    note = o.ok ? "zone file " + file + " updated"
                : "zone file " + file + " not updated: " + o.error +
                      " (the change is committed and kept in the database)";
    return o.ok;
  }
  asio::post(pool_, [this, job, finish]() mutable {
    Outcome o = job();
    asio::post(io_, [finish, o] { finish(o); });
  });
  note = "zone file " + file + " is being updated";
  return false;
}

void ZoneService::tick() {
  drain_incoming();
  const auto now = Clock::now();
  std::vector<std::string> due, retry;
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    auto p = primaries_.find(*it);
    if (p == primaries_.end() || (!p->second->sync_scheduled() && !p->second->retry_load)) {
      it = waiting_.erase(it);
      continue;
    }
    if (p->second->sync_scheduled() && p->second->wb->due <= now) due.push_back(*it);
    if (p->second->retry_load && p->second->retry_at <= now) retry.push_back(*it);
    ++it;
  }
  for (const auto& o : due) {
    std::string note;
    sync_file(o, note, false);
  }
  for (const auto& o : retry) {
    auto sum = reload(o);
    for (const auto& r : sum.zones)
      if (r.result == ZoneReport::Result::loaded)
        zone_log()->info("zone {}: loaded serial {} on retry", r.name, r.serial);
  }
}

// ---- catalog zones (RFC 9432) ----

namespace {
std::string origin_of(const std::string& text) {
  std::string t = text;
  if (t.empty() || t.back() != '.') t += '.';
  auto w = name_from_text(t);
  return w ? lowered(*w) : std::string();
}
}  // namespace

void ZoneService::update_produced(bool startup) {
  auto log = zone_log();
  for (const auto& cz : cfg_.zones) {
    if (cz.cat().catalog != "produce") continue;
    std::vector<zone::catalog::Member> members;
    for (const auto& z : cfg_.zones) {
      if (z.cat().catalog_member.empty()) continue;
      std::string to = origin_of(z.cat().catalog_member);
      if (to == cz.origin)
        members.push_back({z.origin, zone::catalog::member_id(z.origin), z.cat().catalog_group, {}});
      else if (!z.cat().catalog_previous.empty() && origin_of(z.cat().catalog_previous) == cz.origin)
        // Moving away: still listed here, with coo naming the new catalog (RFC 9432 5.6).
        members.push_back({z.origin, zone::catalog::member_id(z.origin), z.cat().catalog_group, to});
    }
    auto cur = registry_.current()->get(cz.origin);
    const bool served = cur != nullptr;
    if (!cur && hooks_.stored_zone) {
      std::string err;
      cur = hooks_.stored_zone(cz.origin, err);  // the serial goes on from the stored one
    }
    std::vector<zone::ZoneError> errs;
    auto want = zone::catalog::build(cz.origin, cur ? cur->serial() : 1, members, errs);
    if (!want) {
      log->error("zone {}: catalog not built: {}", cz.name,
                 errs.empty() ? std::string("?") : errs.front().str());
      continue;
    }
    zone::ZoneChange c;
    c.kind = zone::ZoneChange::Kind::replace;
    c.origin = cz.origin;
    c.name = cz.name;
    c.keep_history = cz.ixfr_history;
    c.serve_if_store_fails = !served;
    const uint64_t want_hash = zone::content_hash(*want);
    if (cur && want_hash == zone::content_hash(*cur)) {
      if (served) continue;  // unchanged
      c.zone = cur;          // the stored version, served again as it is
      c.source = "the database";
      c.notify = false;
    } else {
      if (cur) {
        want = zone::with_serial(want, zone::next_serial("increment", cur->serial()));
        c.changes = zone::diff_zones(*cur, *want);
        if (served) c.base = cur;
      }
      c.zone = want;
      c.hash = want_hash;
      c.source = "catalog members";
      // At start-up the listeners are not up yet: main NOTIFYs every zone once they are.
      c.notify = !startup && !cz.notify.empty();
    }
    auto r = hooks_.committer->commit_wait(std::move(c));
    if (!r.ok) {
      log->error("zone {}: catalog not committed: {}", cz.name, r.error);
      continue;
    }
    if (r.changed)
      log->info("zone {}: catalog lists {} member(s), serial {}", cz.name, members.size(),
                r.zone->serial());
  }
}

ZoneConfig ZoneService::member_config(const ZoneConfig& cat, const std::string& member,
                                      const std::string& id, const std::string& group) const {
  ZoneConfig z;
  z.origin = member;
  z.name = name_of(member);
  z.cat_edit().member_of = cat.origin;
  z.cat_edit().member_id = id;
  const ZoneConfig::MemberTemplate* t = cat.cat().member_template ? &*cat.cat().member_template : nullptr;
  for (const auto& [g, gt] : cat.cat().group_templates)
    if (!group.empty() && g == group) t = &gt;
  if (t && !t->primaries.empty()) {
    z.primaries = t->primaries;
    z.allow_notify = t->allow_notify;
  } else {
    z.primaries = cat.primaries;
    z.allow_notify = t && !t->allow_notify.empty() ? t->allow_notify : cat.allow_notify;
  }
  if (t) {
    z.notify = t->notify;
    z.allow_transfer = t->allow_transfer;
  }
  return z;
}

void ZoneService::remove_members(const std::vector<std::string>& origins, const std::string& why) {
  if (origins.empty()) return;
  std::vector<zone::ZoneChange> changes;
  for (const auto& o : origins) {
    zone::ZoneChange c;
    c.kind = zone::ZoneChange::Kind::remove;
    c.origin = o;
    c.name = name_of(o);
    c.source = why;
    changes.push_back(std::move(c));
  }
  auto results = hooks_.committer->commit_wait(std::move(changes));
  for (size_t i = 0; i < origins.size(); ++i) {
    if (!results[i].ok)
      zone_log()->error("zone {}: not removed: {}", name_of(origins[i]), results[i].error);
    // A member that never got data was only a placeholder: take it off the table.
    if (registry_.current()->unavailable(origins[i])) registry_.remove(origins[i]);
  }
}

void ZoneService::consume(const ZoneConfig& cat, const zone::Zone& version, bool startup) {
  auto log = zone_log();
  zone::catalog::Content content = zone::catalog::read(version);
  if (!content.usable) {
    // The whole update is ignored: the members made before stay as they are.
    if (catalog_error_[cat.origin] != content.error) log->error("zone {}", content.error);
    catalog_error_[cat.origin] = content.error;
    return;
  }
  catalog_error_.erase(cat.origin);
  for (const auto& p : content.problems) log->warn("zone {}", p);
  std::map<std::string, zone::catalog::Member> listed;
  std::vector<std::string> gone, reset;
  std::vector<ZoneConfig> added, moved;
  for (const auto& m : content.members) {
    const std::string mname = name_of(m.zone);
    auto mine = members_.find(m.zone);
    if (mine != members_.end() && mine->second.cat().member_of == cat.origin) {
      listed.emplace(m.zone, m);
      if (mine->second.cat().member_id != m.id) {
        // RFC 9432 5.6: a new id resets the member: its data goes and it is transferred anew.
        log->info("zone {}: catalog member {} has a new id ({} -> {}): reset", cat.name, mname,
                  mine->second.cat().member_id, m.id);
        reset.push_back(m.zone);
      }
      continue;
    }
    if (mine != members_.end()) {
      // A member of another catalog here: it moves only if that catalog says so (coo).
      const std::string& other = mine->second.cat().member_of;
      auto lo = listed_.find(other);
      const zone::catalog::Member* there = nullptr;
      if (lo != listed_.end())
        if (auto it = lo->second.find(m.zone); it != lo->second.end()) there = &it->second;
      if (there && there->coo == cat.origin) {
        log->info("zone {}: catalog member {} moves here from catalog {} (coo)", cat.name,
                  mname, name_of(other));
        listed.emplace(m.zone, m);
        moved.push_back(member_config(cat, m.zone, m.id, m.group));
        if (there->id != m.id) reset.push_back(m.zone);
        continue;
      }
      log->warn("zone {}: catalog {}.zones.{} PTR {}: already a member of catalog {} (no coo "
                "to this one): skipped", cat.name, m.id, cat.name, mname, name_of(other));
      continue;
    }
    if (const ZoneConfig* zc = zone(m.zone)) {
      log->warn("zone {}: catalog {}.zones.{} PTR {}: a zone of that name is configured here "
                "{}: skipped", cat.name, m.id, cat.name, mname,
                zc->runtime ? "(zonectl zone-add)" : "in " + cfg_.path);
      continue;
    }
    listed.emplace(m.zone, m);
    added.push_back(member_config(cat, m.zone, m.id, m.group));
    if (!startup) log->info("zone {}: catalog member {} added (id {})", cat.name, mname, m.id);
  }
  for (const auto& [o, z] : members_)
    if (z.cat().member_of == cat.origin && !listed.count(o)) gone.push_back(o);
  // Properties of members that stay (group: the template; coo is read from listed_).
  for (auto& [o, m] : listed)
    if (auto it = members_.find(o); it != members_.end() && it->second.cat().member_of == cat.origin)
      it->second = member_config(cat, o, it->second.cat().member_id, m.group);
  // Members this catalog now hands to another one (coo) that is consumed here: that catalog
  // may list them already and is looked at again (it may have been read before this one).
  std::set<std::string> coo_targets;
  {
    auto& before = listed_[cat.origin];
    for (const auto& [o, m] : listed) {
      if (m.coo.empty() || m.coo == cat.origin) continue;
      auto it = before.find(o);
      if (it == before.end() || it->second.coo != m.coo) coo_targets.insert(m.coo);
    }
  }
  listed_[cat.origin] = std::move(listed);
  if (!startup)
    for (const auto& t : coo_targets)
      asio::post(io_, [this, t] { catalog_changed(t); });
  if (startup) {
    for (auto& z : added) members_[z.origin] = std::move(z);
    return;
  }
  if (gone.empty() && reset.empty() && added.empty() && moved.empty()) {
    runtime_changed();  // templates may differ (group)
    return;
  }
  // Stopped first (no refresh can store them again), then their data purged.
  std::vector<std::string> drop = gone;
  drop.insert(drop.end(), reset.begin(), reset.end());
  for (const auto& o : drop) {
    if (std::find(gone.begin(), gone.end(), o) != gone.end())
      log->info("zone {}: catalog member {} removed", cat.name, name_of(o));
    members_.erase(o);
  }
  if (!drop.empty()) {
    runtime_changed();
    // Only zones nothing else configures any more (the configuration file may have one).
    std::vector<std::string> purge;
    for (const auto& o : drop)
      if (!zone(o)) purge.push_back(o);
    remove_members(purge, "catalog " + cat.name);
  }
  for (const auto& o : reset) {
    const auto& m = listed_[cat.origin][o];
    members_[o] = member_config(cat, o, m.id, m.group);
  }
  for (auto& z : moved) members_[z.origin] = std::move(z);
  for (auto& z : added) members_[z.origin] = std::move(z);
  runtime_changed();
}

void ZoneService::catalog_changed(const std::string& origin) {
  const ZoneConfig* cz = zone(origin);
  if (!cz || cz->cat().catalog != "consume") return;
  auto v = registry_.current()->get(origin);
  if (!v) return;
  ZoneConfig cat = *cz;  // consume() changes cfg_
  consume(cat, *v, false);
}

void ZoneService::drop_orphan_members() {
  std::vector<std::string> gone;
  for (const auto& [o, z] : members_) {
    const ZoneConfig* c = zone(z.cat().member_of);
    if (!c || c->cat().catalog != "consume") gone.push_back(o);
  }
  if (gone.empty()) return;
  for (const auto& o : gone) {
    zone_log()->info("zone {}: removed: its catalog {} is no longer consumed here", name_of(o),
                     name_of(members_[o].cat().member_of));
    listed_.erase(members_[o].cat().member_of);
    members_.erase(o);
  }
  runtime_changed();
  std::vector<std::string> purge;
  for (const auto& o : gone)
    if (!zone(o)) purge.push_back(o);
  remove_members(purge, "catalog no longer consumed");
}

}  // namespace server
