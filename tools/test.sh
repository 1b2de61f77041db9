#!/usr/bin/env bash
# Installs dependencies, builds, and runs the whole test suite:
#   1. Release build: unit tests, integration tests (real zoned, dig, kdig, Knot, NSD) and a
#      short libFuzzer run of the query parser (clang);
#   2. ASan+UBSan build of the unit tests.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
tools/build.sh -DZONED_FUZZ=ON
(cd build && ctest --output-on-failure -j2 --timeout 600)
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DZONED_SANITIZE=ON >/dev/null
cmake --build build-asan -j2
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j2 -L unit)
