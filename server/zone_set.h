// Loading the configured zones into a ZoneTable, keeping the previous version of any zone
// whose new file fails to load.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "server/config.h"
#include "zone/zone_table.h"

namespace server {

struct ZoneReport {
  std::string name;
  bool loaded = false;      // a new version was loaded from the file
  bool kept_old = false;    // load failed, the previous version is still served
  uint32_t serial = 0;
  size_t records = 0;
  std::vector<std::string> errors, warnings;
};

// Loads every primary zone of cfg. `previous` (may be null) supplies the versions kept when
// a load fails. Logs every problem with file:line.
std::shared_ptr<const zone::ZoneTable> load_zones(const Config& cfg,
                                                  const zone::ZoneTable* previous,
                                                  std::vector<ZoneReport>& reports);

}  // namespace server
