// zoned: the composition root. Parses the command line, loads config and zones, wires the
// listeners (server/) to the replication thread (replication/), and handles signals
// (SIGHUP reload, SIGTERM/SIGINT stop).
#include <utility>  // before Asio

#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <thread>

#include "replication/replicator.h"
#include "server/config.h"
#include "server/listener.h"
#include "server/policy.h"
#include "server/zone_set.h"

namespace {

void setup_logging(const std::string& level) {
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  for (const char* name : {"server", "zone", "query", "xfr", "notify"}) {
    if (spdlog::get(name)) continue;
    auto l = std::make_shared<spdlog::logger>(name, sink);
    l->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %v");
    spdlog::register_logger(l);
  }
  spdlog::set_level(spdlog::level::from_str(level == "warning" ? "warn" : level));
}

// The replication view of the configuration: remotes resolved to addresses and keys.
replication::ReplicationConfig replication_config(const server::Config& cfg,
                                                  const server::Policy& policy) {
  replication::ReplicationConfig rc;
  rc.database = cfg.server.database;
  auto remote = [&](const std::string& name) {
    replication::Remote r;
    for (const auto& rem : cfg.remotes) {
      if (rem.name != name) continue;
      r.name = rem.name;
      r.address = boost::asio::ip::make_address(rem.address.host);
      r.port = rem.address.port;
      for (const auto& k : cfg.keys)
        if (k.name == rem.key)
          for (const auto& pk : policy.keys)
            if (pk.label == k.name) r.key = pk;
    }
    return r;
  };
  for (const auto& z : cfg.zones) {
    replication::ZoneRole role;
    role.origin = z.origin;
    role.name = z.name;
    role.history = z.ixfr_history;
    for (const auto& p : z.primaries) role.primaries.push_back(remote(p));
    for (const auto& n : z.notify) role.notify.push_back(remote(n));
    rc.zones.push_back(std::move(role));
  }
  return rc;
}

void check_secondaries_have_database(const server::Config& cfg) {
  for (const auto& z : cfg.zones)
    if (z.secondary() && cfg.server.database.empty())
      throw server::ConfigError(cfg.path + ": zone '" + z.name +
                                "' is a secondary zone: set server.database (SQLite file)");
}

int check_config(const std::string& path) {
  setup_logging("off");
  server::Config cfg;
  try {
    cfg = server::load_config(path);
    server::make_policy(cfg);
    check_secondaries_have_database(cfg);
  } catch (const server::ConfigError& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  std::vector<server::ZoneReport> reports;
  server::load_primary_zones(cfg, {}, reports);
  bool ok = true;
  for (const auto& r : reports) {
    for (const auto& w : r.warnings) std::cerr << "warning: zone " << r.name << ": " << w << "\n";
    for (const auto& e : r.errors) std::cerr << "error: zone " << r.name << ": " << e << "\n";
    if (r.loaded)
      std::cout << "zone " << r.name << ": ok, serial " << r.serial << ", " << r.records
                << " records\n";
    else
      ok = false;
  }
  for (const auto& z : cfg.zones)
    if (z.secondary()) std::cout << "zone " << z.name << ": secondary\n";
  std::cout << path << ": " << (ok ? "ok" : "errors found") << "\n";
  return ok ? 0 : 1;
}

int run(const std::string& path) {
  server::Config cfg;
  zone::Publisher<server::Policy> policy;
  try {
    cfg = server::load_config(path);
    policy.publish(server::make_policy(cfg));
    check_secondaries_have_database(cfg);
  } catch (const server::ConfigError& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  setup_logging(cfg.server.log_level);
  auto log = spdlog::get("server");

  zone::ZoneTablePublisher publisher;
  server::ZoneRegistry registry(publisher);
  zone::History history;
  replication::Replicator replicator(
      {[&](const std::string& origin, std::shared_ptr<const zone::Zone> z) {
        registry.set_secondary(origin, std::move(z));
      }},
      history);

  try {
    replicator.start(replication_config(cfg, *policy.current()));
  } catch (const replication::StoreError& e) {
    log->critical("{}", e.what());
    return 1;
  }
  std::vector<server::ZoneReport> reports;
  registry.set_primaries(server::load_primary_zones(
      cfg, {}, reports, [&](const std::string& o) { return replicator.last_served(o); }));
  replicator.run();
  for (const auto& [origin, z] : registry.primaries()) replicator.primary_loaded(origin, z);

  server::ListenerOptions lo;
  lo.listen = cfg.server.listen;
  lo.workers = cfg.server.workers ? cfg.server.workers
                                  : std::max(1u, std::thread::hardware_concurrency());
  lo.query.udp_payload = cfg.server.udp_payload;
  lo.tcp_idle_timeout = cfg.server.tcp_idle_timeout;
  lo.tcp_max_clients = cfg.server.tcp_max_clients;
  lo.history = &history;
  lo.on_notify = [&](const std::string& origin, const std::string& from) {
    replicator.notify_received(origin, from);
  };
  server::Listener listener(lo, publisher, policy);
  try {
    listener.bind();
  } catch (const std::exception& e) {
    log->critical("{}", e.what());
    return 1;
  }
  listener.start();
  std::string where;
  for (const auto& ep : lo.listen) where += (where.empty() ? "" : ", ") + ep.str();
  log->info("serving {} zone(s) on {} with {} worker(s)", publisher.current()->zones().size(),
            where, lo.workers);
  // Tell the secondaries that we (re)started with these versions (RFC 1996: on start-up).
  for (const auto& [origin, z] : registry.primaries()) replicator.primary_changed(origin, nullptr, z);

  boost::asio::io_context io;
  boost::asio::signal_set signals(io, SIGHUP, SIGTERM, SIGINT);
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        if (sig != SIGHUP) {
          log->info("signal {}: stopping", sig);
          io.stop();
          return;
        }
        log->info("SIGHUP: reloading {}", path);
        try {
          server::Config fresh = server::load_config(path);
          auto fresh_policy = server::make_policy(fresh);
          check_secondaries_have_database(fresh);
          if (fresh.server.listen.size() != cfg.server.listen.size() ||
              !std::equal(fresh.server.listen.begin(), fresh.server.listen.end(),
                          cfg.server.listen.begin(),
                          [](const auto& a, const auto& b) { return a.str() == b.str(); }))
            log->warn("listen addresses changed: restart zoned to apply them");
          cfg.zones = fresh.zones;
          cfg.keys = fresh.keys;
          cfg.remotes = fresh.remotes;
          policy.publish(fresh_policy);
        } catch (const server::ConfigError& e) {
          log->error("configuration not reloaded: {}", e.what());
        }
        auto before = registry.primaries();
        std::vector<server::ZoneReport> reps;
        auto after = server::load_primary_zones(cfg, before, reps);
        registry.set_primaries(after);
        replicator.reconfigure(replication_config(cfg, *policy.current()));
        for (const auto& [origin, z] : after) {
          auto it = before.find(origin);
          if (it == before.end()) {
            replicator.primary_loaded(origin, z);
            replicator.primary_changed(origin, nullptr, z);
          } else if (it->second != z) {
            replicator.primary_changed(origin, it->second, z);
          }
        }
        log->info("reload done: serving {} zone(s)", publisher.current()->zones().size());
        signals.async_wait(on_signal);
      };
  signals.async_wait(on_signal);
  io.run();
  listener.stop();
  replicator.stop();
  log->info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"zoned - authoritative DNS server"};
  std::string config, check;
  app.add_option("--config,-c", config, "run in the foreground with this configuration file");
  app.add_option("--check-config", check, "check the configuration and every zone, then exit");
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
  if (!check.empty()) return check_config(check);
  if (config.empty()) {
    std::cerr << "zoned: --config FILE or --check-config FILE is required\n" << app.help();
    return 2;
  }
  return run(config);
}
