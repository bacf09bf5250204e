#!/usr/bin/env bash
# A 1 GiB upload cut at a random point, ROUNDS times each way (the server
# killed with SIGKILL and restarted, or the client's connection closed):
# how much the client re-sends when it resumes from the offset HEAD reports,
# against one commit interval (--upload_commit_bytes, default 8 MiB). Each
# stored upload must hash as the body does. Not a test: it prints numbers
# (testing/bench/resume.py does the work).
#
#   testing/bench/resume.sh [ROUNDS] [COMMIT_BYTES]     (default 5 rounds)
set -euo pipefail
# shellcheck source=testing/bench/lib.sh
source "$(dirname "$0")/lib.sh"

rounds=${1:-5}
require_count "$rounds" "usage: testing/bench/resume.sh [ROUNDS] [COMMIT_BYTES]"
bench_start TERM
build_binaries //server
TMPDIR=$work python3 "$root/testing/bench/resume.py" "$bin/server/server" "$rounds" "${2:-0}"
