#include "zone/zone_table.h"

#include <algorithm>
#include <stdexcept>
#include <unordered_map>

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
  // The changes by shard, in their order within each (a counting sort).
  std::vector<uint64_t> hash_of(changes.size());
  std::array<uint32_t, kShards + 1> first{};
  for (size_t i = 0; i < changes.size(); ++i) {
    hash_of[i] = NameIndex::hash(changes[i].origin);
    ++first[shard_of(hash_of[i]) + 1];
  }
  for (size_t i = 0; i < kShards; ++i) first[i + 1] += first[i];
  std::vector<uint32_t> order(changes.size());
  {
    auto next = first;
    for (size_t i = 0; i < changes.size(); ++i)
      order[next[shard_of(hash_of[i])]++] = static_cast<uint32_t>(i);
  }
  auto zone_of = [](const Change& c) {
    auto zone = c.zone ? c.zone : unavailable_zone(c.origin);
    if (zone->origin() != c.origin)
      throw std::logic_error("zone table: a zone published under another name than its own");
    return zone;
  };
  for (size_t si = 0; si < kShards; ++si) {
    const uint32_t n = first[si + 1] - first[si];
    if (n == 0) continue;
    const Shard* old = shards_[si].get();
    const size_t have = old ? old->entries.size() : 0;
    auto s = std::make_shared<Shard>();
    if (n < 16) {
      // A few: each put in its place in a copy with room for them.
      s->hashes.reserve(have + n);
      s->entries.reserve(have + n);
      if (old) {
        s->hashes = old->hashes;
        s->entries = old->entries;
      }
      for (uint32_t k = first[si]; k < first[si + 1]; ++k) {
        const Change& c = changes[order[k]];
        const uint64_t h = hash_of[order[k]];
        if (c.remove) {
          if (s->erase(h, c.origin)) --t->size_;
          continue;
        }
        auto zone = zone_of(c);
        std::string_view origin = zone->origin();
        t->size_ += s->put(h, Entry{origin, std::move(zone), c.zone != nullptr});
      }
    } else {
      // Many (a start-up, a big reload): applied by origin, then sorted once. Put one by one,
      // each would move half the shard (100,000 zones: hundreds of MB moved).
      std::vector<std::pair<uint64_t, Entry>> all;
      all.reserve(have + n);
      // Keys view strings that outlive this call: the old shard's origins, the changes'.
      std::unordered_map<std::string_view, size_t> at;
      at.reserve(have + n);
      for (size_t i = 0; i < have; ++i) {
        all.emplace_back(old->hashes[i], old->entries[i]);
        at.emplace(old->entries[i].origin, i);
      }
      for (uint32_t k = first[si]; k < first[si + 1]; ++k) {
        const Change& c = changes[order[k]];
        auto it = at.find(c.origin);
        if (c.remove) {
          if (it != at.end()) {
            all[it->second].second.zone.reset();  // dropped below
            at.erase(it);
            --t->size_;
          }
          continue;
        }
        auto zone = zone_of(c);
        std::string_view origin = zone->origin();
        Entry e{origin, std::move(zone), c.zone != nullptr};
        if (it != at.end()) {
          all[it->second].second = std::move(e);
        } else {
          at.emplace(std::string_view(c.origin), all.size());
          all.emplace_back(hash_of[order[k]], std::move(e));
          ++t->size_;
        }
      }
      std::erase_if(all, [](const auto& x) { return !x.second.zone; });
      std::sort(all.begin(), all.end(),
                [](const auto& x, const auto& y) { return x.first < y.first; });
      s->hashes.reserve(all.size());
      s->entries.reserve(all.size());
      for (auto& [h, e] : all) {
        s->hashes.push_back(h);
        s->entries.push_back(std::move(e));
      }
    }
    t->shards_[si] = s->entries.empty() ? nullptr : std::move(s);
  }
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
