#!/usr/bin/env bash
# The benchmark suite: epollhttp vs nginx and the system-call floor, and
# //loadgen vs h2load and wrk, side by side on this machine. Not a test: it
# prints numbers.
#
#   testing/bench/run.sh [ROUNDS]      (default 3 rounds; about 8 minutes)
#
# The measure that belongs to the server is its CPU time per request (per MB
# for uploads), read from /proc around each load run: on a 2-core machine the
# load tool shares the CPUs and bounds throughput, so throughput is printed
# beside CPU, not instead of it. Three servers take the same load: epollhttp
# (--threads 2), nginx (2 workers, `return 200` with the same body,
# access_log off, reuseport) and the floor (testing/bench/floor.cc: 2 epoll
# threads that count request ends and write the canned reply, with no
# parsing, limits or timers), so epollhttp/floor says how much is left to win.
#
# Installs its peers if missing (nginx-light, wrk, nghttp2-client,
# apache2-utils), builds the optimised binaries, starts every server itself on
# free loopback ports, runs each scenario in interleaved rounds, stops
# everything it started, and prints medians with their spread (min-max).
#
# Memory per idle connection is the server's RSS growth per keep-alive
# connection after one request, on a freshly started server, at 10,000 and
# 100,000 connections (the latter spread over 8 loopback source addresses;
# it needs an open-file limit of 110,000, which the script raises if it may,
# and otherwise prints why the row is skipped). While the connections are
# held it also records the server's CPU use and the p99 latency of a probe
# client making new requests. The TLS rows compare loadgen with h2load on an
# nginx that speaks TLS, with certificates the script makes with openssl.
set -euo pipefail
# shellcheck source=testing/bench/lib.sh
source "$(dirname "$0")/lib.sh"

rounds=${1:-3}
require_count "$rounds" "usage: testing/bench/run.sh [ROUNDS]"
bench_start TERM

# --- Peers and binaries ----------------------------------------------------
install_peers nginx-light wrk nghttp2-client apache2-utils
build_binaries //server //loadgen //testing/bench:idle_connections //testing/bench:floor
server_bin=$bin/server/server
loadgen_bin=$bin/loadgen/loadgen
idle_bin=$bin/testing/bench/idle_connections
floor_bin=$bin/testing/bench/floor
big_idle=100000
if ulimit -n $((big_idle + 10000)) 2>/dev/null; then
  big_idle_skip=""
else
  big_idle_skip="skipped: open-file hard limit $(ulimit -Hn) < $((big_idle + 10000)) (raising it needs CAP_SYS_RESOURCE)"
  ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
fi
hz=$(getconf CLK_TCK)

# --- Servers -----------------------------------------------------------------
epollhttp_flags=(--threads 2 --idle_timeout 300s)
start_epollhttp() {
  start_epollhttp_in "$work/epollhttp" "${epollhttp_flags[@]}" --max_connections 30000
  epollhttp_pid=$server_pid epollhttp_port=$server_port
}

start_nginx() {
  start_nginx_in "$work/nginx"
  nginx_pid=$server_pid nginx_port=$server_port
}

start_floor_in() {  # start_floor_in DIR FLAGS...: sets server_pid and server_port
  local dir=$1; shift
  mkdir -p "$dir"
  "$floor_bin" "$@" 2 2>"$dir/err" &
  server_pid=$!
  pids+=("$server_pid")
  for _ in $(seq 100); do
    server_port=$(sed -n 's|^floor listening on http://127.0.0.1:\([0-9]*\)/|\1|p' "$dir/err")
    [[ -n $server_port ]] && return
    sleep 0.05
  done
  echo "bench: the floor did not start" >&2; cat "$dir/err" >&2; exit 1
}

# --- Load tools ------------------------------------------------------------
upload="$work/upload.bin"
upload_bytes=3748935
head -c "$upload_bytes" /dev/urandom >"$upload"

declare -A samples
add() { samples[$1]+="$2 "; }

wrk_rps() {  # wrk_rps PORT ARGS...: requests/s
  local port=$1; shift
  wrk "$@" "http://127.0.0.1:$port/" | awk '/^Requests\/sec:/ {print $2}'
}

