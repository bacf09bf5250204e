#!/usr/bin/env bash
# Builds the fuzzers with .clusterfuzzlite/build.sh in the environment the
# fuzzing services (ClusterFuzzLite, OSS-Fuzz) set, once per sanitizer set
# they use (address with UBSan's default checks off, as theirs; undefined),
# then runs every built binary over its seed corpus zip. Prints one line per
# sanitizer and harness:
#   oss-fuzz <sanitizer> <harness>: ok (<N> inputs)      or  ... FAILED: <why>
# and exits 1 if a harness is missing, crashes or fails an oracle.
#
# Usage: fuzz/oss_fuzz_check.sh [SANITIZER...]   (default: address undefined)
#
# The services compile C++ with -stdlib=libc++ and build abseil-cpp from
# source with the same flags (the Dockerfile's $SRC/abseil-cpp). Offline,
# only Debian's abseil (built against libstdc++) exists, so this check keeps
# every flag of theirs but that one, and uses the system's abseil and llhttp.
set -euo pipefail
cd "$(dirname "$0")/.."

sanitizers=("$@")
((${#sanitizers[@]})) || sanitizers=(address undefined)
common="-O1 -fno-omit-frame-pointer -gline-tables-only -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION"
undefined_checks=array-bounds,bool,builtin,enum,float-divide-by-zero,function,integer-divide-by-zero,null,object-size,return,returns-nonnull-attribute,shift,signed-integer-overflow,unsigned-integer-overflow,unreachable,vla-bound,vptr
undefined_fatal=array-bounds,bool,builtin,enum,float-divide-by-zero,function,integer-divide-by-zero,null,object-size,return,returns-nonnull-attribute,shift,signed-integer-overflow,unreachable,vla-bound,vptr

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failed=0
for sanitizer in "${sanitizers[@]}"; do
  case $sanitizer in
    address) flags="-fsanitize=address -fsanitize-address-use-after-scope" ;;
    undefined) flags="-fsanitize=$undefined_checks -fno-sanitize-recover=$undefined_fatal" ;;
    *) echo "fuzz/oss_fuzz_check.sh: unknown sanitizer $sanitizer (address, undefined)" >&2; exit 2 ;;
  esac
  out=$scratch/out-$sanitizer
  log=$scratch/build-$sanitizer.log
  if ! env CC=clang CXX=clang++ \
    CFLAGS="$common $flags -fsanitize=fuzzer-no-link" \
    CXXFLAGS="$common $flags -fsanitize=fuzzer-no-link" \
    LIB_FUZZING_ENGINE=-fsanitize=fuzzer SANITIZER="$sanitizer" \
    OUT="$out" WORK="$scratch/work-$sanitizer" SRC="$scratch/src" \
    bash .clusterfuzzlite/build.sh >"$log" 2>&1; then
    tail -20 "$log" >&2
    echo "oss-fuzz $sanitizer build: FAILED"
    failed=1
    continue
  fi
  for corpus in fuzz/corpus/*/; do
    harness=$(basename "$corpus")
    binary=$out/$harness
    if [[ ! -x $binary || ! -f $out/${harness}_seed_corpus.zip || ! -f $out/$harness.dict ]]; then
      echo "oss-fuzz $sanitizer $harness: FAILED: binary, seed zip or dictionary missing"
      failed=1
      continue
    fi
    seeds=$scratch/seeds-$sanitizer-$harness
    mkdir -p "$seeds"
    unzip -q "$out/${harness}_seed_corpus.zip" -d "$seeds"
    options=()
    if [[ -f $out/$harness.options ]]; then
      options+=("-max_len=$(sed -n 's/^max_len = //p' "$out/$harness.options")")
    fi
    run_log=$scratch/run-$sanitizer-$harness.log
    # -runs=0 executes every seed once and stops; any sanitizer report or
    # oracle failure aborts with a non-zero status.
    if UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:silence_unsigned_overflow=1 \
      "$binary" -runs=0 -dict="$out/$harness.dict" "${options[@]}" "$seeds" >"$run_log" 2>&1; then
      inputs=$(find "$seeds" -type f | wc -l)
      echo "oss-fuzz $sanitizer $harness: ok ($inputs inputs)"
    else
      tail -30 "$run_log" >&2
      echo "oss-fuzz $sanitizer $harness: FAILED: crashed or failed an oracle on its seeds"
      failed=1
    fi
  done
done
exit "$failed"
