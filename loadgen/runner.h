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
// (status, body, X-Received-Body-Bytes); failures are counted by kind, and
// each request's phases (loadgen/phases.h) go into their own histograms. An
// answer that arrives before the body was all sent (an early 413) counts as
// that status, with the body bytes that went before it.
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
#include "loadgen/schedule.h"
#include "loadgen/tls.h"

namespace epollhttp::loadgen {

// One of several bodies a run sends.
struct Body {
  std::string name;  // In the report: the file's name, or the size.
  const Payload* payload = nullptr;
  double weight = 1;  // Its share of the requests (any positive scale).
};

struct RunOptions {
  std::string origin;           // "http://host:port" or "https://host:port"
  std::string path;             // "/..."
  std::string method = "POST";  // POST, PUT, PATCH send the payload.
  std::vector<std::pair<std::string, std::string>> headers;
  const Payload* payload = nullptr;  // The body of POST/PUT/PATCH, unless:
  // Several bodies: each request sends one, by weight (loadgen/bodies.h),
  // and the report has a line per body. Overrides `payload`.
  std::vector<Body> bodies;
  std::string content_type = "application/octet-stream";
  int threads = 4;                       // OS threads.
  int clients = 4;                       // Concurrent clients, at least `threads`.
  int64_t requests_per_client = 100;     // Used when duration is zero.
  std::chrono::nanoseconds duration{0};  // Non-zero: run this long instead.
  // When requests are due (open model), or closed (the default). A staged
  // schedule sets the run's length itself.
  RateSchedule schedule;
  bool keepalive = true;
  // Framing of the body: chunked (in chunks of chunk_bytes) instead of
  // Content-Length.
  bool chunked = false;
  int64_t chunk_bytes = 64 * 1024;
  // Expect: 100-continue: the body waits for the server's 100, or for
  // continue_timeout, after which it goes anyway (as curl does).
  bool expect_continue = false;
  std::chrono::milliseconds continue_timeout{1000};
  // Non-zero: each client sends its body at most this fast (bytes per
  // second), in slices a 100th of a second long, by fiber timers.
  double upload_bytes_per_second = 0;
  // "tus" or "ietf": each request is a whole resumable upload
  // (tus_upload.h), by tus 1.0 or the IETF draft, of the
  // body to `path` (the collection), in PATCHes of chunk_bytes, a share
  // `interrupt` of them cut and resumed, then checked by GET unless
  // !verify_uploads. Empty: plain requests.
  std::string upload;
  double interrupt = 0;
  bool verify_uploads = true;
  // Set by Run(): each body's sha256, indexed as `bodies` (or the payload).
  const std::vector<std::string>* body_sha256 = nullptr;
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
