// zoned: the composition root. Parses the command line and wires the pieces together: the
// zone table and registry (zone/), the replication thread with the store and the one commit
// (replication/), the zone service, listeners, control socket and signals (server/). It
// does none of their work.
#include <utility>  // before Asio

#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <spdlog/spdlog.h>

#include <malloc.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <csignal>
#include <future>
#include <iostream>
#include <thread>

#include "replication/replicator.h"
#include "server/check_config.h"
#include "server/config.h"
#include "server/signing.h"
#include "server/control.h"
#include "server/control_verbs.h"
#include "server/instance_lock.h"
#include "server/listener.h"
#include "server/logging.h"
#include "server/metrics.h"
#include "server/metrics_http.h"
#include "server/policy.h"
#include "server/systemd.h"
#include "server/update_service.h"
#include "server/watchdog.h"
#include "server/zone_service.h"
#include "zone/wire/name.h"
#include "zone/zone_registry.h"

namespace {

namespace asio = boost::asio;

// The replication view of the configuration: remotes resolved to addresses, keys and
// source addresses.
std::map<std::string, replication::Remote> remotes_of(const server::Config& cfg,
                                                     const server::Policy& policy) {
  std::map<std::string, replication::Remote> remotes;
  for (const auto& rem : cfg.remotes) {
    replication::Remote r;
    r.name = rem.name;
    r.address = asio::ip::make_address(rem.address.host);
    r.port = rem.address.port;
    const std::string& via = rem.via.empty() ? cfg.server.via : rem.via;
    if (!via.empty()) r.via = asio::ip::make_address(via);
    for (const auto& pk : policy.keys)
      if (!rem.key.empty() && pk.label == rem.key) r.key = pk;
    remotes[rem.name] = r;
  }
  return remotes;
}

replication::ReplicationConfig replication_config(const server::Config& cfg,
                                                  const server::Policy& policy) {
  replication::ReplicationConfig rc;
  rc.database = cfg.server.database;
  std::map<std::string, replication::Remote> remotes = remotes_of(cfg, policy);
  for (const auto& z : cfg.zones) {
    // Only zones the replication side has work for (a primary without `notify` has none):
    // with 10,000 zones every entry kept is memory.
    if (z.primaries.empty() && z.notify.empty()) continue;
    replication::ZoneRole role;
    role.origin = z.origin;
    role.name = z.name;
    role.history = z.ixfr_history;
    for (const auto& p : z.primaries) role.primaries.push_back(remotes[p]);
    for (const auto& n : z.notify) role.notify.push_back(remotes[n]);
    rc.zones.push_back(std::move(role));
  }
  return rc;
}

std::vector<server::ReplicationView> replication_view(replication::Replicator& r) {
  auto peer = [](const auto& p) {
    server::ReplicationView::Peer v;
    v.remote = p.remote;
    v.address = p.address;
    v.answered = p.answered;
    v.serial = p.serial;
    v.checked_at = p.checked_at;
    v.error = p.error;
    return v;
  };
  std::vector<server::ReplicationView> out;
  for (const auto& s : r.status()) {
    server::ReplicationView v;
    v.origin = s.origin;
    v.secondary = s.secondary;
    v.loaded = s.loaded;
    v.serial = s.serial;
    v.expired = s.expired;
    v.last_refresh = s.timers.last_refresh;
    v.next_refresh = s.timers.next_refresh;
    v.expire_at = s.timers.expire_at;
    v.last_attempt = s.last_attempt;
    v.last_ok = s.last_ok;
    v.last_result = s.last_result;
    for (const auto& p : s.primaries) v.primaries.push_back(peer(p));
    for (const auto& d : s.downstream) {
      auto p = peer(d);
      p.behind = d.behind;
      p.behind_since = d.behind_since;
      p.notify_failures = d.notify_failures;
      p.last_notify = d.last_notify;
      v.downstream.push_back(p);
    }
    out.push_back(std::move(v));
  }
  return out;
}

// What one scrape gathers, each part from the thread that owns it: the workers' counters
// (relaxed reads, summed), the served zone table (a snapshot), the zone service's load
// results (a task on the main thread) and the replication state (a task on the replication
// thread). A thread busy for longer than a second (a big reload) is not waited for: its part
// of the previous scrape is shown again.
class MetricsSources {
 public:
  MetricsSources(asio::io_context& main, const server::ZoneService& zones,
                 const zone::ZoneTablePublisher& table, const server::Listener& listener,
                 replication::Replicator& replicator)
      : main_(main), zones_(zones), table_(table), listener_(listener), replicator_(replicator) {}

