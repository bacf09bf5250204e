// metrics.h: the server's counters and their Prometheus text rendering
// (served at GET /metrics).
//
// Each event-loop thread owns one LoopStats and is its only writer; a scrape
// (on any loop thread) sums every loop's counters. Counters are relaxed
// atomics updated with a plain load + store by their single writer, so the hot
// path has no shared cache lines, no read-modify-write and no locks, and a
// concurrent scrape still reads whole values (TSan-clean).
//
// Thread safety: LoopStats mutators only from the owning loop thread;
// Metrics::Render() and the getters from any thread.
#ifndef EPOLLHTTP_SERVER_METRICS_H_
#define EPOLLHTTP_SERVER_METRICS_H_

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "server/http/handler.h"

namespace epollhttp {

enum class TimeoutKind : uint8_t { kHeader, kBody, kIdle, kWrite };
inline constexpr int kTimeoutKinds = 4;
// http::AbortReason values, kReset..kBadRequest.
inline constexpr int kAbortReasons = 5;

// The request-duration histogram: upper bounds in seconds (Prometheus `le`),
// 50 µs to 10 s; a last bucket holds what is longer. By route (kMaxRoutes
// labels, index 0 "other") and status class (1xx..5xx).
inline constexpr int kDurationBounds = 17;
inline constexpr int64_t kDurationBoundsNs[kDurationBounds] = {
    50'000,      100'000,       250'000,       500'000,       1'000'000,     2'500'000,
    5'000'000,   10'000'000,    25'000'000,    50'000'000,    100'000'000,   250'000'000,
    500'000'000, 1'000'000'000, 2'500'000'000, 5'000'000'000, 10'000'000'000};
inline constexpr int kMaxRoutes = 8;
inline constexpr int kStatusClasses = 5;

class LoopStats {
 public:
  // OnResponse() counts one response with HTTP `status` (100-599); a parse
  // error also counts in parse_errors by status. Out-of-range codes are ignored.
  void OnResponse(int status, bool parse_error);
  void AddBodyBytes(int64_t n) { Add(body_bytes_, n); }
  void AddBytesWritten(int64_t n) { Add(bytes_written_, n); }
  void OnAccepted() { Add(accepted_, 1); }
  void OnClosed() { Add(closed_, 1); }
  void OnTimeout(TimeoutKind kind) { Add(timeouts_[static_cast<int>(kind)], 1); }
  // OnAbort() counts a request that died before its response was finished.
  void OnAbort(http::AbortReason reason) { Add(aborts_[static_cast<int>(reason)], 1); }
  // ObserveRequest() adds a request of route index `route` (Metrics::Route())
  // answered with `status` (100-599; others are ignored) after `duration`.
  void ObserveRequest(int route, int status, std::chrono::nanoseconds duration);

 private:
  friend class Metrics;
  using Counter = std::atomic<uint64_t>;
  static constexpr int kMinStatus = 100;
  static constexpr int kStatuses = 500;  // 100..599

  static void Add(Counter& counter, int64_t n) {
    counter.store(counter.load(std::memory_order_relaxed) + static_cast<uint64_t>(n),
                  std::memory_order_relaxed);
  }

  std::array<Counter, kStatuses> responses_{};
  std::array<Counter, kStatuses> parse_errors_{};
  std::array<Counter, kTimeoutKinds> timeouts_{};
  std::array<Counter, kAbortReasons> aborts_{};
  // [route][class][bucket], the last bucket above every bound; and the sums.
  std::array<Counter, kMaxRoutes * kStatusClasses*(kDurationBounds + 1)> durations_{};
  std::array<Counter, kMaxRoutes * kStatusClasses> duration_sums_ns_{};
  Counter body_bytes_{0};
  Counter bytes_written_{0};
  Counter accepted_{0};
  Counter closed_{0};
};

// Totals over every loop at one moment (each counter read once).
struct MetricsSnapshot {
  std::array<uint64_t, 500> responses{};  // Index: status - 100.
  std::array<uint64_t, 500> parse_errors{};
  std::array<uint64_t, kTimeoutKinds> timeouts{};
  std::array<uint64_t, kAbortReasons> aborts{};  // Index: http::AbortReason.
  // Request durations, as in LoopStats: per bucket (not cumulative), sums.
  std::array<uint64_t, kMaxRoutes * kStatusClasses*(kDurationBounds + 1)> durations{};
  std::array<uint64_t, kMaxRoutes * kStatusClasses> duration_sums_ns{};
  uint64_t requests = 0;  // Sum of responses.
  uint64_t body_bytes = 0;
  uint64_t bytes_written = 0;
  uint64_t accepted = 0;
  uint64_t closed = 0;
};

class Metrics {
 public:
  // Metrics() creates one LoopStats per loop thread.
  explicit Metrics(int loops);

  // AddRoute() names a route of the duration histogram (a Router's label,
  // e.g. "/healthz"): call before serving. Past kMaxRoutes - 1 routes, and
  // for "other", it returns 0, the index of "other".
  int AddRoute(absl::string_view label);
  // Route() is the index of `label`, 0 ("other") if it was never added. Safe
  // from any thread once serving.
  [[nodiscard]] int Route(absl::string_view label) const;

  // loop() is loop `index`'s stats, for that loop's thread to update.
  [[nodiscard]] LoopStats* loop(int index) { return loops_[index].get(); }
  [[nodiscard]] int loops() const { return static_cast<int>(loops_.size()); }

  [[nodiscard]] MetricsSnapshot Snapshot() const;

  // Render() is the Prometheus text exposition format (version 0.0.4) of a
  // snapshot: requests by status code, parse errors by status code, request
  // body bytes, bytes written, connections accepted / active / closed,
  // timeouts by kind, aborted requests by reason, and the request-duration
  // histogram (epollhttp_request_duration_seconds) by route and status class:
  // series that have seen a request.
  [[nodiscard]] std::string Render() const;

  // AddSection() appends what `render` returns (Prometheus text, its own
  // HELP and TYPE lines) to every Render(); call before serving. `render`
  // may run on any loop thread at once.
  void AddSection(std::function<std::string()> render) { sections_.push_back(std::move(render)); }

 private:
  std::vector<std::function<std::string()>> sections_;
  std::vector<std::unique_ptr<LoopStats>> loops_;
  std::vector<std::string> routes_{"other"};
};

}  // namespace epollhttp

#endif  // EPOLLHTTP_SERVER_METRICS_H_
