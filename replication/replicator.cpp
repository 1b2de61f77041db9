#include "replication/replicator.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <random>

#include "zone/wire/message.h"
#include "zone/wire/rdata.h"
#include "zone/wire/render.h"
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
  std::string last_result = "not refreshed yet";
  explicit Secondary(asio::io_context& io) : wake(io) {}
};

Replicator::Replicator(Hooks hooks, zone::History& history)
    : hooks_(std::move(hooks)), history_(history) {}

Replicator::~Replicator() { stop(); }

void Replicator::start(const ReplicationConfig& cfg) {
  if (!cfg.database.empty()) store_ = std::make_unique<Store>(cfg.database);
  // Load everything stored before answering starts: secondaries serve at once.
  apply_config(cfg);
}

void Replicator::run() {
  work_.emplace(io_.get_executor());
  thread_ = std::thread([this] {
    // Transfers and their SQLite writes are background work: queries come first.
    ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 10);
    io_.run();
  });
}

std::optional<std::pair<uint32_t, uint64_t>> Replicator::last_served(const std::string& origin) {
  if (!store_) return std::nullopt;
  try {
    return store_->load_served(origin);
  } catch (const StoreError&) {
    return std::nullopt;
  }
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
  for (const auto& z : cfg_.zones)
    if (z.origin == origin) return &z;
  return nullptr;
}

