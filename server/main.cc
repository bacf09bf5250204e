// main.cc: the `//server` binary: flags, the server, signals.
//
// Prints exactly one line on start (`epollhttp listening on http://A:P (N
// threads)`) and nothing per request. SIGINT/SIGTERM begin a graceful
// shutdown (stop accepting, finish requests in flight, exit 0 within
// --shutdown_timeout); a second signal exits at once with status 1.
#include <signal.h>
#include <time.h>

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/cli_flags.h"
#include "server/server.h"

ABSL_FLAG(std::string, address, "127.0.0.1", "IPv4 address to listen on.");
ABSL_FLAG(int32_t, port, 8000, "TCP port to listen on; 0 picks a free port.");
ABSL_FLAG(int32_t, threads, 0, "Event-loop threads; 0 means one per CPU.");
ABSL_FLAG(int32_t, shutdown_timeout, 10,
          "Seconds that requests in flight get to finish after SIGINT/SIGTERM.");
ABSL_FLAG(absl::Duration, header_timeout, absl::Seconds(10),
          "Time a request head may take from its first byte (then 408 and close); also "
          "how long a new connection may wait before sending anything. E.g. 10s, 500ms.");
ABSL_FLAG(absl::Duration, body_timeout, absl::Seconds(30),
          "Time a request body may go without receiving a byte before the connection is "
          "closed.");
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
ABSL_FLAG(bool, access_log, false,
          "Write one line per request to stderr: time, client address, request line, "
          "status, body bytes, duration.");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "An epoll HTTP/1.1 server that answers every request with "
      "\"Hello! I am an epoll server.\"\nUsage: server [--address A] [--port P] [--threads N] "
      "[--access_log] [limits and timeouts, see below]");
  absl::FlagsUsageConfig usage_config;
  // --help lists this binary's flags (abseil's default matches only files
  // named after the program).
  usage_config.contains_help_flags = [](absl::string_view path) {
    return absl::StartsWith(path, "server/");
  };
  usage_config.contains_helpshort_flags = usage_config.contains_help_flags;
  absl::SetFlagsUsageConfig(usage_config);
  std::map<std::string, std::vector<std::string>> unused;
  if (std::string error; !epollhttp::ParseFlags(argc, argv, {}, &unused, &error)) {
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
  if (shutdown_timeout < 0) {
    std::fprintf(stderr, "server: --shutdown_timeout must be >= 0, got %d\n", shutdown_timeout);
    return 2;
  }
  const absl::Duration timeouts[] = {
      absl::GetFlag(FLAGS_header_timeout), absl::GetFlag(FLAGS_body_timeout),
      absl::GetFlag(FLAGS_idle_timeout), absl::GetFlag(FLAGS_write_timeout)};
  const char* timeout_names[] = {"header_timeout", "body_timeout", "idle_timeout",
                                 "write_timeout"};
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
  if (threads == 0) threads = static_cast<int32_t>(std::max(1u, std::thread::hardware_concurrency()));

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
  options.session.parser.max_head_bytes = static_cast<size_t>(max_header_bytes);
  options.session.body.max_body_bytes = max_body_bytes;
  options.session.body.max_trailer_bytes = static_cast<size_t>(max_header_bytes);
  options.connection.header_timeout = absl::ToChronoMilliseconds(timeouts[0]);
  options.connection.body_timeout = absl::ToChronoMilliseconds(timeouts[1]);
  options.connection.idle_timeout = absl::ToChronoMilliseconds(timeouts[2]);
  options.connection.write_timeout = absl::ToChronoMilliseconds(timeouts[3]);
  options.max_connections = max_connections;
  options.access_log = absl::GetFlag(FLAGS_access_log);
  epollhttp::Server server;
  if (absl::Status status = server.Start(options); !status.ok()) {
    std::fprintf(stderr, "server: cannot listen on %s:%d: %s\n", options.address.c_str(), port,
                 std::string(status.message()).c_str());
    return 1;
  }
  std::fprintf(stderr, "epollhttp listening on http://%s:%u (%d threads)\n",
               options.address.c_str(), server.port(), threads);

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  server.BeginShutdown();
  // Wait for the loops to finish, a second signal, or the deadline.
  const timespec tick{0, 20 * 1000 * 1000};
  for (int64_t waited_ms = 0; !server.Finished() && waited_ms < shutdown_timeout * 1000LL;
       waited_ms += 20) {
    if (sigtimedwait(&signals, nullptr, &tick) > 0) {
      std::fprintf(stderr, "epollhttp: second signal, exiting now\n");
      std::_Exit(1);
    }
  }
  server.ForceStop();
  return 0;
}
