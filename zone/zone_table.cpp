#include "zone/zone_table.h"

namespace zone {

ZoneTable::ZoneTable(std::map<std::string, std::shared_ptr<const Zone>> zones)
    : zones_(std::move(zones)) {
  for (const auto& [k, z] : zones_) index_.emplace(k, z.get());
}

const Zone* ZoneTable::find_exact(NameView origin) const {
  auto it = index_.find(origin);
  return it == index_.end() ? nullptr : it->second;
}

const Zone* ZoneTable::find(NameView qname) const {
  for (NameView p = qname;; p = wire::parent_name(p)) {
    if (const Zone* z = find_exact(p)) return z;
    if (p.size() <= 1) return nullptr;
  }
}

const Zone* ZoneTable::find_parent(NameView name) const {
  if (name.size() <= 1) return nullptr;
  return find(wire::parent_name(name));
}

std::shared_ptr<const Zone> ZoneTable::get(NameView origin) const {
  auto it = zones_.find(std::string(origin));
  return it == zones_.end() ? nullptr : it->second;
}

}  // namespace zone
