// main.cc: the `//loadgen` binary: the tutorial's upload script in C++.
//
// N threads each send --requests requests over their own cpp-httplib client,
// POSTing one shared payload buffer (never copied per request), and check
// every reply's status. Prints a summary; exits 0 when every request
// succeeded, 1 when any failed, 2 on a usage error.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "httplib.h"

ABSL_FLAG(std::string, url, "http://127.0.0.1:8000/", "Target URL (http only).");
ABSL_FLAG(int32_t, threads, 4, "Client threads, each with its own connection.");
ABSL_FLAG(int32_t, requests, 100, "Requests per thread.");
ABSL_FLAG(int64_t, body_bytes, 3748935, "Size of the generated POST body in bytes.");
ABSL_FLAG(bool, keepalive, true, "Reuse each thread's connection between requests.");
ABSL_FLAG(int32_t, timeout, 30, "Connect and read timeout in seconds.");

namespace {

struct Target {
  std::string origin;  // "http://host:port"
  std::string path;    // "/..."
};

// ParseUrl() splits an http:// URL; returns false for anything else.
bool ParseUrl(absl::string_view url, Target* target) {
  constexpr absl::string_view kScheme = "http://";
  if (!absl::StartsWith(url, kScheme) || url.size() == kScheme.size()) return false;
  const size_t slash = url.find('/', kScheme.size());
  target->origin = std::string(url.substr(0, slash));
  target->path = slash == absl::string_view::npos ? "/" : std::string(url.substr(slash));
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "HTTP load generator: --threads clients each POST --body_bytes --requests times.\n"
      "Usage: loadgen [--url URL] [--threads N] [--requests N] [--body_bytes N]");
  absl::FlagsUsageConfig usage_config;
  usage_config.contains_help_flags = [](absl::string_view path) {
    return absl::StartsWith(path, "loadgen/");
  };
  usage_config.contains_helpshort_flags = usage_config.contains_help_flags;
  absl::SetFlagsUsageConfig(usage_config);
  absl::ParseCommandLine(argc, argv);
  ::signal(SIGPIPE, SIG_IGN);  // A server closing mid-upload must not kill us.

  Target target;
  if (!ParseUrl(absl::GetFlag(FLAGS_url), &target)) {
    std::fprintf(stderr, "loadgen: --url must be http://host[:port][/path], got \"%s\"\n",
                 absl::GetFlag(FLAGS_url).c_str());
    return 2;
  }
  const int threads = absl::GetFlag(FLAGS_threads);
  const int requests = absl::GetFlag(FLAGS_requests);
  const int64_t body_bytes = absl::GetFlag(FLAGS_body_bytes);
  if (threads < 1 || requests < 1 || body_bytes < 0 || absl::GetFlag(FLAGS_timeout) < 1) {
    std::fprintf(stderr, "loadgen: --threads, --requests and --timeout must be >= 1, "
                         "--body_bytes >= 0\n");
    return 2;
  }

  // One deterministic payload, shared read-only by every thread.
  std::string body(static_cast<size_t>(body_bytes), '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);

  std::atomic<int64_t> succeeded{0};
  std::atomic<int64_t> failed{0};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      httplib::Client client(target.origin);
      client.set_keep_alive(absl::GetFlag(FLAGS_keepalive));
      client.set_connection_timeout(absl::GetFlag(FLAGS_timeout), 0);
      client.set_read_timeout(absl::GetFlag(FLAGS_timeout), 0);
      for (int i = 0; i < requests; ++i) {
        auto result = client.Post(
            target.path.c_str(), body.size(),
            [&body](size_t offset, size_t length, httplib::DataSink& sink) {
              return sink.write(body.data() + offset, length);
            },
            "application/octet-stream");
        (result && result->status == 200 ? succeeded : failed)++;
      }
    });
  }
  for (auto& worker : workers) worker.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const int64_t total = succeeded + failed;
  std::printf("%lld requests (%d threads x %d) in %.3f s: %lld succeeded, %lld failed, "
              "%.1f req/s, %.1f MB/s up\n",
              static_cast<long long>(total), threads, requests, seconds,
              static_cast<long long>(succeeded.load()), static_cast<long long>(failed.load()),
              total / seconds, static_cast<double>(succeeded) * body_bytes / seconds / 1e6);
  return failed == 0 ? 0 : 1;
}
