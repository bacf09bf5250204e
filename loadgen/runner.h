// runner.h: runs the load: C clients, each a cpp-httplib client with its own
// connection that sends one request at a time and records what came back,
// spread over T OS threads (wrk's -t and -c). A thread runs its clients as
// fibers (loadgen/fiber.h), so it waits for all of its connections in one
// epoll_wait, as wrk does, instead of paying a context switch per request.
//
// Modes: a fixed number of requests per client, or a duration; either closed
// (each client sends its next request when the last one is answered) or open
// (--rate: requests are due at fixed intervals whatever the server does, and
// latency counts from when a request was due, so a stalled server cannot hide
// its stall: coordinated omission corrected). Every response is checked
// (status, body, X-Received-Body-Bytes); failures are counted by kind.
// Memory is fixed per OS thread (histograms and counters) and per client (a
// fiber stack and a connection): no per-request records, no response bodies.
//
// Thread safety: Run() is called from one thread and blocks until the load is
// done; it starts and joins its threads itself.
#ifndef EPOLLHTTP_LOADGEN_RUNNER_H_
#define EPOLLHTTP_LOADGEN_RUNNER_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "loadgen/payload.h"
#include "loadgen/report.h"
#include "loadgen/tls.h"

namespace epollhttp::loadgen {

struct RunOptions {
  std::string origin;           // "http://host:port" or "https://host:port"
  std::string path;             // "/..."
  std::string method = "POST";  // POST, PUT, PATCH send the payload.
  std::vector<std::pair<std::string, std::string>> headers;
  const Payload* payload = nullptr;  // Required for POST/PUT/PATCH.
  std::string content_type = "application/octet-stream";
  int threads = 4;                       // OS threads.
  int clients = 4;                       // Concurrent clients, at least `threads`.
  int64_t requests_per_client = 100;     // Used when duration is zero.
  std::chrono::nanoseconds duration{0};  // Non-zero: run this long instead.
  double rate = 0;                       // Total requests/s; 0: closed model.
  bool keepalive = true;
  std::chrono::milliseconds timeout{30000};  // Connect, read and write.
  int expect_status = 200;
  std::string expect_body;       // Empty: not checked.
  bool print_responses = false;  // Print "STATUS BODY" per reply.
  TlsOptions tls;                // For an https origin.
  // If set, the clock starts (and the first requests go out) at this wall
  // time, after all set-up, so runs on several machines start together.
  std::optional<std::chrono::system_clock::time_point> start_at;
};

// SendsBody() is whether `method` carries the payload.
bool SendsBody(const std::string& method);

// Run() performs the load and returns the merged statistics; `*seconds` gets
// the wall time and `*start_unix_seconds` when the clock started. `completed`,
// if not null, is incremented after every request (for a progress display). Fails if it cannot set
// up (a bad origin, fewer clients than threads, or no descriptor or memory for a scheduler or a
// fiber stack) or if waiting for events fails.
absl::StatusOr<RunStats> Run(const RunOptions& options, std::atomic<int64_t>* completed,
                             double* seconds, double* start_unix_seconds);

}  // namespace epollhttp::loadgen

#endif  // EPOLLHTTP_LOADGEN_RUNNER_H_
