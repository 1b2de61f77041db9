#include "server/check_config.h"

#include <future>
#include <iostream>
#include <thread>

#include "server/config.h"
#include "server/policy.h"
#include "zone/loader.h"

namespace server {

int check_config(const std::string& path, bool zone_files) {
  Config cfg;
  try {
    cfg = load_config(path);
    make_policy(cfg);
    for (const auto& z : cfg.zones)
      if (z.secondary() && cfg.server.database.empty())
        throw ConfigError(path + ": zone '" + z.name +
                          "' is a secondary zone: set server.database (SQLite file)");
  } catch (const ConfigError& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  if (!zone_files) {
    std::cout << path << ": ok (configuration only; " << cfg.zones.size() << " zone(s))\n";
    return 0;
  }
  // Zone files in parallel, reported in configuration order.
  std::vector<const ZoneConfig*> primaries;
  for (const auto& z : cfg.zones)
    if (z.from_file()) primaries.push_back(&z);
  std::vector<zone::LoadResult> results(primaries.size());
  std::atomic<size_t> next{0};
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < std::max(1u, std::thread::hardware_concurrency()); ++t)
    threads.emplace_back([&] {
      for (size_t i; (i = next++) < primaries.size();)
        results[i] = zone::load_zone_file(primaries[i]->file, primaries[i]->origin);
    });
  for (auto& t : threads) t.join();
  bool ok = true;
  for (size_t i = 0; i < primaries.size(); ++i) {
    const auto& r = results[i];
    const std::string& name = primaries[i]->name;
    for (const auto& w : r.warnings) std::cerr << "warning: zone " << name << ": " << w.str() << "\n";
    for (const auto& e : r.errors) std::cerr << "error: zone " << name << ": " << e.str() << "\n";
    if (r.ok())
      std::cout << "zone " << name << ": ok, serial " << r.zone->serial() << ", "
                << r.zone->record_count() << " records\n";
    else
      ok = false;
  }
  for (const auto& z : cfg.zones)
    if (z.secondary()) std::cout << "zone " << z.name << ": secondary\n";
    else if (z.cat().catalog == "produce") std::cout << "zone " << z.name << ": catalog, built from its members\n";
  std::cout << path << ": " << (ok ? "ok" : "errors found") << "\n";
  return ok ? 0 : 1;
}

}  // namespace server
