#!/usr/bin/env bash
# Shows which lines of the server the fuzz corpora reach. Builds every
# harness with clang's source-based coverage (through .clusterfuzzlite/build.sh,
# as the fuzzing services' coverage build does), replays each harness's seeds
# (fuzz/corpus/NAME/) and, when present, the corpus that fuzz/run_all.sh grew
# ($FUZZ_OUT/NAME/corpus, default .fuzz/NAME/corpus), merges the profiles with
# llvm-profdata-14 and writes an HTML report with llvm-cov-14.
#
# Prints per-file line coverage for server/http/ and for the connection and
# codec, and ends with one line:
#   line coverage: server/http NN.N%, server NN.N%
# ("server" is every file under server/ and net/ that a harness links; with
# --seeds_only the line says "line coverage (seeds only)"). Exits 1 if a step
# fails.
#
# Usage: fuzz/coverage.sh [--seeds_only] [OUTPUT_DIR]   (default
# .fuzz/coverage; the report is OUTPUT_DIR/html/index.html). With
# --seeds_only, only the checked-in seeds are replayed: what a fresh clone
# proves.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
seeds_only=0
if [[ ${1:-} == --seeds_only ]]; then
  seeds_only=1
  shift
fi
if [[ $# -gt 1 || ${1:-} == -* ]]; then
  echo "usage: fuzz/coverage.sh [--seeds_only] [OUTPUT_DIR]" >&2
  exit 2
fi
dest=${1:-$root/.fuzz/coverage}
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)
fuzz_out=${FUZZ_OUT:-$root/.fuzz}
for tool in clang++ llvm-profdata-14 llvm-cov-14; do
  command -v "$tool" >/dev/null || { echo "fuzz/coverage.sh: $tool not found (tools/setup.sh installs it)" >&2; exit 1; }
done

flags="-O1 -gline-tables-only -fprofile-instr-generate -fcoverage-mapping"
rm -rf "$dest/out" "$dest/profiles" "$dest/html"
mkdir -p "$dest/profiles"
if ! env CC=clang CXX=clang++ CFLAGS="$flags" CXXFLAGS="$flags" \
  LIB_FUZZING_ENGINE=-fsanitize=fuzzer SANITIZER=coverage \
  OUT="$dest/out" WORK="$dest/work" SRC="$dest/src" \
  bash .clusterfuzzlite/build.sh >"$dest/build.log" 2>&1; then
  tail -20 "$dest/build.log" >&2
  echo "fuzz/coverage.sh: the coverage build failed" >&2
  exit 1
fi

objects=()
for corpus in fuzz/corpus/*/; do
  harness=$(basename "$corpus")
  dirs=("$corpus")
  if ((!seeds_only)) && [[ -d $fuzz_out/$harness/corpus ]]; then
    dirs+=("$fuzz_out/$harness/corpus")
  fi
  if ! LLVM_PROFILE_FILE="$dest/profiles/$harness.%p.profraw" \
    "$dest/out/$harness" -runs=0 "${dirs[@]}" >"$dest/$harness.log" 2>&1; then
    tail -20 "$dest/$harness.log" >&2
    echo "fuzz/coverage.sh: replaying $harness failed" >&2
    exit 1
  fi
  inputs=$(find "${dirs[@]}" -type f | wc -l)
  echo "replayed $harness: $inputs inputs" >&2
  objects+=(-object "$dest/out/$harness")
done
llvm-profdata-14 merge -sparse "$dest"/profiles/*.profraw -o "$dest/merged.profdata"

# Only the project's code: not abseil, llhttp, the harnesses or test helpers.
# (llvm-cov warns of "mismatched data" for the functions every harness
# defines under the same name, LLVMFuzzerTestOneInput among them; those are
# harness code, outside the report, so its messages go to llvm-cov.log.)
ignore='(^/usr/|/abseil-cpp/|/llhttp/|^fuzz/|^testing/|/fuzz/|/testing/)'
llvm-cov-14 show -format=html -output-dir="$dest/html" -instr-profile="$dest/merged.profdata" \
  -ignore-filename-regex="$ignore" -show-line-counts-or-regions "${objects[@]:1}" \
  >/dev/null 2>"$dest/llvm-cov.log"
llvm-cov-14 report -instr-profile="$dest/merged.profdata" -ignore-filename-regex="$ignore" \
  "${objects[@]:1}" >"$dest/report.txt" 2>>"$dest/llvm-cov.log"

# report.txt columns: Filename Regions Missed Cover Functions Missed Executed
# Lines Missed Cover Branches Missed Cover.
label=""
((seeds_only)) && label=" (seeds only)"
awk -v html="$dest/html/index.html" -v seeds="$label" '
  $1 ~ /^(server|net|base)\// && NF >= 10 {
    lines = $8; missed = $9
    if ($1 ~ /^(server|net)\//) { s_lines += lines; s_missed += missed }
    if ($1 ~ /^server\/http\//) { h_lines += lines; h_missed += missed }
    if ($1 ~ /^server\/http\// || $1 ~ /^server\/connection\.cc$/) {
      printf "%-40s %6d lines %5d missed %6.1f%%\n", $1, lines, missed, 100 * (lines - missed) / lines
    }
  }
  END {
    print "report: " html
    printf "line coverage%s: server/http %.1f%%, server %.1f%%\n", seeds,
      100 * (h_lines - h_missed) / h_lines, 100 * (s_lines - s_missed) / s_lines
  }' "$dest/report.txt"
