#include "replication/replicator.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <ctime>

#include "zone/task.h"
#include "zone/utc.h"
#include "zone/wire/message.h"
#include "zone/wire/rdata.h"
#include "zone/wire/serial.h"

namespace replication {

namespace asio = boost::asio;
using namespace zone::wire;
using std::chrono::seconds;

namespace {

std::shared_ptr<spdlog::logger> log_for(const char* name) {
  auto l = spdlog::get(name);
  return l ? l : spdlog::default_logger();
}

int64_t unix_now() { return static_cast<int64_t>(std::time(nullptr)); }

SoaFields soa_of(const zone::Zone& z) {
  SoaFields f;
  parse_soa(std::string_view(z.soa().data).substr(2), f);
  return f;
}

// SOA timers, bounded so that a zone with silly values neither hammers nor starves.
int64_t bounded(uint32_t v, int64_t lo, int64_t hi) {
  return std::max<int64_t>(lo, std::min<int64_t>(hi, v));
}

ZoneTimers timers_after_refresh(const zone::Zone& z) {
  SoaFields f = soa_of(z);
  int64_t now = unix_now();
  return ZoneTimers{now, now + bounded(f.refresh, 1, 86400 * 7),
                    now + bounded(f.expire, 1, 86400 * 365)};
}

}  // namespace

struct Replicator::Secondary {
  ZoneRole role;
  std::shared_ptr<const zone::Zone> zone;
  ZoneTimers timers;
  asio::steady_timer wake;
  bool stopped = false;
  bool wanted = false;      // a refresh was asked for (NOTIFY, zonectl)
  bool force_axfr = false;
  int64_t last_attempt = 0;
  bool last_ok = true;
  std::string last_result = "not refreshed yet";
  uint64_t transfers_in = 0, transfer_in_bytes = 0;  // committed transfers
  std::map<std::string, UpstreamState> upstream;  // by address
  explicit Secondary(asio::io_context& io) : wake(io) {}
};

Replicator::Replicator(zone::ZoneRegistry& registry, zone::History& history)
    : registry_(registry),
      committer_(io_, store_, registry, history, notifier_, [this](const std::string& origin) {
        const ZoneRole* r = role(origin);
        return r ? r->notify : std::vector<Remote>{};
      }) {}

Replicator::~Replicator() { stop(); }

template <class F>
auto Replicator::on_thread(F&& f) -> decltype(f()) {
  if (!thread_.joinable() || std::this_thread::get_id() == thread_.get_id()) return f();
  std::packaged_task<decltype(f())()> task(std::forward<F>(f));
  auto fut = task.get_future();
  asio::post(io_, [&task] { task(); });
  return fut.get();
}

void Replicator::start(const ReplicationConfig& cfg) {
  store_ = StoreHandle(cfg.database);
  if (store_.configured() && !store_.get())
    log_for("server")->error("database {} unusable: {}; serving without it and retrying",
                             cfg.database, store_.last_error());
  // Load everything stored before answering starts: secondaries serve at once.
  apply_config(cfg);
}

void Replicator::run() {
  work_.emplace(io_.get_executor());
  thread_ = std::thread([this] {
    // Transfers and their SQLite writes are background work: queries come first.
    ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 10);
    for (;;) {
      try {
        io_.run();
        break;
      } catch (const std::exception& e) {
        // A handler that threw: log it, keep the thread (and every other zone) going.
        log_for("server")->error("replication: {}", e.what());
      }
    }
  });
}

void Replicator::stop() {
  if (!thread_.joinable()) return;
  asio::post(io_, [this] {
    for (auto& [o, s] : secondaries_) {
      s->stopped = true;
      s->wake.cancel();
    }
    work_.reset();
    io_.stop();
  });
  thread_.join();
}

void Replicator::reconfigure(const ReplicationConfig& cfg) {
  asio::post(io_, [this, cfg] { apply_config(cfg); });
}

const ZoneRole* Replicator::role(const std::string& origin) const {
  auto it = roles_.find(origin);
  return it == roles_.end() ? nullptr : it->second;
}

std::map<std::string, ZoneMeta> Replicator::stored_meta() {
  return on_thread([this] {
    std::map<std::string, ZoneMeta> out;
    Store* st = store_.get();
    if (!st) return out;
    try {
      out = st->load_all_meta();
    } catch (const StoreError& e) {
      store_.failed(e.what());
      log_for("server")->error("database {}: {}", store_.path(), e.what());
    }
    return out;
  });
}

