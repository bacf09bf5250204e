// runner.h: runs the load: N threads, each with its own cpp-httplib client,
// sending requests and recording what came back.
//
// Modes: a fixed number of requests per thread, or a duration; either closed
// (each thread sends its next request when the last one is answered) or open
// (--rate: requests are due at fixed intervals whatever the server does, and
// latency counts from when a request was due, so a stalled server cannot hide
// its stall: coordinated omission corrected). Every response is checked
// (status, body, X-Received-Body-Bytes); failures are counted by kind.
// Memory is fixed per thread: histograms and counters, no per-request records.
//
// Thread safety: Run() is called from one thread and blocks until the load is
// done; it starts and joins its worker threads itself.
#ifndef EPOLLHTTP_LOADGEN_RUNNER_H_
#define EPOLLHTTP_LOADGEN_RUNNER_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "loadgen/payload.h"
#include "loadgen/report.h"

namespace epollhttp::loadgen {

struct RunOptions {
  std::string origin;  // "http://host:port"
  std::string path;    // "/..."
  std::string method = "POST";  // POST, PUT, PATCH send the payload.
  std::vector<std::pair<std::string, std::string>> headers;
  const Payload* payload = nullptr;  // Required for POST/PUT/PATCH.
  std::string content_type = "application/octet-stream";
  int threads = 4;
  int64_t requests_per_thread = 100;          // Used when duration is zero.
  std::chrono::nanoseconds duration{0};       // Non-zero: run this long instead.
  double rate = 0;                            // Total requests/s; 0: closed model.
  bool keepalive = true;
  std::chrono::milliseconds timeout{30000};   // Connect, read and write.
  int expect_status = 200;
  std::string expect_body;                    // Empty: not checked.
  bool print_responses = false;               // Print "STATUS BODY" per reply.
};

// SendsBody() is whether `method` carries the payload.
bool SendsBody(const std::string& method);

// Run() performs the load and returns the merged statistics; `*seconds` gets
// the wall time. `completed`, if not null, is incremented after every request
// (for a progress display).
RunStats Run(const RunOptions& options, std::atomic<int64_t>* completed, double* seconds);

}  // namespace epollhttp::loadgen

#endif  // EPOLLHTTP_LOADGEN_RUNNER_H_
