#include "server/metrics.h"

#include "absl/strings/str_cat.h"

namespace epollhttp {
namespace {

uint64_t Read(const std::atomic<uint64_t>& counter) {
  return counter.load(std::memory_order_relaxed);
}

constexpr const char* kTimeoutNames[kTimeoutKinds] = {"header", "body", "idle", "write"};

}  // namespace

void LoopStats::OnResponse(int status, bool parse_error) {
  if (status < kMinStatus || status >= kMinStatus + kStatuses) return;
  Add(responses_[status - kMinStatus], 1);
  if (parse_error) Add(parse_errors_[status - kMinStatus], 1);
}

Metrics::Metrics(int loops) {
  loops_.reserve(loops);
  for (int i = 0; i < loops; ++i) loops_.push_back(std::make_unique<LoopStats>());
}

MetricsSnapshot Metrics::Snapshot() const {
  MetricsSnapshot s;
  for (const auto& w : loops_) {
    for (int i = 0; i < LoopStats::kStatuses; ++i) {
      const uint64_t responses = Read(w->responses_[i]);
      s.responses[i] += responses;
      s.requests += responses;
      s.parse_errors[i] += Read(w->parse_errors_[i]);
    }
    for (int k = 0; k < kTimeoutKinds; ++k) s.timeouts[k] += Read(w->timeouts_[k]);
    for (int k = 0; k < kAbortReasons; ++k) s.aborts[k] += Read(w->aborts_[k]);
    s.body_bytes += Read(w->body_bytes_);
    s.bytes_written += Read(w->bytes_written_);
    // Closed before accepted, so a scrape racing a new connection never shows
    // more closed than accepted.
    s.closed += Read(w->closed_);
    s.accepted += Read(w->accepted_);
  }
  return s;
}

std::string Metrics::Render() const {
  const MetricsSnapshot s = Snapshot();
  std::string out;
  out.reserve(2048);
  absl::StrAppend(&out,
                  "# HELP epollhttp_requests_total Responses sent, by status code.\n"
                  "# TYPE epollhttp_requests_total counter\n");
  for (int i = 0; i < 500; ++i) {
    if (s.responses[i] != 0) {
      absl::StrAppend(&out, "epollhttp_requests_total{code=\"", i + 100, "\"} ", s.responses[i],
                      "\n");
    }
  }
  absl::StrAppend(&out,
                  "# HELP epollhttp_parse_errors_total Requests rejected as malformed or over a "
                  "limit, by status code.\n"
                  "# TYPE epollhttp_parse_errors_total counter\n");
  for (int i = 0; i < 500; ++i) {
    if (s.parse_errors[i] != 0) {
      absl::StrAppend(&out, "epollhttp_parse_errors_total{code=\"", i + 100, "\"} ",
                      s.parse_errors[i], "\n");
    }
  }
  absl::StrAppend(&out,
                  "# HELP epollhttp_request_body_bytes_total Request body bytes received.\n"
                  "# TYPE epollhttp_request_body_bytes_total counter\n"
                  "epollhttp_request_body_bytes_total ",
                  s.body_bytes, "\n",
                  "# HELP epollhttp_response_bytes_total Bytes written to clients.\n"
                  "# TYPE epollhttp_response_bytes_total counter\n"
                  "epollhttp_response_bytes_total ",
                  s.bytes_written, "\n",
                  "# HELP epollhttp_connections_accepted_total Connections accepted.\n"
                  "# TYPE epollhttp_connections_accepted_total counter\n"
                  "epollhttp_connections_accepted_total ",
                  s.accepted, "\n",
                  "# HELP epollhttp_connections_closed_total Connections closed.\n"
                  "# TYPE epollhttp_connections_closed_total counter\n"
                  "epollhttp_connections_closed_total ",
                  s.closed, "\n",
                  "# HELP epollhttp_connections_active Connections open now.\n"
                  "# TYPE epollhttp_connections_active gauge\n"
                  "epollhttp_connections_active ",
                  s.accepted - s.closed, "\n",
                  "# HELP epollhttp_timeouts_total Connections closed by a timeout, by kind.\n"
                  "# TYPE epollhttp_timeouts_total counter\n");
  for (int k = 0; k < kTimeoutKinds; ++k) {
    absl::StrAppend(&out, "epollhttp_timeouts_total{kind=\"", kTimeoutNames[k], "\"} ",
                    s.timeouts[k], "\n");
  }
  absl::StrAppend(&out,
                  "# HELP epollhttp_request_aborts_total Requests that died before their "
                  "response was finished, by reason.\n"
                  "# TYPE epollhttp_request_aborts_total counter\n");
  for (int k = 0; k < kAbortReasons; ++k) {
    absl::StrAppend(&out, "epollhttp_request_aborts_total{reason=\"",
                    http::AbortReasonName(static_cast<http::AbortReason>(k)), "\"} ", s.aborts[k],
                    "\n");
  }
  return out;
}

}  // namespace epollhttp