# wrk_cpu NAME PID PORT ARGS...: records req/s as NAME_rps and the server's
# CPU time per request (microseconds) as NAME.
wrk_cpu() {
  local name=$1 pid=$2 port=$3; shift 3
  local before after out requests
  before=$(cpu_ticks "$pid")
  out=$(wrk "$@" "http://127.0.0.1:$port/")
  after=$(cpu_ticks "$pid")
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  add "${name}_rps" "$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")"
  add "$name" "$(awk -v t=$((after - before)) -v hz="$hz" -v n="$requests" \
    'BEGIN {printf "%.3f", (n > 0 ? t / hz / n * 1e6 : 0)}')"
}

# upload_cpu NAME PID PORT: 400 x 3.7 MB POSTs over 4 connections (h2load);
# records the server's CPU per MB (microseconds) as NAME and MB/s as NAME_rps.
upload_cpu() {
  local name=$1 pid=$2 port=$3 before after out secs
  before=$(cpu_ticks "$pid")
  out=$(h2load --h1 -c4 -n400 -d "$upload" "http://127.0.0.1:$port/")
  after=$(cpu_ticks "$pid")
  grep -q '400 succeeded' <<<"$out" || { echo "bench: h2load failed: $out" >&2; return; }
  secs=$(sed -n 's/^finished in \([0-9.]*\)\(m\?s\),.*/\1 \2/p' <<<"$out" |
    awk '{print ($2 == "ms") ? $1 / 1000 : $1}')
  add "${name}_rps" "$(awk -v s="$secs" -v b="$upload_bytes" 'BEGIN {printf "%.1f", 400 * b / s / 1e6}')"
  add "$name" "$(awk -v t=$((after - before)) -v hz="$hz" -v b="$upload_bytes" \
    'BEGIN {printf "%.1f", t / hz / (400 * b / 1e6) * 1e6}')"
}

h2load_rps() {  # h2load_rps ARGS...: h2load's requests/s, or nothing if a request failed
  local out
  out=$(h2load "$@" 2>&1)
  grep -qE ' 0 failed, 0 errored' <<<"$out" || { echo "bench: h2load failed: $(tail -3 <<<"$out")" >&2; return; }
  sed -n 's/^finished in [0-9.]*m\?s, \([0-9.]*\) req\/s.*/\1/p' <<<"$out"
}

# make_tls_certs DIR: a test CA (DIR/ca.pem) and a server certificate it
# signs for localhost and 127.0.0.1 (DIR/server.pem, DIR/server.key).
make_tls_certs() {
  local dir=$1 key=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
  mkdir -p "$dir"
  (
    cd "$dir"
    openssl req -x509 "${key[@]}" -keyout ca.key -out ca.pem -days 2 -subj '/CN=bench CA'
    openssl req "${key[@]}" -keyout server.key -out server.csr -subj '/CN=localhost'
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >san.cnf
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
      -days 2 -extfile san.cnf
  ) >"$dir/openssl.log" 2>&1 || { cat "$dir/openssl.log" >&2; echo "bench: openssl failed" >&2; exit 1; }
}

h2load_seconds() {  # h2load_seconds PORT: wall time of 400 x 3.7 MB POSTs
  h2load --h1 -c4 -n400 -d "$upload" "http://127.0.0.1:$1/" |
    sed -n 's/^finished in \([0-9.]*\)\(m\?s\),.*/\1 \2/p' | awk '{print ($2 == "ms") ? $1 / 1000 : $1}'
}
loadgen_json() {  # loadgen_json ARGS...: the JSON report
  "$loadgen_bin" --progress=never --json=- "$@" | tr -d '\n'
}
# json_field KEY: the first number under KEY in a one-line JSON report (the
# run's own figures come before the phases' and the bodies').
json_field() { grep -o "\"$1\": [0-9.e+-]*" | head -1 | sed 's/.*: //'; }

