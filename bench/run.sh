#!/usr/bin/env bash
# Load test: hubgate next to nginx as a plain pass-through proxy, both in front of a fake HubSpot
# that speaks TLS on loopback. Prints a markdown table; bench/README.md explains every column.
#
# Usage: bench/run.sh [--duration S] [--warmup S] [--workloads "reads creates batch mix"]
#                     [--rounds N] [--conns N] [--binary PATH] [--rules FILE] [--no-nginx] [--direct] [--keep]
#   --duration S   seconds measured per workload and proxy (default 10)
#   --warmup S     seconds of load before each measurement, not counted (default 2)
#   --workloads W  any of reads creates batch mix, space separated (default all four)
#   --rounds N     repeat everything N times; with N > 1 a table of medians follows (default 1)
#   --conns N      wrk connections (default 32)
#   --binary PATH  the hubgate to measure (default build/release/hubgate; this script builds nothing)
#   --rules FILE   hubgate's rules (default bench/rules.yaml, the anchors' policy; bench/rules-split.yaml
#                  splits batches, hubgate's default)
#   --no-nginx     measure hubgate alone (no ratio column)
#   --direct       also a row "direct": wrk straight to the fake HubSpot over plain HTTP, no proxy,
#                  the latency floor of this machine (its CPU and RSS columns are the fake HubSpot's)
#   --keep         keep the run folder (configs, certificates, logs) instead of deleting it
#
# The proxies run on CPU 0; the fake HubSpot, wrk and this script on CPU 1. Missing Debian
# packages (wrk nginx libnginx-mod-http-lua openssl curl) are installed when run as root.
# Ports: 18443 (fake HubSpot, TLS), 18444 (its counters), 18080 (hubgate), 18081 (nginx),
# 18082 (hubgate started and stopped a few times to time its start), 18445 (--direct).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/bench
COMMAND=bench/run.sh
for arg in "$@"; do
  if [[ $arg == *[[:space:]]* ]]; then COMMAND+=" \"$arg\""; else COMMAND+=" $arg"; fi
done

UPSTREAM_PORT=18443 COUNTER_PORT=18444 HUBGATE_PORT=18080 NGINX_PORT=18081 SCRATCH_PORT=18082 DIRECT_PORT=18445
DURATION=10 WARMUP=2 WORKLOADS="reads creates batch mix" ROUNDS=1 CONNS=32
BINARY=$ROOT/build/release/hubgate WITH_NGINX=1 DIRECT= KEEP= RULES=$ROOT/bench/rules.yaml

RUN=
die() {
  echo "bench/run.sh: $*" >&2
  if [ -n "$RUN" ] && [ -z "$KEEP" ]; then echo "bench/run.sh: --keep keeps the run folder and its logs" >&2; fi
  exit 1
}
usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }
whole_number() { [[ $2 =~ ^[0-9]+$ ]] || die "$1 takes a whole number, not '$2'"; }

while (($#)); do
  case $1 in
    --duration | --warmup | --rounds | --conns | --workloads | --binary | --rules)
      (($# >= 2)) || die "$1 needs a value"
      case $1 in
        --duration) whole_number "$1" "$2"; DURATION=$2 ;;
        --warmup) whole_number "$1" "$2"; WARMUP=$2 ;;
        --rounds) whole_number "$1" "$2"; ROUNDS=$2 ;;
        --conns) whole_number "$1" "$2"; CONNS=$2 ;;
        --workloads) WORKLOADS=$2 ;;
        --binary) BINARY=$(realpath -m "$2") ;;
        --rules) RULES=$(realpath -m "$2") ;;
      esac
      shift ;;
    --no-nginx) WITH_NGINX= ;;
    --direct) DIRECT=1 ;;
    --keep) KEEP=1 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
  shift
