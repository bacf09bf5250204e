// main.cc: the `//server` binary: flags, the server, signals.
//
// Prints one line on start (`epollhttp listening on http://A:P (N threads)`,
// plus `; admin on http://A:P` with --admin_address) and nothing per request.
// SIGINT/SIGTERM begin a graceful shutdown (one line; stop accepting, finish
// requests in flight, exit 0). --shutdown_timeout is a hard deadline: if
// connections are still open then, the process exits with status 1 however
// busy its loops are (the loops first get kAbortGrace to abort the requests
// in flight, whose streams hear OnAbort). A second signal exits at once
// with status 1.
#include <signal.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/cli_flags.h"
#include "net/worker_pool.h"
#include "server/app.h"
#include "server/metrics.h"
#include "server/server.h"
#include "server/upload/file_system.h"
#include "server/upload/store.h"
#include "server/upload/sweeper.h"
#include "server/upload/upload_handler.h"
#include "server/upload/upload_metrics.h"

ABSL_FLAG(std::string, address, "127.0.0.1", "IPv4 address to listen on.");
ABSL_FLAG(int32_t, port, 8000, "TCP port to listen on; 0 picks a free port.");
ABSL_FLAG(int32_t, threads, 0, "Event-loop threads; 0 means one per CPU.");
ABSL_FLAG(int32_t, shutdown_timeout, 10,
          "Seconds that requests in flight get to finish after SIGINT/SIGTERM; then the "
          "process exits with status 1 whatever is still open.");
ABSL_FLAG(absl::Duration, header_timeout, absl::Seconds(10),
          "Time a request head may take from its first byte (then 408 and close); also "
          "how long a new connection may wait before sending anything. E.g. 10s, 500ms.");
ABSL_FLAG(absl::Duration, body_timeout, absl::Seconds(30),
          "Time a request body may go without receiving a byte before the connection is "
          "closed.");
ABSL_FLAG(int64_t, body_min_rate, 500,
          "Bytes per second a request body must average after its first --body_timeout "
          "(a body of B bytes gets --body_timeout + B/rate in all); slower uploads are "
          "closed and counted as body timeouts. 0 disables.");
ABSL_FLAG(absl::Duration, idle_timeout, absl::Seconds(60),
          "Time a kept-alive connection may sit idle between requests before it is closed.");
ABSL_FLAG(absl::Duration, write_timeout, absl::Seconds(30),
          "Time queued response bytes may go without being accepted by the client before "
          "the connection is closed.");
ABSL_FLAG(int64_t, max_header_bytes, 32 * 1024,
          "Bytes allowed in a request head (request line + fields) and in a chunked "
          "trailer section; more gets 431. The request line alone is capped at "
          "min(8192, this) bytes (414).");
ABSL_FLAG(int64_t, max_body_bytes, int64_t{1} << 30,
          "Bytes allowed in a request body (default 1 GiB); a larger Content-Length gets "
          "413 before any body byte is read, a chunked body 413 as soon as it passes this.");
ABSL_FLAG(bool, allow_bare_lf, false,
          "Accept a bare LF (without CR) as a line end in request heads, as RFC 9112 2.2 "
          "allows. Off by default: behind a proxy that ends lines differently, a bare LF "
          "lets a client smuggle a second request through a field line.");
ABSL_FLAG(int32_t, max_connections, 10000,
          "Open connections at which the server stops accepting (new clients wait in the "
          "kernel's accept queue) until one closes.");
ABSL_FLAG(bool, defer_accept, true,
          "Accept a connection only once its first request bytes arrive (TCP_DEFER_ACCEPT), "
          "so it is read at once without an epoll round trip. A connection that sends "
          "nothing is accepted after about 1 s, and --header_timeout runs from then.");
ABSL_FLAG(bool, shared_listener, false,
          "All loops accept from one listening socket, each watching it with EPOLLEXCLUSIVE, "
          "instead of one SO_REUSEPORT socket per loop (the measured faster default).");
