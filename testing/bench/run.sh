#!/usr/bin/env bash
# The benchmark suite: epollhttp vs nginx, and //loadgen vs h2load and wrk,
# side by side on this machine. Not a test: it prints numbers.
#
#   testing/bench/run.sh [ROUNDS]      (default 3 rounds; about 4 minutes)
#
# Installs its peers if missing (nginx-light, wrk, nghttp2-client,
# apache2-utils), builds the optimised binaries, starts every server itself on
# free loopback ports (epollhttp --threads 2; nginx with 2 workers, `return
# 200` with the same body, access_log off, reuseport), runs each throughput
# scenario in interleaved A/B rounds, stops everything it started, and prints
# one line per scenario: both medians and the ratio (epollhttp / nginx, or
# loadgen / peer; above 1 means ours is better except for memory rows, where
# below 1 is better).
set -euo pipefail

rounds=${1:-3}
if ! [[ $rounds =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: testing/bench/run.sh [ROUNDS]" >&2
  exit 2
fi
cd "$(dirname "$0")/../.."
root=$PWD
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=testing/bench/lib.sh
source "$root/testing/bench/lib.sh"

# --- Peers and binaries ----------------------------------------------------
install_peers nginx-light wrk nghttp2-client apache2-utils
build_binaries //server //loadgen //testing/bench:idle_connections
server_bin=$bin/server/server
loadgen_bin=$bin/loadgen/loadgen
idle_bin=$bin/testing/bench/idle_connections
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# --- Servers -----------------------------------------------------------------
start_epollhttp() {
  start_epollhttp_in "$work/epollhttp" --threads 2 --max_connections 30000
  epollhttp_pid=$server_pid epollhttp_port=$server_port
}

start_nginx() {
  start_nginx_in "$work/nginx"
  nginx_pid=$server_pid nginx_port=$server_port
}

# --- Load tools ------------------------------------------------------------
cat >"$work/pipeline.lua" <<'LUA'
init = function(args)
  local r = {}
  for i = 1, 16 do r[i] = wrk.format("GET", "/") end
  req = table.concat(r)
end
request = function() return req end
LUA
upload="$work/upload.bin"
head -c 3748935 /dev/urandom >"$upload"

wrk_rps() {  # wrk_rps PORT ARGS...: requests/s
  local port=$1; shift
  wrk "$@" "http://127.0.0.1:$port/" | awk '/^Requests\/sec:/ {print $2}'
}


# wrk_rps_cpu NAME PID PORT ARGS...: records req/s as NAME and the server's
# CPU time per request (microseconds) as NAME_cpu. wrk -t1 saturates its core
# here, so throughput alone mostly measures wrk; CPU per request measures the
# server.
wrk_rps_cpu() {
  local name=$1 pid=$2 port=$3; shift 3
  local before after out requests
  before=$(cpu_ticks "$pid")
  out=$(wrk "$@" "http://127.0.0.1:$port/")
  after=$(cpu_ticks "$pid")
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  add "$name" "$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")"
  add "${name}_cpu" "$(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$requests" \
    'BEGIN {printf "%.2f", (n > 0 ? t / hz / n * 1e6 : 0)}')"
}
h2load_upload_mbs() {  # h2load_upload_mbs PORT: upload MB/s of 400 x 3.7 MB POSTs, 4 connections
  local out secs
  out=$(h2load --h1 -c4 -n400 -d "$upload" "http://127.0.0.1:$1/")
  grep -q '400 succeeded' <<<"$out" || { echo "bench: h2load failed: $out" >&2; echo 0; return; }
  secs=$(sed -n 's/^finished in \([0-9.]*\)\(m\?s\),.*/\1 \2/p' <<<"$out" |
    awk '{print ($2 == "ms") ? $1 / 1000 : $1}')
  awk -v s="$secs" 'BEGIN {printf "%.1f", 400 * 3748935 / s / 1e6}'
}
h2load_seconds() {  # h2load_seconds PORT: wall time of 400 x 3.7 MB POSTs
  h2load --h1 -c4 -n400 -d "$upload" "http://127.0.0.1:$1/" |
    sed -n 's/^finished in \([0-9.]*\)\(m\?s\),.*/\1 \2/p' | awk '{print ($2 == "ms") ? $1 / 1000 : $1}'
}
loadgen_json() {  # loadgen_json ARGS...: the JSON report
  "$loadgen_bin" --progress=never --json=- "$@" | tr -d '\n'
}
json_field() { sed -n "s/.*\"$1\": \([0-9.e+-]*\).*/\1/p"; }

idle_rss_per_conn() {  # idle_rss_per_conn PORT PID: server bytes per idle connection
  local before after fifo=$work/idle.fifo
  before=$(rss_kb "$2")
  rm -f "$fifo"; mkfifo "$fifo"
  "$idle_bin" "$1" 10000 <"$fifo" >"$work/idle.out" &
  local idle_pid=$!
  exec 4>"$fifo"
  for _ in $(seq 600); do grep -q '^ready' "$work/idle.out" 2>/dev/null && break; sleep 0.1; done
  grep -q '^ready' "$work/idle.out" || { echo "bench: idle clients failed" >&2; exec 4>&-; echo 0; return; }
  after=$(rss_kb "$2")
  exec 4>&-
  wait "$idle_pid" || true
  awk -v b="$before" -v a="$after" 'BEGIN {printf "%.0f", (a - b) * 1024 / 10000}'
}

# fresh_idle epollhttp|nginx: bytes per idle connection, measured on a server
# started for the purpose (a server that already had 10,000 connections keeps
# their freed memory, which would hide the cost of new ones).
fresh_idle() {
  local result
  if [[ $1 == epollhttp ]]; then
    start_epollhttp_in "$work/fresh_$1_$RANDOM" --threads 2 --max_connections 30000
  else
    start_nginx_in "$work/fresh_$1_$RANDOM"
  fi
  result=$(idle_rss_per_conn "$server_port" "$server_pid")
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
  echo "$result"
}

