// zoned: the composition root. Parses the command line, loads config and zones, wires the
// listeners (server/) to the replication thread (replication/), and handles signals
// (SIGHUP reload, SIGTERM/SIGINT stop).
#include <utility>  // before Asio

#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ctime>
#include <iostream>
#include <thread>

#include "replication/replicator.h"
#include "server/config.h"
#include "server/control.h"
#include "server/listener.h"
#include "server/policy.h"
#include "server/zone_set.h"
#include "zone/delegation.h"
#include "zone/wire/serial.h"
#include "zone/zonefile_edit.h"

namespace {

void setup_logging(const std::string& level) {
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  for (const char* name : {"server", "zone", "query", "xfr", "notify", "ctl"}) {
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

// Nice +10 for the calling thread only (Linux: a thread id is a PRIO_PROCESS target).
void lower_thread_priority() {
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 10);
}

// Blocking SOA queries from the main thread (status): all remotes at once, 1 s timeout.
std::vector<replication::SoaCheck> query_serials(const std::vector<replication::Remote>& remotes,
                                                 const std::string& origin) {
  boost::asio::io_context io;
  std::vector<replication::SoaCheck> out(remotes.size());
  for (size_t i = 0; i < remotes.size(); ++i)
    boost::asio::co_spawn(io, replication::query_soa(remotes[i], origin, std::chrono::milliseconds(1000)),
                          [&out, i](std::exception_ptr, replication::SoaCheck r) { out[i] = r; });
  io.run();
  return out;
}

std::string iso_time(int64_t t) {
  if (t <= 0) return "";
  char buf[32];
  std::time_t tt = static_cast<std::time_t>(t);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&tt));
  return buf;
}

// The running daemon: configuration, zones, replication, listeners and the control verbs.
class Daemon {
 public:
  explicit Daemon(std::string path) : path_(std::move(path)) {}

  int run() {
    try {
      cfg_ = server::load_config(path_);
      policy_.publish(server::make_policy(cfg_));
      check_secondaries_have_database(cfg_);
    } catch (const server::ConfigError& e) {
      std::cerr << e.what() << "\n";
      return 1;
    }
    setup_logging(cfg_.server.log_level);
    log_ = spdlog::get("server");
    try {
      replicator_.start(replication_config(cfg_, *policy_.current()));
    } catch (const replication::StoreError& e) {
      log_->critical("{}", e.what());
      return 1;
    }
    std::vector<server::ZoneReport> reports;
    registry_.set_primaries(server::load_primary_zones(
        cfg_, {}, reports, [&](const std::string& o) { return replicator_.last_served(o); }));
    remember(reports);
    replicator_.run();
    for (const auto& [origin, z] : registry_.primaries()) replicator_.primary_loaded(origin, z);

    server::ListenerOptions lo;
    lo.listen = cfg_.server.listen;
    lo.workers = cfg_.server.workers ? cfg_.server.workers
                                     : std::max(1u, std::thread::hardware_concurrency());
    lo.query.udp_payload = cfg_.server.udp_payload;
    lo.tcp_idle_timeout = cfg_.server.tcp_idle_timeout;
    lo.tcp_max_clients = cfg_.server.tcp_max_clients;
    lo.history = &history_;
    lo.on_notify = [this](const std::string& origin, const std::string& from) {
      replicator_.notify_received(origin, from);
    };
    server::Listener listener(lo, publisher_, policy_);
    std::unique_ptr<server::ControlServer> control;
    try {
      listener.bind();
      if (!cfg_.server.control.empty())
        control = std::make_unique<server::ControlServer>(
            io_, cfg_.server.control, [this](const nlohmann::json& r) { return handle(r); });
    } catch (const std::exception& e) {
      log_->critical("{}", e.what());
      replicator_.stop();
      return 1;
    }
    listener.start();
    // This thread now only reloads, edits and answers zonectl: let the query workers (already
    // started, so not affected) win the CPU when a big reload competes with them.
    lower_thread_priority();
    if (control) control->start();
    std::string where;
    for (const auto& ep : lo.listen) where += (where.empty() ? "" : ", ") + ep.str();
    log_->info("serving {} zone(s) on {} with {} worker(s){}", publisher_.current()->zones().size(),
               where, lo.workers,
               control ? ", control socket " + cfg_.server.control : std::string());
    // Tell the secondaries that we (re)started with these versions (RFC 1996: on start-up).
    for (const auto& [origin, z] : registry_.primaries())
      replicator_.primary_changed(origin, nullptr, z);

    boost::asio::signal_set signals(io_, SIGHUP, SIGTERM, SIGINT);
    std::function<void(const boost::system::error_code&, int)> on_signal =
        [&](const boost::system::error_code& ec, int sig) {
          if (ec) return;
          if (sig != SIGHUP) {
            log_->info("signal {}: stopping", sig);
            io_.stop();
            return;
          }
          log_->info("SIGHUP: reloading {}", path_);
          reload({});
          signals.async_wait(on_signal);
        };
    signals.async_wait(on_signal);
    // Replaced zones are freed here, not by the worker that lets go of them last.
    boost::asio::steady_timer sweeper(io_);
    std::function<void(const boost::system::error_code&)> on_sweep =
        [&](const boost::system::error_code& ec) {
          if (ec) return;
          registry_.sweep();
          sweeper.expires_after(std::chrono::milliseconds(200));
          sweeper.async_wait(on_sweep);
        };
    sweeper.expires_after(std::chrono::milliseconds(200));
    sweeper.async_wait(on_sweep);
    io_.run();
    listener.stop();
    replicator_.stop();
    log_->info("stopped");
    return 0;
  }