ABSL_FLAG(std::string, admin_address, "",
          "HOST:PORT of a separate listener for /metrics and /healthz, which are then not "
          "served on the public port (other paths there get 404). Empty: both on the "
          "public port.");
ABSL_FLAG(int32_t, worker_threads, 4,
          "Threads of the worker pool that handlers hand slow work to (disk I/O, fsync), "
          "so that it never stalls an event loop. 1..1024.");
ABSL_FLAG(bool, test_routes, false,
          "Serve the test-only routes (POST /test/digest: the body hashed on the worker "
          "pool a piece at a time). For the end-to-end tests; off in production.");
ABSL_FLAG(std::string, upload_dir, "",
          "Store resumable uploads (tus 1.0) in this directory, served under /files/; every "
          "acknowledged byte is on disk (fdatasync) first. Empty: /files/ is the hello reply.");
ABSL_FLAG(int64_t, upload_commit_bytes, int64_t{8} << 20,
          "With --upload_dir: make an upload's bytes durable at least this often within a "
          "request (and at its end).");
ABSL_FLAG(int64_t, upload_max_bytes, int64_t{1} << 30,
          "With --upload_dir: the largest upload (Tus-Max-Size); larger ones get 413.");
ABSL_FLAG(int64_t, upload_dir_max_bytes, 0,
          "With --upload_dir: the bytes all uploads may take (a known length reserved at "
          "creation, a deferred one as it arrives); beyond it, 507. 0: only the disk's limit.");
ABSL_FLAG(int64_t, upload_max_incomplete, 1000,
          "With --upload_dir: how many incomplete uploads may exist at once; creating one more "
          "is 503.");
ABSL_FLAG(absl::Duration, upload_expiry, absl::Hours(24),
          "With --upload_dir: an incomplete upload expires this long after its creation "
          "(Upload-Expires) and is then removed.");
ABSL_FLAG(std::string, upload_token_file, "",
          "With --upload_dir: every /files/ request but OPTIONS must carry 'Authorization: "
          "Bearer TOKEN', TOKEN being this file's contents (trailing whitespace ignored); 401 "
          "otherwise.");
ABSL_FLAG(std::string, cors_origin, "",
          "With --upload_dir: let pages from this origin (e.g. https://app.example, or *) "
          "upload from a browser: preflights are answered and the tus fields exposed.");
ABSL_FLAG(bool, access_log, false,
          "Write one line per request to stderr: time, client address, request line, "
          "status, body bytes, duration.");

namespace {

// How long the loops get to abort their connections after the shutdown
// deadline before the process exits regardless.
constexpr std::chrono::milliseconds kAbortGrace(250);

// ParsePort() parses 1-5 decimal digits as a port (0..65535).
bool ParsePort(absl::string_view text, int* port) {
  if (text.empty() || text.size() > 5) return false;
  int value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  if (value > 65535) return false;
  *port = value;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "An epoll HTTP/1.1 server that answers every request with the tutorial's hello "
      "text.\nUsage: server [--address A] [--port P] [--threads N] "
      "[--access_log] [limits and timeouts, see below]");
  std::map<std::string, std::vector<std::string>> unused;
  if (std::string error;
      !epollhttp::ParseFlags({"server", "server/"}, argc, argv, {}, &unused, &error)) {
    std::fprintf(stderr, "server: %s\n", error.c_str());
    return 2;
  }

