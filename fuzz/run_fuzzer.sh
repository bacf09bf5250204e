#!/usr/bin/env bash
# Runs one libFuzzer harness with the project's dictionary and seed corpus.
# Invoked by the `//fuzz:<name>` targets (see fuzz.bzl) as
#   run_fuzzer.sh <harness binary> <name> <default max_len> <dictionary> [libFuzzer flags or paths...]
# New inputs go to .fuzz/<name>/corpus and crash artifacts to .fuzz/<name>/ in
# the workspace (or $FUZZ_OUT/<name>), never into the committed seeds. When
# the caller names its own corpus paths, only the dictionary is added.
set -euo pipefail

bin=$1 name=$2 max_len=$3 dict_file=$4
shift 4
# The harness's default input size limit, unless the caller set one.
if [[ $max_len != 0 && " $* " != *" -max_len="* ]]; then
  set -- "-max_len=$max_len" "$@"
fi
root=$PWD
[[ -d "$0.runfiles/epollhttp" ]] && root="$0.runfiles/epollhttp"
bin=$(cd "$root" && realpath "$bin")
dict="$root/fuzz/$dict_file"
seeds="$root/fuzz/corpus/$name"

out="${FUZZ_OUT:-${BUILD_WORKSPACE_DIRECTORY:-$PWD}/.fuzz}/$name"
mkdir -p "$out/corpus"

for arg in "$@"; do
  if [[ $arg != -* ]]; then
    exec "$bin" "-dict=$dict" "$@"
  fi
done
exec "$bin" "-dict=$dict" "-artifact_prefix=$out/" "$@" "$out/corpus" "$seeds"
