#!/usr/bin/env bash
# Runs every libFuzzer harness in //fuzz for SECONDS each (default 60), one
# after another, under --config=fuzz (clang, ASan + UBSan), and prints one line
# per harness:
#   <harness>  runs=<executions>  exec/s=<N>  cov=<edges>  crashes=<N>
# New corpus entries and crash artifacts go to $FUZZ_OUT/<harness>/ (default
# .fuzz/ in the workspace). Exits 1 if any harness crashed, leaked, timed out
# or failed an oracle; the harness log is then printed.
#
# Usage: fuzz/run_all.sh [SECONDS]
set -euo pipefail

seconds=${1:-60}
if ! [[ $seconds =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: fuzz/run_all.sh [SECONDS]  (SECONDS must be a positive integer)" >&2
  exit 2
fi
cd "$(dirname "$0")/.."
harnesses=(content_length_fuzzer request_parser_fuzzer chunked_fuzzer connection_fuzzer
  differential_fuzzer)
bazel_flags=(--config=fuzz --noshow_progress --ui_event_filters=-info,-stdout,-stderr)

if ! log=$(bazel build "${bazel_flags[@]}" //fuzz:all_fuzzers 2>&1); then
  echo "$log" >&2
  echo "fuzz/run_all.sh: building the fuzzers failed" >&2
  exit 1
fi

failed=0
for harness in "${harnesses[@]}"; do
  log=$(mktemp)
  status=0
  bazel run "${bazel_flags[@]}" "//fuzz:$harness" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  crashes=0
  if ((status != 0)); then
    crashes=1
    failed=1
  fi
  printf '%-24s runs=%s  exec/s=%s  cov=%s  crashes=%s\n' \
    "$harness" "${runs:-0}" "${rate:-0}" "${cov:-0}" "$crashes"
  if ((status != 0)); then
    tail -40 "$log" >&2
  fi
  rm -f "$log"
done
exit "$failed"