 private:
  // Re-reads the configuration (when no zone is named) and zone files; every changed
  // primary zone goes through history and NOTIFY.
  std::vector<server::ZoneReport> reload(const std::string& only_zone) {
    if (only_zone.empty()) {
      try {
        server::Config fresh = server::load_config(path_);
        auto fresh_policy = server::make_policy(fresh, policy_.current().get());
        check_secondaries_have_database(fresh);
        if (fresh.server.listen.size() != cfg_.server.listen.size() ||
            !std::equal(fresh.server.listen.begin(), fresh.server.listen.end(),
                        cfg_.server.listen.begin(),
                        [](const auto& a, const auto& b) { return a.str() == b.str(); }))
          log_->warn("listen addresses changed: restart zoned to apply them");
        cfg_.zones = fresh.zones;
        cfg_.keys = fresh.keys;
        cfg_.remotes = fresh.remotes;
        policy_.publish(fresh_policy);
      } catch (const server::ConfigError& e) {
        log_->error("configuration not reloaded: {}", e.what());
      }
    }
    auto before = registry_.primaries();
    std::vector<server::ZoneReport> reps;
    server::ZoneMap after;
    if (only_zone.empty()) {
      after = server::load_primary_zones(cfg_, before, reps);
    } else {
      server::Config one = cfg_;
      one.zones.clear();
      for (const auto& z : cfg_.zones)
        if (z.origin == only_zone) one.zones.push_back(z);
      after = before;
      for (auto& [o, z] : server::load_primary_zones(one, before, reps)) after[o] = z;
    }
    registry_.set_primaries(after);
    remember(reps);
    if (only_zone.empty()) replicator_.reconfigure(replication_config(cfg_, *policy_.current()));
    for (const auto& [origin, z] : after) {
      auto it = before.find(origin);
      if (it == before.end()) {
        replicator_.primary_loaded(origin, z);
        replicator_.primary_changed(origin, nullptr, z);
      } else if (it->second != z) {
        replicator_.primary_changed(origin, it->second, z);
      }
    }
    log_->info("reload done: serving {} zone(s)", publisher_.current()->zones().size());
    return reps;
  }

  void remember(const std::vector<server::ZoneReport>& reports) {
    int64_t now = static_cast<int64_t>(std::time(nullptr));
    for (const auto& r : reports) {
      LoadState& st = loads_[r.name];
      st.time = now;
      st.result = r.loaded ? (r.changed ? "loaded serial " + std::to_string(r.serial)
                                        : "unchanged (serial " + std::to_string(r.serial) + ")")
                           : (r.kept_old ? "failed, still serving " + std::to_string(r.serial)
                                         : "failed");
      if (!r.errors.empty()) st.result += ": " + r.errors.front();
    }
  }

