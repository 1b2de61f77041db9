#include "zone/zone_table.h"

#include "zone/wire/rdata.h"
#include "zone/wire/types.h"

namespace zone {

ZoneTable::ZoneTable() = default;

ZoneTable::ZoneTable(const std::map<std::string, std::shared_ptr<const Zone>>& zones) {
  std::array<std::shared_ptr<Shard>, kShards> fresh;
  for (const auto& [origin, z] : zones) {
    uint64_t h = NameIndex::hash(origin);
    auto& s = fresh[shard_of(h)];
    if (!s) s = std::make_shared<Shard>();
    s->entries.push_back(Entry{origin, h, z, true});
    ++size_;
  }
  for (size_t i = 0; i < kShards; ++i) shards_[i] = std::move(fresh[i]);
}

std::shared_ptr<const ZoneTable> ZoneTable::with(const std::vector<Change>& changes) const {
  auto t = std::make_shared<ZoneTable>(*this);  // shares every shard
  std::array<std::shared_ptr<Shard>, kShards> copied;  // shards this version owns
  for (const auto& c : changes) {
    uint64_t h = NameIndex::hash(c.origin);
    size_t si = shard_of(h);
    auto& s = copied[si];
    if (!s) s = shards_[si] ? std::make_shared<Shard>(*shards_[si]) : std::make_shared<Shard>();
    auto it = s->entries.begin();
    while (it != s->entries.end() && !(it->hash == h && it->origin == c.origin)) ++it;
    if (c.remove) {
      if (it != s->entries.end()) {
        *it = std::move(s->entries.back());
        s->entries.pop_back();
        --t->size_;
      }
      continue;
    }
    Entry e{c.origin, h, c.zone ? c.zone : unavailable_zone(c.origin), c.zone != nullptr};
    if (it != s->entries.end()) {
      *it = std::move(e);
    } else {
      s->entries.push_back(std::move(e));
      ++t->size_;
    }
  }
  for (size_t i = 0; i < kShards; ++i)
    if (copied[i]) t->shards_[i] = copied[i]->entries.empty() ? nullptr : std::move(copied[i]);
  return t;
}

const ZoneTable::Entry* ZoneTable::entry(NameView origin, uint64_t h) const {
  const Shard* s = shards_[shard_of(h)].get();
  if (!s) return nullptr;
  for (const auto& e : s->entries)
    if (e.hash == h && e.origin == origin) return &e;
  return nullptr;
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
