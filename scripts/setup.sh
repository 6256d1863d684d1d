#!/usr/bin/env bash
# Installs the Debian 12 packages hubgate needs to build and test, when any is missing.
# Usage: scripts/setup.sh [build|test|fuzz]   (test adds what the test suites use, fuzz clang and
# libFuzzer for scripts/fuzz.sh)
# Runs apt-get as root, or through sudo for a user who has it.
set -euo pipefail

want=(g++ cmake ninja-build pkg-config ca-certificates lld
      libboost1.81-dev libssl-dev nlohmann-json3-dev libspdlog-dev libyaml-cpp-dev libre2-dev libidn2-dev libunistring-dev)
if [ "${1:-build}" = fuzz ]; then
  want+=(clang libclang-rt-14-dev)
fi
if [ "${1:-build}" = test ]; then
  want+=(libgtest-dev libgmock-dev libbenchmark-dev openssl curl zlib1g-dev libicu-dev)
  # tests/node runs the official HubSpot Node client against hubgate. A node that is already on
  # PATH (e.g. NodeSource's, which bundles npm and conflicts with Debian's npm) is used as it is.
  command -v node >/dev/null || want+=(nodejs npm)
fi

missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
((${#missing[@]})) || exit 0

as_root=()
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  as_root=(sudo)
fi
echo "setup: installing ${missing[*]}" >&2
"${as_root[@]}" apt-get update -qq
# libboost1.81-dev, never libboost-dev: that is Boost 1.74, whose Asio does not build C++20
# coroutines with g++ 12.
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