# idle_measure NAME PORT PID COUNT SOURCES: holds COUNT idle keep-alive
# connections; records the server's RSS growth per connection as NAME, its
# CPU use (% of one core) over 2 s of holding as NAME_cpu, and the p99 latency
# (us) of a one-connection probe making new requests meanwhile as NAME_probe.
idle_measure() {
  local name=$1 port=$2 pid=$3 count=$4 sources=$5 before after fifo=$work/idle.fifo t0 t1
  before=$(rss_kb "$pid")
  rm -f "$fifo"; mkfifo "$fifo"
  "$idle_bin" "$port" "$count" "$sources" <"$fifo" >"$work/idle.out" 2>"$work/idle.err" &
  local idle_pid=$!
  exec 4>"$fifo"
  for _ in $(seq 3000); do
    grep -q '^ready' "$work/idle.out" 2>/dev/null && break
    kill -0 "$idle_pid" 2>/dev/null || break
    sleep 0.1
  done
  if ! grep -q '^ready' "$work/idle.out"; then
    echo "bench: idle clients failed: $(cat "$work/idle.err")" >&2
    exec 4>&-; wait "$idle_pid" || true; return
  fi
  after=$(rss_kb "$pid")
  add "$name" "$(awk -v b="$before" -v a="$after" -v n="$count" 'BEGIN {printf "%.0f", (a - b) * 1024 / n}')"
  t0=$(cpu_ticks "$pid")
  sleep 2  # The hold itself: the server should not spend CPU on it.
  t1=$(cpu_ticks "$pid")
  add "${name}_cpu" "$(awk -v t=$((t1 - t0)) -v hz="$hz" 'BEGIN {printf "%.1f", t / hz / 2 * 100}')"
  add "${name}_probe" "$(loadgen_json --url "http://127.0.0.1:$port/" --method GET --threads 1 \
    --clients 1 --duration 2s | json_field p99)"
  exec 4>&-
  wait "$idle_pid" || true
}

# fresh_idle epollhttp|nginx COUNT SOURCES: idle_measure on a server started
# for the purpose (one that already held connections keeps their freed
# memory, which would hide the cost of new ones).
fresh_idle() {
  local target=$1 count=$2 sources=$3
  if [[ $target == epollhttp ]]; then
    start_epollhttp_in "$work/fresh_${target}_$RANDOM" "${epollhttp_flags[@]}" \
      --max_connections $((count + 1000))
  else
    nginx_connections=$((count + 1000)) start_nginx_in "$work/fresh_${target}_$RANDOM"
  fi
  idle_measure "idle${count}_$target" "$server_port" "$server_pid" "$count" "$sources"
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
}

upload_peak_rss_mb() {  # upload_peak_rss_mb PORT PID: peak server RSS during 64 x 100 MB uploads
  local peak=0 rss
  "$loadgen_bin" --url "http://127.0.0.1:$1/" --threads 2 --clients 64 --requests 1 \
    --body_bytes 104857600 --progress=never >"$work/upload.out" 2>&1 &
  local load_pid=$!
  while kill -0 "$load_pid" 2>/dev/null; do
    rss=$(rss_kb "$2"); ((rss > peak)) && peak=$rss
    sleep 0.05
  done
  wait "$load_pid" || echo "bench: uploads reported failures: $(tail -3 "$work/upload.out")" >&2
  awk -v p="$peak" 'BEGIN {printf "%.1f", p / 1024}'
}

# --- Run -------------------------------------------------------------------
start_epollhttp
start_nginx
start_floor_in "$work/floor"
# shellcheck disable=SC2034  # floor_pid is read through ${!pid_var} below
floor_pid=$server_pid floor_port=$server_port
start_floor_in "$work/floor_close" --close; floorclose_pid=$server_pid floorclose_port=$server_port
make_tls_certs "$work/tls"
nginx_tls=$work/tls/server start_nginx_in "$work/nginx_tls"; tls_port=$server_port
tls_url=https://localhost:$tls_port/
echo "epollhttp on :$epollhttp_port, nginx on :$nginx_port, floor on :$floor_port" \
  "(:$floorclose_port closing); $rounds rounds" >&2

