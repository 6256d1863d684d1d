#!/usr/bin/env bash
# Instructions per request under callgrind: steadier than time on a shared machine.
#
# usage: bench/callgrind.sh [--workload reads|creates|batch|mix] [--seconds S] [--conns N]
#                           [--nginx] [--keep] [--rules FILE] [BINARY]
#   Starts the fake HubSpot of bench/upstream (TLS, nginx + Lua) and one proxy under
#   `valgrind --tool=callgrind`, warms it up with wrk, zeroes the counters, drives wrk for S
#   seconds (default 5) with N connections (default 8: few enough that wrk's timeouts never fire
#   under valgrind), dumps, and prints instructions (Ir) per request and the costliest functions
#   (TOP=60 lines). BINARY defaults to build/release/hubgate; --nginx profiles the nginx
#   pass-through anchor instead. --keep keeps the run folder with the callgrind files. --rules FILE
#   gives hubgate other rules than bench/rules.yaml (one that blocks nothing isolates the batches
#   forwarded as received from the split ones).
#   CG_PORT_SHIFT=N moves its ports (18443, 18444, 8090) up by N, so that runs can go side by side.
#   --perf samples the proxy running at full speed with `perf record` instead (no valgrind; use
#   --conns 32 as bench/run.sh does) and prints its CPU microseconds per request split by where
#   they went: the proxy's own code, the kernel, libcrypto, libc... (TOP=N also lists the N
#   costliest functions). Run it for hubgate and with --nginx to see where the two differ.
#   --code-order FILE runs hubgate under callgrind from its start to its exit instead (every
#   workload for S seconds, the admin endpoints, then SIGTERM) and writes to FILE the names of its
#   functions that ran, most instructions first: the link lays them out together
#   (cmake/code-order.txt; see "Code order" in bench/README.md).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/bench
WORKLOAD=reads SECONDS_MEASURED=5 CONNS=8 NGINX='' KEEP='' PERF='' CODE_ORDER='' BIN=$ROOT/build/release/hubgate RULES=$BENCH/rules.yaml
while (($#)); do
  case $1 in
    --workload) WORKLOAD=$2; shift ;;
    --seconds) SECONDS_MEASURED=$2; shift ;;
    --nginx) NGINX=1 ;;
    --conns) CONNS=$2; shift ;;
    --keep) KEEP=1 ;;
    --perf) PERF=1 ;;
    --code-order) CODE_ORDER=$2; shift ;;
    --rules) RULES=$(realpath "$2"); shift ;;
    *) BIN=$1 ;;
  esac
  shift
