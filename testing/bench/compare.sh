#!/usr/bin/env bash
# Before/after: two builds of the server binary, side by side. Measures server
# CPU time per request for each (keep-alive, connection per request, 16-deep
# pipelined, with wrk) in interleaved rounds, and memory per idle connection on
# fresh servers, and prints medians, spreads and the ratio B/A. Not a test: it
# prints numbers.
#
#   testing/bench/compare.sh SERVER_A SERVER_B [ROUNDS]    (default 5 rounds)
#
# SERVER_A and SERVER_B are server binaries, e.g. copies of bazel-bin/server/server
# from two checkouts. Both run with --threads 2. Each round runs every scenario on
# A, then on B (the order alternates between rounds), so drift in the machine
# affects both alike.
set -euo pipefail
# shellcheck source=testing/bench/lib.sh
source "$(dirname "$0")/lib.sh"

if [[ $# -lt 2 || $# -gt 3 || ! -x $1 || ! -x $2 ]]; then
  echo "usage: testing/bench/compare.sh SERVER_A SERVER_B [ROUNDS]" >&2
  exit 2
fi
a=$(realpath "$1") b=$(realpath "$2") rounds=${3:-5}
require_count "$rounds" "compare.sh: ROUNDS must be a positive integer"
bench_start TERM
install_peers wrk
build_binaries //testing/bench:idle_connections
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# start_server NAME BIN: sets NAME_pid and NAME_port.
start_server() {
  server_bin=$2 start_epollhttp_in "$work/$1" --threads 2 --max_connections 30000
  printf -v "$1_pid" '%s' "$server_pid"
  printf -v "$1_port" '%s' "$server_port"
}

# cpu_per_request PID PORT WRK_ARGS...: microseconds of server CPU per request.
cpu_per_request() {
  local pid=$1 port=$2; shift 2
  local before after out requests
  before=$(cpu_ticks "$pid")
  out=$(wrk "$@" "http://127.0.0.1:$port/")
  after=$(cpu_ticks "$pid")
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$requests" \
    'BEGIN {printf "%.3f", (n > 0 ? t / hz / n * 1e6 : 0)}'
}

idle_bytes() {  # idle_bytes BIN: bytes per idle connection on a fresh server
  local fifo=$work/idle.fifo before after
  server_bin=$1 start_epollhttp_in "$work/idle_$RANDOM" --threads 2 --max_connections 30000
  before=$(rss_kb "$server_pid")
  rm -f "$fifo"; mkfifo "$fifo"
  "$bin/testing/bench/idle_connections" "$server_port" 10000 <"$fifo" >"$work/idle.out" &
  local idle_pid=$!
  exec 4>"$fifo"
  for _ in $(seq 600); do grep -q '^ready' "$work/idle.out" 2>/dev/null && break; sleep 0.1; done
  after=$(rss_kb "$server_pid")
  exec 4>&-
  wait "$idle_pid" || true
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
  awk -v b="$before" -v a="$after" 'BEGIN {printf "%.0f", (a - b) * 1024 / 10000}'
}

start_server A "$a"
start_server B "$b"

declare -A samples
add() { samples[$1]+="$2 "; }
for round in $(seq "$rounds"); do
  echo "round $round/$rounds" >&2
  order=(A B)
  ((round % 2 == 0)) && order=(B A)
  for s in "${order[@]}"; do
    pid_var=${s}_pid port_var=${s}_port
    add "keepalive_$s" "$(cpu_per_request "${!pid_var}" "${!port_var}" -t1 -c64 -d5s)"
    add "close_$s" "$(cpu_per_request "${!pid_var}" "${!port_var}" -t1 -c32 -d5s -H 'Connection: close')"
    add "pipeline_$s" "$(cpu_per_request "${!pid_var}" "${!port_var}" -t1 -c64 -d5s -s "$root/testing/bench/pipeline16.lua")"
  done
  add "idle_A" "$(idle_bytes "$a")"
  add "idle_B" "$(idle_bytes "$b")"
done

med() { tr ' ' '\n' <<<"${samples[$1]}" | grep . | median; }
spread() { tr ' ' '\n' <<<"${samples[$1]}" | grep . | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%s-%s", lo, hi}'; }
row() {  # row LABEL KEY UNIT
  printf '%-40s %10s %10s  %6s   %-8s  A %s, B %s\n' "$1" "$(med "$2_A")" "$(med "$2_B")" \
    "$(awk -v x="$(med "$2_A")" -v y="$(med "$2_B")" 'BEGIN {printf "%.3f", (x > 0 ? y / x : 0)}')" \
    "$3" "$(spread "$2_A")" "$(spread "$2_B")"
}
echo
echo "A: $a"
echo "B: $b"
printf '%-40s %10s %10s  %6s   %-8s  %s\n' "server cost (medians of $rounds)" "A" "B" "B/A" "unit" "range"
row "keep-alive GET, wrk -t1 -c64" keepalive "us/req"
row "connection per request, wrk -t1 -c32" close "us/req"
row "16-deep pipelined GET, wrk -t1 -c64" pipeline "us/req"
row "10,000 idle keep-alive connections" idle "B/conn"
echo
echo "$(date -u +%Y-%m-%d) $(nproc) cores; testing/bench/compare.sh A B $rounds"
