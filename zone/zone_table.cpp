#include "zone/zone_table.h"

#include <algorithm>
#include <stdexcept>

#include "zone/wire/rdata.h"
#include "zone/wire/types.h"

namespace zone {

ZoneTable::ZoneTable() = default;

size_t ZoneTable::Shard::find(uint64_t h, NameView origin) const {
  for (auto it = std::lower_bound(hashes.begin(), hashes.end(), h); it != hashes.end() && *it == h;
       ++it) {
    size_t i = static_cast<size_t>(it - hashes.begin());
    if (entries[i].origin == origin) return i;
  }
  return entries.size();
}

bool ZoneTable::Shard::put(uint64_t h, Entry e) {
  if (size_t i = find(h, e.origin); i < entries.size()) {
    entries[i] = std::move(e);
    return false;
  }
  auto at = std::upper_bound(hashes.begin(), hashes.end(), h) - hashes.begin();
  hashes.insert(hashes.begin() + at, h);
  entries.insert(entries.begin() + at, std::move(e));
  return true;
}

bool ZoneTable::Shard::erase(uint64_t h, NameView origin) {
  size_t i = find(h, origin);
  if (i == entries.size()) return false;
  hashes.erase(hashes.begin() + static_cast<std::ptrdiff_t>(i));
  entries.erase(entries.begin() + static_cast<std::ptrdiff_t>(i));
  return true;
}

ZoneTable::ZoneTable(const std::map<std::string, std::shared_ptr<const Zone>>& zones) {
  std::array<std::shared_ptr<Shard>, kShards> fresh;
  for (const auto& [origin, z] : zones) {
    uint64_t h = NameIndex::hash(origin);
    auto& s = fresh[shard_of(h)];
    if (!s) s = std::make_shared<Shard>();
    if (z->origin() != origin)
      throw std::logic_error("zone table: a zone published under another name than its own");
    size_ += s->put(h, Entry{z->origin(), z, true});
  }
  for (size_t i = 0; i < kShards; ++i) shards_[i] = std::move(fresh[i]);
}

std::shared_ptr<const ZoneTable> ZoneTable::with(const std::vector<Change>& changes) const {
  auto t = std::make_shared<ZoneTable>(*this);  // shares every shard
  std::array<std::shared_ptr<Shard>, kShards> copied;  // shards this version owns
  // Each shard copied once with room for what comes in: no trail of outgrown arrays.
  std::vector<uint64_t> hash_of(changes.size());
  std::array<uint32_t, kShards> incoming{};
  for (size_t i = 0; i < changes.size(); ++i) {
    hash_of[i] = NameIndex::hash(changes[i].origin);
    if (!changes[i].remove) ++incoming[shard_of(hash_of[i])];
  }
  for (size_t i = 0; i < changes.size(); ++i) {
    const Change& c = changes[i];
    const uint64_t h = hash_of[i];
    size_t si = shard_of(h);
    auto& s = copied[si];
    if (!s) {
      s = std::make_shared<Shard>();
      const size_t have = shards_[si] ? shards_[si]->entries.size() : 0;
      s->hashes.reserve(have + incoming[si]);
      s->entries.reserve(have + incoming[si]);
      if (shards_[si]) {
        s->hashes.insert(s->hashes.end(), shards_[si]->hashes.begin(), shards_[si]->hashes.end());
        s->entries.insert(s->entries.end(), shards_[si]->entries.begin(), shards_[si]->entries.end());
      }
    }
    if (c.remove) {
      if (s->erase(h, c.origin)) --t->size_;
      continue;
    }
    auto zone = c.zone ? c.zone : unavailable_zone(c.origin);
    if (zone->origin() != c.origin)
      throw std::logic_error("zone table: a zone published under another name than its own");
    std::string_view origin = zone->origin();
    t->size_ += s->put(h, Entry{origin, std::move(zone), c.zone != nullptr});
  }
  for (size_t i = 0; i < kShards; ++i)
    if (copied[i]) t->shards_[i] = copied[i]->entries.empty() ? nullptr : std::move(copied[i]);
  return t;
}

const ZoneTable::Entry* ZoneTable::entry(NameView origin, uint64_t h) const {
  const Shard* s = shards_[shard_of(h)].get();
  if (!s) return nullptr;
  size_t i = s->find(h, origin);
  return i < s->entries.size() ? &s->entries[i] : nullptr;
}

const Zone* ZoneTable::find_exact(NameView origin) const {
  const Entry* e = entry(origin);
  return e && e->available ? e->zone.get() : nullptr;
}

bool ZoneTable::unavailable(NameView origin) const {
  const Entry* e = entry(origin);
  return e && !e->available;
}

const Zone* ZoneTable::find(NameView qname) const {
  for (NameView p = qname;; p = wire::parent_name(p)) {
    if (const Entry* e = entry(p)) return e->zone.get();
    if (p.size() <= 1) return nullptr;
  }
}

const Zone* ZoneTable::find_parent(NameView name) const {
  if (name.size() <= 1) return nullptr;
  return find(wire::parent_name(name));
}

std::shared_ptr<const Zone> ZoneTable::get(NameView origin) const {
  const Entry* e = entry(origin);
  return e && e->available ? e->zone : nullptr;
}

std::shared_ptr<const Zone> unavailable_zone(const std::string& origin) {
  using namespace wire;
  ZoneBuilder b(origin);
  // "invalid." (RFC 6761) as the SOA's names and the NS: nothing here is ever served.
  static const std::string invalid("\7invalid\0", 9);
  std::string soa = invalid + invalid;
  for (int i = 0; i < 5; ++i) soa.append(4, '\0');
  b.add(origin, rrtype::SOA, 0, soa);
  b.add(origin, rrtype::NS, 0, invalid);
  std::vector<ZoneError> errors;
  auto z = b.build(errors);
  if (z) z->set_expired(true);
  return z;
}

}  // namespace zone
