#include "zone/overlay.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "zone/wire/rdata.h"
#include "zone/wire/types.h"

namespace zone {

using namespace wire;

Zone::~Zone() = default;

void DeltaTable::set(DeltaEntry e) {
  uint64_t h = NameIndex::hash(e.name);
  int64_t i = index_.find(e.name, h, NameOf{&entries_});
  if (i >= 0) {
    entries_[static_cast<size_t>(i)] = std::move(e);
    return;
  }
  entries_.push_back(std::move(e));
  index_.insert(h, static_cast<uint32_t>(entries_.size() - 1), NameOf{&entries_});
}

size_t Overlay::bytes() const {
  size_t n = sizeof(Overlay) + names.bytes() + nsec3_names.bytes() +
             nsec_added.capacity() * sizeof(const Node*) +
             nsec_gone.capacity() * sizeof(ChainGap) +
             nsec3_added.capacity() * sizeof(Nsec3Entry) +
             nsec3_gone.capacity() * sizeof(ChainGap) +
             ns_ref_delta.capacity() * sizeof(ns_ref_delta[0]);
  for (const DeltaTable* t : {&names, &nsec3_names})
    for (const auto& e : t->entries())
      if (e.block) {
        n += sizeof(NodeBlock) + e.block->rrsets.capacity() * sizeof(RRset) +
             e.block->sigs.capacity() * sizeof(Signatures) + e.block->node.name.size();
        for (const auto& r : e.block->rrsets) n += r.data.size();
      }
  return n;
}

const ChainGap* Overlay::gap_at(const std::vector<ChainGap>& gaps, size_t i) {
  auto it = std::lower_bound(gaps.begin(), gaps.end(), i,
                             [](const ChainGap& g, size_t x) { return g.index < x; });
  return it != gaps.end() && it->index == i ? &*it : nullptr;
}

void Overlay::link_gaps(std::vector<ChainGap>& gaps) {
  for (size_t k = 0; k < gaps.size(); ++k)
    gaps[k].live_before = k > 0 && gaps[k - 1].index + 1 == gaps[k].index
                              ? gaps[k - 1].live_before
                              : static_cast<int64_t>(gaps[k].index) - 1;
}

size_t default_overlay_limit(size_t base_nodes) {
  size_t n = static_cast<size_t>(32 * std::sqrt(static_cast<double>(base_nodes)));
  return std::clamp<size_t>(n, 1024, 1 << 16);
}

const Zone& Zone::flat_base() const { return overlay_ ? *overlay_->base : *this; }

size_t Zone::delta_size() const { return overlay_ ? overlay_->size() : 0; }

const Node* Zone::find_in_version(NameView name) const {
  uint64_t h = NameIndex::hash(name);
  if (const DeltaEntry* e = overlay_->names.find(name, h)) return e->node;
  return overlay_->base->find_flat(name, h);
}

const Node* Zone::find_nsec3_owner(NameView name) const {
  uint64_t h = NameIndex::hash(name);
  if (!overlay_) return find_nsec3_owner_flat(name, h);
  if (const DeltaEntry* e = overlay_->nsec3_names.find(name, h)) return e->node;
  return overlay_->base->find_nsec3_owner_flat(name, h);
}

const Node* Zone::find_stored(NameView name) const {
  const Node* n = find(name);
  if (n && !n->empty()) return n;
  if (const Node* owner = find_nsec3_owner(name)) return owner;
  return n;
}

void Zone::visit_version_nodes(void (*fn)(const void*, const Node&), const void* ctx) const {
  const Overlay& o = *overlay_;
  const Zone& b = *o.base;
  for (size_t k = 0; k < b.nodes_.size(); ++k) {
    const Node& n = b.nodes_[k];
    const DeltaTable& t = k < b.nsec3_first_ ? o.names : o.nsec3_names;
    if (t.size() && t.find(n.name, NameIndex::hash(n.name))) continue;  // replaced or gone
    fn(ctx, n);
  }
  for (const DeltaTable* t : {&o.names, &o.nsec3_names})
    for (const auto& e : t->entries())
      if (e.node) fn(ctx, *e.node);
}

// The chains of a version: the base's, without the positions gone, merged with its own.
// Base entries still there are the version's nodes too (a replaced node is always gone).
const Node* Zone::nsec_for_version(NameView q, bool strict) const {
  const Overlay& o = *overlay_;
  const auto& bc = o.base->dnssec_parts().nsec_chain;
  // The first chain entry after q (strict: at or after q); the one before it is the answer.
  auto first_after = [&](const auto& chain) {
    return strict ? std::lower_bound(chain.begin(), chain.end(), q,
                                     [](const Node* node, NameView n) { return canonical_compare(node->name, n) < 0; })
                  : std::upper_bound(chain.begin(), chain.end(), q,
                                     [](NameView n, const Node* node) { return canonical_compare(n, node->name) < 0; });
  };
  auto live = [&](int64_t i) -> const Node* {
    if (i < 0) return nullptr;
    if (const ChainGap* g = Overlay::gap_at(o.nsec_gone, static_cast<size_t>(i))) i = g->live_before;
    return i < 0 ? nullptr : bc[static_cast<size_t>(i)];
  };
  auto later = [](const Node* a, const Node* b) -> const Node* {
    if (!a || !b) return a ? a : b;
    return canonical_compare(a->name, b->name) > 0 ? a : b;
  };
  const Node* b = live((first_after(bc) - bc.begin()) - 1);
  auto it = first_after(o.nsec_added);
  const Node* a = it == o.nsec_added.begin() ? nullptr : *(it - 1);
  if (const Node* n = later(a, b)) return n;
  // Before the first name: the last NSEC wraps around and covers it.
  return later(o.nsec_added.empty() ? nullptr : o.nsec_added.back(),
               live(static_cast<int64_t>(bc.size()) - 1));
}

const Nsec3Entry* Zone::nsec3_for_version(const uint8_t hash[kNsec3HashLen], bool& match) const {
  const Overlay& o = *overlay_;
  const auto& bc = o.base->dnssec_parts().nsec3_chain;
  auto before = [](const uint8_t* h, const Nsec3Entry& e) {
    return std::memcmp(h, e.hash, kNsec3HashLen) < 0;
  };
  auto live = [&](int64_t i) -> const Nsec3Entry* {
    if (i < 0) return nullptr;
    if (const ChainGap* g = Overlay::gap_at(o.nsec3_gone, static_cast<size_t>(i))) i = g->live_before;
    return i < 0 ? nullptr : &bc[static_cast<size_t>(i)];
  };
  auto later = [](const Nsec3Entry* a, const Nsec3Entry* b) -> const Nsec3Entry* {
    if (!a || !b) return a ? a : b;
    return std::memcmp(a->hash, b->hash, kNsec3HashLen) > 0 ? a : b;
  };
  const Nsec3Entry* b = live((std::upper_bound(bc.begin(), bc.end(), hash, before) - bc.begin()) - 1);
  auto it = std::upper_bound(o.nsec3_added.begin(), o.nsec3_added.end(), hash, before);
  const Nsec3Entry* a = it == o.nsec3_added.begin() ? nullptr : &*(it - 1);
  const Nsec3Entry* e = later(a, b);
  if (!e)
    e = later(o.nsec3_added.empty() ? nullptr : &o.nsec3_added.back(),
              live(static_cast<int64_t>(bc.size()) - 1));
  match = e && std::memcmp(e->hash, hash, kNsec3HashLen) == 0;
  return e;
}

const std::vector<uint64_t>& Zone::ns_target_refs() const {
  std::call_once(refs_once_, [&] {
    for (size_t k = 0; k < nsec3_first_; ++k) {
      const Node& n = nodes_[k];
      if (!n.is_cut && n.name != NameView(origin_)) continue;
      const RRset* ns = n.find(rrtype::NS);
      if (!ns) continue;
      ns->for_each([&](std::string_view rd) {
        NameView t = rdata_target(rrtype::NS, rd);
        if (t.empty()) return;
        std::string lt = lowered(t);
        if (is_subdomain(lt, origin_)) ns_refs_.push_back(NameIndex::hash(lt));
      });
    }
    std::sort(ns_refs_.begin(), ns_refs_.end());
    ns_refs_.shrink_to_fit();
  });
  return ns_refs_;
}

int64_t Zone::ns_references(NameView target) const {
  uint64_t h = NameIndex::hash(target);
  const Zone& flat = overlay_ ? *overlay_->base : *this;
  const auto& base = flat.ns_target_refs();
  auto [lo, hi] = std::equal_range(base.begin(), base.end(), h);
  int64_t n = hi - lo;
  if (overlay_) {
    const auto& refs = overlay_->ns_ref_delta;
    auto it = std::lower_bound(refs.begin(), refs.end(), h,
                               [](const auto& e, uint64_t x) { return e.first < x; });
    if (it != refs.end() && it->first == h) n += it->second;
  }
  return n;
}

uint64_t record_content_hash(NameView owner, uint16_t type, uint32_t ttl, std::string_view rd) {
  // The formula content_hash has always had (its values are stored): per record, owner,
  // type, TTL as served and RDATA with an SOA's serial blanked; summed.
  std::string k(owner);
  k.append(reinterpret_cast<const char*>(&type), 2);
  k.append(reinterpret_cast<const char*>(&ttl), 4);
  if (type == rrtype::SOA) {
    std::string blank(rd);
    set_soa_serial(blank, 0);
    k += blank;
  } else {
    k.append(rd);
  }
  return std::hash<std::string>{}(k) * 0x9E3779B97F4A7C15ull + 1;
}

uint64_t node_content_hash(const Node& n) {
  uint64_t h = 0;
  for (const auto& set : n.rrsets)
    set.for_each([&](std::string_view rd) { h += record_content_hash(n.name, set.type, n.record_ttl(set, rd), rd); });
  return h;
}

uint64_t Zone::content_hash() const {
  if (overlay_) return overlay_->base->content_hash() + overlay_->content_hash_delta;
  if (hash_known_.load(std::memory_order_acquire))
    return content_hash_.load(std::memory_order_relaxed);
  uint64_t h = 0;
  for (const auto& n : nodes_) h += node_content_hash(n);
  content_hash_.store(h, std::memory_order_relaxed);
  hash_known_.store(true, std::memory_order_release);
  return h;
}

}  // namespace zone
