#!/usr/bin/env bash
# Before/after by instruction count: the server's user-space instructions per
# request under callgrind, for each binary given. Unlike CPU time
# (compare.sh), the count does not depend on the machine's noise, so a change
# of a few percent shows in one run. Not a test: it prints numbers.
#
#   testing/bench/instructions.sh SERVER... [--requests N]   (default 20000)
#
# Each binary runs with --threads 1 under valgrind --tool=callgrind twice:
# once serving nothing (start and shutdown), once serving N requests, half
# of them keep-alive GETs one at a time over 4 connections, half in batches
# of 16 pipelined GETs on one connection. The difference over N is the cost
# per request.
set -euo pipefail
# shellcheck source=testing/bench/lib.sh
source "$(dirname "$0")/lib.sh"
usage() {
  echo "usage: testing/bench/instructions.sh SERVER... [--requests N]" >&2
  exit 2
}
servers=()
requests=20000
while (($#)); do
  case $1 in
    --requests) (($# >= 2)) || usage; requests=$2; shift 2 ;;
    -*) usage ;;
    *) [[ -x $1 ]] || usage; servers+=("$(realpath "$1")"); shift ;;
  esac
done
((${#servers[@]})) || usage
require_count "$requests" "instructions.sh: --requests must be a positive integer"
bench_start TERM
install_peers valgrind

# instructions BIN N: user-space instructions of a server run that serves N
# requests (0: none).
instructions() {
  local dir=$work/run_$RANDOM
  server_launcher=(valgrind --tool=callgrind "--callgrind-out-file=$dir/out")
  server_bin=$1 server_start_tries=600 start_epollhttp_in "$dir" --threads 1
  server_launcher=()
  local pid=$server_pid port=$server_port
  python3 - "$port" "$2" <<'EOF'
import socket
import sys

port, n = int(sys.argv[1]), int(sys.argv[2])
REQUEST = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"
MARK = b"epoll server."  # The end of each hello body.


def answered(sock, expected, pending=b""):
    """Reads until `expected` hello answers arrived; returns the rest."""
    data = pending
    while data.count(MARK) < expected:
        chunk = sock.recv(1 << 16)
        if not chunk:
            sys.exit("instructions.sh: the server closed the connection")
        data += chunk
    return data[data.rfind(MARK) + len(MARK):]


if n:
    conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(4)]
    for i in range(n // 2):
        conns[i % 4].sendall(REQUEST)
        answered(conns[i % 4], 1)
    pipelined = socket.create_connection(("127.0.0.1", port))
    for _ in range((n - n // 2) // 16):
        pipelined.sendall(REQUEST * 16)
        answered(pipelined, 16)
    for sock in conns + [pipelined]:
        sock.close()
EOF
  kill -TERM "$pid"
  wait "$pid" || true
  awk '/^summary:/ {print $2}' "$dir/out"
}

# Whole batches of 16 only.
requests=$((requests / 32 * 32))
printf '%-40s %14s %14s %10s\n' binary "idle run" "with requests" "per request"
for server in "${servers[@]}"; do
  idle=$(instructions "$server" 0)
  busy=$(instructions "$server" "$requests")
  printf '%-40s %14s %14s %10s\n' "$server" "$idle" "$busy" \
    "$(awk -v a="$idle" -v b="$busy" -v n="$requests" 'BEGIN {printf "%.0f", (b - a) / n}')"
done
echo "($requests requests per run, --threads 1, callgrind user-space instructions)"
