#!/usr/bin/env bash
# Installs the Debian packages that building and testing epollhttp need, and
# buildifier (tools/format.sh) and tus-js-client (a test's client) from npm,
# pinned by tools/package-lock.json.
#
# Idempotent and fast: when every package is already installed it only runs
# `dpkg -s` (and `buildifier --version`) and exits. `apt-get update` runs only when something is missing, and
# `sudo` is used only when not root. A failed install prints one line naming the
# missing packages and exits non-zero.
set -euo pipefail

packages=(
  bazel-bootstrap      # Bazel 4.2.3 (WORKSPACE mode)
  bazel-platforms      # @platforms, local
  bazel-rules-java     # @rules_java, local (bazel_tools registers JDK toolchains)
  g++                  # default toolchain
  clang                # --config=fuzz
  clang-format-14      # tools/format.sh
  libclang-rt-14-dev   # libFuzzer and sanitizer runtimes for clang
  llvm-14              # llvm-profdata-14, llvm-cov-14 (fuzz/coverage.sh)
  zip                  # seed corpus zips (.clusterfuzzlite/build.sh)
  unzip                # fuzz/oss_fuzz_check.sh
  libabsl-dev          # abseil-cpp 20220623
  libgtest-dev         # googletest 1.12
  libgmock-dev         # gmock 1.12
  libbenchmark-dev     # Google Benchmark 1.7
  libcpp-httplib-dev   # cpp-httplib 0.11.4 (loadgen's client)
  libssl-dev           # OpenSSL 3: loadgen's TLS
  zlib1g-dev           # zlib: HdrHistogram encodings in loadgen reports
  openssl              # certificates made by the TLS tests and the bench
  pkg-config           # abseil link lines in third_party/
  curl                 # end-to-end tests with a real client
  prometheus           # promtool and a real Prometheus scraping /metrics (prometheus_e2e_test)
  node-llhttp          # llhttp 8.1 C sources: a reference parser (differential test)
  python3-h11          # h11 0.14: a second reference parser (differential test)
  chromium             # headless: a page uploads across origins (upload_browser_e2e_test)
)

# buildifier and tus-js-client (//testing:tus_js_client_e2e_test), pinned in
# tools/package.json + package-lock.json, from npm. Node.js and npm come with
# the machine; Debian's nodejs and npm otherwise.
install_buildifier() {
  local dir
  dir="$(cd "$(dirname "$0")" && pwd)"
  [ -x "$dir/node_modules/.bin/buildifier" ] &&
    "$dir/node_modules/.bin/buildifier" --version 2>/dev/null | grep -q 'version: 8.2.1' &&
    grep -q '"version": "4.3.1"' "$dir/node_modules/tus-js-client/package.json" 2>/dev/null &&
    return 0
  if ! (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) >/tmp/epollhttp-npm.log 2>&1; then
    echo "tools/setup.sh: could not install the npm tools (log: /tmp/epollhttp-npm.log)" >&2
    return 1
  fi
}

missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -eq 0 ]; then
  install_buildifier
  exit $?
fi

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
echo "tools/setup.sh: installing ${missing[*]}" >&2
if ! { "${sudo[@]}" apt-get update -qq &&
       "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
       >/tmp/epollhttp-setup.log 2>&1; then
  still=()
  for p in "${missing[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || still+=("$p"); done
  echo "tools/setup.sh: could not install ${still[*]:-${missing[*]}} (log: /tmp/epollhttp-setup.log)" >&2
  exit 1
fi
install_buildifier
