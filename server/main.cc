// main.cc: the `//server` binary's entry point: flags, then the server.
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

ABSL_FLAG(std::string, address, "127.0.0.1", "IPv4 address to listen on.");
ABSL_FLAG(int32_t, port, 8000, "TCP port to listen on; 0 picks a free port.");
ABSL_FLAG(int32_t, threads, 0, "Event-loop threads; 0 means one per CPU.");

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
  if (port < 0 || port > 65535) {
    std::fprintf(stderr, "server: --port must be 0..65535, got %d\n", port);
    return 2;
  }
  if (absl::GetFlag(FLAGS_threads) < 0) {
    std::fprintf(stderr, "server: --threads must be >= 0, got %d\n", absl::GetFlag(FLAGS_threads));
    return 2;
  }
  std::fprintf(stderr, "server: serving is not implemented yet (issue 4)\n");
  return 1;
}
