// observers.h: how a connection's traffic reaches the counters and the
// access log.
//
// `ConnectionObserver` adds connection events (accepted, closed, timeouts,
// bytes written) to the codec's CodecObserver events. Each loop has one
// `StatsObserver`, which counts both into that loop's LoopStats and holds
// nothing per connection. With --access_log, each connection also has an
// `AccessLogObserver`, which remembers the current request line and logs one
// line per request (answered or aborted) before passing every event on to
// the loop's observer.
//
// Thread safety: an observer is used only on its loop's thread.
#ifndef EPOLLHTTP_SERVER_OBSERVERS_H_
#define EPOLLHTTP_SERVER_OBSERVERS_H_

#include <chrono>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "server/access_log.h"
#include "server/http/handler.h"
#include "server/http/request_parser.h"
#include "server/metrics.h"

namespace epollhttp {

class ConnectionObserver : public http::CodecObserver {
 public:
  virtual void OnAccepted() {}
  virtual void OnClosed() {}
  virtual void OnTimeout(TimeoutKind /*kind*/) {}
  virtual void OnBytesWritten(int64_t /*n*/) {}
  // OnRequestDone(): a routed request was answered with `status`, `duration`
  // after its head parsed (RequestTimer measures it). `route` is the
  // router's label.
  virtual void OnRequestDone(absl::string_view /*route*/, int /*status*/,
                             std::chrono::nanoseconds /*duration*/) {}
};

class StatsObserver final : public ConnectionObserver {
 public:
  // `stats` and `metrics` (not owned; `metrics` may be null: durations are
  // then counted as "other") must outlive the observer.
  explicit StatsObserver(LoopStats* stats, const Metrics* metrics = nullptr)
      : stats_(stats), metrics_(metrics) {}

  void OnBodyBytes(int64_t n) override { stats_->AddBodyBytes(n); }
  void OnResponse(int status, bool parse_error, int64_t body_bytes) override {
    (void)body_bytes;
    stats_->OnResponse(status, parse_error);
  }
  void OnAccepted() override { stats_->OnAccepted(); }
  void OnClosed() override { stats_->OnClosed(); }
  void OnTimeout(TimeoutKind kind) override { stats_->OnTimeout(kind); }
  void OnAbort(http::AbortReason reason) override { stats_->OnAbort(reason); }
  void OnBytesWritten(int64_t n) override { stats_->AddBytesWritten(n); }
  void OnRequestDone(absl::string_view route, int status,
                     std::chrono::nanoseconds duration) override;

 private:
  LoopStats* stats_;
  const Metrics* metrics_;
  // The last route seen and its index: requests mostly repeat their route,
  // and a label's bytes stay where the router keeps them.
  const char* last_route_ = nullptr;
  int last_index_ = 0;
};

// RequestTimer times each routed request from its parsed head to its
// response (the last byte queued) and tells `stats` (OnRequestDone()); it
// passes every event on to `next`. One per connection's work: it holds the
// request in progress. Requests that do not parse, or die, are not timed.
class RequestTimer final : public http::CodecObserver {
 public:
  // Reset() points the timer at `next` and `stats` (either may be null).
  void Reset(http::CodecObserver* next, ConnectionObserver* stats) {
    next_ = next;
    stats_ = stats;
    route_ = {};
  }

  void OnRequestStart() override {
    if (next_ != nullptr) next_->OnRequestStart();
  }
  void OnRequestHead(const http::RequestHead& head) override {
    started_ = std::chrono::steady_clock::now();
    route_ = {};
    if (next_ != nullptr) next_->OnRequestHead(head);
  }
  void OnRouted(absl::string_view route) override {
    route_ = route;
    if (next_ != nullptr) next_->OnRouted(route);
  }
  void OnBodyBytes(int64_t n) override {
    if (next_ != nullptr) next_->OnBodyBytes(n);
  }
  void OnResponse(int status, bool parse_error, int64_t body_bytes) override;
  void OnAbort(http::AbortReason reason) override {
    route_ = {};
    if (next_ != nullptr) next_->OnAbort(reason);
  }

 private:
  http::CodecObserver* next_ = nullptr;
  ConnectionObserver* stats_ = nullptr;
  absl::string_view route_;  // Empty until routed.
  std::chrono::steady_clock::time_point started_;
};

class AccessLogObserver final : public http::CodecObserver {
 public:
  // Logs to `log`; passes every event on to `next` (may be null). `log` and
  // `next` must outlive the observer.
  AccessLogObserver(AccessLog* log, http::CodecObserver* next) : log_(log), next_(next) {}

  // set_peer() names the client of the requests that follow.
  void set_peer(std::string peer) { peer_ = std::move(peer); }

  void OnRequestStart() override;
  void OnRequestHead(const http::RequestHead& head) override;
  void OnBodyBytes(int64_t n) override {
    body_bytes_ += n;
    if (next_ != nullptr) next_->OnBodyBytes(n);
  }
  void OnResponse(int status, bool parse_error, int64_t body_bytes) override;
  // OnAbort() logs the request with nginx's statuses for the same ends: 499
  // (the client reset or ended its stream), 408 (a timeout), 503 (the
  // shutdown deadline). A malformed body is logged by its error response.
  void OnAbort(http::AbortReason reason) override;

 private:
  AccessLog* log_;
  std::string peer_;
  http::CodecObserver* next_;
  // The request line, copied (the head's views die with the input), empty
  // until the head has parsed; and when the head's first byte arrived.
  std::string method_;
  std::string target_;
  absl::string_view version_;
  int64_t body_bytes_ = 0;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace epollhttp

#endif  // EPOLLHTTP_SERVER_OBSERVERS_H_
