// The set of zones served, and its publication: writers build a complete new table and
// publish it; readers never wait (no lock, no shared write on the query path).
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

}  // namespace zone
