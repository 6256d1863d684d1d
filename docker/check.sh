#!/usr/bin/env bash
# Builds docker/Dockerfile and checks the image, with no Docker engine and no registry: the
# bookworm-slim base is made locally by debootstrap, buildah builds the Dockerfile (chroot
# isolation, vfs storage), and the image's hubgate then runs on the host's network in front of a
# fake HubSpot on loopback (docker/fake-hubspot.js). One PASS or FAIL line per check; exit 1 if any
# check failed. Run as root (CI does, from .ci/run).
#
# The base image, buildah's storage and its layer cache live in HUBGATE_DOCKER_CACHE (default
# /var/cache/hubgate-docker), so a second run reuses them; delete the directory to start cold.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS

cache=${HUBGATE_DOCKER_CACHE:-/var/cache/hubgate-docker}
base=docker.io/library/debian:bookworm-slim
image=localhost/hubgate:check
uid=10001 # the image's USER
buildah=(buildah --root "$cache/storage" --runroot "$cache/run" --storage-driver vfs)

passed=0 failed=0 skipped=0
pass() {
  echo "PASS $*"
  passed=$((passed + 1))
}
fail() {
  echo "FAIL $*"
  failed=$((failed + 1))
}
skip() {
  echo "SKIP $*"
  skipped=$((skipped + 1))
}
summary() { echo "check: $passed passed, $failed failed, $skipped skipped"; }
die() {
  fail "$*"
  echo "check: stopped after $((SECONDS - start)) s"
  summary
  exit 1
}

# --- tools
want=(debootstrap buildah curl openssl)
command -v node >/dev/null || want+=(nodejs)
missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "check: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
mkdir -p "$cache"

