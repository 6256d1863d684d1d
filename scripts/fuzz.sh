#!/usr/bin/env bash
# Builds the libFuzzer target of the request path (tests/fuzz) with clang, ASan and UBSan, and runs
# it for a bounded time from the seed corpus of real HubSpot requests (tests/fuzz/corpus).
# Usage: scripts/fuzz.sh [seconds]    (default 60; HUBGATE_FUZZ_BUILD_DIR overrides build/fuzz)
# A crash, a hang (a single input over 10 s) or a sanitizer report fails the run and leaves the
# input as build/fuzz/artifacts/crash-* (or timeout-*, oom-*): fix it, then add it to the corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
scripts/setup.sh fuzz

dir=${HUBGATE_FUZZ_BUILD_DIR:-build/fuzz}
CC=clang CXX=clang++ cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHUBGATE_BUILD_TESTS=OFF \
  -DHUBGATE_BUILD_FUZZERS=ON -DHUBGATE_WARNINGS_AS_ERRORS=ON >/dev/null
cmake --build "$dir" -j "$(nproc)" --target hubgate_request_fuzz

# New inputs found in this run go to a scratch corpus; the checked-in seeds are only read.
mkdir -p "$dir/artifacts" "$dir/corpus"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
"$dir/tests/fuzz/hubgate_request_fuzz" "$dir/corpus" tests/fuzz/corpus \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -artifact_prefix="$dir/artifacts/" -print_final_stats=1
echo "fuzz: no crash, hang or sanitizer report in ${seconds} s"