done
((DURATION > 0 && ROUNDS > 0 && CONNS > 0)) || die "--duration, --rounds and --conns must be above 0"
for w in $WORKLOADS; do
  [ -f "$BENCH/wrk/$w.lua" ] || die "no workload '$w' (there are: reads creates batch mix)"
done

if [ ! -x "$BINARY" ]; then
  die "no hubgate at $BINARY. Build a Release binary first, e.g.:
  cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DHUBGATE_WARNINGS_AS_ERRORS=OFF
  cmake --build build/release --target hubgate
(scripts/run.sh builds the same folder), or pass --binary PATH."
fi
CORES=$(getconf _NPROCESSORS_ONLN)
((CORES >= 2)) || die "needs two cores: the proxies get CPU 0, the load generator and upstream CPU 1"

# --- packages ---------------------------------------------------------------------------------
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v nginx >/dev/null || missing+=(nginx)
[ -e /usr/lib/nginx/modules/ngx_http_lua_module.so ] || missing+=(libnginx-mod-http-lua)
command -v openssl >/dev/null || missing+=(openssl)
command -v curl >/dev/null || missing+=(curl)
if ((${#missing[@]})); then
  [ "$(id -u)" = 0 ] || die "missing packages; as root: apt-get install --no-install-recommends ${missing[*]}"
  echo "bench/run.sh: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- run folder, and stopping everything this script started -----------------------------------
RUN=$(mktemp -d /tmp/hubgate-bench.XXXXXX)
STARTED=()
cleanup() {
  local pid
  for pid in "${STARTED[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${STARTED[@]}"; do
    for _ in {1..50}; do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ -n "$KEEP" ]; then echo "bench/run.sh: run folder kept: $RUN" >&2; else rm -rf "$RUN"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# This script and everything it starts run on CPU 1 unless started with another core.
taskset -pc 1 $$ >/dev/null
# Only the flags below configure hubgate: no HUBGATE_* variable of the caller's environment.
while read -r name; do unset "$name"; done < <(compgen -e HUBGATE_ || true)

# launch LOG CPU CMD...: runs CMD in the background on core CPU, output to $RUN/LOG; sets LAUNCHED.
launch() {
  local log=$1 cpu=$2
  shift 2
  taskset -c "$cpu" "$@" >>"$RUN/$log" 2>&1 &
  LAUNCHED=$!
  STARTED+=("$LAUNCHED")
}
# stop PID: stops a process launch() started, and forgets it.
stop() {
  local pid kept=()
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  for pid in "${STARTED[@]}"; do [ "$pid" = "$1" ] || kept+=("$pid"); done
  STARTED=("${kept[@]}")
}
accepting() { : 2>/dev/null 3<>"/dev/tcp/127.0.0.1/$1"; }
# await PORT PID LOG: polls until PORT accepts, without sleeping (this runs on the other core) nor
# forking; fails when PID exits or after 10 s, showing the end of LOG.
await() {
  local deadline=$((${EPOCHREALTIME/./} + 10000000))
  until accepting "$1"; do
    if ! kill -0 "$2" 2>/dev/null || ((${EPOCHREALTIME/./} > deadline)); then
      tail -n 20 "$RUN/$3" >&2
      die "nothing accepts on port $1 (log above, from $3)"
    fi
  done
}
# fill TEMPLATE OUT DIR [LISTEN]: a config from a template in bench/.
fill() {
  sed -e "s|@DIR@|$3|g" -e "s|@LISTEN@|${4:-}|g" -e "s|@CA@|$RUN/certs/ca.pem|g" \
    -e "s|@CERTS@|$RUN/certs|g" -e "s|@BENCH@|$BENCH|g" "$1" >"$2"
}

for port in $UPSTREAM_PORT $COUNTER_PORT $HUBGATE_PORT $NGINX_PORT $SCRATCH_PORT ${DIRECT:+$DIRECT_PORT}; do
  ! accepting "$port" || die "port $port is in use (is another bench or callgrind.sh running?)"
done

# --- the fake HubSpot (CPU 1) -----------------------------------------------------------------
"$BENCH/certs.sh" "$RUN/certs"
mkdir "$RUN/upstream"
fill "$BENCH/upstream/nginx.conf" "$RUN/upstream/nginx.conf" "$RUN/upstream"
[ -z "$DIRECT" ] || sed -i "s|# @DIRECT_LISTEN@.*|listen 127.0.0.1:$DIRECT_PORT;|" "$RUN/upstream/nginx.conf"
launch upstream.log 1 nginx -p "$RUN/upstream" -e "$RUN/upstream/error.log" -c "$RUN/upstream/nginx.conf"
await "$UPSTREAM_PORT" "$LAUNCHED" upstream.log
UPSTREAM_PID=$LAUNCHED

# --- the proxies (CPU 0) ----------------------------------------------------------------------
HUBGATE=("$BINARY" serve --threads 1 --access-log off --upstream "https://127.0.0.1:$UPSTREAM_PORT"
  --ca-file "$RUN/certs/ca.pem" --rules "$RULES")
serve_help=$("$BINARY" serve --help 2>&1 || true)
[[ $serve_help != *--admin-listen* ]] || HUBGATE+=(--admin-listen off)

# Time to ready: from just before exec to the first accepted connection, over a few starts.
READY_US=()
for _ in 1 2 3 4 5; do
  start=${EPOCHREALTIME/./}
  launch ready.log 0 "${HUBGATE[@]}" --listen "127.0.0.1:$SCRATCH_PORT"
  await "$SCRATCH_PORT" "$LAUNCHED" ready.log
  READY_US+=($((${EPOCHREALTIME/./} - start)))
  stop "$LAUNCHED"
done

rss_mb() { awk -v key="$2:" '$1 == key {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }

PROXIES=() PID=() URL=()
if [ -n "$WITH_NGINX" ]; then
  mkdir "$RUN/nginx"
  fill "$BENCH/nginx-passthrough.conf" "$RUN/nginx/nginx.conf" "$RUN/nginx" "127.0.0.1:$NGINX_PORT"
  launch nginx.log 0 nginx -p "$RUN/nginx" -e "$RUN/nginx/error.log" -c "$RUN/nginx/nginx.conf"
  await "$NGINX_PORT" "$LAUNCHED" nginx.log
  PROXIES+=(nginx) PID+=("$LAUNCHED") URL+=("http://127.0.0.1:$NGINX_PORT")
  NGINX_IDLE_RSS=$(rss_mb "$LAUNCHED" VmRSS)
fi
launch hubgate.log 0 "${HUBGATE[@]}" --listen "127.0.0.1:$HUBGATE_PORT"
await "$HUBGATE_PORT" "$LAUNCHED" hubgate.log
PROXIES+=(hubgate) PID+=("$LAUNCHED") URL+=("http://127.0.0.1:$HUBGATE_PORT")
HUBGATE_PID=$LAUNCHED
HUBGATE_IDLE_RSS=$(rss_mb "$HUBGATE_PID" VmRSS)
# No proxy: what wrk and the fake HubSpot alone, sharing CPU 1, make of the latency.
if [ -n "$DIRECT" ]; then
  PROXIES+=(direct) PID+=("$UPSTREAM_PID") URL+=("http://127.0.0.1:$DIRECT_PORT")
fi

# --- smoke test: the gate decides, and both proxies reach the upstream ---------------------------
# status URL [BODY]: the HTTP status of a GET, or of a POST of BODY.
status() {
  local args=(-s -o /dev/null -w '%{http_code}' --max-time 5 -H 'Content-Type: application/json')
  [ -z "${2:-}" ] || args+=(--data-binary "$2")
  curl "${args[@]}" "$1" || true
}
contacts=/crm/v3/objects/contacts
allowed='{"properties":{"firstname":"Ann","email":"ann@northwind.co"}}'
blocked='{"properties":{"firstname":"Bob","email":"bob@example.org"}}'
mixed_batch='{"inputs":[{"properties":{"email":"ann@northwind.co"}},{"properties":{"email":"bob@sub.example.org"}}]}'
hg=http://127.0.0.1:$HUBGATE_PORT
smoke_hubgate="GET $(status "$hg$contacts/1001"), allowed create $(status "$hg$contacts" "$allowed")"
smoke_hubgate+=", blocked create $(status "$hg$contacts" "$blocked")"
smoke_hubgate+=", batch with a blocked item $(status "$hg$contacts/batch/create" "$mixed_batch")"
if [[ $smoke_hubgate != "GET 200, allowed create 201, blocked create 403, "* ]]; then
  tail -n 20 "$RUN/hubgate.log" >&2
  die "hubgate fails the smoke test: $smoke_hubgate (expected GET 200, allowed create 201, blocked create 403)"
fi
if [ -n "$WITH_NGINX" ]; then
  ng=http://127.0.0.1:$NGINX_PORT
  smoke_nginx="GET $(status "$ng$contacts/1001"), create $(status "$ng$contacts" "$blocked")"
  [ "$smoke_nginx" = "GET 200, create 201" ] || die "nginx fails the smoke test: $smoke_nginx"
fi

# --- measuring --------------------------------------------------------------------------------
CLK_TCK=$(getconf CLK_TCK)
# cpu_ticks PID: user time, then system time, of every thread of PID, in clock ticks.
cpu_ticks() {
  local stat fields
  stat=$(<"/proc/$1/stat")
  read -ra fields <<<"${stat##*) }"
  echo "${fields[11]} ${fields[12]}"
}
# upstream_count: requests the fake HubSpot has served (the query itself is one of them).
upstream_count() { curl -s --max-time 5 "http://127.0.0.1:$COUNTER_PORT/" | awk 'NR == 3 {print $3}'; }
# cpu0_jiffies: busy and total jiffies of CPU 0 so far.
cpu0_jiffies() { awk '$1 == "cpu0" {print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat; }
load_test() { taskset -c 1 wrk -t1 -c"$CONNS" -d"$1s" --timeout 5s -s "$BENCH/wrk/$2.lua" "$3"; }

# measure ROUND WORKLOAD INDEX: appends one tab-separated row to $RUN/rows.
measure() {
  local round=$1 workload=$2 i=$3
  local pid=${PID[$3]} out line fields kv user0 system0 user1 system1 count0 count1 jiffies0 jiffies1
  local requests seconds rps p50_ms p99_ms http_errors socket_errors
  # The peak RSS (VmHWM) starts again from the current RSS (needs root or the proxy's owner).
  echo 5 2>/dev/null >"/proc/$pid/clear_refs" || true
  if ((WARMUP > 0)); then
    load_test "$WARMUP" "$workload" "${URL[i]}" >/dev/null
    sleep 0.2 # the requests wrk left in flight reach the upstream before it is counted
  fi
  read -r user0 system0 < <(cpu_ticks "$pid")
  count0=$(upstream_count) jiffies0=$(cpu0_jiffies)
  out=$(load_test "$DURATION" "$workload" "${URL[i]}") || die "wrk failed on $workload through ${PROXIES[i]}"
  jiffies1=$(cpu0_jiffies) count1=$(upstream_count)
  read -r user1 system1 < <(cpu_ticks "$pid")
  if ! kill -0 "$pid" 2>/dev/null; then
    tail -n 20 "$RUN/${PROXIES[i]}.log" >&2
    die "${PROXIES[i]} exited during $workload (its log above)"
  fi
  line=$(grep '^BENCH ' <<<"$out") || die "no result from wrk: $out"
  read -ra fields <<<"${line#BENCH }"
  for kv in "${fields[@]}"; do
    case ${kv%%=*} in
      requests | seconds | rps | p50_ms | p99_ms | http_errors | socket_errors) printf -v "${kv%%=*}" '%s' "${kv#*=}" ;;
    esac
  done
  ((requests > 0)) || die "no request completed: $workload through ${PROXIES[i]}"
  awk -v OFS='\t' -v round="$round" -v workload="$workload" -v proxy="${PROXIES[i]}" -v rps="$rps" \
    -v p50="$p50_ms" -v p99="$p99_ms" -v n="$requests" -v bad="$http_errors" -v sock="$socket_errors" \
    -v up=$((count1 - count0 - 1)) -v ticks=$((user1 + system1 - user0 - system0)) -v user_ticks=$((user1 - user0)) -v hz="$CLK_TCK" -v secs="$seconds" \
    -v peak="$(rss_mb "$pid" VmHWM)" -v j0="$jiffies0" -v j1="$jiffies1" 'BEGIN {
      split(j0, a, " "); split(j1, b, " ")
      own = 100 * ticks / hz / secs                     # the proxy, in % of CPU 0
      other = 100 * (b[1] - a[1]) / (b[2] - a[2]) - own # everything else on CPU 0
      if (other < 0) other = 0
      print round, workload, proxy, rps, p50, p99, 100 * bad / n, 100 * up / n, 1e6 * ticks / hz / n, peak, other, sock,
        1e6 * user_ticks / hz / n
    }' >>"$RUN/rows"
}

START=$SECONDS
total=$((ROUNDS * $(wc -w <<<"$WORKLOADS") * ${#PROXIES[@]})) done_rows=0
for round in $(seq "$ROUNDS"); do
  order=("${!PROXIES[@]}")
  # Even rounds measure the proxies in the other order, so drift over time does not favour one.
  if ((round % 2 == 0)); then mapfile -t order < <(printf '%s\n' "${order[@]}" | tac); fi
  for workload in $WORKLOADS; do
    for i in "${order[@]}"; do
      done_rows=$((done_rows + 1))
      echo "bench/run.sh: [$done_rows/$total] round $round, $workload through ${PROXIES[i]}" >&2
      measure "$round" "$workload" "$i"
    done
  done
done
HUBGATE_AFTER_RSS=$(rss_mb "$HUBGATE_PID" VmRSS)

# table ROWS: the markdown table(s) of the rows measure() wrote; the ratio is each row's CPU us/req
# over nginx's in the same round and workload. With more than one round, per-round rows and then
# the median of each column over the rounds (of the ratios, not a ratio of medians).
table() {
  awk -F'\t' -v rounds="$ROUNDS" -v proxies="${PROXIES[*]}" -v anchor="${WITH_NGINX:+nginx}" '
    function median(values,    v, n, i, j, t) {
      n = split(values, v, " ")
      for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
      return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    }
    function cells(rps, p50, p99, bad, up, us, user, ratio, peak) {
      return sprintf("%.0f | %.2f | %.2f | %.1f | %.1f | %.1f | %.1f | %s | %.1f", rps, p50, p99, bad, up, us, user,
        ratio == "-" ? "-" : sprintf("%.2f", ratio), peak)
    }
    {
      at[$1, $2, $3] = NR; line[NR] = $0
      if (!($2 in known)) { known[$2] = 1; workloads[++nw] = $2 }
    }
    END {
      np = split(proxies, proxy, " ")
      head = "| workload | proxy | req/s | p50 ms | p99 ms | non-2xx % | upstream req % | CPU µs/req | user µs/req | vs nginx | peak RSS MB |"
      rule = "|---|---|---|---|---|---|---|---|---|---|---|"
      per_round = rounds > 1
      printf "%s%s CPU0 other %% |\n", per_round ? "| round " : "", head
      printf "%s%s---|\n", per_round ? "|---" : "", rule
      for (r = 1; r <= rounds; r++) for (w = 1; w <= nw; w++) for (p = 1; p <= np; p++) {
        if (!((r, workloads[w], proxy[p]) in at)) continue
        split(line[at[r, workloads[w], proxy[p]]], f, "\t")
        ratio = "-"
        if (anchor != "" && proxy[p] != "direct" && (r, workloads[w], anchor) in at) {
          split(line[at[r, workloads[w], anchor]], a, "\t")
          if (a[9] > 0) ratio = f[9] / a[9]
        }
        k = workloads[w] SUBSEP proxy[p]
        for (c = 4; c <= 13; c++) all[k, c] = all[k, c] " " f[c]
        all[k, "ratio"] = all[k, "ratio"] " " ratio
        printf "%s| %s | %s | %s | %.0f |\n", (per_round ? "| " r " " : ""), f[2], f[3],
          cells(f[4], f[5], f[6], f[7], f[8], f[9], f[13], ratio, f[10]), f[11]
      }
      if (!per_round) exit
      printf "\nMedians over %d rounds:\n\n%s\n%s\n", rounds, head, rule
      for (w = 1; w <= nw; w++) for (p = 1; p <= np; p++) {
        k = workloads[w] SUBSEP proxy[p]
        if (!((k, 4) in all)) continue
        ratio = all[k, "ratio"] ~ /-/ ? "-" : median(all[k, "ratio"])
        printf "| %s | %s | %s |\n", workloads[w], proxy[p], cells(median(all[k, 4]), median(all[k, 5]),
          median(all[k, 6]), median(all[k, 7]), median(all[k, 8]), median(all[k, 9]), median(all[k, 13]), ratio,
          median(all[k, 10]))
      }
    }' "$1"
}

# --- report -----------------------------------------------------------------------------------
mapfile -t sorted_ready < <(printf '%s\n' "${READY_US[@]}" | sort -n)
ms() { awk -v us="$1" 'BEGIN {printf "%.1f", us / 1000}'; }
cpu_model=$(awk -F': *' '$1 ~ /^model name/ {print $2; exit}' /proc/cpuinfo)
echo "# hubgate bench, $(date -u '+%Y-%m-%d %H:%M UTC'): $CORES cores ($cpu_model), Linux $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $("$BINARY" --version 2>&1 | head -n1) ($BINARY), $(nginx -v 2>&1 | sed 's/^nginx version: //'), $(wrk -v 2>&1 | awk 'NR == 1 {print $1, $2}')"
echo "# command: $COMMAND"
echo "# wrk -t1 -c$CONNS, ${WARMUP} s warm-up + ${DURATION} s measured per row; proxies on CPU 0, fake HubSpot + wrk on CPU 1"
echo "# smoke through hubgate: $smoke_hubgate${WITH_NGINX:+; through nginx: $smoke_nginx}"
echo "# hubgate ready $(ms "${sorted_ready[2]}") ms after exec (median of 5 starts, $(ms "${sorted_ready[0]}")-$(ms "${sorted_ready[4]}") ms);" \
  "idle RSS $HUBGATE_IDLE_RSS MB at start, $HUBGATE_AFTER_RSS MB after the load${WITH_NGINX:+ (nginx: $NGINX_IDLE_RSS MB at start)}"
if grep -q '^batches: *whole' "$RULES"; then
  echo "# rules $RULES: hubgate should answer 403 to 50 % of creates, 50 % of batch and 10 % of mix, and pass on the rest"
else
  echo "# rules $RULES: hubgate should answer 403 to 50 % of creates and 7.5 % of mix, and pass on 50 % of creates, 100 % of batch (207 when an item is blocked), 92.5 % of mix"
fi
echo
table "$RUN/rows"
awk -F'\t' '$12 > 0 {printf "\nnote: %s through %s, round %s: %d socket errors (connect/read/write/timeout)\n", $2, $3, $1, $12}' "$RUN/rows"
echo
echo "# measured in $((SECONDS - START)) s"