void Replicator::apply_config(const ReplicationConfig& cfg) {
  auto log = log_for("xfr");
  cfg_ = cfg;
  // Secondaries gone from the configuration stop (their data stays in the store).
  for (auto it = secondaries_.begin(); it != secondaries_.end();) {
    const ZoneRole* r = role(it->first);
    if (!r || !r->secondary()) {
      it->second->stopped = true;
      it->second->wake.cancel();
      hooks_.publish(it->first, nullptr);
      it = secondaries_.erase(it);
    } else {
      it->second->role = *r;
      ++it;
    }
  }
  for (const auto& r : cfg_.zones) {
    if (!r.secondary() || secondaries_.count(r.origin)) continue;
    auto s = std::make_shared<Secondary>(io_);
    s->role = r;
    if (store_) {
      try {
        s->zone = store_->load_zone(r.origin, s->timers);
      } catch (const StoreError& e) {
        log->error("zone {}: stored copy unusable, will transfer it again: {}", r.name, e.what());
      }
      if (s->zone) {
        if (s->timers.expire_at && s->timers.expire_at <= unix_now()) s->zone->set_expired(true);
        s->zone->set_expire_at(s->timers.expire_at);
        log->info("zone {}: serving serial {} from the database{}", r.name, s->zone->serial(),
                  s->zone->expired() ? " (expired: SERVFAIL until refreshed)" : "");
        hooks_.publish(r.origin, s->zone);
        for (auto& c : store_->history_all(r.origin))
          history_.add(r.origin, std::make_shared<const zone::Changeset>(std::move(c)), r.history);
      }
    }
    // Refresh soon after start whatever the stored timers say (a restart is a good time
    // to check), but keep the stored expiry.
    s->timers.next_refresh = unix_now();
    secondaries_.emplace(r.origin, s);
    asio::co_spawn(io_, run_secondary(s), asio::detached);
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
    s->wanted = false;
    co_await refresh_once(*s);
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
    SoaCheck soa = co_await query_soa(primary, s.role.origin, std::chrono::milliseconds(2000));
    if (!soa.ok) {
      log->warn("zone {}: SOA query to primary {} ({}) failed: {}", name, primary.name,
                primary.str(), soa.error);
      errors += primary.name + ": " + soa.error + "; ";
      continue;
    }
    uint32_t have = s.zone ? s.zone->serial() : 0;
    if (s.zone && !force_axfr && !serial_gt(soa.serial, have)) {
      log->debug("zone {}: primary {} has serial {}, we have {}: up to date", name,
                 primary.name, soa.serial, have);
      SoaFields f = soa_of(*s.zone);
      int64_t now = unix_now();
      s.timers.last_refresh = now;
      s.timers.next_refresh = now + bounded(f.refresh, 1, 86400 * 7);
      s.timers.expire_at = now + bounded(f.expire, 1, 86400 * 365);
      s.zone->set_expire_at(s.timers.expire_at);
      if (s.zone->expired()) {
        s.zone->set_expired(false);
        log->info("zone {}: serial {} confirmed by {}, no longer expired", name, have, primary.name);
      }
      if (store_) {
        try {
          store_->save_timers(s.role.origin, s.timers);
        } catch (const StoreError& e) {
          log->error("zone {}: cannot save timers: {}", name, e.what());
        }
      }
      s.last_result = "up to date with " + primary.name;
      co_return true;
    }
    // Incremental first when we have a version, full otherwise or when IXFR fails.
    auto started = std::chrono::steady_clock::now();
    const zone::Zone* base = force_axfr ? nullptr : s.zone.get();
    TransferResult tr = co_await transfer(primary, s.role.origin, base, seconds(30));
    std::shared_ptr<const zone::Zone> next;
    std::optional<zone::Changeset> applied;
    const char* kind = base ? "IXFR" : "AXFR";
    if (tr.kind == TransferResult::incremental) {
      std::vector<zone::ZoneError> errs;
      std::shared_ptr<const zone::Zone> cur = s.zone;
      for (const auto& c : tr.changes) {
        cur = zone::apply_changeset(*cur, c, errs);
        if (!cur) break;
      }
      if (cur) {
        next = cur;
        applied = zone::condense(tr.changes);
      } else {
        tr.kind = TransferResult::failed;
        tr.error = "IXFR does not apply: " + (errs.empty() ? std::string("?") : errs.front().str());
      }
    } else if (tr.kind == TransferResult::full) {
      next = tr.zone;
      if (base) kind = "AXFR-style IXFR";  // the primary had no history for our serial
    } else if (tr.kind == TransferResult::up_to_date) {
      co_return true;
    }
    if (tr.kind == TransferResult::failed && base) {
      log->warn("zone {}: IXFR from {} ({}) serial {} -> {} failed: {}; trying AXFR", name,
                primary.name, primary.str(), have, soa.serial, tr.error);
      kind = "AXFR";
      tr = co_await transfer(primary, s.role.origin, nullptr, seconds(30));
      if (tr.kind == TransferResult::full) next = tr.zone;
    }
    if (!next) {
      log->warn("zone {}: {} from {} ({}) failed: {}", name, kind, primary.name, primary.str(),
                tr.error);
      errors += primary.name + ": " + tr.error + "; ";
      continue;
    }
    // Persist (one transaction), then publish, then history and NOTIFY downstream.
    SoaFields f = soa_of(*next);
    int64_t now = unix_now();
    ZoneTimers t{now, now + bounded(f.refresh, 1, 86400 * 7), now + bounded(f.expire, 1, 86400 * 365)};
    if (store_) {
      try {
        if (applied)
          store_->apply_changes(s.role.origin, *applied, t, s.role.history);
        else
          store_->save_zone(*next, t);
      } catch (const StoreError& e) {
        log->error("zone {}: cannot store serial {}: {}; not serving it", name, next->serial(),
                   e.what());
        errors += "store: " + std::string(e.what()) + "; ";
        continue;
      }
    }
    std::optional<zone::Changeset> hist = applied;
    if (!hist && s.zone) hist = zone::diff_zones(*s.zone, *next);
    if (hist) history_.add(s.role.origin, std::make_shared<const zone::Changeset>(*hist), s.role.history);
    else history_.clear(s.role.origin);
    if (!applied && store_) {
      try {
        store_->clear_history(s.role.origin);
        if (hist) store_->add_history(s.role.origin, *hist, s.role.history);
      } catch (const StoreError& e) {
        log->error("zone {}: cannot store history: {}", name, e.what());
      }
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    log->info("zone {}: {} in from {} ({}): serial {} -> {}, {} records in {} messages, {:.3f} s",
              name, kind, primary.name, primary.str(), have, next->serial(), tr.records,
              tr.messages, secs);
    s.zone = next;
    s.timers = t;
    next->set_expire_at(t.expire_at);
    s.last_result = std::string(kind) + " from " + primary.name + ": serial " +
                    std::to_string(next->serial());
    hooks_.publish(s.role.origin, next);
    for (const auto& r : s.role.notify)
      asio::co_spawn(io_, notify_one(r, s.role.origin, next), asio::detached);
    co_return true;
  }
  // Every primary failed: retry later; past expire, stop answering with stale data.
  int64_t now = unix_now();
  uint32_t retry = s.zone ? soa_of(*s.zone).retry : 10;
  s.timers.next_refresh = now + bounded(retry, 1, 86400);
  if (s.zone && s.timers.expire_at && now >= s.timers.expire_at && !s.zone->expired()) {
    s.zone->set_expired(true);
    log->error("zone {}: expired (no primary reachable since {}): answering SERVFAIL", name,
               s.timers.last_refresh);
  }
  log->warn("zone {}: refresh failed ({}), next try in {} s", name, errors,
            s.timers.next_refresh - now);
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

void Replicator::record_history(const std::string& origin, const zone::Changeset& c,
                                size_t keep, bool persist) {
  history_.add(origin, std::make_shared<const zone::Changeset>(c), keep);
  if (persist && store_) {
    try {
      store_->add_history(origin, c, keep);
    } catch (const StoreError& e) {
      log_for("xfr")->error("zone {}: cannot store IXFR history: {}", name_to_text(origin),
                            e.what());
    }
  }
}

void Replicator::primary_loaded(const std::string& origin, std::shared_ptr<const zone::Zone> z) {
  asio::post(io_, [this, origin, z] {
    const ZoneRole* r = role(origin);
    if (!r || !store_) return;
    try {
      store_->save_served(origin, z->serial(), zone::content_hash(*z));
    } catch (const StoreError& e) {
      log_for("zone")->error("zone {}: cannot store the served serial: {}", r->name, e.what());
    }
    // Stored history continues only if it ends at the serial now loaded from the file.
    auto chain = store_->history_all(origin);
    if (!chain.empty() && chain.back().to_serial() != z->serial()) {
      store_->clear_history(origin);
      chain.clear();
    }
    for (auto& c : chain)
      history_.add(origin, std::make_shared<const zone::Changeset>(std::move(c)), r->history);
  });
}

void Replicator::primary_changed(const std::string& origin,
                                 std::shared_ptr<const zone::Zone> before,
                                 std::shared_ptr<const zone::Zone> after) {
  asio::post(io_, [this, origin, before, after] {
    const ZoneRole* r = role(origin);
    size_t keep = r ? r->history : 100;
    if (before) {
      record_history(origin, zone::diff_zones(*before, *after), keep, true);
      if (store_) {
        try {
          store_->save_served(origin, after->serial(), zone::content_hash(*after));
        } catch (const StoreError& e) {
          log_for("zone")->error("zone {}: cannot store the served serial: {}",
                                 name_to_text(origin), e.what());
        }
      }
    }
    if (r)
      for (const auto& remote : r->notify)
        asio::co_spawn(io_, notify_one(remote, origin, after), asio::detached);
  });
}

void Replicator::send_notify(const std::string& origin, std::shared_ptr<const zone::Zone> z) {
  asio::post(io_, [this, origin, z] {
    const ZoneRole* r = role(origin);
    if (!r) return;
    for (const auto& remote : r->notify)
      asio::co_spawn(io_, notify_one(remote, origin, z), asio::detached);
  });
}

std::vector<Replicator::SecondaryStatus> Replicator::status() {
  std::promise<std::vector<SecondaryStatus>> p;
  auto f = p.get_future();
  asio::post(io_, [this, &p] {
    std::vector<SecondaryStatus> out;
    for (const auto& [origin, s] : secondaries_) {
      SecondaryStatus st;
      st.origin = origin;
      st.loaded = s->zone != nullptr;
      st.serial = s->zone ? s->zone->serial() : 0;
      st.expired = s->zone && s->zone->expired();
      st.timers = s->timers;
      st.last_attempt = s->last_attempt;
      st.last_result = s->last_result;
      out.push_back(std::move(st));
    }
    p.set_value(std::move(out));
  });
  return f.get();
}

asio::awaitable<void> Replicator::notify_one(Remote remote, std::string origin,
                                             std::shared_ptr<const zone::Zone> zone) {
  const uint32_t serial = zone->serial();
  auto log = log_for("notify");
  auto ex = co_await asio::this_coro::executor;
  std::string name = name_to_text(origin);
  static thread_local std::mt19937 rng{std::random_device{}()};
  // RFC 1996 3.6: retransmit with backoff until answered; here 5 tries over ~31 s.
  // A newer NOTIFY for this zone and remote supersedes this one (RFC 1996 3.6 retransmits
  // "until a response is received", but a stale serial only makes the secondary check again).
  const std::string slot = origin + '\0' + remote.str();
  const uint64_t generation = ++notify_generation_[slot];
  auto superseded = [&] { return notify_generation_[slot] != generation; };
  int delay = 1;
  for (int attempt = 1; attempt <= 5; ++attempt, delay *= 2) {
    if (superseded()) {
      log->debug("zone {}: NOTIFY serial {} to {} ({}) superseded by a newer one", name, serial,
                 remote.name, remote.str());
      co_return;
    }
    boost::system::error_code ec;
    asio::ip::udp::socket sock(ex);
    asio::ip::udp::endpoint ep(remote.address, remote.port);
    sock.open(ep.protocol(), ec);
    if (ec) break;
    uint16_t id = static_cast<uint16_t>(rng());
    std::vector<uint8_t> buf(4096);
    Renderer w(buf.data(), buf.size());
    w.begin(id, static_cast<uint16_t>(opcode::NOTIFY << 11 | flag::AA), origin, rrtype::SOA,
            rrclass::IN);
    // The new SOA in the answer section tells the secondary the serial (RFC 1996 3.7).
    w.add_rrset(Section::answer, origin, zone->soa());
    size_t len = w.size();
    std::string mac;
    if (remote.key) {
      auto m = tsig_sign(buf.data(), len, buf.size(), *remote.key,
                         static_cast<uint64_t>(unix_now()), {}, false);
      if (m) mac = *m;
    }
    co_await sock.async_send_to(asio::buffer(buf.data(), len), ep,
                                asio::redirect_error(asio::use_awaitable, ec));
    asio::steady_timer timer(ex);
    timer.expires_after(seconds(delay));
    bool acked = false;
    std::string problem;
    timer.async_wait([&sock](const boost::system::error_code& e) {
      if (!e) sock.cancel();
    });
    std::vector<uint8_t> in(4096);
    while (!ec) {
      asio::ip::udp::endpoint from;
      size_t n = co_await sock.async_receive_from(asio::buffer(in), from,
                                                  asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      if (n < kHeaderSize || get16(in.data()) != id || !(get16(in.data() + 2) & flag::QR))
        continue;
      if (remote.key) {
        const TsigKey& key = *remote.key;
        TsigCheck c = tsig_verify(in.data(), n,
                                  [&](std::string_view kn) { return kn == key.name ? &key : nullptr; },
                                  static_cast<uint64_t>(unix_now()), mac, false);
        if (c.status != TsigCheck::ok) {
          problem = "answer fails TSIG";
          continue;
        }
      }
      unsigned rc = get16(in.data() + 2) & 0xF;
      if (rc != rcode::NOERROR) problem = "answered rcode " + std::to_string(rc);
      acked = true;
      break;
    }
    timer.cancel();
    if (acked) {
      if (problem.empty())
        log->info("zone {}: NOTIFY serial {} to {} ({}) acknowledged", name, serial, remote.name,
                  remote.str());
      else
        log->warn("zone {}: NOTIFY serial {} to {} ({}): {}", name, serial, remote.name,
                  remote.str(), problem);
      co_return;
    }
    // Wait out the rest of the backoff interval before the next try.
  }
  if (superseded()) co_return;
  log->warn("zone {}: NOTIFY serial {} to {} ({}) not acknowledged after 5 tries", name, serial,
            remote.name, remote.str());
}

}  // namespace replication
