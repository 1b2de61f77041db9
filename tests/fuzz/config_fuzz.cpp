// libFuzzer target: arbitrary bytes as the configuration file, read by server::load_config
// (YAML parsed into the configuration tree, then every section checked). A ConfigError is
// the answer to bad input, and it must name the file; a crash, a leak, UB, a hang or any
// other exception is a bug (zoned would die on a SIGHUP instead of keeping its configuration).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>

#include "server/config.h"

namespace {

const std::string& config_path() {
  static const std::string path = [] {
    auto dir = std::filesystem::temp_directory_path() /
               ("zoned-config-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    return (dir / "zoned.yaml").string();
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = config_path();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    server::Config cfg = server::load_config(path);
    (void)cfg;
  } catch (const server::ConfigError& e) {
    if (std::string(e.what()).rfind(path, 0) != 0) {
      std::fprintf(stderr, "config_fuzz: an error that does not name the file: %s\n", e.what());
      std::abort();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "config_fuzz: not a ConfigError: %s\n", e.what());
    std::abort();
  }
  return 0;
}
