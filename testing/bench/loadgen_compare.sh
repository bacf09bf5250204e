#!/usr/bin/env bash
# Before/after for the load generator: two loadgen binaries against one
# epollhttp server, in interleaved rounds. Says whether a loadgen change made
# loadgen slower, which would make it measure itself instead of the server.
# Not a test: it prints numbers.
#
#   testing/bench/loadgen_compare.sh LOADGEN_A LOADGEN_B [ROUNDS]   (default 5)
#
# Scenarios (each round runs A then B, the order alternating by round):
#   keep-alive GETs: --method GET --threads 2 --clients 4 --duration 5s;
#   uploads: the tutorial workload, 4 clients x 100 x 3.7 MB POSTs.
# For each it prints the median (and min-max) of the rate loadgen reached and
# of loadgen's own CPU time (user + system) per request or per MB, and B/A.
# The server is built from this checkout (--threads 2) and is the same for
# both.
set -euo pipefail
# shellcheck source=testing/bench/lib.sh
source "$(dirname "$0")/lib.sh"

if [[ $# -lt 2 || $# -gt 3 || ! -x $1 || ! -x $2 ]]; then
  echo "usage: testing/bench/loadgen_compare.sh LOADGEN_A LOADGEN_B [ROUNDS]" >&2
  exit 2
fi
declare -A bins=([A]=$(realpath "$1") [B]=$(realpath "$2"))
rounds=${3:-5}
require_count "$rounds" "loadgen_compare.sh: ROUNDS must be a positive integer"
bench_start TERM
build_binaries //server
start_epollhttp_in "$work/server" --threads 2
url="http://127.0.0.1:$server_port/"

# run_loadgen BIN ARGS...: prints "REQUESTS SECONDS CPU_SECONDS" for one run
# (CPU: loadgen's user + system time, from the shell's `time`).
run_loadgen() {
  local bin=$1; shift
  local TIMEFORMAT='%U %S'
  { time "$bin" --url "$url" --progress never --json "$work/out.json" "$@" >/dev/null 2>"$work/lg.err"; } 2>"$work/time" ||
    { cat "$work/lg.err" >&2; echo "bench: loadgen failed" >&2; exit 1; }
  python3 - "$work/out.json" "$(cat "$work/time")" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
user, system = map(float, sys.argv[2].split())
print(r["requests"]["total"], r["duration_seconds"], user + system)
PY
}

declare -A samples
add() { samples[$1]+="$2 "; }
for round in $(seq "$rounds"); do
  echo "round $round/$rounds" >&2
  order=(A B)
  ((round % 2 == 0)) && order=(B A)
  for s in "${order[@]}"; do
    read -r n secs cpu < <(run_loadgen "${bins[$s]}" --method GET --threads 2 --clients 4 --duration 5s)
    add "get_rps_$s" "$(awk -v n="$n" -v t="$secs" 'BEGIN {printf "%.0f", n / t}')"
    add "get_cpu_$s" "$(awk -v n="$n" -v c="$cpu" 'BEGIN {printf "%.3f", c / n * 1e6}')"
    read -r n secs cpu < <(run_loadgen "${bins[$s]}" --threads 4 --requests 100)
    add "upload_s_$s" "$secs"
    add "upload_cpu_$s" "$(awk -v n="$n" -v c="$cpu" 'BEGIN {printf "%.1f", c / (n * 3.748935) * 1e6}')"
  done
done

cell() {  # cell KEY: "median (min-max)"
  local v; v=$(tr ' ' '\n' <<<"${samples[$1]}" | grep -v '^$')
  printf '%s (%s-%s)' "$(median <<<"$v")" "$(sort -g <<<"$v" | head -1)" "$(sort -g <<<"$v" | tail -1)"
}
ratio() {  # ratio KEY: median(B) / median(A)
  local x y
  x=$(tr ' ' '\n' <<<"${samples[$1_A]}" | grep -v '^$' | median)
  y=$(tr ' ' '\n' <<<"${samples[$1_B]}" | grep -v '^$' | median)
  awk -v x="$x" -v y="$y" 'BEGIN {printf "%.2f", (x > 0 ? y / x : 0)}'
}
printf '%-34s %-8s %-24s %-24s %s\n' "scenario ($rounds rounds)" unit A B B/A
printf '%-34s %-8s %-24s %-24s %s\n' "keep-alive GETs, 4 conns, 5 s" "req/s" "$(cell get_rps_A)" "$(cell get_rps_B)" "$(ratio get_rps)"
printf '%-34s %-8s %-24s %-24s %s\n' "  loadgen CPU" "us/req" "$(cell get_cpu_A)" "$(cell get_cpu_B)" "$(ratio get_cpu)"
printf '%-34s %-8s %-24s %-24s %s\n' "400 x 3.7 MB POSTs, 4 conns" "s" "$(cell upload_s_A)" "$(cell upload_s_B)" "$(ratio upload_s)"
printf '%-34s %-8s %-24s %-24s %s\n' "  loadgen CPU" "us/MB" "$(cell upload_cpu_A)" "$(cell upload_cpu_B)" "$(ratio upload_cpu)"
