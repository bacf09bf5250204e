#!/bin/bash -eu
# build.sh: builds every libFuzzer harness in fuzz/ the way ClusterFuzzLite and
# OSS-Fuzz build projects: with the compiler, flags, sanitizer and fuzzing
# engine they put in the environment, without Bazel.
#
# Environment (set by the services; fuzz/oss_fuzz_check.sh sets it locally):
#   CC CXX CFLAGS CXXFLAGS   compilers and flags (sanitizer flags included)
#   LIB_FUZZING_ENGINE       link flag of the engine (-fsanitize=fuzzer)
#   SANITIZER                address, undefined, coverage, ...
#   OUT                      where the fuzzers, seed zips and options go
#   WORK                     scratch space for objects and dependencies
#   SRC                      where the Dockerfile put the sources
#
# The flag variables are split into words on purpose (SC2086), as the services
# expect; compile_one runs in a child bash (SC2016).
# shellcheck disable=SC2086,SC2016
#
# For each harness fuzz/NAME.cc it writes to $OUT: the binary NAME,
# NAME_seed_corpus.zip (fuzz/corpus/NAME/), NAME.dict (its dictionary), and
# NAME.options when the harness has defaults in fuzz/BUILD.bazel (max_len).
#
# Dependencies: abseil-cpp and llhttp are built from $SRC/abseil-cpp and
# $SRC/llhttp (a release branch: include/llhttp.h, src/*.c) with the same
# flags when those exist, as in the Dockerfile; otherwise the system's are
# used (Debian's libabsl-dev through pkg-config, node-llhttp's sources in
# /usr/share). Runs from the project root, or finds it next to this script.
#
# Exits non-zero, naming the step, if anything fails to build.

if [[ -f fuzz/fuzz.bzl ]]; then
  root=$PWD
else
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
fi
for var in CC CXX LIB_FUZZING_ENGINE OUT WORK; do
  if [[ -z ${!var:-} ]]; then
    echo "build.sh: \$$var is not set (the fuzzing service's build environment)" >&2
    exit 2
  fi
done
CFLAGS=${CFLAGS:-}
CXXFLAGS=${CXXFLAGS:-}
SRC=${SRC:-/nonexistent}
jobs=$(nproc)
mkdir -p "$OUT" "$WORK"

# --- abseil-cpp ---------------------------------------------------------------
absl_modules=(absl_strings absl_str_format absl_status absl_statusor absl_time absl_span
  absl_any_invocable)
if [[ -d $SRC/abseil-cpp ]]; then
  if [[ ! -f $WORK/absl/.built ]]; then
    cmake -S "$SRC/abseil-cpp" -B "$WORK/absl-build" -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
      -DCMAKE_C_FLAGS="$CFLAGS" -DCMAKE_CXX_FLAGS="$CXXFLAGS" \
      -DCMAKE_CXX_STANDARD=17 -DABSL_PROPAGATE_CXX_STD=ON -DBUILD_TESTING=OFF \
      -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DCMAKE_INSTALL_PREFIX="$WORK/absl" >/dev/null
    cmake --build "$WORK/absl-build" -j "$jobs" >/dev/null
    cmake --install "$WORK/absl-build" >/dev/null
    touch "$WORK/absl/.built"
  fi
  export PKG_CONFIG_PATH="$WORK/absl/lib/pkgconfig:$WORK/absl/lib64/pkgconfig"
fi
if ! absl_cflags=$(pkg-config --cflags "${absl_modules[@]}") ||
  ! absl_libs=$(pkg-config --libs --static "${absl_modules[@]}"); then
  echo "build.sh: abseil-cpp not found (no \$SRC/abseil-cpp, no pkg-config files)" >&2
  exit 1
fi

# --- llhttp (the differential fuzzer's reference parser) ----------------------
if [[ -d $SRC/llhttp ]]; then
  llhttp_include=$SRC/llhttp/include
  llhttp_sources=("$SRC"/llhttp/src/{api,http,llhttp}.c)
