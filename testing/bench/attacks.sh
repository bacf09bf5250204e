#!/usr/bin/env bash
# The attack bench: replays the hostile-load attacks against epollhttp and
# nginx side by side and prints what each costs the server and its other
# clients. Not a test: it prints numbers (about 3 minutes).
#
#   testing/bench/attacks.sh [CONNECTIONS]     (default 1000 attackers)
#
# Both servers run with 2 threads / workers. epollhttp runs with its default
# flags (so /metrics is served on the public port, the expensive case), nginx
# with `return 200` and the same body. Rows:
# - flood: 300 new connections per second for 10 s, each sending 64 KB of
#   pipelined GET /metrics (or GET /) and closing unread, while 4 keep-alive
#   clients and one new-connection-per-request client make GET /: their p99
#   and worst latency, and failures.
# - non-reading pipeliners and partial heads: server RSS growth per attacking
#   connection while CONNECTIONS of them are held.
# - after the attackers leave: RSS above the server's idle RSS, 3 s after
#   the /metrics pipeliners closed their connections.
# Every memory row runs on a fresh server.
# - slow bodies: 100 uploads at one byte per second, body timeout 2 s on both
#   (epollhttp: --body_timeout 2s with the default --body_min_rate; nginx:
#   client_body_timeout 2s): how many the server ended within 10 s by closing
#   or answering (nginx's `return 200` answers before reading the body).
# - SIGTERM during a /metrics flood (epollhttp --shutdown_timeout 5; nginx
#   SIGQUIT, its graceful stop): seconds until the process exited, and how.
set -euo pipefail
# shellcheck source=testing/bench/lib.sh
source "$(dirname "$0")/lib.sh"

attackers=${1:-1000}
require_count "$attackers" "usage: testing/bench/attacks.sh [CONNECTIONS]"
bench_start KILL
install_peers nginx-light
build_binaries //server //testing/bench:attack
attack=$bin/testing/bench/attack
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

declare -A result

# start NAME: a fresh server (epollhttp or nginx) with 2 threads / workers.
start() {
  if [[ $1 == epollhttp ]]; then
    start_epollhttp_in "$work/$1_$RANDOM" --threads 2 "${@:2}"
  else
    start_nginx_in "$work/$1_$RANDOM" "${2:-}"
  fi
}
stop() { kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; }

# flood NAME PATH: keep-alive and fresh clients' latency during a flood.
flood() {
  local out
  out=$("$attack" flood "$server_port" "$2" 300 10)
  result[$1_flood_$2]=$(awk '/^keepalive/ {for (i = 2; i <= NF; i++) {split($i, kv, "="); v[kv[1]] = kv[2]}
      printf "%s / %s ms, %s failed", v["p99_ms"], v["max_ms"], v["failures"]}' <<<"$out")
  result[$1_fresh_$2]=$(awk '/^fresh/ {for (i = 2; i <= NF; i++) {split($i, kv, "="); v[kv[1]] = kv[2]}
      printf "%s / %s ms, %s failed", v["p99_ms"], v["max_ms"], v["failures"]}' <<<"$out")
}

# held NAME KEY MODE ARGS...: KiB of server RSS per attacking connection
# while MODE's connections are held; then RSS above idle once they close.
held() {
  local name=$1 key=$2; shift 2
  local before after fifo=$work/hold.fifo
  before=$(rss_kb "$server_pid")
  rm -f "$fifo"; mkfifo "$fifo"
  "$attack" "$1" "$server_port" "$attackers" "${@:2}" <"$fifo" >"$work/hold.out" 2>&1 &
  local attack_pid=$!
  exec 4>"$fifo"
  for _ in $(seq 1200); do grep -q '^ready' "$work/hold.out" && break; sleep 0.1; done
  if ! grep -q '^ready' "$work/hold.out"; then
    echo "bench: $name $key: $(cat "$work/hold.out")" >&2
    exec 4>&-; wait "$attack_pid" || true
    result[${name}_$key]="failed"
    return
  fi
  sleep 1  # Let the server finish the last batch it read before measuring.
  after=$(rss_kb "$server_pid")
  exec 4>&-
  wait "$attack_pid" || true
  result[${name}_$key]=$(awk -v b="$before" -v a="$after" -v n="$attackers" \
    'BEGIN {printf "%.1f KB", (a - b) / n}')
}

