// The set of zones served, and its publication: writers build a new table and publish it;
// readers never wait (no lock, no shared write on the query path).
//
// A table is split into shards by the hash of each zone's origin, and versions share the
// shards they do not change: replacing one zone copies one shard and the shard array, not
// the whole set, so a change to one of 100,000 zones costs microseconds.
#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "zone/zone.h"

namespace zone {

class ZoneTable {
 public:
  ZoneTable();
  // A table serving exactly these zones (tests, start-up).
  explicit ZoneTable(const std::map<std::string, std::shared_ptr<const Zone>>& zones);

  // One zone's new state in a new version of the table.
  struct Change {
    std::string origin;                // lowercased wire
    std::shared_ptr<const Zone> zone;  // the version to serve; null with !remove: unavailable
    bool remove = false;               // no longer configured: queries get REFUSED
  };
  // This table with the changes applied (the others shared, not copied).
  std::shared_ptr<const ZoneTable> with(const std::vector<Change>& changes) const;

  // The deepest zone at or above qname (lowercased wire), or nullptr. A zone that is
  // configured but has nothing to serve is found as a placeholder that is expired(), so
  // that its names are answered SERVFAIL, not REFUSED (as BIND and Knot do).
  const Zone* find(NameView qname) const;
  // The deepest zone strictly above the given name (for DS at a child apex).
  const Zone* find_parent(NameView name) const;
  // A zone being served (never a placeholder), or nullptr.
  const Zone* find_exact(NameView origin) const;
  std::shared_ptr<const Zone> get(NameView origin) const;
  // Configured but with nothing to serve.
  bool unavailable(NameView origin) const;
  size_t size() const { return size_; }
  // f(origin, zone) for every zone served (placeholders left out), in no particular order.
  template <class F>
  void for_each(F&& f) const {
    for (const auto& s : shards_)
      if (s)
        for (const auto& e : s->entries)
          if (e.available) f(e.origin, e.zone);
  }

 private:
  struct Entry {
    // The zone's own origin (zone->origin()): no string of its own per entry (10,000 zones:
    // as many small blocks, scattered over the publishing thread's heap).
    std::string_view origin;
    std::shared_ptr<const Zone> zone;  // a placeholder when !available
    bool available = true;
  };
  // A shard's entries in the order of their hashes, the hashes kept apart: a lookup is a
  // binary search over a few cache lines (at 100,000 zones a shard holds some 200 entries,
  // and a scan read one cache line per entry: lookups grew with the number of zones).
  struct Shard {
    std::vector<uint64_t> hashes;
    std::vector<Entry> entries;
    // The index of origin's entry, or entries.size().
    size_t find(uint64_t h, NameView origin) const;
    bool put(uint64_t h, Entry e);  // true: added; false: replaced the entry of that origin
    bool erase(uint64_t h, NameView origin);
  };
  static constexpr size_t kShards = 512;
  static size_t shard_of(uint64_t h) { return (h >> 40) % kShards; }
  const Entry* entry(NameView origin, uint64_t h) const;
  const Entry* entry(NameView origin) const { return entry(origin, NameIndex::hash(origin)); }
  std::array<std::shared_ptr<const Shard>, kShards> shards_;
  size_t size_ = 0;
};

// Publishes immutable snapshots of T: writers swap in a complete new version; each reader
// thread keeps its own shared_ptr and only compares a version counter per use.
template <class T>
class Publisher {
 public:
  Publisher() : current_(std::make_shared<const T>()) {}
  void publish(std::shared_ptr<const T> v) {
    std::lock_guard<std::mutex> g(mu_);
    current_ = std::move(v);
    version_.fetch_add(1, std::memory_order_release);
  }
  std::shared_ptr<const T> current() const {
    std::lock_guard<std::mutex> g(mu_);
    return current_;
  }
  uint64_t version() const { return version_.load(std::memory_order_acquire); }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const T> current_;
  std::atomic<uint64_t> version_{1};
};

// One per worker thread: refreshes its snapshot only when the version moved.
template <class T>
class Reader {
 public:
  explicit Reader(const Publisher<T>& pub) : pub_(pub) { refresh(); }
  const T& get() {
    if (pub_.version() != seen_) refresh();
    return *value_;
  }
  std::shared_ptr<const T> hold() {
    get();
    return value_;
  }

 private:
  void refresh() {
    seen_ = pub_.version();
    value_ = pub_.current();
  }
  const Publisher<T>& pub_;
  std::shared_ptr<const T> value_;
  uint64_t seen_ = 0;
};

using ZoneTablePublisher = Publisher<ZoneTable>;
using ZoneTableReader = Reader<ZoneTable>;

// A placeholder for a configured zone with nothing to serve: SOA and NS only, expired() so
// that every query for it is answered SERVFAIL.
std::shared_ptr<const Zone> unavailable_zone(const std::string& origin);

}  // namespace zone
