// Loading the configured primary zones from their files, keeping the previous version of
// any zone whose new file fails to load or changed without a serial increase.
#pragma once
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "server/config.h"
#include "zone/zone_table.h"

namespace server {

using ZoneMap = std::map<std::string, std::shared_ptr<const zone::Zone>>;

struct ZoneReport {
  std::string name;
  bool loaded = false;      // the file was loaded (a new or the same version)
  bool changed = false;     // a new version replaces the previous one
  bool kept_old = false;    // load failed, the previous version is still served
  uint32_t serial = 0;
  size_t records = 0;
  std::vector<std::string> errors, warnings;
};

// Loads every primary zone of cfg (secondary zones are the replication's). `previous`
// supplies the versions kept when a load fails. Logs every problem with file:line.
// `last_served` tells the serial and content hash a zone was served with before a restart
// (from the database), so that serial policies continue from there.
using LastServed = std::function<std::optional<std::pair<uint32_t, uint64_t>>(const std::string&)>;
ZoneMap load_primary_zones(const Config& cfg, const ZoneMap& previous,
                           std::vector<ZoneReport>& reports, const LastServed& last_served = {});

// Primary and secondary zones together, published as one table. Thread-safe.
class ZoneRegistry {
 public:
  explicit ZoneRegistry(zone::ZoneTablePublisher& pub) : pub_(pub) {}
  void set_primaries(ZoneMap zones);
  void set_secondary(const std::string& origin, std::shared_ptr<const zone::Zone> z);
  ZoneMap primaries() const;
  // Frees the replaced zones that no worker holds any more. Called by the main thread (on a
  // timer), so that a worker never pays for freeing a big zone: it only drops a reference.
  void sweep();

 private:
  void publish_locked(ZoneMap replaced);
  mutable std::mutex mu_;
  zone::ZoneTablePublisher& pub_;
  ZoneMap primaries_, secondaries_;
  std::vector<std::shared_ptr<const zone::Zone>> retired_;
};

}  // namespace server