# after NAME: RSS above the fresh server's idle RSS, 3 s after the last
# attacker left.
after() {
  sleep 3
  result[$1_after]=$(awk -v i="$idle_rss" -v a="$(rss_kb "$server_pid")" \
    'BEGIN {printf "%+.1f MB", (a - i) / 1024}')
}

slow() {
  local out
  out=$("$attack" slowbody "$server_port" 100 1000 10)
  result[$1_slow]=$(sed -n 's/^slowbody closed=\([0-9]*\) open=\([0-9]*\) last_close_s=\(.*\)/\1 closed (last at \3 s), \2 open/p' <<<"$out")
}

# shutdown NAME SIGNAL: exit time after SIGNAL during a /metrics flood.
shutdown_during_flood() {
  "$attack" flood "$server_port" /metrics 300 20 >/dev/null 2>&1 &
  local flood_pid=$!
  sleep 3
  local t0 t1 code=0
  t0=$(date +%s.%N)
  kill "-$2" "$server_pid"
  for _ in $(seq 600); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.05; done
  if kill -0 "$server_pid" 2>/dev/null; then
    kill -9 "$server_pid"; wait "$server_pid" 2>/dev/null || true
    kill "$flood_pid" 2>/dev/null || true; wait "$flood_pid" 2>/dev/null || true
    result[$1_shutdown]="still running after 30 s (killed)"
    return
  fi
  wait "$server_pid" || code=$?
  t1=$(date +%s.%N)
  kill "$flood_pid" 2>/dev/null || true; wait "$flood_pid" 2>/dev/null || true
  result[$1_shutdown]=$(awk -v a="$t0" -v b="$t1" -v c="$code" 'BEGIN {printf "%.2f s, exit %d", b - a, c}')
}

for name in epollhttp nginx; do
  echo "$name: floods" >&2
  start "$name"
  flood "$name" /metrics
  flood "$name" /
  stop
  # Memory rows on fresh servers: a server that already held attackers keeps
  # some of their freed memory, which would hide the cost of new ones.
  echo "$name: non-reading pipeliners, partial heads" >&2
  start "$name"
  idle_rss=$(rss_kb "$server_pid")
  held "$name" nonreaders_metrics nonreaders /metrics
  after "$name"
  stop
  start "$name"
  held "$name" nonreaders_root nonreaders /
  stop
  start "$name"
  held "$name" partial partial
  stop
  echo "$name: slow bodies, shutdown" >&2
  if [[ $name == epollhttp ]]; then start "$name" --body_timeout 2s; else start "$name" "client_body_timeout 2s;"; fi
  slow "$name"
  stop
  if [[ $name == epollhttp ]]; then
    start "$name" --shutdown_timeout 5
    shutdown_during_flood "$name" TERM
  else
    start "$name"
    shutdown_during_flood "$name" QUIT
  fi
done

echo
printf '%-58s %-30s %-30s\n' "attack" "epollhttp" "nginx"
row() { printf '%-58s %-30s %-30s\n' "$1" "${result[epollhttp_$2]:-}" "${result[nginx_$2]:-}"; }
row "/metrics flood: keep-alive clients p99 / max latency" flood_/metrics
row "/metrics flood: new-connection client p99 / max latency" fresh_/metrics
row "GET / flood: keep-alive clients p99 / max latency" flood_/
row "GET / flood: new-connection client p99 / max latency" fresh_/
row "$attackers non-reading pipeliners (/metrics): RSS per conn" nonreaders_metrics
row "$attackers non-reading pipeliners (/): RSS per conn" nonreaders_root
row "$attackers partial heads after 60 KB batches: RSS per conn" partial
row "RSS above idle, 3 s after the /metrics pipeliners left" after
row "100 slow bodies (1 B/s), body timeout 2 s: after 10 s" slow
row "SIGTERM (nginx: SIGQUIT) during a /metrics flood" shutdown
echo
echo "$(date -u +%Y-%m-%d) $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo); testing/bench/attacks.sh $attackers"