  const server::ZoneConfig* zone_config(const std::string& text) const {
    std::string t = text;
    if (t.empty() || t.back() != '.') t += '.';
    auto wire = zone::wire::name_from_text(t);
    if (!wire) return nullptr;
    std::string o = zone::wire::lowered(*wire);
    for (const auto& z : cfg_.zones)
      if (z.origin == o) return &z;
    return nullptr;
  }

  nlohmann::json error(const std::string& what) const {
    return {{"ok", false}, {"error", what}};
  }

  nlohmann::json handle(const nlohmann::json& req) {
    using nlohmann::json;
    std::string verb = req.at("verb").get<std::string>();
    std::string zone_arg = req.value("zone", "");
    if (verb == "status") return status();
    if (verb == "reload") {
      std::string origin;
      if (!zone_arg.empty()) {
        const server::ZoneConfig* zc = zone_config(zone_arg);
        if (!zc) return error("no zone " + zone_arg + " in " + path_);
        if (zc->secondary()) return error("zone " + zone_arg + " is a secondary: use refresh");
        origin = zc->origin;
      }
      json out = {{"ok", true}, {"zones", json::array()}};
      bool all_ok = true;
      for (const auto& r : reload(origin)) {
        out["zones"].push_back({{"name", r.name}, {"loaded", r.loaded}, {"changed", r.changed},
                                {"serial", r.serial}, {"errors", r.errors},
                                {"warnings", r.warnings}});
        all_ok = all_ok && r.loaded;
      }
      out["ok"] = all_ok;
      if (!all_ok) out["error"] = "some zones failed to load (the previous versions are served)";
      return out;
    }
    if (verb == "notify" || verb == "refresh" || verb == "retransfer") {
      const server::ZoneConfig* zc = zone_config(zone_arg);
      if (!zc) return error("no zone '" + zone_arg + "' in " + path_);
      if (verb == "notify") {
        auto table = publisher_.current();
        const zone::Zone* z = table->find_exact(zc->origin);
        if (!z) return error("zone " + zc->name + " is not loaded");
        if (zc->notify.empty()) return error("zone " + zc->name + " has no notify remotes");
        replicator_.send_notify(zc->origin, table->get(zc->origin));
        return {{"ok", true}, {"message", "NOTIFY for serial " + std::to_string(z->serial()) +
                                              " sent to " + std::to_string(zc->notify.size()) +
                                              " remote(s)"}};
      }
      if (!zc->secondary()) return error("zone " + zc->name + " is a primary zone: use reload");
      replicator_.refresh(zc->origin, verb == "retransfer");
      return {{"ok", true},
              {"message", verb == "retransfer" ? "full transfer (AXFR) scheduled"
                                               : "refresh scheduled"}};
    }
    if (verb == "delegations") {
      const server::ZoneConfig* zc = zone_config(zone_arg);
      if (!zc) return error("no zone '" + zone_arg + "' in " + path_);
      auto table = publisher_.current();
      const zone::Zone* z = table->find_exact(zc->origin);
      if (!z) return error("zone " + zc->name + " is not loaded");
      json list = json::array();
      for (const auto& d : zone::list_delegations(*z)) {
        json e = {{"child", zone::wire::name_to_text(d.child)}, {"ttl", d.ttl},
                  {"ns", json::array()}, {"glue", json::array()}, {"ds", json::array()}};
        for (const auto& n : d.ns) e["ns"].push_back(zone::wire::name_to_text(n));
        for (const auto& g : d.glue) e["glue"].push_back(zone::record_text(g));
        for (const auto& ds : d.ds)
          e["ds"].push_back(zone::record_text({d.child, zone::wire::rrtype::DS, d.ttl, ds}));
        list.push_back(e);
      }
      return {{"ok", true}, {"zone", zc->name}, {"delegations", list}};
    }
    if (verb == "delegate" || verb == "undelegate") return delegate(req, verb == "undelegate");
    return error("unknown verb '" + verb + "'");
  }