  const int32_t port = absl::GetFlag(FLAGS_port);
  int32_t threads = absl::GetFlag(FLAGS_threads);
  const int32_t shutdown_timeout = absl::GetFlag(FLAGS_shutdown_timeout);
  if (port < 0 || port > 65535) {
    std::fprintf(stderr, "server: --port must be 0..65535, got %d\n", port);
    return 2;
  }
  if (threads < 0 || threads > 1024) {
    std::fprintf(stderr, "server: --threads must be 0..1024, got %d\n", threads);
    return 2;
  }
  const int32_t worker_threads = absl::GetFlag(FLAGS_worker_threads);
  if (worker_threads < 1 || worker_threads > 1024) {
    std::fprintf(stderr, "server: --worker_threads must be 1..1024, got %d\n", worker_threads);
    return 2;
  }
  if (shutdown_timeout < 0) {
    std::fprintf(stderr, "server: --shutdown_timeout must be >= 0, got %d\n", shutdown_timeout);
    return 2;
  }
  const absl::Duration timeouts[] = {
      absl::GetFlag(FLAGS_header_timeout), absl::GetFlag(FLAGS_body_timeout),
      absl::GetFlag(FLAGS_idle_timeout), absl::GetFlag(FLAGS_write_timeout)};
  const char* timeout_names[] = {"header_timeout", "body_timeout", "idle_timeout", "write_timeout"};
  for (int i = 0; i < 4; ++i) {
    if (timeouts[i] <= absl::ZeroDuration() || timeouts[i] > absl::Hours(24 * 365)) {
      std::fprintf(stderr, "server: --%s must be positive (at most a year), got %s\n",
                   timeout_names[i], absl::FormatDuration(timeouts[i]).c_str());
      return 2;
    }
  }
  const int64_t max_header_bytes = absl::GetFlag(FLAGS_max_header_bytes);
  const int64_t max_body_bytes = absl::GetFlag(FLAGS_max_body_bytes);
  const int32_t max_connections = absl::GetFlag(FLAGS_max_connections);
  if (max_header_bytes < 64 || max_header_bytes > (int64_t{1} << 30)) {
    std::fprintf(stderr, "server: --max_header_bytes must be 64..1073741824, got %lld\n",
                 static_cast<long long>(max_header_bytes));
    return 2;
  }
  if (max_body_bytes < 0) {
    std::fprintf(stderr, "server: --max_body_bytes must be >= 0, got %lld\n",
                 static_cast<long long>(max_body_bytes));
    return 2;
  }
  if (max_connections < 1) {
    std::fprintf(stderr, "server: --max_connections must be >= 1, got %d\n", max_connections);
    return 2;
  }
  const int64_t body_min_rate = absl::GetFlag(FLAGS_body_min_rate);
  if (body_min_rate < 0) {
    std::fprintf(stderr, "server: --body_min_rate must be >= 0, got %lld\n",
                 static_cast<long long>(body_min_rate));
    return 2;
  }
  std::string admin_host;
  int admin_port = -1;
  if (const std::string admin = absl::GetFlag(FLAGS_admin_address); !admin.empty()) {
    const size_t colon = admin.rfind(':');
    if (colon == std::string::npos || colon == 0 ||
        !ParsePort(absl::string_view(admin).substr(colon + 1), &admin_port)) {
      std::fprintf(stderr,
                   "server: --admin_address must be HOST:PORT (port 0..65535), got \"%s\"\n",
                   admin.c_str());
      return 2;
    }
    admin_host = admin.substr(0, colon);
  }
  if (threads == 0)
    threads = static_cast<int32_t>(std::max(1u, std::thread::hardware_concurrency()));

