// report.h: what a load-generator run measured, and its two renderings: the
// human summary (stdout) and the JSON report (--json).
//
// JSON schema "epollhttp.loadgen/4" (stable; this is its documentation):
//   schema, url, method, threads, clients, mode ("requests" | "duration" |
//   "merged"), rate_per_second (0: closed model), body_bytes, keepalive,
//   start_unix_seconds (when the clock started), runs (1, or how many
//   reports were merged), requests {total, succeeded, failed},
//   requests_per_second, duration_seconds, bytes_sent, bytes_received,
//   upload_mb_per_second, download_mb_per_second,
//   status_codes {"200": n, ...},
//   errors {connect, write, read, status, body, lost_body_bytes, tls,
//   protocol},
//   lost_body_bytes, late_requests, tls_handshakes, tls_resumed,
//   latency_us {min, mean, stdev, max, p50, p90, p99, p999, p9999},
//   latency_uncorrected_us {same keys},
//   latency_histogram: every latency sample in HdrHistogram's compressed V2
//   encoding ("HISTFAA...", loadgen/hdr_codec.h; 1 us to 1 h, 3 digits),
//   latency_uncorrected_histogram: the same, from actual send times (only
//   with --rate),
//   phases_us {connect, tls, send, wait, receive}: each {same keys as
//   latency_us, count, histogram} (loadgen/phases.h says what each phase
//   spans; connect and tls count new connections, the others answered
//   requests),
//   upload_kB_per_second {same keys}: each answered upload's body bytes
//   over its send phase, in kB/s,
//   uploads {interrupted, verified}: --upload tus: PATCHes cut on purpose
//   and resumed, and uploads whose GET matched the body's sha256,
//   rate_stages: --rate's stages ("" without; rate_per_second is then their
//   mean planned rate),
//   bodies: [{name, body_bytes, requests, failed, bytes_sent, latency_us
//   {same keys as phases_us}}, ...], one per body of a run that sent
//   several, else [],
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
#include <vector>

#include "absl/strings/string_view.h"
#include "loadgen/histogram.h"
#include "loadgen/phases.h"
#include "loadgen/time_series.h"

namespace epollhttp::loadgen {

// The JSON report's schema name, written by FormatJson() and required by
// `loadgen merge`.
inline constexpr absl::string_view kReportSchema = "epollhttp.loadgen/4";

enum class ErrorKind : uint8_t {
  kConnect,    // Could not connect (refused, unreachable, connect timeout).
  kWrite,      // The request could not be sent (e.g. the server closed mid-upload).
  kRead,       // No complete response: read error or read timeout.
  kStatus,     // A response with a status other than --expect_status.
  kBody,       // A response body other than --expect_body.
  kLostBytes,  // X-Received-Body-Bytes differs from the bytes sent.
  kTls,        // The TLS handshake failed (certificate verification included).
  // The server broke HTTP/1.1: a bad status line, header or framing, or
  // bytes after the response (a Connection: close not kept to, say).
  kProtocol,
};
inline constexpr int kErrorKinds = 8;
// Each kind's key in the JSON report (which `loadgen merge` reads back) and
// its label in the text and HTML summaries, indexed by ErrorKind.
inline constexpr const char* kErrorKeys[kErrorKinds] = {
    "connect", "write", "read", "status", "body", "lost_body_bytes", "tls", "protocol"};
inline constexpr const char* kErrorLabels[kErrorKinds] = {
    "connect",         "write",           "read/timeout", "unexpected status",
    "unexpected body", "lost body bytes", "tls",          "protocol"};

// What one of several bodies (--body_sizes, --file more than once) saw.
struct BodyStats {
  std::string name;
  int64_t body_bytes = 0;  // Its size.
  int64_t requests = 0;
  int64_t failed = 0;
  int64_t bytes_sent = 0;
  Histogram latency;  // As RunStats::latency, for its requests.
};

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
  // Each phase's times (loadgen/phases.h), indexed by Phase: connect and tls
  // for every new connection, the rest for every request fully answered.
  std::array<Histogram, kPhases> phases;
  // Each answered upload's body bytes over its send phase, in kB/s.
  Histogram upload_rate;
  // One per body when a run sends several (in the order given), else empty.
  std::vector<BodyStats> bodies;
  // --upload tus: PATCHes cut on purpose (and resumed), uploads whose GET
  // matched the body's sha256.
  int64_t upload_interruptions = 0;
  int64_t uploads_verified = 0;

  void Count(ErrorKind kind) { ++errors[static_cast<int>(kind)]; }
  // Merge() adds `other`'s counts and samples (bodies matched by name).
  void Merge(const RunStats& other);
};

// MergeBodies() adds `from`'s per-body figures to `into`'s, matching bodies
// by name (a body `into` lacks is appended).
void MergeBodies(const std::vector<BodyStats>& from, std::vector<BodyStats>* into);

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
  std::string rate_stages;        // --rate's stages, or empty.
  bool merged = false;
};

// FormatSummary() is the human-readable report for stdout.
std::string FormatSummary(const RunInfo& info, const RunStats& stats, double seconds);

// FormatJson() is the JSON report (one object, trailing newline).
std::string FormatJson(const RunInfo& info, const RunStats& stats, double seconds);

// PhaseTable() is the summary's table of phase times (empty when no phase
// was timed) and the per-request upload rate.
std::string PhaseTable(const RunStats& stats);

// LatencyBars() is a text histogram of `h`: `rows` log-spaced ranges from
// min to max, each with its count and a bar scaled to the largest.
std::string LatencyBars(const Histogram& h, int rows = 10);

}  // namespace epollhttp::loadgen

#endif  // EPOLLHTTP_LOADGEN_REPORT_H_
