#include "replication/commit.h"

#include <malloc.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <string_view>
#include <unordered_map>

#include "zone/overlay.h"
#include "zone/signer.h"
#include "zone/wire/name.h"
#include "zone/wire/serial.h"

namespace replication {

namespace asio = boost::asio;
using zone::CommitResult;
using zone::ZoneChange;

namespace {

std::shared_ptr<spdlog::logger> zone_log() {
  auto l = spdlog::get("zone");
  return l ? l : spdlog::default_logger();
}

ZoneTimers timers_of(const ZoneChange& c) {
  if (!c.timers) return {};
  return ZoneTimers{c.timers->last_refresh, c.timers->next_refresh, c.timers->expire_at};
}

}  // namespace

// One change on its way through the steps (the change itself stays in the caller's vector:
// at a start-up, 10,000 of them, and every byte of a Step is a byte of fresh memory).
struct ZoneCommitter::Step {
  explicit Step(ZoneChange& change) : c(change) {}
  ZoneChange& c;
  CommitResult r;
  std::shared_ptr<const zone::Zone> cur, next;
  // The difference from cur (history, stored as a delta). Behind a pointer, like the one
  // below: a start-up's 10,000 replaces have neither, and each Step is fresh memory.
  std::unique_ptr<zone::Changeset> cs;
  uint64_t hash = 0;
  bool done = false;          // failed, or nothing to do: no further step
  bool already_stored = false;  // the store holds exactly this version (start-up)
  bool signs = false;  // signed here: `hash` is the unsigned content's, not the version's
  // Durable elsewhere (its zone file) and not stored yet: published first, stored right
  // after by a job queued behind the commit.
  bool store_after = false;
  // A signed zone: the caller's changes without signatures (written back to the zone file).
  std::unique_ptr<zone::Changeset> unsigned_cs;
  // What the caller is told changed: the unsigned changes of a signed zone, else the changes.
  void set_applied() {
    if (const zone::Changeset* a = unsigned_cs ? unsigned_cs.get() : cs.get()) r.applied = *a;
  }
  void fail(std::string why, uint16_t rcode = 0) {
    r.ok = false;
    r.error = std::move(why);
    r.rcode = rcode;
    r.zone = cur;
    done = true;
  }
};

ZoneCommitter::ZoneCommitter(asio::io_context& io, StoreHandle& store,
                             zone::ZoneRegistry& registry, zone::History& history,
                             Notifier& notifier,
                             std::function<std::vector<Remote>(const std::string&)> notify_targets)
    : io_(io),
      store_(store),
      registry_(registry),
      history_(history),
      notifier_(notifier),
      notify_targets_(std::move(notify_targets)) {}

void ZoneCommitter::commit(std::vector<ZoneChange> changes,
                           std::function<void(std::vector<CommitResult>)> done) {
  asio::post(io_, [this, changes = std::move(changes), done = std::move(done)]() mutable {
    std::vector<CommitResult> results;
    try {
      results = commit_here(std::move(changes));
    } catch (const std::exception& e) {
      // Nothing may escape into the replication thread's io_context.
      zone_log()->error("commit: {}", e.what());
      results.assign(1, CommitResult{});
      results.front().error = std::string("commit failed: ") + e.what();
    }
    done(std::move(results));
  });
}

void ZoneCommitter::restore_history(const std::string& origin, const std::string& name,
                                    size_t keep, uint32_t serial) {
  // The stored history continues only if it ends at the version now served.
  try {
    Store* st = store_.get();
    if (!st || !keep) return;
    auto chain = st->history_all(origin);
    if (chain.empty() || chain.back().to_serial() != serial) return;
    for (auto& h : chain)
      history_.add(origin, std::make_shared<const zone::Changeset>(std::move(h)), keep);
  } catch (const StoreError& e) {
    zone_log()->error("zone {}: stored IXFR history unusable ({}): IXFR clients get the whole zone",
                      name, e.what());
  }
}

uint64_t ZoneCommitter::served_hash(const std::string& origin) const {
  std::lock_guard<std::mutex> g(hashes_mu_);
  auto it = hashes_.find(origin);
  return it == hashes_.end() ? 0 : it->second;
}

void ZoneCommitter::validate(Step& s, const zone::ZoneTable& table) {
  ZoneChange& c = s.c;
  s.cur = table.get(c.origin);
  const bool signs = s.signs =
      signer_ && c.kind != ZoneChange::Kind::remove && signer_->signs(c.origin);
  auto why_of = [](const std::vector<zone::ZoneError>& errs, const char* dflt) {
    std::string why;
    for (const auto& e : errs) why += (why.empty() ? "" : "; ") + e.message;
    return why.empty() ? std::string(dflt) : why;
  };
  // A signed zone: the unsigned content after the change, signed, and the difference to the
  // version served is the change (signatures, NSEC/NSEC3 and all).
  auto signed_apply = [&](const zone::Changeset& cs) {
    std::vector<zone::ZoneError> errs;
    zone::Changeset u = cs;
    std::erase_if(u.added, [](const zone::Record& r) { return zone::dnssec::is_dnssec_type(r.type); });
    std::erase_if(u.removed, [](const zone::Record& r) { return zone::dnssec::is_dnssec_type(r.type); });
    // Signed in O(change) when the signer can: the new version shares the served nodes, and
    // the unsigned content's hash moves by the change's records.
    if (const uint64_t served = served_hash(c.origin)) {
      if (auto scs = signer_->sign_change(c.origin, c.name, *s.cur, u)) {
        auto version = zone::apply_changeset(s.cur, *scs, errs);
        if (version) {
          uint64_t h = served;
          for (const auto& r : u.removed) h -= zone::record_content_hash(r.owner, r.type, r.ttl, r.rdata);
          for (const auto& r : u.added) h += zone::record_content_hash(r.owner, r.type, r.ttl, r.rdata);
          h += zone::record_content_hash(u.soa_to.owner, zone::wire::rrtype::SOA, u.soa_to.ttl, u.soa_to.rdata) -
               zone::record_content_hash(u.soa_from.owner, zone::wire::rrtype::SOA, u.soa_from.ttl, u.soa_from.rdata);
          s.next = std::move(version);
          s.cs = std::make_unique<zone::Changeset>(std::move(*scs));
          s.hash = h;
          s.unsigned_cs = std::make_unique<zone::Changeset>(std::move(u));
          return;
        }
        errs.clear();  // the whole pass below says what is wrong
      }
    }
    auto content = zone::dnssec::unsigned_content(*s.cur, &cs, errs);
    if (!content) return s.fail("validate: " + why_of(errs, "the change does not apply"));
    std::string err;
    auto next = signer_->sign(c.origin, c.name, *content, s.cur.get(), err);
    if (!next) return s.fail("sign: " + err);
    zone::Changeset scs = zone::diff_zones(*s.cur, *next);
    errs.clear();
    auto version = zone::apply_changeset(s.cur, scs, errs);  // shares the served nodes
    s.next = version ? version : next;
    s.cs = std::make_unique<zone::Changeset>(std::move(scs));
    s.hash = zone::content_hash(*content);
    s.unsigned_cs = std::make_unique<zone::Changeset>(std::move(u));
  };
  auto apply = [&](const zone::Changeset& cs) {
    std::vector<zone::ZoneError> errs;
    if (!zone::wire::serial_gt(cs.to_serial(), cs.from_serial()))
      return s.fail("validate: the new serial " + std::to_string(cs.to_serial()) +
                    " is not greater than " + std::to_string(cs.from_serial()));
    if (signs) return signed_apply(cs);
    s.next = zone::apply_changeset(s.cur, cs, errs);
    if (!s.next) {
      std::string why;
      for (const auto& e : errs) why += (why.empty() ? "" : "; ") + e.message;
      return s.fail("validate: " + (why.empty() ? std::string("the change does not apply") : why));
    }
    s.cs = std::make_unique<zone::Changeset>(cs);
    s.hash = zone::content_hash(*s.next);  // carried by the version: O(change)
  };
  switch (c.kind) {
    case ZoneChange::Kind::replace: {
      if (!c.zone) return s.fail("no zone given");
      if (c.base && c.base != s.cur)
        return s.fail("the zone changed while this version was prepared: try again");
      if (signs) return signed_replace(s);
      s.next = c.zone;
      s.hash = c.hash ? c.hash : zone::content_hash(*s.next);
      if (c.changes) s.cs = std::make_unique<zone::Changeset>(*c.changes);
      else if (s.cur) s.cs = std::make_unique<zone::Changeset>(zone::diff_zones(*s.cur, *s.next));
      if (s.cur && s.cs && s.cs->empty() && s.cur->serial() == s.next->serial()) {
        s.r.ok = true;
        s.r.zone = s.cur;
        s.done = true;  // the same version: nothing to do
      }
      return;
    }
    case ZoneChange::Kind::apply:
      if (!s.cur) return s.fail("zone " + c.name + " is not loaded");
      if (!c.changes) return s.fail("no changes given");
      return apply(*c.changes);
    case ZoneChange::Kind::plan: {
      if (!s.cur) return s.fail("zone " + c.name + " is not loaded");
      zone::PlanOutcome out;
      try {
        out = c.planner(*s.cur);
      } catch (const std::exception& e) {
        return s.fail(std::string("planning the change failed: ") + e.what());
      }
      s.r.message = out.message;
      if (!out.changes) return s.fail(out.error, out.rcode);
      // Nothing to do: no record and no SOA field changes (an UPDATE may raise only the SOA).
      if (out.changes->empty() && out.changes->soa_from == out.changes->soa_to) {
        s.r.ok = true;
        s.r.zone = s.cur;
        s.done = true;
        return;
      }
      return apply(*out.changes);
    }
    case ZoneChange::Kind::remove:
      return;
  }
}

void ZoneCommitter::signed_replace(Step& s) {
  const ZoneChange& c = s.c;
  const uint64_t content_hash = c.hash ? c.hash : zone::content_hash(*c.zone);
  // The version to keep signatures from: the one served, or at start-up the one stored.
  std::shared_ptr<const zone::Zone> prev = s.cur;
  std::optional<ZoneMeta> meta;
  if (!prev) {
    try {
      if (Store* st = store_.get()) {
        ZoneTimers t;
        prev = st->load_zone(c.origin, t);
        meta = st->load_meta(c.origin);
      }
    } catch (const StoreError&) {
      prev = nullptr;  // signed from scratch
    }
    // A restart with the same content: the stored signed version is served as it is.
    if (prev && meta && meta->hash == content_hash && prev->serial() == c.zone->serial() &&
        signer_->adopt(c.origin, c.name, *prev)) {
      s.next = prev;
      s.hash = content_hash;
      return;
    }
  }
  std::string err;
  auto next = signer_->sign(c.origin, c.name, *c.zone, prev.get(), err);
  if (!next && !s.cur && prev && meta) {
    // Start-up and the zone cannot be signed (a key file unreadable...): the stored signed
    // version is served as it was, and the log says why.
    zone_log()->error("zone {}: sign: {}: serving the stored signed serial {}", c.name, err,
                      prev->serial());
    s.next = prev;
    s.hash = meta->hash;
    return;
  }
  if (!next) return s.fail("sign: " + err);
  s.hash = content_hash;
  if (!prev) {
    s.next = next;
    return;
  }
  zone::Changeset d = zone::diff_zones(*prev, *next);
  if (d.empty() && next->serial() == prev->serial()) {
    if (s.cur) {
      s.r.ok = true;
      s.r.zone = s.cur;
      s.done = true;  // the same version: nothing to do
    } else {
      s.next = prev;  // start-up: the stored version is still right
    }
    return;
  }
  if (!zone::wire::serial_gt(next->serial(), prev->serial())) {
    // New signatures (or new content under the same serial): one serial further.
    auto bumped = zone::with_serial(c.zone, prev->serial() + 1);
    next = signer_->sign(c.origin, c.name, *bumped, prev.get(), err);
    if (!next) return s.fail("sign: " + err);
    d = zone::diff_zones(*prev, *next);
  }
  s.next = next;
  s.cs = std::make_unique<zone::Changeset>(std::move(d));
}

void ZoneCommitter::persist(std::vector<Step>& steps, bool deferred) {
  if (!store_.configured()) return;  // no database: primaries only, nothing to keep
  // The steps this pass writes: the commit's own, or those it left for afterwards.
  auto mine = [deferred](const Step& s) { return !s.done && s.store_after == deferred; };
  auto store_failed = [&](Step& s, const std::string& why) {
    if (s.c.serve_if_store_fails && !s.cur) {
      s.r.stored = false;
      zone_log()->error("zone {}: cannot store it ({}): serving it from its file meanwhile",
                        s.c.name, why);
    } else {
      s.fail("store: " + why + " (the zone keeps its previous version)");
      s.r.store_fault = true;
    }
  };
  Store* st = store_.get();
  if (!st) {
    for (auto& s : steps)
      if (mine(s)) store_failed(s, "database " + store_.path() + " unusable: " + store_.last_error());
    return;
  }
  // A big batch (start-up) reads every zone's meta at once instead of one query each.
  std::optional<std::map<std::string, ZoneMeta>> all_meta;
  auto meta_of = [&](const std::string& origin) -> std::optional<ZoneMeta> {
    if (!all_meta) return st->load_meta(origin);
    auto it = all_meta->find(origin);
    if (it == all_meta->end()) return std::nullopt;
    return it->second;
  };
  auto write = [&](Step& s) {
    const ZoneChange& c = s.c;
    if (c.kind == ZoneChange::Kind::remove) {
      st->drop_zone(c.origin);
      return;
    }
    ZoneTimers t = timers_of(c);
    if (s.cs) {
      auto meta = meta_of(c.origin);
      if (meta && meta->serial == s.cs->from_serial()) {
        try {
          Store::Scope inner(*st);
          st->apply_changes(c.origin, *s.cs, t, c.keep_history, s.hash);
          inner.commit();
          if (!c.stored_config.empty()) st->save_config(c.origin, c.stored_config);
          return;
        } catch (const StoreError& e) {
          // The stored copy is not the version the change starts from: store it whole.
          zone_log()->warn("zone {}: stored copy out of step ({}): storing the zone whole",
                           c.name, e.what());
        }
      }
      st->save_zone(*s.next, t, s.hash);
      st->clear_history(c.origin);
      if (c.keep_history) st->add_history(c.origin, *s.cs, c.keep_history);
    } else {
      st->save_zone(*s.next, t, s.hash);
      st->clear_history(c.origin);
    }
    if (!c.stored_config.empty()) st->save_config(c.origin, c.stored_config);
  };
  bool fault = false;
  std::string fault_why;
  try {
    // Start-up: a version the store holds already (same content and serial) needs no write.
    // The deferred pass has its answer from the commit's pass: not stored.
    // What the caller read of the store already (a start-up: every zone) is not read again.
    if (!deferred && std::count_if(steps.begin(), steps.end(), [&](const Step& s) {
                       return mine(s) && !s.c.stored;
                     }) > 16)
      all_meta = st->load_all_meta();
    for (auto& s : steps) {
      if (deferred || !mine(s) || s.cs || s.c.kind != ZoneChange::Kind::replace || s.c.timers ||
          !s.c.stored_config.empty())
        continue;
      std::optional<ZoneChange::Stored> held = s.c.stored;
      if (!held)
        if (auto meta = meta_of(s.c.origin)) held = {meta->serial, meta->hash, meta->has_records};
      s.already_stored = held && held->hash && held->hash == s.hash &&
                         held->serial == s.next->serial() && held->has_records;
      // A zone read from its file while nothing of it is served (start-up, a zone new in the
      // configuration) is durable already: it need not wait for its rows to be written.
      // Not a zone signed here: its signatures exist nowhere else.
      if (!deferred && !s.already_stored && s.c.serve_if_store_fails && !s.cur && !s.signs)
        s.store_after = true;
    }
    // Many zones, or a big one written whole (a zone signed from scratch: 3 million rows).
    size_t whole_records = 0;
    for (const auto& s : steps)
      if (mine(s) && !s.cs && s.next) whole_records += s.next->record_count();
    const auto writes = std::count_if(steps.begin(), steps.end(),
                                      [&](const Step& s) { return mine(s) && !s.already_stored; });
    std::optional<Store::BigCache> big_cache;
    if (writes > 16 || whole_records > 100000) big_cache.emplace(*st);
    Store::Scope batch(*st);
    for (auto& s : steps) {
      if (!mine(s) || s.already_stored) continue;
      try {
        Store::Scope one(*st);
        write(s);
        one.commit();
      } catch (const StoreError& e) {
        fault = true;
        fault_why = e.what();
        store_failed(s, e.what());
      }
    }
    batch.commit();
  } catch (const StoreError& e) {
    fault = true;
    fault_why = e.what();
    for (auto& s : steps)
      if (mine(s) && s.r.stored) store_failed(s, e.what());
  }
  if (fault) store_.failed(fault_why);
}

std::vector<CommitResult> ZoneCommitter::commit_here(std::vector<ZoneChange> changes) {
  auto started = std::chrono::steady_clock::now();
  // Shared with the job that stores zones after they are served (6): kept, not moved.
  struct Batch {
    std::vector<ZoneChange> changes;
    std::vector<Step> steps;
  };
  auto all = std::make_shared<Batch>();
  all->changes = std::move(changes);
  std::vector<Step>& steps = all->steps;
  steps.reserve(all->changes.size());
  for (auto& c : all->changes) steps.emplace_back(c);
  // 1. validate (and plan) against the versions served now.
  auto table = registry_.current();
  // Two changes to one zone in one call: the second must see the first (only then is a
  // table version made per change).
  std::unordered_map<std::string_view, int> per_zone;
  per_zone.reserve(steps.size());
  for (const auto& s : steps) ++per_zone[s.c.origin];
  for (auto& s : steps) {
    validate(s, *table);
    if (per_zone[s.c.origin] > 1 && !s.done && s.next) {
      std::vector<zone::ZoneTable::Change> one{{s.c.origin, s.next, false}};
      table = table->with(one);
    }
  }
  // A dry run ends here: what the commit would serve and what it would change.
  for (auto& s : steps) {
    if (!s.c.dry_run || s.done) continue;
    s.r.ok = true;
    s.r.changed = true;
    s.r.zone = s.next;
    s.set_applied();
    s.done = true;
  }
  // 2. persist: one transaction, a savepoint per zone (zones durable in their files: after 5).
  persist(steps, false);
  // Logged before publication, so that a reader who sees the new serial finds the line.
  auto log = zone_log();
  const bool batch = steps.size() > 1;
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                              started).count();
  for (auto& s : steps) {
    if (s.done) {
      if (!s.r.ok && !s.r.error.empty() && !s.c.dry_run)
        log->log(s.r.rcode ? spdlog::level::info : spdlog::level::err,
                 "zone {}: {}: not changed: {}", s.c.name, s.c.source, s.r.error);
      continue;
    }
    if (s.c.kind == ZoneChange::Kind::remove) {
      log->info("zone {}: removed ({})", s.c.name, s.c.source);
      continue;
    }
    if (batch) continue;  // the caller sums up
    const char* stored = s.r.stored ? "" : " (not stored)";
    if (s.cur && s.cs)
      log->info("zone {}: serial {} -> {} committed ({}): +{} -{} records{}, {:.1f} ms", s.c.name,
                s.cur->serial(), s.next->serial(), s.c.source, s.cs->added.size(),
                s.cs->removed.size(), stored, ms);
    else
      log->info("zone {}: serial {} committed ({}): {} records{}, {:.1f} ms", s.c.name,
                s.next->serial(), s.c.source, s.next->record_count(), stored, ms);
  }
  // 3. publish: one table version for all of them.
  std::vector<zone::ZoneTable::Change> publish;
  for (auto& s : steps) {
    if (s.done) continue;
    bool remove = s.c.kind == ZoneChange::Kind::remove;
    publish.push_back({s.c.origin, s.next, remove});
  }
  if (!publish.empty()) registry_.publish(publish);
  // 4. history, 5. NOTIFY.
  std::optional<std::set<std::string>> with_history;  // read once per batch, when needed
  for (auto& s : steps) {
    if (s.done) continue;
    const ZoneChange& c = s.c;
    s.r.ok = true;
    s.r.changed = true;
    s.r.zone = s.next;
    if (c.kind == ZoneChange::Kind::remove) {
      history_.clear(c.origin);
      notifier_.forget(c.origin);
      std::lock_guard<std::mutex> g(hashes_mu_);
      hashes_.erase(c.origin);
      continue;
    }
    {
      // A zone not signed here carries its own hash (computed once, kept by its versions).
      std::lock_guard<std::mutex> g(hashes_mu_);
      if (s.signs) hashes_[c.origin] = s.hash;
      else hashes_.erase(c.origin);
    }
    if (s.cs && c.keep_history) {
      history_.add(c.origin, std::make_shared<const zone::Changeset>(*s.cs), c.keep_history);
    } else if (s.already_stored) {
      if (!with_history) {
        with_history.emplace();
        try {
          if (Store* st = store_.get()) *with_history = st->zones_with_history();
        } catch (const StoreError&) {
        }
      }
      if (with_history->count(c.origin))
        restore_history(c.origin, c.name, c.keep_history, s.next->serial());
    } else {
      history_.clear(c.origin);
    }
    s.set_applied();
    if (c.notify) {
      auto targets = notify_targets_(c.origin);
      if (!targets.empty()) notifier_.notify(c.origin, targets, s.next);
    }
    for (const auto& o : observers_) o(c, s.r);
  }
  std::vector<CommitResult> out;
  out.reserve(steps.size());
  for (auto& s : steps) out.push_back(std::move(s.r));
  // 6. The rows of zones served from their files, in a job of their own queued behind this
  // commit (a stop runs it before the thread ends; a crash leaves the file to be read again).
  if (std::any_of(steps.begin(), steps.end(), [](const Step& s) { return s.store_after && !s.done; }))
    asio::post(io_, [this, all]() mutable {
      try {
        // A zone changed or removed since was stored (or dropped) by that commit.
        auto table = registry_.current();
        for (auto& s : all->steps)
          if (s.store_after && table->get(s.c.origin) != s.next) s.done = true;
        persist(all->steps, true);
        all.reset();
        malloc_trim(0);
      } catch (const std::exception& e) {
        zone_log()->error("storing zones read from their files: {}", e.what());
      }
    });
  return out;
}

}  // namespace replication