  // Signals are taken synchronously by this thread; the loops never see them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  epollhttp::ServerOptions options;
  options.address = absl::GetFlag(FLAGS_address);
  options.defer_accept = absl::GetFlag(FLAGS_defer_accept);
  options.shared_listener = absl::GetFlag(FLAGS_shared_listener);
  options.port = static_cast<uint16_t>(port);
  options.threads = threads;
  options.codec.parser.max_head_bytes = static_cast<size_t>(max_header_bytes);
  options.codec.parser.allow_bare_lf = absl::GetFlag(FLAGS_allow_bare_lf);
  options.codec.body.max_body_bytes = max_body_bytes;
  options.codec.body.max_trailer_bytes = static_cast<size_t>(max_header_bytes);
  options.connection.header_timeout = absl::ToChronoMilliseconds(timeouts[0]);
  options.connection.body_timeout = absl::ToChronoMilliseconds(timeouts[1]);
  options.connection.idle_timeout = absl::ToChronoMilliseconds(timeouts[2]);
  options.connection.write_timeout = absl::ToChronoMilliseconds(timeouts[3]);
  options.connection.body_min_rate = body_min_rate;
  options.admin_address = admin_host;
  options.admin_port = static_cast<uint16_t>(std::max(admin_port, 0));
  options.max_connections = max_connections;
  options.access_log = absl::GetFlag(FLAGS_access_log);
  // The application: the hello reply, /healthz and /metrics (see app.h).
  epollhttp::Metrics metrics(threads);
  absl::StatusOr<std::unique_ptr<epollhttp::net::WorkerPool>> workers =
      epollhttp::net::WorkerPool::Create(worker_threads);
  if (!workers.ok()) {
    std::fprintf(stderr, "server: cannot start the worker pool: %s\n",
                 std::string(workers.status().message()).c_str());
    return 1;
  }
  // Uploads: the store recovers now, before anything is served. It and the
  // handler outlive the server (declared first, destroyed last).
  epollhttp::upload::PosixFileSystem file_system;
  epollhttp::upload::RecoveryStats recovered;
  epollhttp::upload::UploadCounters upload_counters;  // Outlives the handler and sweeper.
  std::unique_ptr<epollhttp::upload::UploadStore> store;
  std::unique_ptr<epollhttp::upload::UploadHandler> uploads;
  std::unique_ptr<epollhttp::upload::UploadSweeper> sweeper;  // Stops before the store goes.
  if (const std::string dir = absl::GetFlag(FLAGS_upload_dir); !dir.empty()) {
    const int64_t commit_bytes = absl::GetFlag(FLAGS_upload_commit_bytes);
    const int64_t upload_max = absl::GetFlag(FLAGS_upload_max_bytes);
    if (commit_bytes < 1 || upload_max < 1) {
      std::fprintf(stderr, "server: --upload_commit_bytes and --upload_max_bytes must be >= 1\n");
      return 2;
    }
    absl::StatusOr<std::unique_ptr<epollhttp::upload::UploadStore>> opened =
        epollhttp::upload::UploadStore::Open(&file_system, dir, &recovered);
    if (!opened.ok()) {
      std::fprintf(stderr, "server: --upload_dir: %s\n",
                   std::string(opened.status().message()).c_str());
      return 2;
    }
    store = std::move(*opened);
    const int64_t dir_max = absl::GetFlag(FLAGS_upload_dir_max_bytes);
    const int64_t max_incomplete = absl::GetFlag(FLAGS_upload_max_incomplete);
    if (dir_max < 0 || max_incomplete < 1) {
      std::fprintf(stderr,
                   "server: --upload_dir_max_bytes must be >= 0 and --upload_max_incomplete "
                   ">= 1\n");
      return 2;
    }
    store->set_limits({dir_max, max_incomplete});
    const absl::Duration expiry = absl::GetFlag(FLAGS_upload_expiry);
    if (expiry < absl::Seconds(1) || expiry > absl::Hours(24 * 365)) {
      std::fprintf(stderr, "server: --upload_expiry must be 1s..8760h, got %s\n",
                   absl::FormatDuration(expiry).c_str());
      return 2;
    }
    epollhttp::upload::UploadHandlerOptions upload_options;
    upload_options.commit_bytes = commit_bytes;
    upload_options.max_bytes = upload_max;
    upload_options.expiry_seconds = absl::ToInt64Seconds(expiry);
    upload_options.cors_origin = absl::GetFlag(FLAGS_cors_origin);
    if (const std::string token_file = absl::GetFlag(FLAGS_upload_token_file);
        !token_file.empty()) {
      std::ifstream in(token_file, std::ios::binary);
      std::stringstream text;
      text << in.rdbuf();
      std::string token(absl::StripTrailingAsciiWhitespace(text.str()));
      const bool visible =
          std::all_of(token.begin(), token.end(), [](char c) { return c > 0x20 && c < 0x7f; });
      if (!in || token.empty() || !visible) {
        std::fprintf(stderr,
                     "server: --upload_token_file %s: cannot read a token (one line of visible "
                     "ASCII)\n",
                     token_file.c_str());
        return 2;
      }
      upload_options.token = std::move(token);
    }
    // Sweeps a tenth of the expiry apart, from 100 ms to a minute.
    const auto sweep_every = std::clamp<std::chrono::milliseconds>(
        absl::ToChronoMilliseconds(expiry / 10), std::chrono::milliseconds(100),
        std::chrono::minutes(1));
    sweeper = std::make_unique<epollhttp::upload::UploadSweeper>(
        store.get(), sweep_every, [] { return absl::ToUnixSeconds(absl::Now()); },
        [&upload_counters] { upload_counters.expired.fetch_add(1, std::memory_order_relaxed); });
    upload_options.counters = &upload_counters;
    metrics.AddSection([store = store.get(), &upload_counters] {
      return epollhttp::upload::RenderUploadMetrics(store->counters(), upload_counters);
    });
    uploads = std::make_unique<epollhttp::upload::UploadHandler>(store.get(), workers->get(),
                                                                 std::move(upload_options));
  }
  // The server owns the pool (it must go after the loops stop, before they
  // are destroyed); the app only submits to it.
  const epollhttp::HelloApp app(&metrics, /*admin_listener=*/!admin_host.empty(),
                                absl::GetFlag(FLAGS_test_routes) ? workers->get() : nullptr,
                                uploads.get());
  options.metrics = &metrics;
  options.router = &app.router();
  options.admin_router = &app.admin_router();
  epollhttp::Server server;
  if (absl::Status status = server.Start(options, std::move(*workers)); !status.ok()) {
    std::fprintf(stderr, "server: cannot listen on %s:%d: %s\n", options.address.c_str(), port,
                 std::string(status.message()).c_str());
    return 1;
  }
  std::string admin_line;
  if (server.admin_port() != 0) {
    admin_line = "; admin on http://" + admin_host + ":" + std::to_string(server.admin_port());
  }
  std::fprintf(stderr, "epollhttp listening on http://%s:%u (%d threads)%s\n",
               options.address.c_str(), server.port(), threads, admin_line.c_str());
  if (store != nullptr) {
    // After the line above, which scripts and tests wait for first.
    std::fprintf(stderr,
                 "epollhttp: uploads in %s: %d recovered, %d cut back to their committed "
                 "offset, %d half-made records and %d orphan data files removed\n",
                 store->dir().c_str(), recovered.uploads, recovered.truncated,
                 recovered.half_made_records, recovered.orphan_data_files);
  }

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  std::fprintf(stderr, "epollhttp: %s, shutting down (at most %d s; a second signal exits now)\n",
               signal_number == SIGINT ? "SIGINT" : "SIGTERM", shutdown_timeout);
  server.BeginShutdown();
  // Wait for the loops to finish, a second signal, or the deadline. The
  // deadline is hard: the loops are not joined, so however busy they are
  // the process exits.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(shutdown_timeout);
  while (!server.Finished()) {
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) {
      std::fprintf(stderr, "epollhttp: connections still open after %d s, exiting\n",
                   shutdown_timeout);
      // Each loop aborts what it still serves (streams hear OnAbort) and
      // exits; a loop too busy to do so within kAbortGrace is not waited for.
      server.Abort();
      const auto grace = std::chrono::steady_clock::now() + kAbortGrace;
      while (!server.Finished() && std::chrono::steady_clock::now() < grace) {
        const timespec tick{0, 10'000'000};
        nanosleep(&tick, nullptr);
      }
      std::_Exit(1);
    }
    const auto tick = std::min<std::chrono::nanoseconds>(left, std::chrono::milliseconds(20));
    const timespec wait{0, static_cast<long>(tick.count())};
    if (sigtimedwait(&signals, nullptr, &wait) > 0) {
      std::fprintf(stderr, "epollhttp: second signal, exiting now\n");
      std::_Exit(1);
    }
  }
  server.ForceStop();
  return 0;
}
