#!/usr/bin/env bash
# Before/after for downloads of stored uploads: two builds of the server
# binary side by side, each with --upload_dir holding one complete 100 MB
# upload, GET 20 times by curl per round (after one warming GET), in
# interleaved rounds. Prints each build's server CPU per MB served, every
# round and the median, and the ratio B/A; every body served is checked
# against the upload's sha256, and one byte range too. Not a test: it
# prints numbers.
#
#   testing/bench/download_compare.sh SERVER_A SERVER_B [ROUNDS]   (default 3)
set -euo pipefail
# shellcheck source=testing/bench/lib.sh
source "$(dirname "$0")/lib.sh"

if [[ $# -lt 2 || $# -gt 3 || ! -x $1 || ! -x $2 ]]; then
  echo "usage: testing/bench/download_compare.sh SERVER_A SERVER_B [ROUNDS]" >&2
  exit 2
fi
a=$(realpath "$1") b=$(realpath "$2") rounds=${3:-3}
require_count "$rounds" "download_compare.sh: ROUNDS must be a positive integer"
bench_start TERM
hz=$(getconf CLK_TCK)
size=100000000
head -c "$size" /dev/urandom >"$work/blob"
want=$(sha256sum <"$work/blob" | cut -c1-64)
want_part=$(head -c 2000 "$work/blob" | tail -c 1000 | sha256sum | cut -c1-64)

# start NAME BIN: sets NAME_pid and NAME_url (the stored upload's).
start() {
  mkdir -p "$work/$1-uploads"
  server_bin=$2 start_epollhttp_in "$work/$1" --threads 2 --upload_dir "$work/$1-uploads"
  local location
  location=$(curl -s -D - -o /dev/null -X POST "http://127.0.0.1:$server_port/files/" \
    -H 'Tus-Resumable: 1.0.0' -H "Upload-Length: $size" \
    -H 'Content-Type: application/offset+octet-stream' --data-binary @"$work/blob" |
    tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
  [[ -n $location ]] || { echo "bench: the upload to $1 failed" >&2; exit 1; }
  printf -v "$1_pid" '%s' "$server_pid"
  printf -v "$1_url" '%s' "http://127.0.0.1:$server_port$location"
}
start a "$a"
start b "$b"

# us_per_mb PID URL: server CPU per MB for 20 GETs; exits on a wrong body.
us_per_mb() {
  local before after
  curl -s "$2" -o /dev/null  # The file in the page cache for both.
  before=$(cpu_ticks "$1")
  for _ in $(seq 20); do curl -s "$2" -o /dev/null; done
  after=$(cpu_ticks "$1")
  [[ $(curl -s "$2" | sha256sum | cut -c1-64) == "$want" ]] ||
    { echo "bench: $2 served other bytes" >&2; exit 1; }
  [[ $(curl -s -r 1000-1999 "$2" | sha256sum | cut -c1-64) == "$want_part" ]] ||
    { echo "bench: $2 served another range" >&2; exit 1; }
  awk -v t=$((after - before)) -v hz="$hz" -v mb="$((20 * size / 1000000))" \
    'BEGIN {printf "%.0f", t / hz / mb * 1e6}'
}

# measure NAME: one run against server NAME (a or b).
measure() {
  local pid=$1_pid where=$1_url
  us_per_mb "${!pid}" "${!where}"
}

ab_rounds "$rounds"
ab_report "$(printf 'Server CPU per MB served, 20 GETs of a 100 MB upload (%s interleaved rounds)' "$rounds")" "$a" "$b" "testing/bench/download_compare.sh A B $rounds"
