#!/usr/bin/env bash
# Shows that the fuzz oracles can fail: for each patch in fuzz/planted_bugs/
# (named <harness>--<bug>.patch) it copies the working tree to a temporary
# directory, applies the patch, builds that harness under --config=fuzz and
# runs it for at most SECONDS (default 60) from the harness's seed corpus minus
# every seed that already exposes the bug, so the fuzzer has to find a new
# input. Prints one line per bug, e.g.
#   accepts_plus: found by content_length_fuzzer in 1.2 s (...oracle message...)
# and exits 1 if any planted bug was not found in time. The repository itself
# is never modified.
#
# Usage: fuzz/planted_bug.sh [SECONDS]
set -euo pipefail

seconds=${1:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap '[[ -n ${KEEP_WORK:-} ]] || rm -rf "$work"' EXIT

missed=0
for patch in "$root"/fuzz/planted_bugs/*.patch; do
  base=$(basename "$patch" .patch)
  harness=${base%%--*}
  bug=${base#*--}
  src="$work/$bug/src"
  mkdir -p "$src" "$work/$bug/corpus"
  (cd "$root" && git ls-files -z | tar --null -T - -cf -) | tar -xf - -C "$src"
  (cd "$src" && git apply "$patch")
  output_base="$work/$bug/output_base"
  if ! build_log=$(cd "$src" && bazel --output_base="$output_base" build --config=fuzz \
      --noshow_progress "//fuzz:${harness}_bin" 2>&1); then
    echo "$build_log" >&2
    echo "$bug: the patched $harness did not build" >&2
    missed=1
    continue
  fi
  bin="$src/bazel-bin/fuzz/${harness}_bin"
  kept=0 dropped=0
  for seed in "$src/fuzz/corpus/$harness"/*; do
    if "$bin" "$seed" >/dev/null 2>&1; then
      cp "$seed" "$work/$bug/corpus/"
      kept=$((kept + 1))
    else
      dropped=$((dropped + 1))
    fi
  done
  start=$(date +%s%N)
  status=0
  (cd "$src" && "$bin" -dict=fuzz/http.dict -max_total_time="$seconds" \
      -artifact_prefix="$work/$bug/" "$work/$bug/corpus") >"$work/$bug/log" 2>&1 || status=$?
  elapsed_ms=$((($(date +%s%N) - start) / 1000000))
  (cd "$src" && bazel --output_base="$output_base" shutdown) >/dev/null 2>&1 || true
  reason=$(grep -m1 "^$harness: " "$work/$bug/log" || true)
  if ((status != 0)) && [[ -n $reason ]]; then
    printf '%s: found by %s in %d.%03d s from %d seeds (%d exposing seeds dropped): %s\n' \
      "$bug" "$harness" $((elapsed_ms / 1000)) $((elapsed_ms % 1000)) "$kept" "$dropped" \
      "$reason"
  else
    printf '%s: NOT found by %s within %s s\n' "$bug" "$harness" "$seconds"
    missed=1
  fi
done
exit "$missed"
