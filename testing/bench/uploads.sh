#!/usr/bin/env bash
# Storing uploads: server CPU time per MB stored, epollhttp's tus endpoint
# (durable: fdatasync and a committed record before each 201) against nginx's
# WebDAV PUT (temp file + rename, no fsync) and @tus/server with
# @tus/file-store (no fsync), with epollhttp's hello path (which discards the
# bytes) as the floor. Not a test: it prints numbers.
#
#   testing/bench/uploads.sh [ROUNDS]      (default 3 rounds)
#
# The workload is the tutorial's: //loadgen, 4 clients x 100 x 3.7 MB, each
# request a whole upload (tus: a creation-with-upload POST; nginx: a PUT
# over one file). Every server gets 2 cores' worth of workers (epollhttp
# --threads 2 with its worker pool, nginx 2 workers, Node one process). The
# servers' CPU (user + system, the process and its children) is read from
# /proc around each run; rounds interleave the servers, and the medians (and
# ranges) are printed, per MB of body stored.
#
# Installs its peers if missing: nginx-light (Debian) and, from npm, the
# versions pinned in testing/bench/tus-node/package-lock.json.
set -euo pipefail
# shellcheck source=testing/bench/lib.sh
source "$(dirname "$0")/lib.sh"

rounds=${1:-3}
require_count "$rounds" "usage: testing/bench/uploads.sh [ROUNDS]"
bench_start TERM
install_peers nginx-light
build_binaries //server //loadgen
loadgen_bin=$bin/loadgen/loadgen
body=3748935
hz=$(getconf CLK_TCK)

# @tus/server, from the pinned lockfile.
cp -r "$root/testing/bench/tus-node" "$work/tus-node"
(cd "$work/tus-node" && npm ci --no-audit --no-fund --loglevel=error) >"$work/npm.log" 2>&1 ||
  { tail -5 "$work/npm.log" >&2; echo "bench: npm ci failed" >&2; exit 1; }

# --- Servers ----------------------------------------------------------------
mkdir -p "$work/epollhttp-uploads"
start_epollhttp_in "$work/epollhttp" --threads 2 --upload_dir "$work/epollhttp-uploads" \
  --upload_max_incomplete 100000
epollhttp_pid=$server_pid epollhttp_port=$server_port

dav_port=$(free_port)
mkdir -p "$work/dav/www/dav" "$work/dav/body"
# As root, nginx's workers would run as nobody, who cannot write here.
user_line=""
[[ $(id -u) -eq 0 ]] && user_line="user root;"
cat >"$work/dav/nginx.conf" <<CONF
$user_line
worker_processes 2;
pid $work/dav/nginx.pid;
error_log $work/dav/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_max_body_size 0;
  client_body_temp_path $work/dav/body;
  server {
    listen 127.0.0.1:$dav_port;
    location /dav/ {
      root $work/dav/www;
      dav_methods PUT;
      create_full_put_path on;
    }
  }
}
CONF
nginx -c "$work/dav/nginx.conf" -p "$work/dav" -g 'daemon off;' 2>"$work/dav/err" &
nginx_pid=$!
pids+=("$nginx_pid")
wait_for_port "$dav_port" "$work/dav/err"
# The file exists, so every PUT replaces it (204).
curl -s -o /dev/null -X PUT --data-binary x "http://127.0.0.1:$dav_port/dav/upload.bin"

node_port=$(free_port)
mkdir -p "$work/tus-node-uploads"
node "$work/tus-node/server.js" "$node_port" "$work/tus-node-uploads" 2>"$work/tus-node/err" &
node_pid=$!
pids+=("$node_pid")
wait_for_port "$node_port" "$work/tus-node/err"

# --- Load -------------------------------------------------------------------
# us_per_mb PID LOADGEN_ARGS...: server CPU per MB of body, or nothing if a
# request failed.
us_per_mb() {
  local pid=$1; shift
  local before after
  # Start from a clean page cache: the peers that never sync leave gigabytes
  # dirty, and the kernel makes whoever writes next (here the one that
  # syncs) pay for writing them back. Outside the measured window.
  sync
  before=$(cpu_ticks "$pid")
  if ! "$loadgen_bin" --threads 4 --requests 100 --progress never "$@" >"$work/load.out" 2>&1; then
    echo "bench: loadgen failed: $(grep -E 'status codes|errors' "$work/load.out" | tr '\n' ' ')" >&2
    return
  fi
  after=$(cpu_ticks "$pid")
  awk -v t=$((after - before)) -v hz="$hz" -v mb="$(awk -v b="$body" 'BEGIN {print 400 * b / 1e6}')" \
    'BEGIN {printf "%.0f", t / hz / mb * 1e6}'
}
tus_args=(--header 'Tus-Resumable: 1.0.0' --header "Upload-Length: $body"
  --content_type application/offset+octet-stream --expect_status 201)

declare -A samples
add() { samples[$1]+="$2 "; }
for round in $(seq "$rounds"); do
  echo "round $round/$rounds" >&2
  order=(epollhttp dav node hello)
  ((round % 2 == 0)) && order=(hello node dav epollhttp)
  for s in "${order[@]}"; do
    case $s in
      epollhttp) add epollhttp "$(us_per_mb "$epollhttp_pid" --url "http://127.0.0.1:$epollhttp_port/files/" "${tus_args[@]}")" ;;
      node) add node "$(us_per_mb "$node_pid" --url "http://127.0.0.1:$node_port/files" "${tus_args[@]}")" ;;
      dav) add dav "$(us_per_mb "$nginx_pid" --url "http://127.0.0.1:$dav_port/dav/upload.bin" --method PUT --expect_status 204)" ;;
      hello) add hello "$(us_per_mb "$epollhttp_pid" --url "http://127.0.0.1:$epollhttp_port/")" ;;
    esac
  done
  # The uploads stay until the end (about 3 GB a round): deleting thousands
  # of files between rounds makes ext4 scan the recently deleted inodes on
  # every creation that follows (find_get_block/recently_deleted in a
  # profile), which would measure the cleanup, not the servers.
done

cell() {
  local v; v=$(tr ' ' '\n' <<<"${samples[$1]}" | grep -v '^$' || true)
  [[ -z $v ]] && { echo "failed"; return; }
  printf '%s (%s-%s)' "$(median <<<"$v")" "$(sort -g <<<"$v" | head -1)" "$(sort -g <<<"$v" | tail -1)"
}
med() { tr ' ' '\n' <<<"${samples[$1]}" | grep -v '^$' | median; }
ratio() { awk -v a="$(med "$1")" -v b="$(med "$2")" 'BEGIN {if (b > 0) printf "%.2f", a / b}'; }
printf '\nServer CPU per MB stored, 4 clients x 100 x 3.7 MB (medians of %s rounds, min-max)\n' "$rounds"
printf '%-52s %-24s %s\n' "server" "us/MB" "epollhttp/this"
printf '%-52s %-24s %s\n' "epollhttp tus creation-with-upload (fdatasync)" "$(cell epollhttp)" "1.00"
printf '%-52s %-24s %s\n' "nginx WebDAV PUT (temp file + rename, no fsync)" "$(cell dav)" "$(ratio epollhttp dav)"
printf '%-52s %-24s %s\n' "@tus/server + @tus/file-store (no fsync)" "$(cell node)" "$(ratio epollhttp node)"
printf '%-52s %-24s %s\n' "epollhttp hello POST (bytes discarded)" "$(cell hello)" "$(ratio epollhttp hello)"
printf '\n%s %s cores, %s; testing/bench/uploads.sh %s\n' "$(date +%F)" "$(nproc)" \
  "$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)" "$rounds"
