// Helpers shared by the unit tests: wire names from text, and the test zones of tests/data.
#pragma once
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "zone/loader.h"
#include "zone/wire/name.h"

namespace test_support {

// "www.example.com." -> lowercased wire form.
inline std::string W(const std::string& text) {
  return zone::wire::lowered(*zone::wire::name_from_text(text));
}

// A scratch directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            (std::string("zoned-") + info->test_suite_name() + "-" + info->name() + "-" +
             std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  // Writes `text` (as is, byte for byte) to `rel` below the directory; returns its path.
  std::string write(const std::string& rel, const std::string& text) const {
    std::filesystem::path p = path_ / rel;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

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
