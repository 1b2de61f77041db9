#!/usr/bin/env bash
# The benchmark, from a fresh clone: installs packages, builds Release, runs tools/bench/bench.py.
# Arguments go to bench.py (e.g. --seconds 5 --rounds 1 --replication).
set -euo pipefail
cd "$(dirname "$0")/../.."
tools/setup.sh
tools/build.sh
exec /usr/bin/python3 tools/bench/bench.py "$@"
