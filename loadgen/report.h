// report.h: what a load-generator run measured, and its two renderings: the
// human summary (stdout) and the JSON report (--json).
//
// JSON schema "epollhttp.loadgen/3" (stable; this is its documentation):
//   schema, url, method, threads, clients, mode ("requests" | "duration" |
//   "merged"), rate_per_second (0: closed model), body_bytes, keepalive,
//   start_unix_seconds (when the clock started), runs (1, or how many
//   reports were merged), requests {total, succeeded, failed},
//   requests_per_second, duration_seconds, bytes_sent, bytes_received,
//   upload_mb_per_second, download_mb_per_second,
//   status_codes {"200": n, ...},
//   errors {connect, write, read, status, body, lost_body_bytes, tls},
//   lost_body_bytes, late_requests, tls_handshakes, tls_resumed,
//   latency_us {min, mean, stdev, max, p50, p90, p99, p999, p9999},
//   latency_uncorrected_us {same keys},
//   latency_histogram: every latency sample in HdrHistogram's compressed V2
//   encoding ("HISTFAA...", loadgen/hdr_codec.h; 1 us to 1 h, 3 digits),
//   latency_uncorrected_histogram: the same, from actual send times (only
//   with --rate),
//   time_series: [{t (Unix second), requests, errors, bytes_sent,
//   bytes_received, p50_us, p99_us, histogram}, ...], one entry per second
//   in which requests completed.
// Reports of this schema combine exactly (`loadgen merge`): counts add, and
// percentiles come from the summed histograms.
// Latency is measured from each request's intended send time (with --rate)
// or its actual send time (otherwise, where both figures agree), in
// microseconds; percentiles are the top of their histogram bucket (within
// 0.1%). Byte counts are body bytes (sent: bodies of requests sent;
// received: response bodies). `errors` counts failed requests by kind (read
// includes timeouts); lost_body_bytes sums the differences between bytes sent
// and the server's X-Received-Body-Bytes.
//
// Thread safety: RunStats is filled by one thread; merge after joining.
#ifndef EPOLLHTTP_LOADGEN_REPORT_H_
#define EPOLLHTTP_LOADGEN_REPORT_H_

#include <array>
#include <cstdint>
#include <map>
#include <string>

#include "absl/strings/string_view.h"
#include "loadgen/histogram.h"
#include "loadgen/time_series.h"

namespace epollhttp::loadgen {

// The JSON report's schema name, written by FormatJson() and required by
// `loadgen merge`.
inline constexpr absl::string_view kReportSchema = "epollhttp.loadgen/3";

enum class ErrorKind : uint8_t {
  kConnect,    // Could not connect (refused, unreachable, connect timeout).
  kWrite,      // The request could not be sent (e.g. the server closed mid-upload).
  kRead,       // No complete response: read error or read timeout.
  kStatus,     // A response with a status other than --expect_status.
  kBody,       // A response body other than --expect_body.
  kLostBytes,  // X-Received-Body-Bytes differs from the bytes sent.
  kTls,        // The TLS handshake failed (certificate verification included).
};
inline constexpr int kErrorKinds = 7;
// Each kind's key in the JSON report (which `loadgen merge` reads back) and
// its label in the text and HTML summaries, indexed by ErrorKind.
inline constexpr const char* kErrorKeys[kErrorKinds] = {
    "connect", "write", "read", "status", "body", "lost_body_bytes", "tls"};
inline constexpr const char* kErrorLabels[kErrorKinds] = {
    "connect",         "write",           "read/timeout", "unexpected status",
    "unexpected body", "lost body bytes", "tls"};

struct RunStats {
  Histogram latency;              // From the intended send time.
  Histogram latency_uncorrected;  // From the actual send time.
  int64_t succeeded = 0;
  int64_t failed = 0;
  std::array<int64_t, kErrorKinds> errors{};
  int64_t lost_body_bytes = 0;  // Sum of |sent - X-Received-Body-Bytes|.
  int64_t bytes_sent = 0;       // Request body bytes of requests that were sent.
  int64_t bytes_received = 0;   // Response body bytes received.
  int64_t late = 0;             // --rate: started > 1 ms after the intended time.
  std::map<int, int64_t> status_codes;
  int64_t tls_handshakes = 0;  // Completed TLS handshakes,
  int64_t tls_resumed = 0;     // of which resumed an earlier session.
  std::string tls_error;       // Why the first failed TLS handshake failed.
  TimeSeries series;           // Per second (finished before reporting).

  void Count(ErrorKind kind) { ++errors[static_cast<int>(kind)]; }
  void Merge(const RunStats& other);
};

struct RunInfo {
  std::string url;
  std::string method;
  int threads = 0;
  int clients = 0;
  int64_t requests_per_client = 0;    // 0 in duration mode.
  double duration_limit_seconds = 0;  // 0 in request-count mode.
  double rate = 0;                    // Requests/s in total; 0: as fast as possible.
  int64_t body_bytes = 0;
  bool keepalive = true;
  double start_unix_seconds = 0;  // When the run's clock started.
  int runs = 1;                   // Reports merged into this one.
  bool merged = false;
};

// FormatSummary() is the human-readable report for stdout.
std::string FormatSummary(const RunInfo& info, const RunStats& stats, double seconds);

// FormatJson() is the JSON report (one object, trailing newline).
std::string FormatJson(const RunInfo& info, const RunStats& stats, double seconds);

// LatencyBars() is a text histogram of `h`: `rows` log-spaced ranges from
// min to max, each with its count and a bar scaled to the largest.
std::string LatencyBars(const Histogram& h, int rows = 10);

}  // namespace epollhttp::loadgen

#endif  // EPOLLHTTP_LOADGEN_REPORT_H_