  // One change path: plan -> validate -> rewrite the file -> publish -> history -> NOTIFY.
  nlohmann::json delegate(const nlohmann::json& req, bool remove) {
    using nlohmann::json;
    std::string child_text = req.value("child", "");
    if (child_text.empty()) return error("missing child name");
    if (child_text.back() != '.') child_text += '.';
    auto child_wire = zone::wire::name_from_text(child_text);
    if (!child_wire) return error("'" + child_text + "' is not a valid domain name");
    std::string child = zone::wire::lowered(*child_wire);
    // The deepest primary zone strictly above the child.
    auto primaries = registry_.primaries();
    std::shared_ptr<const zone::Zone> parent;
    const server::ZoneConfig* pc = nullptr;
    for (const auto& [origin, z] : primaries) {
      if (origin == child || !zone::wire::is_subdomain(child, origin)) continue;
      if (!parent || origin.size() > parent->origin().size()) {
        parent = z;
        pc = nullptr;
        for (const auto& c : cfg_.zones)
          if (c.origin == origin) pc = &c;
      }
    }
    if (!parent || !pc)
      return error(child_text + " is not inside any zone this server is primary for");
    uint32_t serial = parent->serial() + 1;
    if (pc->serial_policy == "unixtime") {
      uint32_t now = static_cast<uint32_t>(std::time(nullptr));
      if (zone::wire::serial_gt(now, parent->serial())) serial = now;
    }
    std::vector<std::string> errors;
    std::optional<zone::Changeset> plan;
    if (remove) {
      plan = zone::plan_undelegation(*parent, child, serial, errors);
    } else {
      zone::DelegationSpec spec;
      spec.child = child;
      spec.ttl = req.value("ttl", 3600u);
      auto table = publisher_.current();
      for (const auto& ns : req.value("ns", json::array())) {
        std::string n = ns.value("name", "");
        if (!n.empty() && n.back() != '.') n += '.';
        auto w = zone::wire::name_from_text(n);
        if (!w) {
          errors.push_back("'" + n + "' is not a valid NS name");
          continue;
        }
        zone::NsSpec s{zone::wire::lowered(*w), ns.value("addresses", std::vector<std::string>{})};
        // An NS target that is a CNAME in a zone served here (RFC 2181 10.3).
        if (const zone::Zone* tz = table->find(s.name)) {
          if (const zone::Node* node = tz->find(s.name); node && node->has_cname)
            errors.push_back("NS " + n + " is a CNAME in zone " +
                             zone::wire::name_to_text(tz->origin()) + " (RFC 2181 10.3)");
        }
        spec.ns.push_back(std::move(s));
      }
      for (const auto& ds : req.value("ds", std::vector<std::string>{})) {
        std::string rd;
        if (!zone::ds_from_text(child_text, ds, rd))
          errors.push_back("DS '" + ds + "' is not 'KEYTAG ALGORITHM DIGESTTYPE DIGEST'");
        else
          spec.ds.push_back(rd);
      }
      if (errors.empty()) plan = zone::plan_delegation(*parent, spec, serial, errors);
    }
    if (!plan) return {{"ok", false}, {"error", "change refused"}, {"problems", errors}};
    std::vector<zone::ZoneError> zerrs;
    auto next = zone::apply_changeset(*parent, *plan, zerrs);
    if (!next) {
      for (const auto& e : zerrs) errors.push_back(e.message);
      return {{"ok", false}, {"error", "the zone would not pass its checks"}, {"problems", errors}};
    }
    json out = {{"ok", true}, {"zone", pc->name}, {"serial", next->serial()},
                {"diff", zone::changeset_text(*plan)}, {"dry_run", req.value("dry_run", false)}};
    if (plan->empty()) {  // nothing published: the zone stays at its serial
      out["serial"] = parent->serial();
      out["diff"] = "";
      out["message"] = "nothing to change: zone " + pc->name + " stays at serial " +
                       std::to_string(parent->serial());
      return out;
    }
    if (req.value("dry_run", false)) return out;
    std::string err;
    if (!zone::edit_zone_file(pc->file, pc->origin, *plan, *next, err))
      return {{"ok", false}, {"error", "zone file not changed: " + err}};
    registry_.set_primaries([&] {
      auto m = registry_.primaries();
      m[pc->origin] = next;
      return m;
    }());
    replicator_.primary_changed(pc->origin, parent, next);
    loads_[pc->name] = {static_cast<int64_t>(std::time(nullptr)),
                        std::string(remove ? "undelegated " : "delegated ") + child_text +
                            ", serial " + std::to_string(next->serial())};
    log_->info("zone {}: {} {} (serial {} -> {}), zone file {} rewritten", pc->name,
               remove ? "undelegated" : "delegated", child_text, parent->serial(), next->serial(),
               pc->file);
    return out;
  }

