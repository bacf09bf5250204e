#include "loadgen/report.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "loadgen/hdr_codec.h"

namespace epollhttp::loadgen {
namespace {

// Us() renders microseconds with a unit that keeps 3-4 significant digits.
std::string Us(double us) {
  if (us < 1000) return absl::StrFormat("%.0fus", us);
  if (us < 1e6) return absl::StrFormat("%.2fms", us / 1e3);
  return absl::StrFormat("%.3fs", us / 1e6);
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      out += absl::StrFormat("\\u%04x", u);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string Number(double v) {
  if (!std::isfinite(v)) return "0";
  return absl::StrFormat("%.6g", v);
}

// Precise() keeps enough digits for `loadgen merge` to recombine means and
// deviations.
std::string Precise(double v) {
  if (!std::isfinite(v)) return "0";
  return absl::StrFormat("%.12g", v);
}

std::string LatencyJson(const Histogram& h) {
  return absl::StrCat(
      "{\"min\": ", h.min(), ", \"mean\": ", Precise(h.mean()), ", \"stdev\": ", Precise(h.stdev()),
      ", \"max\": ", h.max(), ", \"p50\": ", h.ValueAtPercentile(50),
      ", \"p90\": ", h.ValueAtPercentile(90), ", \"p99\": ", h.ValueAtPercentile(99),
      ", \"p999\": ", h.ValueAtPercentile(99.9), ", \"p9999\": ", h.ValueAtPercentile(99.99), "}");
}

// HistogramJson() is LatencyJson() with the sample count and the encoded
// histogram inside, so a reader rebuilds it exactly.
std::string HistogramJson(const Histogram& h) {
  std::string figures = LatencyJson(h);
  figures.pop_back();
  return absl::StrCat(figures, ", \"count\": ", h.count(), ", \"histogram\": \"",
                      EncodeHdr(h.ToHdr()), "\"}");
}

// MBps() renders a kB/s figure as MB/s.
std::string MBps(int64_t kb_per_second) {
  return absl::StrFormat("%.1f", static_cast<double>(kb_per_second) / 1000);
}

std::string LatencyLines(const char* label, const Histogram& h) {
  return absl::StrCat(absl::StrFormat("  %-12s min %-9s mean %-9s stdev %-9s max %s\n", label,
                                      Us(static_cast<double>(h.min())), Us(h.mean()), Us(h.stdev()),
                                      Us(static_cast<double>(h.max()))),
                      absl::StrFormat("  %-12s p50 %-9s p90 %-9s p99 %-9s p99.9 %-9s p99.99 %s\n",
                                      "", Us(h.ValueAtPercentile(50)), Us(h.ValueAtPercentile(90)),
                                      Us(h.ValueAtPercentile(99)), Us(h.ValueAtPercentile(99.9)),
                                      Us(h.ValueAtPercentile(99.99))));
}

}  // namespace

void MergeBodies(const std::vector<BodyStats>& from, std::vector<BodyStats>* into) {
  for (const BodyStats& body : from) {
    auto it = std::find_if(into->begin(), into->end(),
                           [&body](const BodyStats& b) { return b.name == body.name; });
    if (it == into->end()) {
      into->push_back(body);
      continue;
    }
    it->requests += body.requests;
    it->failed += body.failed;
    it->bytes_sent += body.bytes_sent;
    it->latency.Merge(body.latency);
  }
}

void RunStats::Merge(const RunStats& other) {
  latency.Merge(other.latency);
  latency_uncorrected.Merge(other.latency_uncorrected);
  succeeded += other.succeeded;
  failed += other.failed;
  for (int i = 0; i < kErrorKinds; ++i) errors[i] += other.errors[i];
  lost_body_bytes += other.lost_body_bytes;
  bytes_sent += other.bytes_sent;
  bytes_received += other.bytes_received;
  late += other.late;
  tls_handshakes += other.tls_handshakes;
  tls_resumed += other.tls_resumed;
  for (const auto& [code, n] : other.status_codes) status_codes[code] += n;
  if (tls_error.empty()) tls_error = other.tls_error;
  for (int p = 0; p < kPhases; ++p) phases[p].Merge(other.phases[p]);
  upload_rate.Merge(other.upload_rate);
  MergeBodies(other.bodies, &bodies);
  upload_interruptions += other.upload_interruptions;
  uploads_verified += other.uploads_verified;
  (void)series.Merge(other.series);  // Both from this process: same parameters.
}

std::string LatencyBars(const Histogram& h, int rows) {
  if (h.count() == 0 || rows < 1) return "";
  const double low = std::max<double>(1, static_cast<double>(h.min()));
  const double high = std::max<double>(low + 1, static_cast<double>(h.max()));
  std::vector<int64_t> counts(static_cast<size_t>(rows));
  std::vector<int64_t> tops(static_cast<size_t>(rows));
  // Every sample is at or above min: a count "below min" would only take
  // the samples that share min's bucket away from the first row.
  int64_t below = 0;
  int64_t largest = 1;
  for (int i = 0; i < rows; ++i) {
    const double edge = low * std::pow(high / low, static_cast<double>(i + 1) / rows);
    const int64_t top = i == rows - 1 ? h.max() : static_cast<int64_t>(edge);
    const int64_t upto = h.CountAtOrBelow(top);
    counts[static_cast<size_t>(i)] = upto - below;
    tops[static_cast<size_t>(i)] = top;
    below = upto;
    largest = std::max(largest, counts[static_cast<size_t>(i)]);
  }
  std::string out = "  latency histogram (up to):\n";
  for (int i = 0; i < rows; ++i) {
    const int64_t n = counts[static_cast<size_t>(i)];
    const int width = static_cast<int>(40 * n / largest);
    std::string bar;
    for (int j = 0; j < width; ++j) bar += "\xE2\x96\xA0";  // U+25A0 BLACK SQUARE.
    absl::StrAppend(&out, absl::StrFormat("    %-9s [%8lld] %s\n",
                                          Us(static_cast<double>(tops[static_cast<size_t>(i)])),
                                          static_cast<long long>(n), bar));
  }
  return out;
}

std::string FormatSummary(const RunInfo& info, const RunStats& stats, double seconds) {
  const int64_t total = stats.succeeded + stats.failed;
  const double per_second = seconds > 0 ? static_cast<double>(total) / seconds : 0;
  std::string out;
  if (info.merged) {
    absl::StrAppend(&out, total, " requests (", info.runs, " runs merged: ", info.clients,
                    " clients, ", info.threads, " threads)");
  } else if (info.requests_per_client > 0) {
    absl::StrAppend(&out, total, " requests (", info.clients, " clients \xC3\x97 ",
                    info.requests_per_client, ", ", info.threads, " threads)");
  } else {
    absl::StrAppend(&out, total, " requests (", info.clients, " clients for ",
                    Number(info.duration_limit_seconds), " s, ", info.threads, " threads)");
  }
  absl::StrAppend(&out, " ", info.method, " ", info.url, ", ", info.body_bytes, "-byte body, ",
                  info.keepalive ? "keep-alive" : "a connection per request");
  if (!info.rate_stages.empty()) {
    absl::StrAppend(&out, ", rate stages ", info.rate_stages, " (mean ", Number(info.rate),
                    " req/s)");
  } else if (info.rate > 0) {
    absl::StrAppend(&out, ", target ", Number(info.rate), " req/s");
  }
  absl::StrAppend(&out, "\n");
  absl::StrAppend(&out, absl::StrFormat("  %lld succeeded, %lld failed in %.3f s: %.1f req/s, "
                                        "upload %.1f MB/s, download %.2f MB/s\n",
                                        static_cast<long long>(stats.succeeded),
                                        static_cast<long long>(stats.failed), seconds, per_second,
                                        seconds > 0 ? stats.bytes_sent / seconds / 1e6 : 0,
                                        seconds > 0 ? stats.bytes_received / seconds / 1e6 : 0));
  if (info.rate > 0) {
    absl::StrAppend(&out, LatencyLines("latency", stats.latency),
                    LatencyLines("uncorrected", stats.latency_uncorrected), "  ", stats.late,
                    " requests started more than 1 ms late\n");
  } else {
    absl::StrAppend(&out, LatencyLines("latency", stats.latency));
  }
  absl::StrAppend(&out, "  status codes:");
  if (stats.status_codes.empty()) absl::StrAppend(&out, " none");
  for (const auto& [code, n] : stats.status_codes) absl::StrAppend(&out, " ", code, ": ", n);
  absl::StrAppend(&out, "\n  errors:");
  for (int i = 0; i < kErrorKinds; ++i) {
    absl::StrAppend(&out, i == 0 ? " " : ", ", kErrorLabels[i], " ", stats.errors[i]);
    if (i == static_cast<int>(ErrorKind::kLostBytes)) {
      absl::StrAppend(&out, " (", stats.lost_body_bytes, " bytes)");
    }
  }
  absl::StrAppend(&out, "\n");
  if (stats.tls_handshakes > 0) {
    absl::StrAppend(&out, "  tls: ", stats.tls_handshakes, " handshakes, ", stats.tls_resumed,
                    " resumed\n");
  }
  if (!stats.tls_error.empty()) absl::StrAppend(&out, "  tls failure: ", stats.tls_error, "\n");
  if (stats.upload_interruptions > 0 || stats.uploads_verified > 0) {
    absl::StrAppend(&out, "  uploads: ", stats.uploads_verified, " verified by GET (sha256), ",
                    stats.upload_interruptions, " PATCHes cut and resumed\n");
  }
  absl::StrAppend(&out, PhaseTable(stats));
  if (!stats.bodies.empty()) {
    absl::StrAppend(&out, absl::StrFormat("  %-14s %11s %9s %9s %9s %9s\n", "bodies", "bytes",
                                          "requests", "failed", "p50", "p99"));
    for (const BodyStats& b : stats.bodies) {
      absl::StrAppend(
          &out,
          absl::StrFormat("    %-12s %11d %9d %9d %9s %9s\n", b.name, b.body_bytes, b.requests,
                          b.failed, Us(static_cast<double>(b.latency.ValueAtPercentile(50))),
                          Us(static_cast<double>(b.latency.ValueAtPercentile(99)))));
    }
  }
  absl::StrAppend(&out, LatencyBars(stats.latency));
  return out;
}

std::string PhaseTable(const RunStats& stats) {
  std::string out = absl::StrFormat("  %-14s %9s %9s %9s %9s %9s %9s\n", "phases", "count", "mean",
                                    "p50", "p90", "p99", "max");
  bool any = false;
  for (int p = 0; p < kPhases; ++p) {
    const Histogram& h = stats.phases[p];
    if (h.count() == 0) continue;
    any = true;
    absl::StrAppend(
        &out, absl::StrFormat("    %-12s %9d %9s %9s %9s %9s %9s\n", kPhaseLabels[p], h.count(),
                              Us(h.mean()), Us(static_cast<double>(h.ValueAtPercentile(50))),
                              Us(static_cast<double>(h.ValueAtPercentile(90))),
                              Us(static_cast<double>(h.ValueAtPercentile(99))),
                              Us(static_cast<double>(h.max()))));
  }
  if (!any) return "";
  const Histogram& rate = stats.upload_rate;
  if (rate.count() > 0) {
    absl::StrAppend(&out, absl::StrFormat("  upload per request: min %s  p50 %s  max %s MB/s\n",
                                          MBps(rate.min()), MBps(rate.ValueAtPercentile(50)),
                                          MBps(rate.max())));
  }
  return out;
}

std::string FormatJson(const RunInfo& info, const RunStats& stats, double seconds) {
  const int64_t total = stats.succeeded + stats.failed;
  std::string out = absl::StrCat(
      "{\"schema\": \"", kReportSchema, "\", \"url\": ", JsonString(info.url),
      ", \"method\": ", JsonString(info.method), ", \"threads\": ", info.threads,
      ", \"clients\": ", info.clients, ", \"mode\": \"",
      info.merged                    ? "merged"
      : info.requests_per_client > 0 ? "requests"
                                     : "duration",
      "\"", ", \"start_unix_seconds\": ", absl::StrFormat("%.3f", info.start_unix_seconds),
      ", \"runs\": ", info.runs, ", \"rate_per_second\": ", Number(info.rate),
      ", \"body_bytes\": ", info.body_bytes, ", \"keepalive\": ", info.keepalive ? "true" : "false",
      ",\n \"requests\": {\"total\": ", total, ", \"succeeded\": ", stats.succeeded,
      ", \"failed\": ", stats.failed, "}",
      ",\n \"requests_per_second\": ", Number(seconds > 0 ? total / seconds : 0),
      ", \"duration_seconds\": ", Number(seconds), ", \"bytes_sent\": ", stats.bytes_sent,
      ", \"bytes_received\": ", stats.bytes_received,
      ", \"upload_mb_per_second\": ", Number(seconds > 0 ? stats.bytes_sent / seconds / 1e6 : 0),
      ", \"download_mb_per_second\": ",
      Number(seconds > 0 ? stats.bytes_received / seconds / 1e6 : 0), ",\n \"status_codes\": {");
  bool first = true;
  for (const auto& [code, n] : stats.status_codes) {
    absl::StrAppend(&out, first ? "" : ", ", "\"", code, "\": ", n);
    first = false;
  }
  absl::StrAppend(&out, "},\n \"errors\": {");
  for (int i = 0; i < kErrorKinds; ++i) {
    absl::StrAppend(&out, i == 0 ? "" : ", ", "\"", kErrorKeys[i], "\": ", stats.errors[i]);
  }
  absl::StrAppend(
      &out, "}, \"lost_body_bytes\": ", stats.lost_body_bytes, ", \"late_requests\": ", stats.late,
      ", \"tls_handshakes\": ", stats.tls_handshakes, ", \"tls_resumed\": ", stats.tls_resumed,
      ",\n \"latency_us\": ", LatencyJson(stats.latency),
      ",\n \"latency_uncorrected_us\": ", LatencyJson(stats.latency_uncorrected),
      ",\n \"latency_histogram\": \"", EncodeHdr(stats.latency.ToHdr()), "\"");
  if (info.rate > 0) {
    absl::StrAppend(&out, ",\n \"latency_uncorrected_histogram\": \"",
                    EncodeHdr(stats.latency_uncorrected.ToHdr()), "\"");
  }
  absl::StrAppend(&out, ",\n \"phases_us\": {");
  for (int p = 0; p < kPhases; ++p) {
    absl::StrAppend(&out, p == 0 ? "\n  \"" : ",\n  \"", kPhaseKeys[p],
                    "\": ", HistogramJson(stats.phases[p]));
  }
  absl::StrAppend(&out, "},\n \"upload_kB_per_second\": ", HistogramJson(stats.upload_rate));
  absl::StrAppend(&out, ",\n \"uploads\": {\"interrupted\": ", stats.upload_interruptions,
                  ", \"verified\": ", stats.uploads_verified, "}");
  absl::StrAppend(&out, ",\n \"rate_stages\": ", JsonString(info.rate_stages), ",\n \"bodies\": [");
  for (size_t i = 0; i < stats.bodies.size(); ++i) {
    const BodyStats& b = stats.bodies[i];
    absl::StrAppend(&out, i == 0 ? "\n  " : ",\n  ", "{\"name\": ", JsonString(b.name),
                    ", \"body_bytes\": ", b.body_bytes, ", \"requests\": ", b.requests,
                    ", \"failed\": ", b.failed, ", \"bytes_sent\": ", b.bytes_sent,
                    ", \"latency_us\": ", HistogramJson(b.latency), "}");
  }
  absl::StrAppend(&out, "],\n \"time_series\": [");
  first = true;
  Histogram second_histogram;
  for (const auto& [t, second] : stats.series.seconds()) {
    (void)SecondHistogram(second, &second_histogram);
    absl::StrAppend(&out, first ? "\n  " : ",\n  ", "{\"t\": ", t,
                    ", \"requests\": ", second.requests, ", \"errors\": ", second.errors,
                    ", \"bytes_sent\": ", second.bytes_sent,
                    ", \"bytes_received\": ", second.bytes_received,
                    ", \"p50_us\": ", second_histogram.ValueAtPercentile(50),
                    ", \"p99_us\": ", second_histogram.ValueAtPercentile(99), ", \"histogram\": \"",
                    second.histogram, "\"}");
    first = false;
  }
  absl::StrAppend(&out, "]}\n");
  return out;
}

}  // namespace epollhttp::loadgen
