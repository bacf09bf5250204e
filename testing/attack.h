// attack.h: hostile HTTP clients for the hostile-load tests and the attack
// bench (testing/bench/attacks.sh), plus a probe that measures what ordinary
// clients see while an attack runs.
//
// Every attack targets 127.0.0.1:`port` and works against any HTTP/1.1 server
// (epollhttp or nginx), so the bench can compare both:
// - Flood: new connections at a fixed rate, each sending one batch of
//   pipelined requests and closing without reading a byte.
// - OpenNonReaders: connections that pipeline requests until the server stops
//   reading them, and never read a response.
// - OpenPartialHeads: connections that leave a partial request head buffered
//   at the server after large pipelined batches.
// - SlowBodies: uploads that send one body byte per interval.
// - Probe: clients making GET / one after another (keep-alive, or a new
//   connection per request), recording latency and failures.
//
// Test-only. Functions never abort: they report failures in their results.
// Thread safety: each object is used by the thread that created it; its own
// worker threads are internal.
#ifndef EPOLLHTTP_TESTING_ATTACK_H_
#define EPOLLHTTP_TESTING_ATTACK_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/string_view.h"
#include "base/fd.h"

namespace epollhttp::test {

// PipelinedGets() is `bytes` worth (whole requests, at least one) of
// "GET <path> HTTP/1.1\r\nHost: a\r\n\r\n".
std::string PipelinedGets(absl::string_view path, size_t bytes);

// Flood opens `per_second` new connections per second (spread over
// `threads` threads) until Stop(), or until it has tried `limit` connections
// (0: no limit). Each sends `payload` (giving up if the server takes nothing
// for a second) and closes at once, reading nothing, so the server's
// responses meet a closed socket.
class Flood {
 public:
  Flood(uint16_t port, std::string payload, int per_second, int threads = 2, int64_t limit = 0);
  ~Flood() { Stop(); }
  Flood(const Flood&) = delete;
  Flood& operator=(const Flood&) = delete;

  // Stop() ends the flood and joins its threads; idempotent.
  void Stop();
  // Wait() waits for a flood with a limit to try all its connections.
  void Wait();
  // WaitForConnections() waits until `n` connections have been opened, or
  // the flood has ended; returns connections().
  int64_t WaitForConnections(int64_t n);
  // connections() is how many connections were opened so far.
  [[nodiscard]] int64_t connections() const { return connections_.load(); }

 private:
  void Run(int index, int threads, int per_second);

  const uint16_t port_;
  const std::string payload_;
  const int64_t limit_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> attempts_{0};
  std::atomic<int64_t> connections_{0};
  std::mutex mutex_;
  std::condition_variable opened_;  // Signalled (under mutex_) per connection.
  int running_ = 0;                 // Guarded by mutex_.
  std::vector<std::thread> threads_;
};

struct ProbeResult {
  int64_t requests = 0;  // Complete 200 responses.
  int64_t failures = 0;  // Connects, sends or responses that failed.
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
};

// Probe runs `clients` threads, each making `GET /` requests one after
// another until Stop(): on one keep-alive connection (reconnecting after a
// failure), or on a new connection per request when `new_connection_each`.
// A response that takes longer than 10 s counts as a failure.
class Probe {
 public:
  Probe(uint16_t port, int clients, bool new_connection_each = false);
  ~Probe() { Stop(); }
  Probe(const Probe&) = delete;
  Probe& operator=(const Probe&) = delete;

  // Stop() ends the probe, joins its threads and returns what they saw.
  ProbeResult Stop();

 private:
  void Run();

  const uint16_t port_;
  const bool new_connection_each_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<double> latencies_ms_;  // Guarded by mutex_.
  int64_t failures_ = 0;              // Guarded by mutex_.
  std::vector<std::thread> threads_;
  ProbeResult result_;
};

// OpenNonReaders() opens `n` connections (small receive buffers) that each
// send pipelined requests for `path` until the server stops reading: every
// socket's send has been blocked for `stall`. Returns the held connections
// (fewer if connecting failed). They never read.
std::vector<Fd> OpenNonReaders(uint16_t port, int n, absl::string_view path,
                               std::chrono::milliseconds stall = std::chrono::milliseconds(200));

// OpenPartialHeads() opens `n` connections; on each, `rounds` times, it sends
// `batch` bytes of pipelined GETs followed by the first bytes of another
// request head (the next round completes it), and reads every complete
// response. Returns the connections, each with a partial head left at the
// server, or an empty vector if a response was missing.
std::vector<Fd> OpenPartialHeads(uint16_t port, int n, size_t batch, int rounds = 2);

// SlowBodyResult says how `n` slow uploads ended.
struct SlowBodyResult {
  int closed_by_server = 0;  // The server closed (or reset) the connection.
  int still_open = 0;        // Still uploading when `duration` ran out.
  double last_close_s = 0;   // When the last server close was seen.
};

// SlowBodies() starts `n` uploads that announce a 100 MB body and then send
// one body byte per connection every `interval`, and reports after
// `duration` how many the server has closed.
SlowBodyResult SlowBodies(uint16_t port, int n, std::chrono::milliseconds interval,
                          std::chrono::milliseconds duration);

}  // namespace epollhttp::test

#endif  // EPOLLHTTP_TESTING_ATTACK_H_