std::shared_ptr<const zone::Zone> Replicator::stored_zone(const std::string& origin,
                                                          std::string& error) {
  return on_thread([&]() -> std::shared_ptr<const zone::Zone> {
    Store* st = store_.get();
    if (!st) {
      error = store_.configured() ? "database unusable: " + store_.last_error()
                                  : std::string("no database configured");
      return nullptr;
    }
    try {
      ZoneTimers t;
      auto z = st->load_zone(origin, t);
      if (!z) error = "the database holds no version of it";
      return z;
    } catch (const StoreError& e) {
      error = e.what();
      return nullptr;
    }
  });
}

bool Replicator::store_ok(std::string& error) {
  return on_thread([&] {
    if (!store_.configured() || store_.get()) return true;
    error = store_.last_error();
    return false;
  });
}

void Replicator::apply_config(const ReplicationConfig& cfg) {
  auto log = log_for("xfr");
  cfg_ = cfg;
  roles_.clear();
  for (const auto& z : cfg_.zones) roles_[z.origin] = &z;
  // Secondaries gone from the configuration stop (the zone service removes their data).
  for (auto it = secondaries_.begin(); it != secondaries_.end();) {
    const ZoneRole* r = role(it->first);
    if (!r || !r->secondary()) {
      it->second->stopped = true;
      it->second->wake.cancel();
      it = secondaries_.erase(it);
    } else {
      it->second->role = *r;
      ++it;
    }
  }
  // New secondaries are published together: one zone table for 1,000 zones a catalog adds,
  // not 1,000 tables.
  std::vector<zone::ZoneTable::Change> publish;
  std::vector<std::shared_ptr<Secondary>> restored, started;
  for (const auto& r : cfg_.zones) {
    if (!r.secondary() || secondaries_.count(r.origin)) continue;
    auto s = std::make_shared<Secondary>(io_);
    s->role = r;
    if (Store* st = store_.get()) {
      try {
        s->zone = st->load_zone(r.origin, s->timers);
      } catch (const StoreError& e) {
        log->error("zone {}: stored copy unusable, will transfer it again: {}", r.name, e.what());
      }
    }
    if (s->zone) {
      if (s->timers.expire_at && s->timers.expire_at <= unix_now()) s->zone->set_expired(true);
      s->zone->set_expire_at(s->timers.expire_at);  // EDNS EXPIRE (RFC 7314)
      log->info("zone {}: serving serial {} from the database{}", r.name, s->zone->serial(),
                s->zone->expired() ? " (expired: SERVFAIL until refreshed)" : "");
      // A stored version published as it is: served again, not changed.
      publish.push_back({r.origin, s->zone, false});
      restored.push_back(s);
    } else {
      publish.push_back({r.origin, nullptr, false});  // configured, nothing yet: SERVFAIL
    }
    // Refresh soon after start whatever the stored timers say (a restart is a good time
    // to check), but keep the stored expiry.
    s->timers.next_refresh = unix_now();
    secondaries_.emplace(r.origin, s);
    started.push_back(s);
  }
  if (!publish.empty()) registry_.publish(publish);
  for (const auto& s : restored)
    committer_.restore_history(s->role.origin, s->role.name, s->role.history, s->zone->serial());
  for (const auto& s : started)
    asio::co_spawn(io_, run_secondary(s), zone::TaskEnd("refreshes of zone " + s->role.name));
}

// Transfers that finish together are committed together: one SQLite transaction (one
// fsync) and one zone table for all of them. A transfer waits for its own result.
asio::awaitable<zone::CommitResult> Replicator::commit_batched(zone::ZoneChange c) {
  auto w = std::make_shared<PendingCommit>(io_);
  w->change = std::move(c);
  pending_commits_.push_back(w);
  if (!flush_posted_) {
    flush_posted_ = true;
    asio::post(io_, [this] { flush_commits(); });
  }
  boost::system::error_code ec;
  while (!w->finished) co_await w->done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  co_return std::move(w->result);
}

void Replicator::flush_commits() {
  flush_posted_ = false;
  auto batch = std::move(pending_commits_);
  pending_commits_.clear();
  if (batch.empty()) return;
  std::vector<zone::ZoneChange> changes;
  changes.reserve(batch.size());
  for (auto& w : batch) changes.push_back(std::move(w->change));
  auto t0 = std::chrono::steady_clock::now();
  auto results = committer_.commit_here(std::move(changes));
  log_for("xfr")->debug("{} transfer(s) committed together in {} us", batch.size(),
                        std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::steady_clock::now() - t0).count());
  for (size_t i = 0; i < batch.size(); ++i) {
    batch[i]->result = std::move(results[i]);
    batch[i]->finished = true;
    batch[i]->done.cancel();
  }
}

