#!/usr/bin/env bash
# Before/after for stored uploads: two builds of the server binary side by
# side, each with --upload_dir, under the tutorial workload of
# testing/bench/uploads.sh (//loadgen, 4 clients x 100 x 3.7 MB, each a tus
# creation-with-upload), in interleaved rounds (the order alternates). Prints
# each build's server CPU per MB stored, every round and the median, and the
# ratio B/A. Not a test: it prints numbers.
#
#   testing/bench/upload_compare.sh SERVER_A SERVER_B [ROUNDS]   (default 5)
set -euo pipefail
# shellcheck source=testing/bench/lib.sh
source "$(dirname "$0")/lib.sh"

if [[ $# -lt 2 || $# -gt 3 || ! -x $1 || ! -x $2 ]]; then
  echo "usage: testing/bench/upload_compare.sh SERVER_A SERVER_B [ROUNDS]" >&2
  exit 2
fi
a=$(realpath "$1") b=$(realpath "$2") rounds=${3:-5}
require_count "$rounds" "upload_compare.sh: ROUNDS must be a positive integer"
bench_start TERM
build_binaries //loadgen
body=3748935
hz=$(getconf CLK_TCK)

# start NAME BIN: sets NAME_pid and NAME_port.
start() {
  mkdir -p "$work/$1-uploads"
  server_bin=$2 start_epollhttp_in "$work/$1" --threads 2 --upload_dir "$work/$1-uploads" \
    --upload_max_incomplete 100000
  printf -v "$1_pid" '%s' "$server_pid"
  printf -v "$1_port" '%s' "$server_port"
}
start a "$a"
start b "$b"

# us_per_mb PID PORT: server CPU per MB stored for one run of the workload.
us_per_mb() {
  local before after
  sync  # Outside the measured window: no dirty pages left for the next writer.
  before=$(cpu_ticks "$1")
  "$bin/loadgen/loadgen" --url "http://127.0.0.1:$2/files/" --threads 4 --requests 100 \
    --progress never --header 'Tus-Resumable: 1.0.0' --header "Upload-Length: $body" \
    --content_type application/offset+octet-stream --expect_status 201 >"$work/load.out" 2>&1 ||
    { echo "bench: loadgen failed: $(grep -E 'status codes|errors' "$work/load.out" | tr '\n' ' ')" >&2; exit 1; }
  after=$(cpu_ticks "$1")
  awk -v t=$((after - before)) -v hz="$hz" -v mb="$(awk -v b="$body" 'BEGIN {print 400 * b / 1e6}')" \
    'BEGIN {printf "%.0f", t / hz / mb * 1e6}'
}

# measure NAME: one run against server NAME (a or b).
measure() {
  local pid=$1_pid where=$1_port
  us_per_mb "${!pid}" "${!where}"
}

ab_rounds "$rounds"
ab_report "$(printf 'Server CPU per MB stored, 4 clients x 100 x 3.7 MB (%s interleaved rounds)' "$rounds")" "$a" "$b" "testing/bench/upload_compare.sh A B $rounds"