  std::string collect() {
    using namespace std::chrono_literals;
    server::MetricsSnapshot s;
    s.now = static_cast<int64_t>(std::time(nullptr));
    s.queries = listener_.stats();
    s.workers = listener_.workers();
    s.tcp_open = listener_.tcp_clients();
    s.tcp_max = listener_.tcp_max_clients();
    auto promise = std::make_shared<std::promise<std::vector<ZoneRow>>>();
    auto fut = promise->get_future();
    asio::post(main_, [this, promise] { promise->set_value(zone_rows()); });
    if (fut.wait_for(1s) == std::future_status::ready) rows_ = fut.get();
    if (auto r = replicator_.status_within(1s)) replication_ = std::move(*r);

    std::map<std::string, const replication::ZoneReplicationStatus*> repl;
    for (const auto& r : replication_) repl[r.origin] = &r;
    auto out = listener_.transfers().snapshot();
    auto table = table_.current();
    for (const auto& row : rows_) {
      server::MetricsSnapshot::Zone z;
      z.name = zone::wire::name_display(row.origin);
      if (auto served = table->get(row.origin)) {
        z.served = true;
        z.serial = served->serial();
      }
      z.secondary = row.secondary;
      z.last_update = row.last_load;
      z.last_update_ok = row.last_load_ok;
      if (auto it = out.find(row.origin); it != out.end()) {
        z.transfers_out = it->second.transfers;
        z.transfer_out_bytes = it->second.bytes;
      }
      if (auto it = repl.find(row.origin); it != repl.end()) {
        const auto& r = *it->second;
        if (r.secondary) {
          z.last_update = r.last_attempt;
          z.last_update_ok = r.last_ok;
          z.transfers_in = r.transfers_in;
          z.transfer_in_bytes = r.transfer_in_bytes;
        }
        for (const auto& d : r.downstream) {
          server::MetricsSnapshot::Downstream v;
          v.zone = z.name;
          v.remote = d.remote;
          v.address = d.address;
          v.answered = d.answered;
          v.serial = d.serial;
          v.checked_at = d.checked_at;
          v.behind = d.behind;
          v.behind_since = d.behind_since;
          v.notify_failures = d.notify_failures;
          s.downstream.push_back(std::move(v));
        }
      }
      s.zones.push_back(std::move(z));
    }
    return server::render_metrics(s);
  }

 private:
  struct ZoneRow {
    std::string origin;
    bool secondary = false;
    int64_t last_load = 0;
    bool last_load_ok = true;
  };
  // On the main thread.
  std::vector<ZoneRow> zone_rows() const {
    std::vector<ZoneRow> v;
    for (const auto& zc : zones_.config().zones) {
      ZoneRow r;
      r.origin = zc.origin;
      r.secondary = zc.secondary();
      if (auto p = zones_.primary_status(zc.origin)) {
        r.last_load = p->last_load;
        r.last_load_ok = p->last_load_ok;
      }
      v.push_back(std::move(r));
    }
    return v;
  }

  asio::io_context& main_;
  const server::ZoneService& zones_;
  const zone::ZoneTablePublisher& table_;
  const server::Listener& listener_;
  replication::Replicator& replicator_;
  // The metrics thread's own copies (the last answers it got).
  std::vector<ZoneRow> rows_;
  std::vector<replication::ZoneReplicationStatus> replication_;
};

// Nice +10 for the calling thread only (Linux: a thread id is a PRIO_PROCESS target).
void lower_thread_priority() {
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 10);
}

std::string serving_status(const zone::ZoneTable& t) {
  return "serving " + std::to_string(t.size()) + " zone(s)";
}

// glibc moves its thresholds after each large block freed (up to 32 MB before a block is
// mmap'd, and twice that before a thread heap's free top goes back to the system), and
// malloc_trim() never shrinks a thread heap's top. After a start-up's big batches (10,000
// zones: the commit's steps, the store's pages) megabytes then stayed resident, free, in the
// replication thread's heap. Fixed: blocks of 4 MB and more are mmap'd, free tops over 1 MB
// are given back. Set before any thread starts.
void fixed_heap_thresholds() {
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 20);
}