  nlohmann::json status() {
    using nlohmann::json;
    json zones = json::array();
    auto table = publisher_.current();
    auto secondaries = replicator_.status();
    auto rc = replication_config(cfg_, *policy_.current());
    for (const auto& zc : cfg_.zones) {
      const replication::ZoneRole* role = nullptr;
      for (const auto& r : rc.zones)
        if (r.origin == zc.origin) role = &r;
      const zone::Zone* z = table->find_exact(zc.origin);
      json e = {{"name", zc.name}, {"role", zc.secondary() ? "secondary" : "primary"},
                {"loaded", z != nullptr}, {"serial", z ? z->serial() : 0},
                {"expired", z && z->expired()}};
      uint32_t serial = z ? z->serial() : 0;
      if (!zc.secondary()) {
        e["file"] = zc.file;
        auto it = loads_.find(zc.name);
        if (it != loads_.end()) {
          e["last_load"] = iso_time(it->second.time);
          e["last_result"] = it->second.result;
        }
      } else {
        for (const auto& s : secondaries) {
          if (s.origin != zc.origin) continue;
          e["last_refresh"] = iso_time(s.timers.last_refresh);
          e["next_refresh"] = iso_time(s.timers.next_refresh);
          e["expire_at"] = iso_time(s.timers.expire_at);
          e["last_attempt"] = iso_time(s.last_attempt);
          e["last_result"] = s.last_result;
        }
        if (role) {
          json prim = json::array();
          auto checks = query_serials(role->primaries, zc.origin);
          for (size_t i = 0; i < checks.size(); ++i) {
            json p = {{"remote", role->primaries[i].name}, {"address", role->primaries[i].str()},
                      {"answered", checks[i].ok}};
            if (checks[i].ok) p["serial"] = checks[i].serial;
            else p["error"] = checks[i].error;
            prim.push_back(p);
          }
          e["primaries"] = prim;
        }
      }
      if (role && !role->notify.empty()) {
        json down = json::array();
        auto checks = query_serials(role->notify, zc.origin);
        for (size_t i = 0; i < checks.size(); ++i) {
          json d = {{"remote", role->notify[i].name}, {"address", role->notify[i].str()},
                    {"answered", checks[i].ok}};
          if (checks[i].ok) {
            d["serial"] = checks[i].serial;
            // How far behind, in serial arithmetic (0 when current or ahead).
            d["behind"] = zone::wire::serial_lt(checks[i].serial, serial)
                              ? static_cast<uint32_t>(serial - checks[i].serial)
                              : 0u;
          } else {
            d["error"] = checks[i].error;
          }
          down.push_back(d);
        }
        e["notify"] = down;
      }
      zones.push_back(e);
    }
    return {{"ok", true}, {"zones", zones}};
  }

  struct LoadState {
    int64_t time = 0;
    std::string result;
  };

  std::string path_;
  server::Config cfg_;
  std::shared_ptr<spdlog::logger> log_;
  boost::asio::io_context io_;
  zone::Publisher<server::Policy> policy_;
  zone::ZoneTablePublisher publisher_;
  server::ZoneRegistry registry_{publisher_};
  zone::History history_;
  replication::Replicator replicator_{
      {[this](const std::string& origin, std::shared_ptr<const zone::Zone> z) {
        registry_.set_secondary(origin, std::move(z));
      }},
      history_};
  std::map<std::string, LoadState> loads_;
};

int run(const std::string& path) { return Daemon(path).run(); }

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
