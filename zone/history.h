// IXFR history kept in memory for answering IXFR (the replication thread also persists it).
// Written on zone changes, read by transfers: a mutex, never touched by plain queries.
#pragma once
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "zone/changeset.h"

namespace zone {

class History {
 public:
  // Appends a changeset; keeps at most `keep` per zone (0 = history disabled for it).
  void add(const std::string& origin, std::shared_ptr<const Changeset> c, size_t keep) {
    std::lock_guard<std::mutex> g(mu_);
    auto& q = zones_[origin];
    // A changeset that does not continue the chain (after an AXFR or a restart with a
    // different file) starts a new one.
    if (!q.empty() && q.back()->to_serial() != c->from_serial()) q.clear();
    q.push_back(std::move(c));
    while (q.size() > keep) q.pop_front();
  }
  void clear(const std::string& origin) {
    std::lock_guard<std::mutex> g(mu_);
    zones_.erase(origin);
  }
  // One changeset from `serial` to the newest version, or nullopt when the history does not
  // reach back that far.
  std::optional<Changeset> since(const std::string& origin, uint32_t serial) const {
    std::vector<Changeset> chain;
    {
      std::lock_guard<std::mutex> g(mu_);
      auto it = zones_.find(origin);
      if (it == zones_.end()) return std::nullopt;
      bool found = false;
      for (const auto& c : it->second) {
        if (!found && c->from_serial() == serial) found = true;
        if (found) chain.push_back(*c);
      }
      if (!found) return std::nullopt;
    }
    return condense(chain);
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::deque<std::shared_ptr<const Changeset>>> zones_;
};

}  // namespace zone
