// Helpers shared by the unit tests: wire names from text, and the test zones of tests/data.
#pragma once
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "zone/loader.h"
#include "zone/wire/name.h"

namespace test_support {

// "www.example.com." -> lowercased wire form.
inline std::string W(const std::string& text) {
  return zone::wire::lowered(*zone::wire::name_from_text(text));
}

#ifdef ZONED_TEST_DATA
// A zone file of tests/data/zones, or nullptr (each load error is a test failure).
inline std::shared_ptr<const zone::Zone> load_test_zone(const std::string& file,
                                                        const std::string& origin) {
  zone::LoadResult r =
      zone::load_zone_file(std::string(ZONED_TEST_DATA "/zones/") + file, W(origin));
  for (const auto& e : r.errors) ADD_FAILURE() << e.str();
  return r.zone;
}
#endif

}  // namespace test_support