upload_peak_rss_mb() {  # upload_peak_rss_mb PORT PID: peak server RSS during 64 x 100 MB uploads
  local peak=0 rss
  "$loadgen_bin" --url "http://127.0.0.1:$1/" --threads 2 --clients 64 --requests 1 \
    --body_bytes 104857600 --progress=never >"$work/upload.out" 2>&1 &
  local load_pid=$!
  while kill -0 "$load_pid" 2>/dev/null; do
    rss=$(rss_kb "$2"); ((rss > peak)) && peak=$rss
    sleep 0.05
  done
  wait "$load_pid" || echo "bench: uploads reported failures: $(tail -3 "$work/upload.out")" >&2
  awk -v p="$peak" 'BEGIN {printf "%.1f", p / 1024}'
}

# --- Run -------------------------------------------------------------------
start_epollhttp
start_nginx
echo "epollhttp on :$epollhttp_port, nginx on :$nginx_port; $rounds rounds" >&2

declare -A samples
add() { samples[$1]+="$2 "; }
for round in $(seq "$rounds"); do
  echo "round $round/$rounds" >&2
  for target in epollhttp nginx; do
    port_var=${target}_port; port=${!port_var}
    pid_var=${target}_pid; pid=${!pid_var}
    wrk_rps_cpu "keepalive_$target" "$pid" "$port" -t1 -c64 -d5s
    wrk_rps_cpu "close_$target" "$pid" "$port" -t1 -c32 -d5s -H 'Connection: close'
    add "pipeline_$target" "$(wrk_rps "$port" -t1 -c64 -d5s -s "$work/pipeline.lua")"
    add "upload_$target" "$(h2load_upload_mbs "$port")"
  done
  # Load generators, against epollhttp.
  add "h2load_seconds" "$(h2load_seconds "$epollhttp_port")"
  add "loadgen_seconds" "$(loadgen_json --url "http://127.0.0.1:$epollhttp_port/" --threads 4 \
    --requests 100 | json_field duration_seconds)"
  # Four connections over two client threads (wrk -t2 -c4 and loadgen
  # --threads 2 --clients 4): which server thread each
  # connection hashes to and where the scheduler puts the four threads swing
  # either tool's rate by up to 1.7x from one run to the next, so this pair
  # runs three times per round (3 s each) and the row compares medians.
  for _ in 1 2 3; do
    add "wrk_get" "$(wrk_rps "$epollhttp_port" -t2 -c4 -d3s)"
    add "loadgen_get" "$(loadgen_json --url "http://127.0.0.1:$epollhttp_port/" --method GET \
      --threads 2 --clients 4 --duration 3s | json_field requests_per_second)"
  done
  # Memory, A/B as well.
  add "idle_epollhttp" "$(fresh_idle epollhttp)"
  add "idle_nginx" "$(fresh_idle nginx)"
  add "peak_epollhttp" "$(upload_peak_rss_mb "$epollhttp_port" "$epollhttp_pid")"
  add "peak_nginx" "$(upload_peak_rss_mb "$nginx_port" "$nginx_pid")"
done

med() { tr ' ' '\n' <<<"${samples[$1]}" | grep . | median; }
row() {  # row NAME OURS PEER UNIT GOAL
  awk -v n="$1" -v a="$2" -v b="$3" -v u="$4" -v g="$5" \
    'BEGIN {printf "%-44s %12.1f %12.1f  %-8s %6.2f   %s\n", n, a, b, u, (b > 0 ? a / b : 0), g}'
}
echo
printf '%-44s %12s %12s  %-8s %6s   %s\n' "scenario (medians of $rounds)" "epollhttp" "nginx" "unit" "ratio" "goal"
row "keep-alive GET, wrk -t1 -c64" "$(med keepalive_epollhttp)" "$(med keepalive_nginx)" "req/s" ">= 1.25"
row "  server CPU per request" "$(med keepalive_epollhttp_cpu)" "$(med keepalive_nginx_cpu)" "us/req" "(lower is better)"
row "connection per request, wrk -t1 -c32" "$(med close_epollhttp)" "$(med close_nginx)" "req/s" ">= 1.25"
row "  server CPU per request" "$(med close_epollhttp_cpu)" "$(med close_nginx_cpu)" "us/req" "(lower is better)"
row "16-deep pipelined GET, wrk -t1 -c64" "$(med pipeline_epollhttp)" "$(med pipeline_nginx)" "req/s" ">= 1.5"
row "3.7 MB POSTs, h2load --h1 -c4 -n400" "$(med upload_epollhttp)" "$(med upload_nginx)" "MB/s" ">= 1.0"
row "10,000 idle keep-alive connections" "$(med idle_epollhttp)" "$(med idle_nginx)" "B/conn" "<= 1 KB/conn"
row "64 x 100 MB uploads, peak server RSS" "$(med peak_epollhttp)" "$(med peak_nginx)" "MB" "< 64 MB"
echo
printf '%-44s %12s %12s  %-8s %6s   %s\n' "load generators vs epollhttp" "loadgen" "peer" "unit" "ratio" "goal"
row "400 x 3.7 MB POSTs, 4 conns (vs h2load)" "$(med loadgen_seconds)" "$(med h2load_seconds)" "s" "<= 1.0"
row "small keep-alive GETs, 4 conns (vs wrk -t2)" "$(med loadgen_get)" "$(med wrk_get)" "req/s" ">= 0.8"
echo
echo "$(date -u +%Y-%m-%d) $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo); testing/bench/run.sh $rounds"
