#include "server/zone_set.h"

#include <spdlog/spdlog.h>

#include "zone/loader.h"

namespace server {

std::shared_ptr<const zone::ZoneTable> load_zones(const Config& cfg,
                                                  const zone::ZoneTable* previous,
                                                  std::vector<ZoneReport>& reports) {
  auto log = spdlog::get("zone");
  std::map<std::string, std::shared_ptr<const zone::Zone>> zones;
  for (const auto& zc : cfg.zones) {
    ZoneReport rep;
    rep.name = zc.name;
    if (zc.secondary()) {
      rep.errors.push_back("zone " + zc.name +
                           ": secondary zones (primaries:) need replication, which this "
                           "version of zoned does not have yet");
      if (log) log->error("{}", rep.errors.back());
      reports.push_back(rep);
      continue;
    }
    zone::LoadResult res = zone::load_zone_file(zc.file, zc.origin);
    for (const auto& w : res.warnings) {
      rep.warnings.push_back(w.str());
      if (log) log->warn("zone {}: {}", zc.name, w.str());
    }
    for (const auto& e : res.errors) {
      rep.errors.push_back(e.str());
      if (log) log->error("zone {}: {}", zc.name, e.str());
    }
    if (res.ok()) {
      rep.loaded = true;
      rep.serial = res.zone->serial();
      rep.records = res.zone->record_count();
      zones.emplace(zc.origin, res.zone);
      if (log) log->info("zone {}: loaded serial {} ({} records) from {}", zc.name, rep.serial,
                         rep.records, zc.file);
    } else if (previous) {
      if (auto old = previous->get(zc.origin)) {
        rep.kept_old = true;
        rep.serial = old->serial();
        zones.emplace(zc.origin, old);
        if (log) log->error("zone {}: not reloaded, still serving serial {}", zc.name,
                            old->serial());
      } else if (log) {
        log->error("zone {}: not loaded, not served", zc.name);
      }
    } else if (log) {
      log->error("zone {}: not loaded, not served", zc.name);
    }
    reports.push_back(std::move(rep));
  }
  return std::make_shared<zone::ZoneTable>(std::move(zones));
}

}  // namespace server
