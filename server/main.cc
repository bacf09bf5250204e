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
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "server/server.h"

ABSL_FLAG(std::string, address, "127.0.0.1", "IPv4 address to listen on.");
ABSL_FLAG(int32_t, port, 8000, "TCP port to listen on; 0 picks a free port.");
ABSL_FLAG(int32_t, threads, 0, "Event-loop threads; 0 means one per CPU.");
ABSL_FLAG(int32_t, shutdown_timeout, 10,
          "Seconds that requests in flight get to finish after SIGINT/SIGTERM.");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "An epoll HTTP/1.1 server that answers every request with "
      "\"Hello! I am an epoll server.\"\nUsage: server [--address A] [--port P] [--threads N]");
  absl::FlagsUsageConfig usage_config;
  // --help lists this binary's flags (abseil's default matches only files
  // named after the program).
  usage_config.contains_help_flags = [](absl::string_view path) {
    return absl::StartsWith(path, "server/");
  };
  usage_config.contains_helpshort_flags = usage_config.contains_help_flags;
  absl::SetFlagsUsageConfig(usage_config);
  absl::ParseCommandLine(argc, argv);

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
  options.port = static_cast<uint16_t>(port);
  options.threads = threads;
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
