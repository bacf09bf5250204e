#!/usr/bin/env bash
# Runs every libFuzzer harness in //fuzz for SECONDS each (default 60), one
# after another, under --config=fuzz (clang, ASan + UBSan), and prints one line
# per harness:
#   <harness>  runs=<executions>  exec/s=<N>  cov=<edges>  crashes=<N>
# With --jobs N (default: every CPU) each harness runs in libFuzzer's fork
# mode on N processes, and new coverage is merged back into its corpus
# directory; --jobs 1 runs it in one process. New corpus entries and crash
# artifacts go to $FUZZ_OUT/<harness>/ (default .fuzz/ in the workspace).
# Exits 1 if any harness crashed, leaked, timed out or failed an oracle; the
# harness log is then printed.
#
# Usage: fuzz/run_all.sh [--jobs N] [SECONDS]
set -euo pipefail

usage() {
  echo "usage: fuzz/run_all.sh [--jobs N] [SECONDS]  (N and SECONDS positive integers)" >&2
  exit 2
}
jobs=$(nproc)
seconds=60
while (($#)); do
  case $1 in
    --jobs) (($# >= 2)) || usage; jobs=$2; shift 2 ;;
    --jobs=*) jobs=${1#--jobs=}; shift ;;
    -*) usage ;;
    *) seconds=$1; shift ;;
  esac
done
[[ $seconds =~ ^[1-9][0-9]*$ && $jobs =~ ^[1-9][0-9]*$ ]] || usage
cd "$(dirname "$0")/.."
# The harnesses, from their one list.
mapfile -t harnesses < <(fuzz/harnesses.py names)
# shellcheck disable=SC2054  # the commas belong to one flag
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
  mode=()
  ((jobs > 1)) && mode=(-fork="$jobs")
  bazel run "${bazel_flags[@]}" "//fuzz:$harness" -- "${mode[@]}" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    >"$log" 2>&1 || status=$?
  if ((jobs > 1)); then
    # Fork mode reports on status lines: "#RUNS: cov: N ft: N corp: N exec/s N ...".
    last=$(grep -E '^#[0-9]+: cov: ' "$log" | tail -1 || true)
    runs=$(sed -n 's/^#\([0-9]*\):.*/\1/p' <<<"$last")
    rate=$(sed -n 's/.* exec\/s \([0-9]*\).*/\1/p' <<<"$last")
  else
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  fi
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
