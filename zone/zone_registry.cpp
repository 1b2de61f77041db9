#include "zone/zone_registry.h"

namespace zone {

void ZoneRegistry::publish(const std::vector<ZoneTable::Change>& changes) {
  std::lock_guard<std::mutex> g(mu_);
  auto before = pub_.current();
  auto after = before->with(changes);
  // Zones no longer served wait in retired_ until the workers have let go of them.
  for (const auto& c : changes) {
    auto old = before->get(c.origin);
    if (old && old != after->get(c.origin)) retired_.push_back(std::move(old));
  }
  pub_.publish(std::move(after));
}

void ZoneRegistry::sweep() {
  std::vector<std::shared_ptr<const Zone>> free_now;
  {
    std::lock_guard<std::mutex> g(mu_);
    for (size_t i = 0; i < retired_.size();) {
      if (retired_[i].use_count() == 1) {
        free_now.push_back(std::move(retired_[i]));
        retired_[i] = std::move(retired_.back());
        retired_.pop_back();
      } else {
        ++i;
      }
    }
  }
  free_now.clear();  // here, outside the lock, on the caller's thread
}

}  // namespace zone