for round in $(seq "$rounds"); do
  echo "round $round/$rounds" >&2
  for target in epollhttp nginx floor; do
    port_var=${target}_port; port=${!port_var}
    pid_var=${target}_pid; pid=${!pid_var}
    close_port=$port close_pid=$pid
    [[ $target == floor ]] && close_port=$floorclose_port close_pid=$floorclose_pid
    wrk_cpu "keepalive_$target" "$pid" "$port" -t1 -c64 -d5s
    wrk_cpu "close_$target" "$close_pid" "$close_port" -t1 -c32 -d5s -H 'Connection: close'
    wrk_cpu "pipeline_$target" "$pid" "$port" -t1 -c64 -d5s -s "$root/testing/bench/pipeline16.lua"
    [[ $target == floor ]] || upload_cpu "upload_$target" "$pid" "$port"
  done
  # Load generators, against epollhttp.
  add "h2load_seconds" "$(h2load_seconds "$epollhttp_port")"
  add "loadgen_seconds" "$(loadgen_json --url "http://127.0.0.1:$epollhttp_port/" --threads 4 \
    --requests 100 | json_field duration_seconds)"
  # Four connections over two client threads (wrk -t2 -c4 and loadgen
  # --threads 2 --clients 4): which server thread each connection hashes to
  # and where the scheduler puts the four threads swing either tool's rate by
  # up to 1.7x from one run to the next, so this pair runs three times per
  # round (3 s each) and the row compares medians.
  for _ in 1 2 3; do
    add "wrk_get" "$(wrk_rps "$epollhttp_port" -t2 -c4 -d3s)"
    add "loadgen_get" "$(loadgen_json --url "http://127.0.0.1:$epollhttp_port/" --method GET \
      --threads 2 --clients 4 --duration 3s | json_field requests_per_second)"
  done
  # TLS, against nginx (epollhttp speaks plain HTTP): loadgen verifies the
  # certificate (--cacert); h2load does not verify.
  add "tls_get_loadgen" "$(loadgen_json --url "$tls_url" --cacert "$work/tls/ca.pem" --method GET \
    --threads 2 --clients 4 --duration 3s | json_field requests_per_second)"
  add "tls_get_h2load" "$(h2load_rps --h1 -t2 -c4 -D 3 "$tls_url")"
  add "tls_upload_loadgen" "$(loadgen_json --url "$tls_url" --cacert "$work/tls/ca.pem" \
    --threads 2 --clients 4 --requests 100 | json_field requests_per_second)"
  add "tls_upload_h2load" "$(h2load_rps --h1 -t2 -c4 -n400 -d "$upload" "$tls_url")"
  # Memory, A/B as well.
  for target in epollhttp nginx; do
    fresh_idle "$target" 10000 1
    [[ -n $big_idle_skip ]] || fresh_idle "$target" "$big_idle" 8
  done
  add "peak_epollhttp" "$(upload_peak_rss_mb "$epollhttp_port" "$epollhttp_pid")"
  add "peak_nginx" "$(upload_peak_rss_mb "$nginx_port" "$nginx_pid")"
done

# cell NAME [FORMAT]: "median (min-max)" of NAME's samples, or "-" if none.
cell() {
  local values
  values=$(tr ' ' '\n' <<<"${samples[$1]:-}" | grep . | sort -g || true)
  [[ -n $values ]] || { echo "-"; return; }
  local m lo hi
  m=$(median <<<"$values"); lo=$(head -1 <<<"$values"); hi=$(tail -1 <<<"$values")
  awk -v m="$m" -v lo="$lo" -v hi="$hi" -v f="${2:-%.1f}" \
    'BEGIN {printf (f " (" f "-" f ")"), m, lo, hi}'
}
med() { tr ' ' '\n' <<<"${samples[$1]:-}" | grep . | median || true; }
ratio() {  # ratio A B: A / B of the medians, or "-"
  local a b
  a=$(med "$1"); b=$(med "$2")
  awk -v a="$a" -v b="$b" 'BEGIN {if (a == "" || b == "" || b == 0) print "-"; else printf "%.2f", a / b}'
}
line() { printf '%-38s %-8s %-22s %-22s %-22s %-7s %-7s %s\n' "$@"; }

