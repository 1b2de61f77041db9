#include "server/zone_set.h"

#include <spdlog/spdlog.h>

#include "zone/changeset.h"
#include "zone/loader.h"
#include "zone/wire/serial.h"

namespace server {

ZoneMap load_primary_zones(const Config& cfg, const ZoneMap& previous,
                           std::vector<ZoneReport>& reports) {
  auto log = spdlog::get("zone");
  ZoneMap zones;
  for (const auto& zc : cfg.zones) {
    if (zc.secondary()) continue;
    ZoneReport rep;
    rep.name = zc.name;
    auto prev_it = previous.find(zc.origin);
    std::shared_ptr<const zone::Zone> old = prev_it == previous.end() ? nullptr : prev_it->second;
    zone::LoadResult res = zone::load_zone_file(zc.file, zc.origin);
    for (const auto& w : res.warnings) {
      rep.warnings.push_back(w.str());
      if (log) log->warn("zone {}: {}", zc.name, w.str());
    }
    for (const auto& e : res.errors) {
      rep.errors.push_back(e.str());
      if (log) log->error("zone {}: {}", zc.name, e.str());
    }
    // A changed zone must carry a higher serial, or secondaries never see the change
    // (RFC 1982 comparison, as BIND refuses such a reload too).
    if (res.ok() && old && !zone::wire::serial_gt(res.zone->serial(), old->serial()) &&
        !zone::diff_zones(*old, *res.zone).empty()) {
      std::string e = zc.file + ": zone changed but its serial " +
                      std::to_string(res.zone->serial()) + " is not greater than the served " +
                      std::to_string(old->serial()) + "; increase the serial";
      rep.errors.push_back(e);
      if (log) log->error("zone {}: {}", zc.name, e);
      res.zone = nullptr;
    }
    if (res.ok()) {
      rep.loaded = true;
      rep.serial = res.zone->serial();
      rep.records = res.zone->record_count();
      if (old && old->serial() == res.zone->serial()) {
        zones.emplace(zc.origin, old);  // unchanged: keep the served version (and history)
        if (log) log->info("zone {}: serial {} unchanged", zc.name, rep.serial);
      } else {
        rep.changed = true;
        zones.emplace(zc.origin, res.zone);
        if (log)
          log->info("zone {}: loaded serial {} ({} records) from {}", zc.name, rep.serial,
                    rep.records, zc.file);
      }
    } else if (old) {
      rep.kept_old = true;
      rep.serial = old->serial();
      zones.emplace(zc.origin, old);
      if (log) log->error("zone {}: not reloaded, still serving serial {}", zc.name, old->serial());
    } else if (log) {
      log->error("zone {}: not loaded, not served", zc.name);
    }
    reports.push_back(std::move(rep));
  }
  return zones;
}

void ZoneRegistry::set_primaries(ZoneMap zones) {
  std::lock_guard<std::mutex> g(mu_);
  primaries_ = std::move(zones);
  publish_locked();
}

void ZoneRegistry::set_secondary(const std::string& origin, std::shared_ptr<const zone::Zone> z) {
  std::lock_guard<std::mutex> g(mu_);
  if (z)
    secondaries_[origin] = std::move(z);
  else
    secondaries_.erase(origin);
  publish_locked();
}

ZoneMap ZoneRegistry::primaries() const {
  std::lock_guard<std::mutex> g(mu_);
  return primaries_;
}

void ZoneRegistry::publish_locked() {
  ZoneMap all = secondaries_;
  for (const auto& [k, z] : primaries_) all[k] = z;
  pub_.publish(std::make_shared<const zone::ZoneTable>(std::move(all)));
}

}  // namespace server
