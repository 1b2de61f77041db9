#!/usr/bin/env bash
# Installs dependencies, builds, and runs zoned in the foreground on the example zones in etc/
# (127.0.0.1:5353 and [::1]:5353). Try: dig @127.0.0.1 -p 5353 www.example.com A
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
tools/build.sh
exec build/zoned --config etc/zoned.yaml
