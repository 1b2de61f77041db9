#!/usr/bin/env bash
# Installs every Debian package zoned needs to build, run and test.
set -euo pipefail
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
PKGS=(
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  libboost-dev libldns-dev libsqlite3-dev libspdlog-dev libfmt-dev libgtest-dev libgmock-dev
  libyaml-cpp-dev libcli11-dev nlohmann-json3-dev libssl-dev
  bind9-dnsutils knot-dnsutils ldnsutils knot nsd bind9 dnsperf prometheus dnsviz
  python3 python3-pytest python3-dnspython procps iproute2
  systemd libseccomp-dev libsystemd-dev
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  $SUDO apt-get update -q
  # Package scripts must not start the peers' system services: tests start their own.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
