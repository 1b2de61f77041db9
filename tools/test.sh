#!/usr/bin/env bash
# Installs dependencies, builds, and runs the whole test suite:
#   1. Release build (gcc): unit tests and integration tests (real zoned, dig, kdig, Knot, NSD);
#   2. Debug ASan+UBSan build with clang (libFuzzer needs it): unit tests under the sanitizers
#      and a 30-second libFuzzer run of each fuzz target (query processor, zone-file loader,
#      DNS UPDATE, configuration).
# Set ZONED_FUZZ_SECONDS to fuzz longer (or shorter) in stage 2.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
# OFF explicitly: a build/ configured by an older test.sh still has ZONED_FUZZ=ON cached.
tools/build.sh -DZONED_FUZZ=OFF
(cd build && ctest --output-on-failure -j2 --timeout 600)
# CC/CXX only count when a build directory is first configured: start over if build-asan/
# was made with another compiler.
if [ -f build-asan/CMakeCache.txt ] &&
   ! grep -q '^CMAKE_CXX_COMPILER:[A-Z]*=.*clang++' build-asan/CMakeCache.txt; then
  rm -rf build-asan
fi
CC=clang CXX=clang++ cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DZONED_SANITIZE=ON -DZONED_FUZZ=ON -DZONED_FUZZ_SECONDS="${ZONED_FUZZ_SECONDS:-30}" >/dev/null
cmake --build build-asan -j2
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$PWD/../tests/lsan.supp ctest --output-on-failure -j2 -L 'unit|fuzz')