# --- what the run leaves behind is removed on every exit
tmp=$(mktemp -d /tmp/hubgate-check.XXXXXX)
pids=()
ctr=
cleanup() {
  for pid in "${pids[@]}"; do
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [ -n "$ctr" ]; then
    "${buildah[@]}" umount "$ctr" >/dev/null 2>&1 || true
    "${buildah[@]}" rm "$ctr" >/dev/null 2>&1 || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# --- the base image, as the official debian:bookworm-slim is made: minbase, without docs, man
# pages and locales, and apt set up to keep no package files.
if ! "${buildah[@]}" inspect --type image "$base" >/dev/null 2>&1; then
  echo "check: making $base with debootstrap (kept in $cache)"
  rootfs=$cache/rootfs
  # debootstrap mounts /proc, /sys and devices in the target while it runs, and an interrupted
  # run leaves them there: unmount them before removing, and never cross into another file system.
  remove_rootfs() {
    awk -v dir="$rootfs/" 'index($2, dir) == 1 { print $2 }' /proc/self/mounts | sort -r | xargs -r -n1 umount -l
    rm -rf --one-file-system "$rootfs"
  }
  remove_rootfs
  timeout 1200 debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian \
    >"$tmp/debootstrap.log" 2>&1 ||
    { tail -20 "$tmp/debootstrap.log"; die "debootstrap bookworm"; }
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/man/*
EOF
  cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  echo 'Acquire::Languages "none";' >"$rootfs/etc/apt/apt.conf.d/docker-no-languages"
  find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
  rm -rf "$rootfs"/usr/share/{man,info,groff}/* "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* \
    "$rootfs"/var/log/*.log "$rootfs"/var/log/apt/*
  base_ctr=$("${buildah[@]}" from scratch)
  mnt=$("${buildah[@]}" mount "$base_ctr")
  tar -C "$rootfs" -cf - . | tar -C "$mnt" -xpf -
  "${buildah[@]}" umount "$base_ctr" >/dev/null
  "${buildah[@]}" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd bash \
    "$base_ctr"
  "${buildah[@]}" commit --quiet --rm "$base_ctr" "$base" >/dev/null
  remove_rootfs
  echo "check: base image made ($((SECONDS - start)) s)"
fi

# --- the build. --layers keeps each step's result, so that a run reuses the package installs,
# and the compile too when the sources did not change; --force-rm removes the step's container
# when a step fails too. Docker format keeps HEALTHCHECK (OCI has no such field). The timeout is
# for a build that hangs: a cold one takes 7 minutes here, 20 on a machine busy with other builds.
build_start=$SECONDS
if timeout 2400 "${buildah[@]}" bud --isolation chroot --pull=never --layers --force-rm --format docker \
  -f docker/Dockerfile -t "$image" . >"$tmp/build.log" 2>&1; then
  pass "image builds from docker/Dockerfile ($((SECONDS - build_start)) s)"
else
  tail -60 "$tmp/build.log"
  die "image does not build from docker/Dockerfile (its log's end is above)"
fi
# The build stage's image is tagged too, or the prune below would remove it, and its layers with
# it, as an image nothing refers to: the one whose id the log shows last before the final stage's
# steps ("[2/2] STEP ...", not to be confused with ninja's "[45/45] Linking ...").
build_stage=$(awk '/^\[[0-9]+\/[0-9]+\] STEP / { split(substr($1, 2), n, "[/\\]]"); if (n[1] == n[2]) exit }
                   /^--> [0-9a-f]+$/ { id = $2 } END { print id }' "$tmp/build.log")
if [ -z "$build_stage" ] || ! "${buildah[@]}" tag "$build_stage" "$image-build" 2>/dev/null; then
  echo "check: the build stage's image ('$build_stage') could not be tagged: the next run compiles again"
fi
# The layers of earlier runs' images, whose tags have moved on: keep the cache from growing.
prune_start=$SECONDS
"${buildah[@]}" rmi --prune >/dev/null 2>&1 || true
echo "check: earlier images pruned ($((SECONDS - prune_start)) s)"

# --- the image's configuration
config() { "${buildah[@]}" inspect --type image --format "$1" "$image"; }
echo "check: image size $("${buildah[@]}" images --format '{{.Size}}' "$image")" \
  "(the bookworm-slim base made here: $("${buildah[@]}" images --format '{{.Size}}' "$base"))"
expect_config() { # description, Go template, expected value
  local got
  got=$(config "$2")
  if [ "$got" = "$3" ]; then pass "$1: $got"; else fail "$1: expected '$3', got '$got'"; fi
}
expect_config "runs as a non-root user" '{{.Docker.Config.User}}' "$uid:$uid"
expect_config "exec-form entrypoint, so hubgate is PID 1" '{{.Docker.Config.Entrypoint}} {{.Docker.Config.Cmd}}' \
  '[/usr/local/bin/hubgate] [serve]'
expect_config "healthcheck needs no shell" '{{.Docker.Config.Healthcheck.Test}}' '[CMD hubgate healthcheck]'
# shellcheck disable=SC2016 # a Go template, not shell
expect_config "exposes the proxy and admin ports" '{{range $p, $v := .Docker.Config.ExposedPorts}}{{$p}} {{end}}' \
  '8080/tcp 9090/tcp '
env_list=$(config '{{range .Docker.Config.Env}}{{.}}{{"\n"}}{{end}}')
for var in HUBGATE_LISTEN=0.0.0.0:8080 HUBGATE_ADMIN_LISTEN=0.0.0.0:9090 HUBGATE_RULES=/etc/hubgate/rules.yaml \
  HUBGATE_LOG_FORMAT=json; do
  if grep -qx "$var" <<<"$env_list"; then pass "environment default $var"; else fail "no environment default $var"; fi
done

# --- a fake HubSpot on loopback, with a certificate from a CA made for this run
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=hubgate check CA" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
  -keyout "$tmp/ca.key" -out "$tmp/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
  -keyout "$tmp/server.key" -out "$tmp/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$tmp/server.ext"
openssl x509 -req -in "$tmp/server.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -CAcreateserial -days 2 \
  -extfile "$tmp/server.ext" -out "$tmp/server.pem" 2>/dev/null
chmod 755 "$tmp" && chmod 644 "$tmp/ca.pem" # the container's user reads the CA through a bind mount
: >"$tmp/upstream.log"
exec {fake_out}< <(exec node docker/fake-hubspot.js "$tmp/server.key" "$tmp/server.pem" "$tmp/upstream.log")
pids+=($!)
read -r -t 10 -u "$fake_out" fake_port || die "the fake HubSpot did not start"
upstream=https://127.0.0.1:$fake_port

# --- the image's hubgate, on the host network, as the image's user, in front of the fake
ctr=$("${buildah[@]}" from --pull=never "$image")
# in_image COMMAND...: runs it in the container, its stdout and stderr merged on stdout (merged
# inside: buildah run loses lines when given one pipe for both) and buildah's own words in a log.
in_image() {
  "${buildah[@]}" run --isolation chroot -v "$tmp:/check:ro" "$ctr" -- sh -c 'exec "$@" 2>&1' sh "$@" \
    2>>"$tmp/buildah-run.log"
}

if version=$(in_image hubgate --version) && [[ $version == "hubgate "* ]]; then
  pass "hubgate --version: $version"
else
  fail "hubgate --version: $version"
fi
if out=$(in_image hubgate check /etc/hubgate/rules.yaml); then
  pass "the shipped rules are at /etc/hubgate/rules.yaml: $out"
else
  fail "hubgate check /etc/hubgate/rules.yaml: $out"
fi

# A free loopback port for a listener whose port hubgate does not log (the admin one).
free_port() {
  node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}
# The admin listener (/healthz) on a port of its own; a hubgate whose serve has no --admin-listen
# has nothing for the healthcheck to ask, and the check says so.
admin=()
if in_image hubgate serve --admin-listen 127.0.0.1:9 --help >/dev/null; then
  admin_port=$(free_port)
  admin=(--admin-listen "127.0.0.1:$admin_port")
fi

# Reads the server's output (fd $serve_out) into $serve_log, for up to $2 seconds, until a line
# has $1 (0) or until the output ends, when every process holding it has exited (2); 1 at the deadline.
serve_log=$tmp/serve.log
await_output() {
  local line deadline=$((SECONDS + $2))
  while ((SECONDS < deadline)); do
    if IFS= read -r -t $((deadline - SECONDS)) -u "$serve_out" line; then
      printf '%s\n' "$line" >>"$serve_log"
      [[ -n $1 && $line == *"$1"* ]] && return 0
    elif (($? > 128)); then
      return 1 # read timed out
    else
      return 2 # end of the output
    fi
  done
  return 1
}
mkfifo "$tmp/serve.fifo"
in_image hubgate serve --listen 127.0.0.1:0 --upstream "$upstream" --forms-upstream "$upstream" \
  --ca-file /check/ca.pem --threads 2 "${admin[@]}" >"$tmp/serve.fifo" &
serve_pid=$!
pids+=("$serve_pid")
exec {serve_out}<"$tmp/serve.fifo"
await_output '"listening"' 30 || { cat "$serve_log"; die "hubgate serve did not start (its output is above)"; }
port=$(sed -n 's/.*"listening".*"address":"127\.0\.0\.1:\([0-9]*\)".*/\1/p' "$serve_log")
[ -n "$port" ] || die "no port in hubgate's listening line: $(cat "$serve_log")"

# The hubgate process: buildah's descendant whose program is the image's /usr/local/bin/hubgate.
descendants() {
  local child
  # shellcheck disable=SC2013 # the file is one line of numbers
  for child in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
    echo "$child"
    descendants "$child"
  done
}
hubgate_pid=
for pid in $(descendants "$serve_pid"); do
  [[ $(readlink "/proc/$pid/exe" 2>/dev/null) == */usr/local/bin/hubgate ]] && hubgate_pid=$pid
done
[ -n "$hubgate_pid" ] || die "no hubgate process under buildah run"
pids+=("$hubgate_pid")

ids=$(awk '/^Uid:|^Gid:/ { printf "%s ", $2 }' "/proc/$hubgate_pid/status")
if [ "$ids" = "$uid $uid " ]; then pass "hubgate serve runs as uid/gid $uid"; else fail "hubgate serve runs as uid, gid: $ids"; fi

# request METHOD PATH [JSON]: prints the status line's code, then the body
request() {
  local args=(-sS --max-time 10 -o "$tmp/answer" -w '%{http_code}' -X "$1" -H 'Authorization: Bearer pat-na1-check')
  [ $# -lt 3 ] || args+=(-H 'Content-Type: application/json' --data-binary "$3")
  curl "${args[@]}" "http://127.0.0.1:$port$2" || true
  echo
  cat "$tmp/answer" 2>/dev/null || true
}

answer=$(request GET '/crm/v3/objects/contacts/42?properties=email')
if [ "$(head -1 <<<"$answer")" = 200 ] && grep -q '"id":"42"' <<<"$answer" &&
  grep -q '"url":"/crm/v3/objects/contacts/42?properties=email"' "$tmp/upstream.log"; then
  pass "a read is forwarded to HubSpot and answered: GET /crm/v3/objects/contacts/42 -> 200"
else
  fail "a read is forwarded: got $answer"
fi

answer=$(request POST /crm/v3/objects/contacts '{"properties":{"email":"jo@example.com","firstname":"Jo"}}')
if [ "$(head -1 <<<"$answer")" = 403 ] && grep -q POLICY_BLOCKED <<<"$answer" &&
  grep -q block-test-domains <<<"$answer" && ! grep -q '"method":"POST"' "$tmp/upstream.log"; then
  pass "a create the shipped rules block never reaches HubSpot: jo@example.com -> 403 by block-test-domains"
else
  fail "a blocked create: got $answer; HubSpot saw: $(cat "$tmp/upstream.log")"
fi

answer=$(request POST /crm/v3/objects/contacts '{"properties":{"email":"jo@acme.io","firstname":"Jo"}}')
if [ "$(head -1 <<<"$answer")" = 201 ] && grep -q '"hs_lead_status":"NEW"' <<<"$answer"; then
  pass "a create the shipped rules allow is forwarded, tagged by tag-api-created-contacts -> 201"
else
  fail "an allowed create: got $answer"
fi

# docker/example's integration, as compose runs it, with the official Node SDK that tests/node
# installs (the same version as the example's lock file).
sdk=tests/node/node_modules
if [ -d "$sdk/@hubspot/api-client" ]; then
  status=0
  out=$(NODE_PATH=$sdk HUBSPOT_TOKEN=pat-na1-check HUBSPOT_BASE_PATH="http://127.0.0.1:$port" \
    timeout 60 node docker/example/index.js 2>&1) || status=$?
  if [ "$status" = 0 ] && grep -q 'answered 403 POLICY_BLOCKED' <<<"$out"; then
    pass "docker/example's integration (official Node SDK) through the image: $(tr '\n' ' ' <<<"$out")"
  else
    fail "docker/example's integration exited $status: $out"
  fi
else
  skip "docker/example's integration: no $sdk (scripts/test.sh installs it)"
fi

if ((${#admin[@]})); then
  if out=$(in_image hubgate healthcheck "${admin[@]}"); then
    pass "hubgate healthcheck of the running server: $out"
  else
    fail "hubgate healthcheck of the running server: $out"
  fi
  code=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$admin_port/readyz" || true)
  if [ "$code" = 200 ]; then pass "GET /readyz on the admin port -> 200"; else fail "GET /readyz -> $code"; fi
else
  skip "hubgate healthcheck of the running server: this hubgate's serve has no --admin-listen yet"
fi
status=0
out=$(in_image hubgate healthcheck --admin-listen "0.0.0.0:$(free_port)") || status=$?
if [ "$status" = 1 ]; then
  pass "hubgate healthcheck with nothing listening exits 1: $out"
else
  fail "hubgate healthcheck with nothing listening exits $status: $out"
fi

# SIGTERM; then the output ends when hubgate and buildah have exited, and buildah passes on
# hubgate's exit status.
kill -TERM "$hubgate_pid"
status=0
await_output "" 30 || status=$?
if [ "$status" = 2 ] && wait "$serve_pid" && grep -q '"stopped"' "$serve_log"; then
  pass "SIGTERM: hubgate drains, stops and exits 0"
else
  tail -5 "$serve_log"
  fail "SIGTERM: hubgate did not stop with exit status 0"
fi

# --- as PID 1 of its own PID namespace, the way a container engine starts the entrypoint: the
# kernel delivers SIGTERM to a namespace's init only if it handles the signal.
mnt=$("${buildah[@]}" mount "$ctr")
mapfile -t image_env <<<"$env_list"
entrypoint=$(config '{{range .Docker.Config.Entrypoint}}{{.}} {{end}}{{range .Docker.Config.Cmd}}{{.}} {{end}}')
pid1_flags=(--listen 127.0.0.1:0 --threads 1)
((${#admin[@]} == 0)) || pid1_flags+=(--admin-listen "127.0.0.1:$(free_port)")
serve_log=$tmp/pid1.log
mkfifo "$tmp/pid1.fifo"
# shellcheck disable=SC2086 # the entrypoint and command are words
env -i "${image_env[@]}" unshare --pid --fork --kill-child chroot --userspec=$uid:$uid "$mnt" $entrypoint \
  "${pid1_flags[@]}" >"$tmp/pid1.fifo" 2>&1 &
unshare_pid=$!
pids+=("$unshare_pid")
exec {serve_out}<"$tmp/pid1.fifo"
if await_output '"listening"' 30; then
  pid1=$(</proc/"$unshare_pid"/task/"$unshare_pid"/children)
  pid1=${pid1%% *}
  pids+=("$pid1")
  nspid=$(awk '/^NSpid:/ { print $NF }' "/proc/$pid1/status")
  kill -TERM "$pid1"
  status=0
  await_output "" 30 || status=$?
  if [ "$nspid" = 1 ] && [ "$status" = 2 ] && wait "$unshare_pid"; then
    pass "as PID 1, SIGTERM: hubgate drains and exits 0"
  else
    tail -5 "$serve_log"
    fail "as PID 1 (pid in its namespace: $nspid), SIGTERM did not end hubgate with status 0"
  fi
else
  cat "$serve_log"
  fail "hubgate serve did not start as PID 1 (its output is above)"
fi

echo "check: $((SECONDS - start)) s"
summary
((failed == 0))
