#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang, ASan and UBSan, and runs them for a bounded
# time from the seed corpus of real HubSpot requests (tests/fuzz/corpus): the request path for
# `seconds`, then the JSON scanner against its reference for half as long.
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
cmake --build "$dir" -j "$(nproc)" --target hubgate_request_fuzz hubgate_json_scan_fuzz

# New inputs found in this run go to a scratch corpus; the checked-in seeds are only read.
mkdir -p "$dir/artifacts" "$dir/corpus"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
"$dir/tests/fuzz/hubgate_request_fuzz" "$dir/corpus" tests/fuzz/corpus \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -artifact_prefix="$dir/artifacts/" -print_final_stats=1
# The JSON scanner against the previous one (tests/reference), on both of its block readers: half
# as long again, from the same seeds (their bodies are JSON).
mkdir -p "$dir/json_corpus"
"$dir/tests/fuzz/hubgate_json_scan_fuzz" "$dir/json_corpus" tests/fuzz/corpus \
  -max_total_time="$((seconds / 2))" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
  -artifact_prefix="$dir/artifacts/" -print_final_stats=1
echo "fuzz: no crash, hang, sanitizer report or scanner difference in $((seconds + seconds / 2)) s"