echo
echo "Server CPU time: medians of $rounds rounds (min-max); lower is better"
line "scenario" "unit" "epollhttp" "nginx" "floor" "/nginx" "/floor" "goal"
for s in keepalive close pipeline; do
  case $s in
    keepalive) label="keep-alive GET, wrk -t1 -c64" goal="<= 0.9 nginx, <= 1.1 floor" ;;
    close) label="connection per request, wrk -c32" goal="<= 0.7 nginx" ;;
    pipeline) label="16-deep pipelined GET, wrk -c64" goal="<= 0.2 nginx" ;;
  esac
  line "$label" "us/req" "$(cell "${s}_epollhttp" %.2f)" "$(cell "${s}_nginx" %.2f)" \
    "$(cell "${s}_floor" %.2f)" "$(ratio "${s}_epollhttp" "${s}_nginx")" \
    "$(ratio "${s}_epollhttp" "${s}_floor")" "$goal"
  line "  throughput (bound by wrk)" "req/s" "$(cell "${s}_epollhttp_rps" %.0f)" \
    "$(cell "${s}_nginx_rps" %.0f)" "$(cell "${s}_floor_rps" %.0f)" "" "" ""
done
line "3.7 MB POSTs, h2load -c4 -n400" "us/MB" "$(cell upload_epollhttp %.0f)" \
  "$(cell upload_nginx %.0f)" "-" "$(ratio upload_epollhttp upload_nginx)" "-" "<= 0.6 nginx"
line "  throughput (bound by h2load)" "MB/s" "$(cell upload_epollhttp_rps %.0f)" \
  "$(cell upload_nginx_rps %.0f)" "-" "" "" ""
echo
echo "Memory, and the server while idle connections are held"
line "scenario" "unit" "epollhttp" "nginx" "" "/nginx" "" "goal"
for n in 10000 "$big_idle"; do
  label="$(sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<<"$n") idle keep-alive conns"
  if [[ $n == "$big_idle" && -n $big_idle_skip ]]; then
    line "$label" "B/conn" "$big_idle_skip"
    continue
  fi
  line "$label" "B/conn" "$(cell "idle${n}_epollhttp" %.0f)" "$(cell "idle${n}_nginx" %.0f)" "" \
    "$(ratio "idle${n}_epollhttp" "idle${n}_nginx")" "" "<= 512 B/conn"
  line "  server CPU while held" "% core" "$(cell "idle${n}_epollhttp_cpu")" \
    "$(cell "idle${n}_nginx_cpu")" "" "" "" "idle"
  line "  new-request p99 while held" "us" "$(cell "idle${n}_epollhttp_probe" %.0f)" \
    "$(cell "idle${n}_nginx_probe" %.0f)" "" "" "" "prompt"
done
line "64 x 100 MB uploads, peak server RSS" "MB" "$(cell peak_epollhttp)" "$(cell peak_nginx)" "" \
  "$(ratio peak_epollhttp peak_nginx)" "" "< 64 MB"
echo
echo "Load generators vs epollhttp"
line "scenario" "unit" "loadgen" "peer" "" "ratio" "" "goal"
line "400 x 3.7 MB POSTs, 4 conns (h2load)" "s" "$(cell loadgen_seconds %.3f)" \
  "$(cell h2load_seconds %.3f)" "" "$(ratio loadgen_seconds h2load_seconds)" "" "<= 1.0"
line "small GETs, 4 conns (wrk -t2)" "req/s" "$(cell loadgen_get %.0f)" "$(cell wrk_get %.0f)" "" \
  "$(ratio loadgen_get wrk_get)" "" ">= 0.8"
line "TLS GETs, 4 conns (h2load), nginx" "req/s" "$(cell tls_get_loadgen %.0f)" \
  "$(cell tls_get_h2load %.0f)" "" "$(ratio tls_get_loadgen tls_get_h2load)" "" ">= 0.8"
line "TLS 400 x 3.7 MB POSTs (h2load), nginx" "req/s" "$(cell tls_upload_loadgen %.0f)" \
  "$(cell tls_upload_h2load %.0f)" "" "$(ratio tls_upload_loadgen tls_upload_h2load)" "" ">= 0.8"
echo
echo "$(date -u +%Y-%m-%d) $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo); testing/bench/run.sh $rounds"
