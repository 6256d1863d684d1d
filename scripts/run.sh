#!/usr/bin/env bash
# Installs what is missing, builds hubgate (Release) and runs it with the shipped config.
# Extra arguments go to `hubgate serve`, e.g. scripts/run.sh --listen 0.0.0.0:8080
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DHUBGATE_BUILD_TESTS=OFF \
  -DHUBGATE_WARNINGS_AS_ERRORS=OFF >/dev/null
cmake --build build/release --target hubgate
exec build/release/hubgate serve --rules config/rules.yaml "$@"
