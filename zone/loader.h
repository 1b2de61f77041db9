// Zone-file loading with ldns: RFC 1035 master files, $ORIGIN/$TTL/$INCLUDE, every type ldns
// knows and RFC 3597 unknown types. Every error carries file:line.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "zone/zone.h"

namespace zone {

struct LoadResult {
  std::shared_ptr<const Zone> zone;  // null when the zone failed to load
  std::vector<ZoneError> errors;
  std::vector<ZoneError> warnings;
  bool ok() const { return zone != nullptr; }
};

// origin: lowercased wire name of the zone.
LoadResult load_zone_file(const std::string& path, NameView origin);
// The same from text in memory (tests, zonectl check-zone on stdin).
LoadResult load_zone_text(std::string_view text, NameView origin,
                          const std::string& label = "<text>");

}  // namespace zone