int run(const std::string& path) {
  fixed_heap_thresholds();
  server::Config cfg;
  zone::Publisher<server::Policy> policy;
  try {
    cfg = server::load_config(path);
    policy.publish(server::make_policy(cfg));
    for (const auto& z : cfg.zones)
      if (z.secondary() && cfg.server.database.empty())
        throw server::ConfigError(path + ": zone '" + z.name +
                                  "' is a secondary zone: set server.database (SQLite file)");
  } catch (const server::ConfigError& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  server::setup_logging(cfg.server.log_level);
  auto log = spdlog::get("server");
  std::unique_ptr<server::InstanceLock> lock;
  try {
    lock = std::make_unique<server::InstanceLock>(cfg);
  } catch (const std::exception& e) {
    log->critical("{}", e.what());
    return 1;
  }

  asio::io_context io;
  // Installed before anything is loaded: a SIGHUP or SIGTERM that arrives early (systemd
  // reload right after READY) waits for the loop instead of killing the process.
  asio::signal_set signals(io, SIGHUP, SIGTERM, SIGINT);
  {
    sigset_t these;
    sigemptyset(&these);
    for (int sig : {SIGHUP, SIGTERM, SIGINT}) sigaddset(&these, sig);
    pthread_sigmask(SIG_UNBLOCK, &these, nullptr);  // pending ones now wait in signals
  }
  zone::ZoneTablePublisher table;
  zone::ZoneRegistry registry(table);
  zone::History history;
  // DNSSEC: zones with a dnssec-policy are signed in the commit's sign step (outlives the
  // replication thread that calls it).
  server::SigningService signing;
  replication::Replicator replicator(registry, history);

  replicator.committer().set_signer(&signing);
  server::ZoneServiceHooks zh;
  zh.committer = &replicator.committer();
  zh.stored_meta = [&] {
    std::map<std::string, server::StoredZoneMeta> out;
    for (const auto& [o, m] : replicator.stored_meta())
      out[o] = {{m.serial, m.hash, m.has_records}, m.config};
    return out;
  };
  zh.stored_zone = [&](const std::string& o, std::string& err) { return replicator.stored_zone(o, err); };
  zh.served_hash = [&](const std::string& o) { return replicator.committer().served_hash(o); };
  // Remotes by name, for the parental agents the signing service asks (main thread).
  std::map<std::string, replication::Remote> named_remotes;
  signing.set_agent_query([&](const std::vector<std::string>& names, const std::string& name,
                              uint16_t qtype, std::function<void(std::vector<server::AgentAnswer>)> done) {
    std::vector<replication::Remote> servers;
    for (const auto& n : names)
      if (auto it = named_remotes.find(n); it != named_remotes.end()) servers.push_back(it->second);
    replicator.query_servers(std::move(servers), name, qtype,
                             [done = std::move(done)](std::vector<replication::RRsetCheck> r) {
                               std::vector<server::AgentAnswer> out;
                               for (auto& c : r) out.push_back({c.ok, c.authoritative, std::move(c.rdatas), c.error});
                               done(std::move(out));
                             });
  });
  zh.configured = [&](const server::Config& c) {
    signing.configure(c);
    try {
      policy.publish(server::make_policy(c, policy.current().get()));
    } catch (const server::ConfigError& e) {
      log->error("access policy not updated: {}", e.what());
    }
    named_remotes = remotes_of(c, *policy.current());
    replicator.reconfigure(replication_config(c, *policy.current()));
  };
  server::ZoneService zones(io, registry, zh);
  // Changes that did not come from a zone file go back to it.
  replicator.committer().observe([&](const zone::ZoneChange& c, const zone::CommitResult& r) {
    signing.committed(c.origin, r);
    if (c.sync_to_file && r.applied) zones.changed_elsewhere(c.origin, *r.applied);
    // A consumed catalog's new version: its members are added and removed on the main thread.
    if (c.kind != zone::ZoneChange::Kind::remove)
      asio::post(io, [&zones, o = c.origin] { zones.catalog_changed(o); });
  });

  replicator.start(replication_config(cfg, *policy.current()));
  replicator.run();
  // The zone service keeps the configuration from here on (one copy of 10,000 zones is
  // megabytes); main keeps only the server section.
  const server::ServerConfig server_cfg = cfg.server;
  log->info("zones: {}", server::reload_summary(zones.start(std::move(cfg))));
  // Once, when start-up is over (the loads, and the summary just logged, are freed): what they
  // left free in the heaps goes back to the system. Per zone, a trim would walk the heap
  // 10,000 times.
  malloc_trim(0);

  server::ListenerOptions lo;
  lo.listen = server_cfg.listen;
  lo.workers = server_cfg.workers ? server_cfg.workers
                                  : std::max(1u, std::thread::hardware_concurrency());
  lo.query.udp_payload = server_cfg.udp_payload;
  lo.tcp_idle_timeout = server_cfg.tcp_idle_timeout;
  lo.tcp_max_clients = server_cfg.tcp_max_clients;
  // systemd's watchdog (WatchdogSec=): checked every half interval, and every worker beats
  // several times in between.
  const auto watchdog_usec = server::systemd::watchdog_interval();
  if (watchdog_usec.count() > 0)
    lo.heartbeat = std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(watchdog_usec / 8),
                              std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
  lo.history = &history;
  lo.on_notify = [&](const std::string& origin, const std::string& from) {
    replicator.notify_received(origin, from);
  };
  server::UpdateService updates(policy, replicator.committer());
  lo.on_update = [&](std::shared_ptr<const server::DeferredRequest> req, server::Completion done) {
    updates.handle(std::move(req), std::move(done));
  };
  server::Listener listener(lo, table, policy);

  auto reload = [&](const std::string& only) {
    server::systemd::reloading();
    server::LoadSummary s = zones.reload(only);
    if (only.empty()) {
      const auto& now = zones.config().server;
      std::string level = now.log_level == "warning" ? "warn" : now.log_level;
      if (spdlog::level::from_str(level) != log->level()) {
        log->info("log-level is now {}", now.log_level);
        server::set_log_level(now.log_level);
      }
      if (now.listen.size() != server_cfg.listen.size() ||
          !std::equal(now.listen.begin(), now.listen.end(), server_cfg.listen.begin(),
                      [](const auto& a, const auto& b) { return a.str() == b.str(); }))
        log->warn("listen addresses changed: restart zoned to apply them");
      auto metrics_at = [](const server::ServerConfig& c) {
        return c.metrics ? c.metrics->str() : std::string();
      };
      if (metrics_at(now) != metrics_at(server_cfg))
        log->warn("metrics address changed: restart zoned to apply it");
    }
    log->info("reload{}: {}", only.empty() ? "" : " of one zone", server::reload_summary(s));
    server::systemd::ready(serving_status(*table.current()));
    return s;
  };
  server::ControlHooks ch;
  ch.replication_status = [&] { return replication_view(replicator); };
  ch.send_notify = [&](const std::string& o) { replicator.send_notify(o); };
  ch.refresh = [&](const std::string& o, bool axfr) { replicator.refresh(o, axfr); };
  ch.reload = reload;
  ch.dnssec = [&](const std::string& verb, const std::string& origin, const nlohmann::json& req) {
    return signing.control(verb, origin, req, std::time(nullptr));
  };
  server::ControlVerbs verbs(zones, table, ch);

  std::unique_ptr<server::ControlServer> control;
  MetricsSources metrics_sources(io, zones, table, listener, replicator);
  std::unique_ptr<server::MetricsServer> metrics;
  try {
    listener.bind();
    if (!server_cfg.control.empty())
      control = std::make_unique<server::ControlServer>(
          io, server_cfg.control, [&](const nlohmann::json& r) { return verbs.handle(r); });
    if (server_cfg.metrics) {
      server::MetricsHttpOptions mo;
      mo.listen = *server_cfg.metrics;
      metrics = std::make_unique<server::MetricsServer>(mo, [&] { return metrics_sources.collect(); });
      metrics->bind();
    }
  } catch (const std::exception& e) {
    log->critical("{}", e.what());
    replicator.stop();
    return 1;
  }
  listener.start();
  // This thread now only reloads, edits and answers zonectl: let the query workers (already
  // started, so not affected) win the CPU when a big reload competes with them.
  lower_thread_priority();
  if (control) control->start();
  if (metrics) metrics->start();
  std::unique_ptr<server::Watchdog> watchdog;
  if (watchdog_usec.count() > 0) {
    watchdog = std::make_unique<server::Watchdog>(
        watchdog_usec / 2, [&] { return listener.heartbeats(); }, [] { server::systemd::watchdog(); });
    watchdog->start();
  }
  std::string where;
  for (const auto& ep : lo.listen) where += (where.empty() ? "" : ", ") + ep.str();
  log->info("serving {} zone(s) on {} with {} worker(s){}{}{}", table.current()->size(), where,
            lo.workers, control ? ", control socket " + server_cfg.control : std::string(),
            metrics ? ", metrics on http://" + server_cfg.metrics->str() + "/metrics" : std::string(),
            watchdog ? ", systemd watchdog every " +
                           std::to_string(watchdog_usec.count() / 2000) + " ms" : std::string());
  server::systemd::ready(serving_status(*table.current()));
  // Tell the secondaries that we (re)started with these versions (RFC 1996: on start-up),
  // now that they can reach us.
  for (const auto& z : zones.config().zones)
    if (!z.notify.empty()) replicator.send_notify(z.origin);

  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        if (sig != SIGHUP) {
          log->info("signal {}: stopping", sig);
          io.stop();
          return;
        }
        log->info("SIGHUP: reloading {}", path);
        reload({});
        signals.async_wait(on_signal);
      };
  signals.async_wait(on_signal);
  // Every 200 ms: replaced zones are freed here (not by the worker that lets go of them
  // last), due zone-file write-backs and retries run.
  asio::steady_timer ticker(io);
  std::function<void(const boost::system::error_code&)> on_tick =
      [&](const boost::system::error_code& ec) {
        if (ec) return;
        registry.sweep();
        zones.tick();
        signing.tick(replicator.committer(), std::time(nullptr));
        ticker.expires_after(std::chrono::milliseconds(200));
        ticker.async_wait(on_tick);
      };
  ticker.expires_after(std::chrono::milliseconds(200));
  ticker.async_wait(on_tick);
  for (;;) {
    try {
      io.run();
      break;
    } catch (const std::exception& e) {
      // A handler that threw ends alone; the server keeps answering.
      log->error("main loop: {}", e.what());
    }
  }
  server::systemd::stopping();
  if (watchdog) watchdog->stop();
  if (metrics) metrics->stop();
  listener.stop();
  replicator.stop();
  log->info("stopped");
  return 0;
}

