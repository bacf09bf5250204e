# shellcheck shell=bash
# lib.sh: helpers shared by the bench scripts (sourced, not run).
#
# A script sources it, checks its arguments, then calls bench_start, which
# provides `root`, `work` (a scratch directory) and `pids` (processes killed
# on exit). The rest: peers' installation, building the optimised binaries,
# starting epollhttp and nginx on free loopback ports, and reading a process
# tree's memory and CPU from /proc.

# bench_start SIGNAL: changes to the repository root (`root`), makes the
# scratch directory `work` and the empty array `pids`. On exit every pid in
# `pids` gets SIGNAL (TERM, or KILL for servers that may not stop), the
# script waits for its children, and `work` is removed.
bench_start() {
  cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
  server_launcher=()
  # shellcheck disable=SC2034  # read by the scripts that call this
  root=$PWD
  work=$(mktemp -d)
  pids=()
  bench_signal=$1
  trap bench_cleanup EXIT
}

bench_cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -"$bench_signal" "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}

# require_count VALUE MESSAGE: exits 2 with MESSAGE on stderr unless VALUE
# is a positive integer.
require_count() {
  if ! [[ $1 =~ ^[1-9][0-9]*$ ]]; then
    echo "$2" >&2
    exit 2
  fi
}

# install_peers PKG...: installs the Debian packages that are missing.
install_peers() {
  local missing=() pkg
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  ((${#missing[@]})) || return 0
  echo "installing ${missing[*]}" >&2
  local sudo_cmd=(); [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" \
    >"$work/apt.log" 2>&1 || { tail -5 "$work/apt.log" >&2; echo "bench: apt-get failed" >&2; exit 1; }
}

# build_binaries TARGET...: optimised build; sets `bin` to bazel-bin.
build_binaries() {
  bazel build -c opt --noshow_progress "$@" >"$work/build.log" 2>&1 ||
    { tail -20 "$work/build.log" >&2; exit 1; }
  bin=$(bazel info -c opt bazel-bin 2>/dev/null)
}

free_port() {
  local port
  # Below the ephemeral range (32768+ here), so no client socket holds it.
  for port in $(shuf -i 10000-32000 -n 50); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
  echo "bench: no free port" >&2; exit 1
}

wait_for_port() {  # wait_for_port PORT [LOG]: until something accepts on it (5 s)
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "bench: nothing listens on :$1" >&2
  [[ -n ${2:-} ]] && tail -3 "$2" >&2
  exit 1
}

# start_epollhttp_in DIR FLAGS...: starts the server binary ($server_bin if
# set, else $bin/server/server) with --port 0 and FLAGS; sets `server_pid` and
# `server_port`. The array `server_launcher`, if set, is put in front of the
# binary (valgrind and its flags), and `server_start_tries` (default 100)
# counts the 50 ms waits for it to listen.
start_epollhttp_in() {
  local dir=$1; shift
  mkdir -p "$dir"
  "${server_launcher[@]}" "${server_bin:-$bin/server/server}" --port 0 "$@" 2>"$dir/err" &
  server_pid=$!
  pids+=("$server_pid")
  for _ in $(seq "${server_start_tries:-100}"); do
    server_port=$(sed -n 's|^epollhttp listening on http://127.0.0.1:\([0-9]*\) .*|\1|p' "$dir/err")
    [[ -n $server_port ]] && return
    sleep 0.05
  done
  echo "bench: epollhttp did not start" >&2; cat "$dir/err" >&2; exit 1
}

# write_nginx_conf DIR PORT [EXTRA]: nginx serving the hello body on PORT,
# 2 workers, with EXTRA directives in its http block. `nginx_connections`
# (default 30000) sets worker_connections; `nginx_tls` (a path prefix P with
# P.pem and P.key) makes it speak TLS, with a session cache.
write_nginx_conf() {
  local dir=$1 port=$2 extra=${3:-}
  mkdir -p "$dir"
  cat >"$dir/nginx.conf" <<CONF
worker_processes 2;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
worker_rlimit_nofile $(( ${nginx_connections:-30000} + 1000 ));
events { worker_connections ${nginx_connections:-30000}; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  client_max_body_size 0;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  $extra
  server {
    listen 127.0.0.1:$port reuseport${nginx_tls:+ ssl};
    ${nginx_tls:+ssl_certificate $nginx_tls.pem; ssl_certificate_key $nginx_tls.key;}
    ${nginx_tls:+ssl_session_cache shared:TLS:10m;}
    location / {
      default_type text/html;
      return 200 "Hello! I am an epoll server.";
    }
  }
}
CONF
}

# start_nginx_in DIR [EXTRA]: sets `server_pid` and `server_port`.
start_nginx_in() {
  local dir=$1
  server_port=$(free_port)
  write_nginx_conf "$dir" "$server_port" "${2:-}"
  nginx -c "$dir/nginx.conf" -p "$dir" -g 'daemon off;' 2>"$dir/err" &
  server_pid=$!
  pids+=("$server_pid")
  wait_for_port "$server_port" "$dir/err"
}

# rss_kb PID...: total resident KiB of the processes and their children.
rss_kb() {
  local total=0 pid child
  for pid in "$@"; do
    for child in $pid $(pgrep -P "$pid" || true); do
      total=$((total + $(awk '/^VmRSS:/ {print $2}' "/proc/$child/status" 2>/dev/null || echo 0)))
    done
  done
  echo "$total"
}

# cpu_ticks PID: user + system clock ticks of PID and its children so far.
cpu_ticks() {
  local total=0 p
  for p in $1 $(pgrep -P "$1" || true); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}

median() { sort -g | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }

# ab_rounds ROUNDS: for a side-by-side pair, runs the caller's `measure a`
# and `measure b` (each prints one number) ROUNDS times, the order
# alternating between rounds so that drift in the machine affects both
# alike; the numbers go to the arrays `ab_a` and `ab_b`.
ab_rounds() {
  ab_a=() ab_b=()
  local round
  for round in $(seq "$1"); do
    echo "round $round/$1" >&2
    if ((round % 2)); then
      ab_a+=("$(measure a)"); ab_b+=("$(measure b)")
    else
      ab_b+=("$(measure b)"); ab_a+=("$(measure a)")
    fi
  done
}

# ab_report TITLE A B COMMAND: prints TITLE, each side's numbers and median
# (A and B name the binaries), B/A, and the date, cores and COMMAND.
ab_report() {
  local ma mb
  ma=$(printf '%s\n' "${ab_a[@]}" | median) mb=$(printf '%s\n' "${ab_b[@]}" | median)
  printf '\n%s\n' "$1"
  printf 'A %s: %s  median %s\n' "$2" "${ab_a[*]}" "$ma"
  printf 'B %s: %s  median %s\n' "$3" "${ab_b[*]}" "$mb"
  awk -v a="$ma" -v b="$mb" 'BEGIN {printf "B/A %.2f\n", b / a}'
  printf '%s %s cores; %s\n' "$(date +%F)" "$(nproc)" "$4"
}
