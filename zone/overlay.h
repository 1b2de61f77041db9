// Versions of a zone that share their base: a flat Zone (built once, by ZoneBuilder) plus an
// overlay of the names that differ, each with its own storage. apply_changeset makes a new
// version in O(change): it copies the previous version's (bounded) overlay, replaces the
// names the change touches and derives what they affect (empty non-terminals, the NSEC and
// NSEC3 chains, the NS targets that need glue). When the overlay grows past a bound it is
// compacted into a fresh flat zone, so lookups stay one probe of a small table before the
// base's and the amortized cost of a change stays small.
//
// Everything here is immutable once the version is published; queries read it without
// locks or allocation, like a flat zone.
#pragma once
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "zone/zone.h"

namespace zone {

// A node of a version that its base does not have (or has otherwise): the node and the
// storage its name, RRsets and signatures live in.
struct NodeBlock {
  Node node;
  std::unique_ptr<char[]> bytes;  // the name, then packed RDATA
  std::vector<RRset> rrsets;
  std::vector<Signatures> sigs;
  // When only the child count changed, `node` keeps pointing at the previous node's data,
  // which this keeps alive (null when that data is the base's).
  std::shared_ptr<const NodeBlock> shares;
};

// One name of a namespace (the lookup namespace or the NSEC3 owners) that differs from the
// base: its node in this version, or nullptr when the base has the name and this version
// does not.
struct DeltaEntry {
  NameView name;  // points into the base's arena or into `block`
  const Node* node = nullptr;
  std::shared_ptr<const NodeBlock> block;
};

// The names of one namespace that differ from the base, found like the base's (open
// addressing on the same hash).
class DeltaTable {
 public:
  const DeltaEntry* find(NameView name, uint64_t h) const {
    int64_t i = index_.find(name, h, NameOf{&entries_});
    return i < 0 ? nullptr : &entries_[static_cast<size_t>(i)];
  }
  const std::vector<DeltaEntry>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }
  // Sets the entry of e.name (replacing the one it had). Only while the version is built:
  // once published, entries never move.
  void set(DeltaEntry e);
  size_t bytes() const { return entries_.capacity() * sizeof(DeltaEntry) + index_.bytes(); }

 private:
  struct NameOf {
    const std::vector<DeltaEntry>* e;
    NameView operator()(uint32_t i) const { return (*e)[i].name; }
  };
  std::vector<DeltaEntry> entries_;
  NameIndex index_;
};

// Base chain positions a version no longer has, sorted, each with the nearest position
// before it that is still there (-1: none), so that a search skips a run of them at once.
struct ChainGap {
  uint32_t index;
  int64_t live_before;
};

struct Overlay {
  std::shared_ptr<const Zone> base;  // always flat
  DeltaTable names;        // lookup namespace
  DeltaTable nsec3_names;  // NSEC3 owners
  // NSEC chain: base chain minus `nsec_gone`, plus `nsec_added` (canonical order).
  std::vector<const Node*> nsec_added;
  std::vector<ChainGap> nsec_gone;
  // NSEC3 chain: base chain minus `nsec3_gone`, plus `nsec3_added` (by hash).
  std::vector<Nsec3Entry> nsec3_added;
  std::vector<ChainGap> nsec3_gone;
  // In-zone NS targets of the apex and the cuts, against the base's: (target hash, change).
  std::vector<std::pair<uint64_t, int32_t>> ns_ref_delta;
  uint64_t content_hash_delta = 0;  // added to the base's content hash (mod 2^64)

  size_t size() const { return names.size() + nsec3_names.size(); }
  size_t bytes() const;
  // Whether base chain position i is gone; if so, the nearest live one before it.
  static const ChainGap* gap_at(const std::vector<ChainGap>& gaps, size_t i);
  // Recomputes live_before after `gaps` changed (sorted by index).
  static void link_gaps(std::vector<ChainGap>& gaps);
};

// What one node adds to a zone's content hash (content_hash in changeset.h).
uint64_t node_content_hash(const Node& n);
// One record's share of it (a changeset's effect on the hash: added minus removed).
uint64_t record_content_hash(NameView owner, uint16_t type, uint32_t ttl, std::string_view rdata);

// How large an overlay may grow over a base of `base_nodes` nodes before the next change
// compacts it into a flat zone. Copying the overlay is part of every change (a few ns per
// name) and a compaction costs a full build (about 1.5 s for 1,000,000 records), so the
// bound balances the two: 32 * sqrt(nodes), 26,000 names for a 1,000,000-record zone
// (measured with zone_change_bench --max-overlay).
size_t default_overlay_limit(size_t base_nodes);

}  // namespace zone
