#include "server/metrics.h"

#include <algorithm>
#include <cstdio>

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

void LoopStats::ObserveRequest(int route, int status, std::chrono::nanoseconds duration) {
  if (route < 0 || route >= kMaxRoutes || status < 100 || status >= 600) return;
  const int series = route * kStatusClasses + (status / 100 - 1);
  const int64_t ns = std::max<int64_t>(duration.count(), 0);
  int bucket = 0;
  while (bucket < kDurationBounds && ns > kDurationBoundsNs[bucket]) ++bucket;
  Add(durations_[static_cast<size_t>(series * (kDurationBounds + 1) + bucket)], 1);
  Add(duration_sums_ns_[static_cast<size_t>(series)], ns);
}

int Metrics::AddRoute(absl::string_view label) {
  if (const int index = Route(label); index != 0 || label == "other") return index;
  if (static_cast<int>(routes_.size()) >= kMaxRoutes) return 0;
  routes_.emplace_back(label);
  return static_cast<int>(routes_.size()) - 1;
}

int Metrics::Route(absl::string_view label) const {
  for (size_t i = 1; i < routes_.size(); ++i) {
    if (routes_[i] == label) return static_cast<int>(i);
  }
  return 0;
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
    for (size_t k = 0; k < s.durations.size(); ++k) s.durations[k] += Read(w->durations_[k]);
    for (size_t k = 0; k < s.duration_sums_ns.size(); ++k) {
      s.duration_sums_ns[k] += Read(w->duration_sums_ns_[k]);
    }
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
  absl::StrAppend(&out,
                  "# HELP epollhttp_request_duration_seconds Time from a request's parsed head to "
                  "its last response byte queued, by route and status class.\n"
                  "# TYPE epollhttp_request_duration_seconds histogram\n");
  for (int route = 0; route < static_cast<int>(routes_.size()); ++route) {
    for (int c = 0; c < kStatusClasses; ++c) {
      const int series = route * kStatusClasses + c;
      const uint64_t* buckets = &s.durations[static_cast<size_t>(series * (kDurationBounds + 1))];
      uint64_t count = 0;
      for (int b = 0; b <= kDurationBounds; ++b) count += buckets[b];
      if (count == 0) continue;
      const std::string labels = absl::StrCat("route=\"", routes_[static_cast<size_t>(route)],
                                              "\",code=\"", c + 1, "xx\"");
      uint64_t cumulative = 0;
      for (int b = 0; b < kDurationBounds; ++b) {
        cumulative += buckets[b];
        char bound[32];
        std::snprintf(bound, sizeof(bound), "%g", static_cast<double>(kDurationBoundsNs[b]) / 1e9);
        absl::StrAppend(&out, "epollhttp_request_duration_seconds_bucket{", labels, ",le=\"", bound,
                        "\"} ", cumulative, "\n");
      }
      char sum[32];
      std::snprintf(sum, sizeof(sum), "%.9f",
                    static_cast<double>(s.duration_sums_ns[static_cast<size_t>(series)]) / 1e9);
      absl::StrAppend(&out, "epollhttp_request_duration_seconds_bucket{", labels, ",le=\"+Inf\"} ",
                      count, "\n", "epollhttp_request_duration_seconds_sum{", labels, "} ", sum,
                      "\n", "epollhttp_request_duration_seconds_count{", labels, "} ", count, "\n");
    }
  }
  for (const auto& section : sections_) absl::StrAppend(&out, section());
  return out;
}

}  // namespace epollhttp
