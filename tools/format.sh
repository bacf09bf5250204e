#!/usr/bin/env bash
# Formats the tree with the field's standard tools, or checks that it is.
#
#   tools/format.sh           rewrite: buildifier (BUILD, .bzl, WORKSPACE; lint
#                             fixes included), clang-format-14 (C++)
#   tools/format.sh --check   change nothing; print what is off and exit 1
#
# buildifier is pinned in tools/package.json (npm, @bazel/buildifier 8.2.1) and
# installed by tools/setup.sh into tools/node_modules. clang-format reads
# .clang-format (Google style, 100 columns). Lint warnings are errors; the
# few kept on purpose are disabled in place, each with its one-line reason.
set -euo pipefail
cd "$(dirname "$0")/.."

check=0
case "${1:-}" in
  --check) check=1 ;;
  "") ;;
  *) echo "usage: tools/format.sh [--check]" >&2; exit 2 ;;
esac

buildifier=tools/node_modules/.bin/buildifier
if [[ ! -x $buildifier ]]; then
  echo "tools/format.sh: $buildifier is missing (run tools/setup.sh)" >&2
  exit 1
fi
if ! command -v clang-format-14 >/dev/null; then
  echo "tools/format.sh: clang-format-14 is missing (run tools/setup.sh)" >&2
  exit 1
fi

mapfile -t cpp < <(git ls-files -co --exclude-standard -- '*.cc' '*.h' | grep -v '^third_party/')
status=0
if ((check)); then
  "$buildifier" --mode=check --lint=warn -r . || status=1
  if ! clang-format-14 --dry-run --Werror "${cpp[@]}"; then status=1; fi
  ((status == 0)) &&
    echo "tools/format.sh --check: ${#cpp[@]} C++ files and every BUILD/.bzl file formatted, lint clean"
else
  "$buildifier" --mode=fix --lint=fix -r .
  clang-format-14 -i "${cpp[@]}"
fi
exit "$status"
