// The one place that publishes zone versions to the query workers: a new table per change,
// sharing every zone (and shard) the change does not touch. Thread-safe.
#pragma once
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "zone/zone_table.h"

namespace zone {

class ZoneRegistry {
 public:
  explicit ZoneRegistry(ZoneTablePublisher& pub) : pub_(pub) {}
  // Publishes several zones' new states in one table version.
  void publish(const std::vector<ZoneTable::Change>& changes);
  // One zone: serve z (nullptr: configured but nothing to serve, answered SERVFAIL).
  void publish(const std::string& origin, std::shared_ptr<const Zone> z) {
    publish({ZoneTable::Change{origin, std::move(z), false}});
  }
  void remove(const std::string& origin) { publish({ZoneTable::Change{origin, nullptr, true}}); }
  std::shared_ptr<const ZoneTable> current() const { return pub_.current(); }
  // Frees the replaced zones that no worker holds any more. Called by the main thread (on a
  // timer), so that a worker never pays for freeing a big zone: it only drops a reference.
  void sweep();

 private:
  mutable std::mutex mu_;
  ZoneTablePublisher& pub_;
  std::vector<std::shared_ptr<const Zone>> retired_;
};

}  // namespace zone