// At most kMaxRefreshes zones refresh at once (SOA query and transfer): a catalog that adds
// 1,000 zones would otherwise open 1,000 connections to one primary (BIND's transfers-in).
asio::awaitable<void> Replicator::acquire_refresh_slot(bool asked) {
  boost::system::error_code ec;
  while (active_refreshes_ >= kMaxRefreshes + (asked ? kAskedExtra : 0)) {
    auto t = std::make_shared<asio::steady_timer>(io_, asio::steady_timer::time_point::max());
    if (asked) refresh_waiters_.push_front(t);
    else refresh_waiters_.push_back(t);
    co_await t->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  ++active_refreshes_;
}

void Replicator::release_refresh_slot() {
  --active_refreshes_;
  if (!refresh_waiters_.empty()) {
    auto t = refresh_waiters_.front();
    refresh_waiters_.pop_front();
    t->cancel();
  }
}

asio::awaitable<void> Replicator::run_secondary(std::shared_ptr<Secondary> s) {
  boost::system::error_code ec;
  while (!s->stopped) {
    int64_t wait = s->timers.next_refresh - unix_now();
    if (wait > 0 && !s->wanted) {
      s->wake.expires_after(seconds(wait));
      co_await s->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (s->stopped) break;
      if (ec && !s->wanted) continue;  // woken without a request: re-evaluate the timers
    }
    const bool asked = s->wanted;
    s->wanted = false;
    co_await acquire_refresh_slot(asked);
    struct Slot {
      Replicator* r;
      ~Slot() { r->release_refresh_slot(); }
    } slot{this};
    if (s->stopped) break;
    try {
      co_await refresh_once(*s);
    } catch (const std::exception& e) {
      // One failed refresh must not end the zone's refreshes: log, retry later.
      log_for("xfr")->error("zone {}: refresh failed: {}", s->role.name, e.what());
      s->last_ok = false;
      s->last_result = std::string("failed: ") + e.what();
      s->timers.next_refresh = unix_now() + 10;
    }
  }
}

asio::awaitable<bool> Replicator::refresh_once(Secondary& s) {
  auto log = log_for("xfr");
  const std::string& name = s.role.name;
  bool force_axfr = s.force_axfr;
  s.force_axfr = false;
  s.last_attempt = unix_now();
  std::string errors;
  for (const Remote& primary : s.role.primaries) {
    // A zone with nothing held yet (a new catalog member) goes straight to the transfer:
    // there is no serial to compare, and the AXFR's first message carries the SOA.
    const bool ask = s.zone != nullptr;
    SoaCheck soa;
    if (ask) {
      soa = co_await query_soa(primary, s.role.origin, std::chrono::milliseconds(2000));
    } else {
      soa.refused = true;  // not asked: proceed as for a primary that refuses SOA queries
    }
    UpstreamState& up = s.upstream[primary.str()];
    up.remote = primary.name;
    up.address = primary.str();
    if (ask) {
      up.answered = soa.ok;
      up.checked_at = unix_now();
      up.error = soa.ok ? std::string() : soa.error;
      if (soa.ok) up.serial = soa.serial;
    }
    if (s.stopped) co_return false;
    if (!soa.ok && !soa.refused) {
      log->warn("zone {}: SOA query to {} failed: {}", name, primary.label(), soa.error);
      errors += (errors.empty() ? "" : "; ") + primary.name + ": " + soa.error;
      continue;
    }
    // A primary that refuses the SOA query may still allow the transfer (Knot's generated
    // catalog zones): IXFR then compares the serials itself.
    if (!soa.ok && ask)
      log->debug("zone {}: SOA query to {} refused: asking for the transfer", name,
                 primary.label());
    uint32_t have = s.zone ? s.zone->serial() : 0;
    if (soa.ok && s.zone && !force_axfr && !serial_gt(soa.serial, have)) {
      log->debug("zone {}: {} has serial {}, we have {}: up to date", name,
                 primary.label(), soa.serial, have);
      s.timers = timers_after_refresh(*s.zone);
      s.zone->set_expire_at(s.timers.expire_at);
      if (s.zone->expired()) {
        s.zone->set_expired(false);
        log->info("zone {}: serial {} confirmed by {}, no longer expired", name, have,
                  primary.label());
      }
      if (Store* st = store_.get()) {
        try {
          st->save_timers(s.role.origin, s.timers);
        } catch (const StoreError& e) {
          store_.failed(e.what());
          log->error("zone {}: cannot save timers: {}", name, e.what());
        }
      }
      s.last_ok = true;
      s.last_result = "up to date with " + primary.label();
      co_return true;
    }
    // Incremental first when we have a version, full otherwise or when IXFR fails.
    auto started = std::chrono::steady_clock::now();
    const zone::Zone* base = force_axfr ? nullptr : s.zone.get();
    TransferResult tr = co_await transfer(primary, s.role.origin, base, seconds(30));
    if (s.stopped) co_return false;
    const char* kind = base ? "IXFR" : "AXFR";
    zone::ZoneChange change;
    change.origin = s.role.origin;
    change.name = name;
    change.keep_history = s.role.history;
    std::optional<zone::CommitResult> result;
    auto prepare = [&](zone::ZoneChange c) {
      ZoneTimers t = c.zone ? timers_after_refresh(*c.zone) : timers_after_refresh(*s.zone);
      c.timers = zone::ZoneChange::Timers{t.last_refresh, t.next_refresh, t.expire_at};
      c.source = std::string(kind) + " in from " + primary.label();
      return c;
    };
    if (tr.kind == TransferResult::incremental) {
      change.kind = zone::ZoneChange::Kind::apply;
      change.changes = zone::condense(tr.changes);
      result = co_await commit_batched(prepare(std::move(change)));
      if (!result->ok && !result->store_fault) {
        tr.kind = TransferResult::failed;
        tr.error = "IXFR does not apply: " + result->error;
        result.reset();
      }
    } else if (tr.kind == TransferResult::full) {
      if (base) kind = "AXFR-style IXFR";  // the primary had no history for our serial
      change.kind = zone::ZoneChange::Kind::replace;
      change.zone = tr.zone;
      result = co_await commit_batched(prepare(std::move(change)));
    } else if (tr.kind == TransferResult::up_to_date) {
      s.last_ok = true;
      s.last_result = "up to date with " + primary.label();
      co_return true;
    }
    if (tr.kind == TransferResult::failed && base) {
      log->warn("zone {}: IXFR from {} serial {} -> {} failed: {}; trying AXFR", name,
                primary.label(), have, soa.serial, tr.error);
      kind = "AXFR";
      tr = co_await transfer(primary, s.role.origin, nullptr, seconds(30));
      if (s.stopped) co_return false;
      if (tr.kind == TransferResult::full) {
        zone::ZoneChange full;
        full.kind = zone::ZoneChange::Kind::replace;
        full.origin = s.role.origin;
        full.name = name;
        full.keep_history = s.role.history;
        full.zone = tr.zone;
        result = co_await commit_batched(prepare(std::move(full)));
      }
    }
    if (!result) {
      if (!ask) {
        up.answered = false;
        up.error = tr.error;
        up.checked_at = unix_now();
      }
      log->warn("zone {}: {} from {} failed: {}", name, kind, primary.label(), tr.error);
      errors += (errors.empty() ? "" : "; ") + primary.name + ": " + tr.error;
      continue;
    }
    if (!result->ok) {
      // The store could not take it (or it did not validate): keep serving what we have.
      errors += (errors.empty() ? "" : "; ") + primary.name + ": " + result->error;
      continue;
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    log->info("zone {}: {} in from {}: serial {} -> {}, {} records in {} messages, {:.3f} s",
              name, kind, primary.label(), have, result->zone->serial(), tr.records,
              tr.messages, secs);
    s.zone = result->zone;
    ++s.transfers_in;
    s.transfer_in_bytes += tr.bytes;
    if (!up.answered || !ask) {  // what the transfer showed of the primary
      up.answered = true;
      up.error.clear();
      up.serial = s.zone->serial();
      up.checked_at = unix_now();
    }
    s.timers = timers_after_refresh(*s.zone);
    s.zone->set_expire_at(s.timers.expire_at);
    s.last_ok = true;
    s.last_result = std::string(kind) + " from " + primary.label() + ": serial " +
                    std::to_string(s.zone->serial());
    co_return true;
  }
  // Every primary failed: retry later; past expire, stop answering with stale data.
  int64_t now = unix_now();
  uint32_t retry = s.zone ? soa_of(*s.zone).retry : 10;
  s.timers.next_refresh = now + bounded(retry, 1, 86400);
  if (s.zone && s.timers.expire_at && now >= s.timers.expire_at && !s.zone->expired()) {
    s.zone->set_expired(true);
    log->error("zone {}: expired (no primary reachable since {}): answering SERVFAIL", name,
               s.timers.last_refresh ? zone::utc_text(s.timers.last_refresh) : "it was loaded");
  }
  log->warn("zone {}: refresh failed ({}), next try in {} s", name, errors,
            s.timers.next_refresh - now);
  s.last_ok = false;
  s.last_result = "failed: " + errors;
  co_return false;
}

void Replicator::notify_received(const std::string& origin, const std::string& from) {
  asio::post(io_, [this, origin, from] {
    auto it = secondaries_.find(origin);
    if (it == secondaries_.end()) return;
    log_for("notify")->info("zone {}: NOTIFY from {}: checking the primary now",
                            it->second->role.name, from);
    it->second->wanted = true;
    it->second->wake.cancel();
  });
}

void Replicator::refresh(const std::string& origin, bool force_axfr) {
  asio::post(io_, [this, origin, force_axfr] {
    auto it = secondaries_.find(origin);
    if (it == secondaries_.end()) return;
    it->second->wanted = true;
    it->second->force_axfr = it->second->force_axfr || force_axfr;
    it->second->wake.cancel();
  });
}

void Replicator::query_servers(std::vector<Remote> servers, std::string name, uint16_t qtype,
                               std::function<void(std::vector<RRsetCheck>)> done) {
  auto task = [](std::vector<Remote> servers, std::string name, uint16_t qtype,
                 std::function<void(std::vector<RRsetCheck>)> done) -> asio::awaitable<void> {
    std::vector<RRsetCheck> out;
    for (const auto& s : servers)
      out.push_back(co_await query_rrset(s, name, qtype, std::chrono::milliseconds(2000)));
    done(std::move(out));
  };
  asio::co_spawn(io_, task(std::move(servers), std::move(name), qtype, std::move(done)),
                 zone::TaskEnd("queries for " + zone::wire::name_display(name)));
}

void Replicator::send_notify(const std::string& origin) {
  asio::post(io_, [this, origin] {
    const ZoneRole* r = role(origin);
    auto z = registry_.current()->get(origin);
    if (r && z && !r->notify.empty()) notifier_.notify(origin, r->notify, z);
  });
}

std::optional<std::vector<ZoneReplicationStatus>> Replicator::status_within(
    std::chrono::milliseconds wait) {
  if (!thread_.joinable()) return status();
  // Shared with the task: it may run after we stopped waiting.
  auto promise = std::make_shared<std::promise<std::vector<ZoneReplicationStatus>>>();
  auto fut = promise->get_future();
  asio::post(io_, [this, promise] { promise->set_value(status()); });
  if (fut.wait_for(wait) != std::future_status::ready) return std::nullopt;
  return fut.get();
}

std::vector<ZoneReplicationStatus> Replicator::status() {
  return on_thread([this] {
    std::vector<ZoneReplicationStatus> out;
    for (const auto& r : cfg_.zones) {
      ZoneReplicationStatus st;
      st.origin = r.origin;
      st.secondary = r.secondary();
      if (auto it = secondaries_.find(r.origin); it != secondaries_.end()) {
        const Secondary& s = *it->second;
        st.loaded = s.zone != nullptr;
        st.serial = s.zone ? s.zone->serial() : 0;
        st.expired = s.zone && s.zone->expired();
        st.timers = s.timers;
        st.last_attempt = s.last_attempt;
        st.last_ok = s.last_ok;
        st.last_result = s.last_result;
        st.transfers_in = s.transfers_in;
        st.transfer_in_bytes = s.transfer_in_bytes;
        for (const auto& p : r.primaries) {
          auto u = s.upstream.find(p.str());
          if (u != s.upstream.end()) {
            st.primaries.push_back(u->second);
          } else {
            UpstreamState unknown;
            unknown.remote = p.name;
            unknown.address = p.str();
            unknown.error = "not asked yet";
            st.primaries.push_back(unknown);
          }
        }
      }
      st.downstream = notifier_.state(r.origin);
      out.push_back(std::move(st));
    }
    return out;
  });
}

}  // namespace replication
