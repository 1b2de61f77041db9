// Catalog zones (RFC 9432, version 2): the zone a producer publishes from its member zones,
// and what a consumer reads out of one. Zone data only: no I/O, no logging (the problems
// found come back as text for the caller to log).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "zone/zone.h"

namespace zone::catalog {

// A member as listed: <id>.zones.<catalog> PTR <zone>, with its properties.
struct Member {
  std::string zone;   // lowercased wire name of the member zone
  std::string id;     // the unique label (lowercased, raw bytes)
  std::string group;  // group.<id>.zones TXT (first string), or empty
  std::string coo;    // coo.<id>.zones PTR: the catalog it moves to (lowercased wire), or empty
};

// The member id a producer gives a zone: 16 hex digits of the SHA-256 of its lowercased wire
// name, so the same zone keeps its id across restarts and on every producer.
std::string member_id(std::string_view zone_lower);

// The catalog zone a producer serves: SOA and NS "invalid.", version TXT "2", one PTR per
// member (and its group / coo properties). nullptr with errors if it does not build.
std::shared_ptr<const Zone> build(const std::string& origin_lower, uint32_t serial,
                                  const std::vector<Member>& members,
                                  std::vector<ZoneError>& errors);

// What a consumer takes from a catalog zone. `usable` is false when the zone as a whole is
// to be ignored (no version, or one other than "2": RFC 9432 5.1). Members that cannot be
// taken are left out and described in `problems` (naming the record).
struct Content {
  bool usable = false;
  std::string error;  // why not usable
  std::vector<Member> members;  // ordered by zone name, each zone once
  std::vector<std::string> problems;
};
Content read(const Zone& catalog);

}  // namespace zone::catalog
