#include "server/zone_set.h"

#include <spdlog/spdlog.h>

#include <ctime>

#include "zone/changeset.h"
#include "zone/loader.h"
#include "zone/wire/serial.h"

namespace server {

namespace {

// The serial a serial policy gives a changed zone whose file serial did not grow.
uint32_t bumped_serial(const std::string& policy, uint32_t base) {
  uint32_t next = base + 1;
  if (policy == "unixtime") {
    uint32_t now = static_cast<uint32_t>(std::time(nullptr));
    if (zone::wire::serial_gt(now, base)) next = now;
  }
  return next;
}

}  // namespace

ZoneMap load_primary_zones(const Config& cfg, const ZoneMap& previous,
                           std::vector<ZoneReport>& reports, const LastServed& last_served) {
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
    // What was served before: the running version, or the one recorded before a restart.
    std::optional<std::pair<uint32_t, uint64_t>> base;
    if (res.ok() && !old && last_served) base = last_served(zc.origin);
    if (res.ok() && zc.serial_policy != "keep" && (old || base)) {
      uint32_t base_serial = old ? old->serial() : base->first;
      uint64_t base_hash = old ? zone::content_hash(*old) : base->second;
      bool same = zone::content_hash(*res.zone) == base_hash;
      uint32_t file_serial = res.zone->serial();
      uint32_t serial = file_serial;
      if (!same && !zone::wire::serial_gt(file_serial, base_serial))
        serial = bumped_serial(zc.serial_policy, base_serial);
      else if (same && zone::wire::serial_lt(file_serial, base_serial))
        serial = base_serial;  // unchanged since we bumped it: keep serving that serial
      if (serial != file_serial) {
        res.zone = zone::with_serial(res.zone, serial);
        if (log && !same)
          log->info("zone {}: content changed, serial-policy {} sets serial {} (file has {})",
                    zc.name, zc.serial_policy, serial, file_serial);
      }
    } else if (res.ok() && base && zone::wire::serial_lt(res.zone->serial(), base->first)) {
      std::string w = zc.file + ": serial " + std::to_string(res.zone->serial()) +
                      " is lower than the " + std::to_string(base->first) +
                      " served before: secondaries keep their copy until it is higher";
      rep.warnings.push_back(w);
      if (log) log->warn("zone {}: {}", zc.name, w);
    }
    // A changed zone must carry a higher serial, or secondaries never see the change
    // (RFC 1982 comparison, as BIND refuses such a reload too).
    if (res.ok() && old && !zone::wire::serial_gt(res.zone->serial(), old->serial()) &&
        !zone::diff_zones(*old, *res.zone).empty()) {
      std::string e = zc.file + ": zone changed but its serial " +
                      std::to_string(res.zone->serial()) + " is not greater than the served " +
                      std::to_string(old->serial()) +
                      "; increase the serial (or set serial-policy: increment)";
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
  ZoneMap replaced = std::move(primaries_);
  primaries_ = std::move(zones);
  publish_locked(std::move(replaced));
}

void ZoneRegistry::set_secondary(const std::string& origin, std::shared_ptr<const zone::Zone> z) {
  std::lock_guard<std::mutex> g(mu_);
  ZoneMap replaced;
  if (auto it = secondaries_.find(origin); it != secondaries_.end()) replaced[origin] = it->second;
  if (z)
    secondaries_[origin] = std::move(z);
  else
    secondaries_.erase(origin);
  publish_locked(std::move(replaced));
}

ZoneMap ZoneRegistry::primaries() const {
  std::lock_guard<std::mutex> g(mu_);
  return primaries_;
}

void ZoneRegistry::publish_locked(ZoneMap replaced) {
  ZoneMap all = secondaries_;
  for (const auto& [k, z] : primaries_) all[k] = z;
  pub_.publish(std::make_shared<const zone::ZoneTable>(std::move(all)));
  // Zones no longer served wait in retired_ until the workers have let go of them.
  for (auto& [k, z] : replaced) {
    bool still_served = false;
    for (const auto* m : {&primaries_, &secondaries_})
      if (auto it = m->find(k); it != m->end() && it->second == z) still_served = true;
    if (!still_served && z) retired_.push_back(std::move(z));
  }
}

void ZoneRegistry::sweep() {
  std::vector<std::shared_ptr<const zone::Zone>> free_now;
  {
    std::lock_guard<std::mutex> g(mu_);
    for (size_t i = 0; i < retired_.size();) {
      if (retired_[i].use_count() == 1) {
        free_now.push_back(std::move(retired_[i]));
        retired_[i] = std::move(retired_.back());
        retired_.pop_back();
      } else {
        ++i;
      }
    }
  }
  free_now.clear();  // here, outside the lock, on the caller's thread
}

}  // namespace server