else
  llhttp_include=/usr/share/include/llhttp
  llhttp_sources=(/usr/share/llhttp/{api,http,llhttp}.c)
fi
for f in "$llhttp_include/llhttp.h" "${llhttp_sources[@]}"; do
  [[ -f $f ]] || { echo "build.sh: llhttp source $f is missing" >&2; exit 1; }
done

# --- the project's code, as one static library ----------------------------------
obj=$WORK/epollhttp-obj
rm -rf "$obj"
mkdir -p "$obj"
cd "$root"
# Everything a harness can reach: the libraries (not tests, benchmarks or
# mains) and the test helpers the harnesses use.
sources=()
for f in base/*.cc server/*.cc server/http/*.cc server/upload/*.cc net/*.cc; do
  case $f in
    *_test.cc | *_benchmark.cc | server/main.cc | base/cli_flags.cc) ;;
    *) sources+=("$f") ;;
  esac
done
sources+=(testing/fake_transport.cc testing/differential/verdict.cc
  testing/differential/known_differences.cc)

export CC CXX CFLAGS CXXFLAGS obj root absl_cflags llhttp_include
compile_one() {  # compile_one FILE: one object under $obj
  local f=$1 out
  out=$obj/$(tr '/' '_' <<<"${f%.*}").o
  case $f in
    *.c) $CC $CFLAGS -w -I"$llhttp_include" -c "$f" -o "$out" ;;
    *) $CXX $CXXFLAGS -std=c++17 -I"$root" -I"$llhttp_include" $absl_cflags -c "$f" -o "$out" ;;
  esac
}
export -f compile_one
if ! printf '%s\n' "${sources[@]}" "${llhttp_sources[@]}" |
  xargs -P "$jobs" -I{} bash -c 'compile_one "$1" || exit 255' _ {}; then
  echo "build.sh: compiling the project's sources failed" >&2
  exit 1
fi
rm -f "$WORK/libepollhttp.a"
ar rcs "$WORK/libepollhttp.a" "$obj"/*.o

# --- the harnesses ---------------------------------------------------------------
# Per-harness settings from their one list, fuzz/harnesses.bzl:
# "NAME MAX_LEN HARNESS_COVERAGE DICT".
settings=$(python3 "$root/fuzz/harnesses.py" settings)
count=0
while read -r name max_len harness_coverage dict; do
  [[ -f fuzz/$name.cc ]] || { echo "build.sh: fuzz/$name.cc is missing" >&2; exit 1; }
  flags=()
  # As in the Bazel build, the harness's own oracle code is not
  # coverage-instrumented unless it inlines the code under test.
  if [[ $harness_coverage == 0 && " $CXXFLAGS " == *fuzzer-no-link* ]]; then
    flags=(-fno-sanitize=fuzzer-no-link)
  fi
  if ! $CXX $CXXFLAGS "${flags[@]}" -std=c++17 -I"$root" -I"$llhttp_include" $absl_cflags \
    -c "fuzz/$name.cc" -o "$WORK/$name.o" ||
    ! $CXX $CXXFLAGS "$WORK/$name.o" -o "$OUT/$name" $LIB_FUZZING_ENGINE \
      "$WORK/libepollhttp.a" $absl_libs -lcrypto -lpthread; then
    echo "build.sh: building $name failed" >&2
    exit 1
  fi
  rm -f "$OUT/${name}_seed_corpus.zip"
  (cd "fuzz/corpus/$name" && zip -q -r "$OUT/${name}_seed_corpus.zip" .)
  cp "fuzz/$dict" "$OUT/$name.dict"
  if ((max_len > 0)); then
    printf '[libfuzzer]\nmax_len = %s\n' "$max_len" >"$OUT/$name.options"
  fi
  count=$((count + 1))
done <<<"$settings"
echo "build.sh: $count fuzzers in $OUT (SANITIZER=${SANITIZER:-unset})"
