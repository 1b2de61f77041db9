// The set of zones served, and its publication: writers build a complete new table and
// publish it; each reader thread keeps its own snapshot and only looks at a shared version
// counter per query (no lock, no shared write on the query path).
#pragma once
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "zone/zone.h"

namespace zone {

class ZoneTable {
 public:
  ZoneTable() = default;
  explicit ZoneTable(std::map<std::string, std::shared_ptr<const Zone>> zones);

  // The deepest zone at or above qname (lowercased wire), or nullptr.
  const Zone* find(NameView qname) const;
  // The deepest zone strictly above the given name (for DS at a child apex).
  const Zone* find_parent(NameView name) const;
  const Zone* find_exact(NameView origin) const;
  std::shared_ptr<const Zone> get(NameView origin) const;
  const std::map<std::string, std::shared_ptr<const Zone>>& zones() const { return zones_; }

 private:
  std::map<std::string, std::shared_ptr<const Zone>> zones_;  // by lowercased wire origin
  std::unordered_map<std::string, const Zone*, StringHash, std::equal_to<>> index_;
};

class ZoneTablePublisher {
 public:
  ZoneTablePublisher() : current_(std::make_shared<ZoneTable>()) {}
  void publish(std::shared_ptr<const ZoneTable> table) {
    std::lock_guard<std::mutex> g(mu_);
    current_ = std::move(table);
    version_.fetch_add(1, std::memory_order_release);
  }
  std::shared_ptr<const ZoneTable> current() const {
    std::lock_guard<std::mutex> g(mu_);
    return current_;
  }
  uint64_t version() const { return version_.load(std::memory_order_acquire); }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const ZoneTable> current_;
  std::atomic<uint64_t> version_{1};
};

// One per worker thread: refreshes its snapshot only when the version moved.
class ZoneTableReader {
 public:
  explicit ZoneTableReader(const ZoneTablePublisher& pub) : pub_(pub) { refresh(); }
  const ZoneTable& get() {
    if (pub_.version() != seen_) refresh();
    return *table_;
  }

 private:
  void refresh() {
    seen_ = pub_.version();
    table_ = pub_.current();
  }
  const ZoneTablePublisher& pub_;
  std::shared_ptr<const ZoneTable> table_;
  uint64_t seen_ = 0;
};

}  // namespace zone
