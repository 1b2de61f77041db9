#!/usr/bin/env bash
# The benchmark, from a fresh clone: installs packages, builds Release, runs tools/bench/bench.py.
# Arguments go to bench.py (e.g. --seconds 5 --rounds 1 --replication, --only zones).
set -euo pipefail
cd "$(dirname "$0")/../.."
tools/setup.sh
# Only what the bench runs (the tests are tools/test.sh's): zoned and zonectl.
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j2 --target zoned zonectl
exec /usr/bin/python3 tools/bench/bench.py "$@"
