#!/usr/bin/env bash
# Where hubgate's memory goes: resident set at idle and under load, split by mapping.
#
# usage: bench/memory.sh [--workload reads|creates|batch|mix] [--seconds S] [--conns N] [--massif]
#                        [BINARY]
#   Starts the fake HubSpot of bench/upstream (TLS, nginx + Lua) and hubgate (BINARY, default
#   build/release/hubgate; --threads 1, pinned to CPU 0, the bench's rules), prints its VmRSS split
#   into anonymous and file pages one second after start, drives wrk (N connections, default 32)
#   for S seconds (default 4) and prints VmHWM and the mappings that hold the most, as seen
#   S-1 seconds into the load. --massif runs hubgate under valgrind's massif instead and prints the
#   heap's largest holders at its peak (slow: use it for where, not how much).
#   MEM_PORT_SHIFT=N moves its ports (18643, 18644, 8290) up by N. MEM_KEEP=1 keeps the run folder
#   (with --massif, its massif.out for `ms_print --threshold=2`).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/bench
WORKLOAD=batch SECONDS_LOADED=4 CONNS=32 MASSIF='' BIN=$ROOT/build/release/hubgate
while (($#)); do
  case $1 in
    --workload) WORKLOAD=$2; shift ;;
    --seconds) SECONDS_LOADED=$2; shift ;;
    --conns) CONNS=$2; shift ;;
    --massif) MASSIF=1 ;;
    *) BIN=$1 ;;
  esac
  shift
done
SHIFT=${MEM_PORT_SHIFT:-0}
UPSTREAM_PORT=$((18643 + SHIFT)) COUNTER_PORT=$((18644 + SHIFT)) PROXY_PORT=$((8290 + SHIFT))
WORK=$(mktemp -d /tmp/mem.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM -- "-$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "${MEM_KEEP:-}" ]; then echo "run folder kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
wait_port() { for _ in {1..300}; do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
render() { sed -e "s|@DIR@|$3|g" -e "s|18443|$UPSTREAM_PORT|g" -e "s|18444|$COUNTER_PORT|g" -e "s|@CERTS@|$WORK/certs|g" \
  -e "s|@BENCH@|$BENCH|g" "$1" >"$2"; }
status() { awk -v keys="$2" 'BEGIN {n = split(keys, k, " ")} {for (i = 1; i <= n; i++) if ($1 == k[i] ":") printf "%s %.1f MB  ", k[i], $2 / 1024} END {print ""}' "/proc/$1/status"; }
mappings() {
  awk '/^[0-9a-f]+-/ {name = $6 != "" ? $6 : "[anonymous]"} /^Rss:/ {rss[name] += $2}
       END {for (n in rss) if (rss[n] >= 100) printf "%8.1f MB  %s\n", rss[n] / 1024, n}' "/proc/$1/smaps" | sort -rn | head -12
}

# A stale code order (cmake/code-order.txt) shows as more resident code: say how much of it the
# binary still has.
if [ -s "$ROOT/cmake/code-order.txt" ] && command -v nm >/dev/null; then
  listed=$(wc -l <"$ROOT/cmake/code-order.txt")
  found=$(nm --defined-only "$BIN" 2>/dev/null | awk '{print $NF}' | sort -u | comm -12 - <(sort -u "$ROOT/cmake/code-order.txt") | wc -l)
  echo "code order: $found of the $listed functions cmake/code-order.txt lists are in the binary"
fi
"$BENCH/certs.sh" "$WORK/certs" >/dev/null
mkdir "$WORK/upstream"
render "$BENCH/upstream/nginx.conf" "$WORK/upstream/nginx.conf" "$WORK/upstream"
setsid nginx -p "$WORK/upstream" -e "$WORK/upstream/error.log" -c "$WORK/upstream/nginx.conf" >"$WORK/upstream.log" 2>&1 &
PIDS+=($!)
wait_port $UPSTREAM_PORT

PREFIX=(taskset -c 0)
[ -n "$MASSIF" ] && PREFIX+=(valgrind --tool=massif --massif-out-file="$WORK/massif.out")
setsid "${PREFIX[@]}" "$BIN" serve --threads 1 --admin-listen off --listen 127.0.0.1:$PROXY_PORT \
  --upstream https://127.0.0.1:$UPSTREAM_PORT --ca-file "$WORK/certs/ca.pem" --rules "$BENCH/rules.yaml" \
  >"$WORK/proxy.log" 2>&1 &
proxy_group=$!
PIDS+=($proxy_group)
wait_port $PROXY_PORT
pid=$(ss -Hltnp "sport = :$PROXY_PORT" | grep -oE 'pid=[0-9]+' | head -1 | cut -d= -f2)
sleep 1
echo "idle:  $(status "$pid" "VmRSS RssAnon RssFile")"
[ -z "$MASSIF" ] && mappings "$pid"
wrk -t1 -c"$CONNS" --timeout 30s -d"${SECONDS_LOADED}s" -s "$BENCH/wrk/$WORKLOAD.lua" http://127.0.0.1:$PROXY_PORT \
  >"$WORK/wrk.out" &
wrk_pid=$!
sleep $((SECONDS_LOADED - 1))
echo "load:  $(status "$pid" "VmHWM VmRSS RssAnon RssFile")  ($WORKLOAD, $CONNS connections)"
[ -z "$MASSIF" ] && mappings "$pid"
wait $wrk_pid
if [ -n "$MASSIF" ]; then
  # massif writes its file when the program exits: stop hubgate (it drains and exits 0) first.
  kill -TERM -- "-$proxy_group"
  wait $proxy_group 2>/dev/null || true
  echo "heap at its peak (massif; ms_print $WORK/massif.out for the whole tree):"
  ms_print --threshold=1 "$WORK/massif.out" | awk '
    /Detailed snapshots:/ {match($0, /[0-9]+ \(peak\)/); peak = substr($0, RSTART, RLENGTH); sub(/ .*/, "", peak)}
    peak != "" && $1 == peak && $2 ~ /^[0-9,]+$/ {tree = 1; print "snapshot " $1 ": " $3 " bytes of heap"; next}
    tree && /^ +[0-9]+ +[0-9,]+ +[0-9,]+/ {exit}
    tree && /^->/ {sub(/ \(in [^)]*\)$/, ""); print substr($0, 1, 160)}' | head -18
fi