done
SHIFT=${CG_PORT_SHIFT:-0}
UPSTREAM_PORT=$((18443 + SHIFT)) COUNTER_PORT=$((18444 + SHIFT)) PROXY_PORT=$((8090 + SHIFT)) ADMIN_PORT=$((9190 + SHIFT))
WORK=$(mktemp -d /tmp/cg.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM -- "-$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "$KEEP" ]; then echo "run folder kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
wait_port() { for _ in {1..300}; do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
render() { sed -e "s|@DIR@|$3|g" -e "s|18443|$UPSTREAM_PORT|g" -e "s|18444|$COUNTER_PORT|g" -e "s|@LISTEN@|$4|g" -e "s|@CA@|$WORK/certs/ca.pem|g" \
  -e "s|@CERTS@|$WORK/certs|g" -e "s|@BENCH@|$BENCH|g" "$1" >"$2"; }

"$BENCH/certs.sh" "$WORK/certs" >/dev/null
mkdir "$WORK/upstream" "$WORK/proxy"
render "$BENCH/upstream/nginx.conf" "$WORK/upstream/nginx.conf" "$WORK/upstream" -
setsid nginx -p "$WORK/upstream" -e "$WORK/upstream/error.log" -c "$WORK/upstream/nginx.conf" >"$WORK/upstream.log" 2>&1 &
PIDS+=($!)
wait_port $UPSTREAM_PORT

CG=(valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.out" --dump-instr=no)
CHILDREN=(--trace-children=yes --callgrind-out-file="$WORK/callgrind.out.%p")
if [ -n "$PERF" ]; then
  # The proxy runs natively on CPU 0; perf attaches to it once it is warm.
  CG=(taskset -c 0) CHILDREN=()
fi
if [ -n "$CODE_ORDER" ]; then
  # Linker symbol names, and hubgate as users run it: access log and admin listener on.
  CG+=(--demangle=no)
  setsid "${CG[@]}" "$BIN" serve --threads 1 --listen 127.0.0.1:$PROXY_PORT --admin-listen 127.0.0.1:$ADMIN_PORT \
    --upstream https://127.0.0.1:$UPSTREAM_PORT --ca-file "$WORK/certs/ca.pem" \
    --rules "$ROOT/bench/rules.yaml" >"$WORK/proxy.log" 2>&1 &
  proxy_group=$!
  PIDS+=($proxy_group)
  wait_port $PROXY_PORT
  for w in reads creates batch mix; do
    wrk -t1 -c"$CONNS" --timeout 30s -d"${SECONDS_MEASURED}s" -s "$BENCH/wrk/$w.lua" http://127.0.0.1:$PROXY_PORT >/dev/null
  done
  for path in healthz readyz metrics rules clients; do curl -s -o /dev/null http://127.0.0.1:$ADMIN_PORT/$path; done
  # callgrind writes its file when hubgate exits (it drains and exits 0).
  kill -TERM -- "-$proxy_group"
  wait $proxy_group 2>/dev/null || true
  # Then the start with the shipped config (its rules compile regexes and run their tests), which
  # the load above does not take: its functions go after the first run's.
  setsid "${CG[@]/%callgrind.out/callgrind.shipped.out}" "$BIN" serve --threads 1 --listen 127.0.0.1:$PROXY_PORT \
    --admin-listen 127.0.0.1:$ADMIN_PORT --rules "$ROOT/config/rules.yaml" >"$WORK/proxy-shipped.log" 2>&1 &
  proxy_group=$!
  PIDS+=($proxy_group)
  wait_port $ADMIN_PORT
  curl -s -o /dev/null http://127.0.0.1:$ADMIN_PORT/healthz
  kill -TERM -- "-$proxy_group"
  wait $proxy_group 2>/dev/null || true
  for run in callgrind.out callgrind.shipped.out; do
    python3 "$BENCH/callgrind_self.py" "$WORK/$run" --names "$(basename "$BIN")"
  done | awk '!seen[$0]++' >"$CODE_ORDER"
  echo "$(wc -l <"$CODE_ORDER") functions that ran, most instructions first: $CODE_ORDER"
  exit 0
fi
if [ -n "$NGINX" ]; then
  render "$BENCH/nginx-passthrough.conf" "$WORK/proxy/nginx.conf" "$WORK/proxy" 127.0.0.1:$PROXY_PORT
  # nginx forks a worker; trace children too and read the worker's file.
  setsid "${CG[@]}" "${CHILDREN[@]}" \
    nginx -p "$WORK/proxy" -e "$WORK/proxy/error.log" -c "$WORK/proxy/nginx.conf" >"$WORK/proxy.log" 2>&1 &
else
  setsid "${CG[@]}" "$BIN" serve --threads 1 --access-log off --admin-listen off --listen 127.0.0.1:$PROXY_PORT \
    --upstream https://127.0.0.1:$UPSTREAM_PORT --ca-file "$WORK/certs/ca.pem" \
    --rules "$RULES" >"$WORK/proxy.log" 2>&1 &
fi
PIDS+=($!)
wait_port $PROXY_PORT
wrk -t1 -c"$CONNS" --timeout 30s -d3s -s "$BENCH/wrk/$WORKLOAD.lua" http://127.0.0.1:$PROXY_PORT >/dev/null
if [ -n "$PERF" ]; then
  # The proxy's process: the one listening on its port (nginx's anchor runs without a master).
  pid=$(ss -Hltnp "sport = :$PROXY_PORT" | grep -oE 'pid=[0-9]+' | head -1 | cut -d= -f2)
  ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
  before=$(ticks)
  perf record -q -F 2000 -g -p "$pid" -o "$WORK/perf.data" -- sleep "$SECONDS_MEASURED" >/dev/null 2>&1 &
  perf_pid=$!
  out=$(wrk -t1 -c"$CONNS" --timeout 30s -d"${SECONDS_MEASURED}s" -s "$BENCH/wrk/$WORKLOAD.lua" http://127.0.0.1:$PROXY_PORT)
  wait "$perf_pid" || true
  after=$(ticks)
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  us=$(awk -v t=$((after - before)) -v r="$requests" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", t / hz * 1e6 / r}')
  echo "workload=$WORKLOAD requests=$requests cpu-us/request=$us (perf adds a little to it)"
  perf report -i "$WORK/perf.data" --no-children --sort dso --stdio 2>/dev/null |
    awk -v us="$us" '/^ +[0-9.]+%/ {share = $1; sub("%", "", share); if (share >= 0.5) printf "%8.1f us/request %6.2f%%  %s\n", us * share / 100, share, $2}'
  if [ -n "${TOP:-}" ]; then
    perf report -i "$WORK/perf.data" --no-children --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -"$TOP" | cut -c1-200
  fi
  exit 0
fi
touch "$WORK/mark"
callgrind_control -z >/dev/null
out=$(wrk -t1 -c"$CONNS" --timeout 30s -d"${SECONDS_MEASURED}s" -s "$BENCH/wrk/$WORKLOAD.lua" http://127.0.0.1:$PROXY_PORT)
callgrind_control -d >/dev/null
requests=$(awk '/requests in/ {print $1}' <<<"$out")
# The dump with the most instructions is the process that served (nginx: its worker).
best=0 file=
while IFS= read -r f; do
  ir=$(callgrind_annotate "$f" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
  if [ -n "$ir" ] && [ "$ir" -gt "$best" ]; then best=$ir file=$f; fi
done < <(find "$WORK" -name 'callgrind.out*' -newer "$WORK/mark")
# Upstream TLS handshakes (connections wrk's stop dropped at the end of the warm-up) are shown
# apart: in a long run they amortise to nothing.
hs=$(callgrind_annotate --inclusive=yes "$file" 2>/dev/null | awk "/SSL_do_handshake/ && !done {gsub(\",\", \"\", \$1); print \$1; done=1}")
hs=${hs:-0}
echo "workload=$WORKLOAD requests=$requests Ir=$best Ir/request=$((best / requests)) handshake-Ir/request=$((hs / requests)) rest-Ir/request=$(((best - hs) / requests))"
callgrind_annotate --inclusive=yes "$file" >"$WORK/inclusive.txt" 2>/dev/null || true
sed -n '/^-* *$/,$p' "$WORK/inclusive.txt" | sed -n "1,${TOP:-60}p" | cut -c1-220
