#!/usr/bin/env bash
# Installs what is missing, builds hubgate and its tests with warnings as errors, and runs every
# test suite. `--asan` does the same in an AddressSanitizer + UndefinedBehaviorSanitizer build.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test

dir=build/test flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
if [ "${1:-}" = --asan ]; then
  dir=build/asan flags=(-DCMAKE_BUILD_TYPE=Debug -DHUBGATE_ENABLE_ASAN_UBSAN=ON)
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
jobs=$(nproc)
cmake -S . -B "$dir" -G Ninja -DHUBGATE_WARNINGS_AS_ERRORS=ON -DHUBGATE_BUILD_TESTS=ON "${flags[@]}" >/dev/null
cmake --build "$dir" -j "$jobs"
# The Node SDK test (tests/node) needs its packages: install them when missing or older than the
# lock file (npm ci writes node_modules/.package-lock.json).
node_lock=tests/node/node_modules/.package-lock.json
if [ ! -e "$node_lock" ] || [ tests/node/package-lock.json -nt "$node_lock" ] ||
   [ tests/node/package.json -nt "$node_lock" ]; then
  (cd tests/node && npm ci --no-audit --no-fund)
fi
ctest --test-dir "$dir" --output-on-failure -j "$jobs" --timeout 300