// Held until the loop can take them (run() installs the handlers and lets them through):
// every thread started meanwhile inherits the mask, so they reach the main loop only. Blocked
// before the executable's static constructors run (only the dynamic loader and the shared
// libraries' initializers come earlier), so a SIGHUP sent right after exec never kills zoned.
sigset_t stop_and_reload_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGHUP, SIGTERM, SIGINT}) sigaddset(&set, sig);
  return set;
}

__attribute__((constructor(101))) void hold_signals_from_start() {
  sigset_t set = stop_and_reload_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

}  // namespace

int main(int argc, char** argv) {
  sigset_t stop_and_reload = stop_and_reload_signals();
  pthread_sigmask(SIG_BLOCK, &stop_and_reload, nullptr);
  CLI::App app{"zoned - authoritative DNS server"};
  std::string config, check;
  app.add_option("--config,-c", config, "run in the foreground with this configuration file");
  app.add_option("--check-config", check, "check the configuration and every zone, then exit");
  bool config_only = false;
  app.add_flag("--config-only", config_only,
               "with --check-config: the configuration only, not the zone files (what the "
               "systemd unit checks before a start: a broken zone file still starts, serving "
               "the zone's last good version)");
  bool version = false;
  app.add_flag("--version", version, "print the version");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (version) {
    std::cout << "zoned 0.1.0\n";
    return 0;
  }
  if (!check.empty()) {
    pthread_sigmask(SIG_UNBLOCK, &stop_and_reload, nullptr);  // nothing to stop cleanly
    server::setup_logging("off");
    return server::check_config(check, !config_only);
  }
  if (config.empty()) {
    std::cerr << "zoned: --config FILE or --check-config FILE is required\n" << app.help();
    return 2;
  }
  return run(config);
}
