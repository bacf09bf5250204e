#include "loadgen/merge.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "loadgen/hdr_codec.h"
#include "loadgen/json.h"

namespace epollhttp::loadgen {
namespace {

absl::Status Missing(absl::string_view field) {
  return absl::InvalidArgumentError(absl::StrCat("the report has no valid \"", field, "\""));
}

// Field readers: `object`.`key` of the given type, or an error naming it.
absl::Status GetInt(const JsonValue& object, absl::string_view key, int64_t* out) {
  const JsonValue* v = object.Find(key);
  if (v == nullptr || !v->Int().has_value()) return Missing(key);
  *out = *v->Int();
  return absl::OkStatus();
}

absl::Status GetDouble(const JsonValue& object, absl::string_view key, double* out) {
  const JsonValue* v = object.Find(key);
  if (v == nullptr || !v->Double().has_value()) return Missing(key);
  *out = *v->Double();
  return absl::OkStatus();
}

absl::Status GetString(const JsonValue& object, absl::string_view key, std::string* out) {
  const JsonValue* v = object.Find(key);
  if (v == nullptr || !v->String().has_value()) return Missing(key);
  *out = *v->String();
  return absl::OkStatus();
}

const JsonValue* GetObject(const JsonValue& object, absl::string_view key) {
  const JsonValue* v = object.Find(key);
  return v != nullptr && v->type() == JsonValue::Type::kObject ? v : nullptr;
}

// ReadLatency() rebuilds a histogram from its encoding and exact figures.
absl::Status ReadLatency(const JsonValue& root, absl::string_view figures_key,
                         absl::string_view histogram_key, Histogram* out,
                         const JsonValue* figures = nullptr) {
  std::string encoded;
  if (absl::Status s = GetString(root, histogram_key, &encoded); !s.ok()) return s;
  absl::StatusOr<HdrCounts> counts = DecodeHdr(encoded);
  if (!counts.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(histogram_key, ": ", counts.status().message()));
  }
  if (absl::Status s = out->AddHdr(*counts); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(histogram_key, ": ", s.message()));
  }
  if (figures == nullptr) figures = GetObject(root, figures_key);
  if (figures == nullptr) return Missing(figures_key);
  int64_t min = 0, max = 0;
  double mean = 0, stdev = 0;
  for (absl::Status s :
       {GetInt(*figures, "min", &min), GetInt(*figures, "max", &max),
        GetDouble(*figures, "mean", &mean), GetDouble(*figures, "stdev", &stdev)}) {
    if (!s.ok()) return s;
  }
  if (out->count() > 0) {
    const double n = static_cast<double>(out->count());
    out->RestoreStats(min, max, mean * n, (stdev * stdev + mean * mean) * n);
  }
  return absl::OkStatus();
}

// ReadHistogramObject() rebuilds `object`.`key`, written by HistogramJson()
// (figures, count and the encoded histogram in one object).
absl::Status ReadHistogramObject(const JsonValue& object, absl::string_view key, Histogram* out) {
  const JsonValue* figures = GetObject(object, key);
  if (figures == nullptr) return Missing(key);
  if (absl::Status s = ReadLatency(*figures, "", "histogram", out, figures); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(key, ": ", s.message()));
  }
  int64_t count = 0;
  if (absl::Status s = GetInt(*figures, "count", &count); !s.ok()) return s;
  if (count != out->count()) {
    return absl::InvalidArgumentError(
        absl::StrCat(key, ": the count differs from the histogram's"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Report> ReadReport(absl::string_view json) {
  absl::StatusOr<JsonValue> parsed = ParseJson(json);
  if (!parsed.ok()) return parsed.status();
  const JsonValue& root = *parsed;
  std::string schema;
  if (!GetString(root, "schema", &schema).ok()) return Missing("schema");
  if (schema != kReportSchema) {
    return absl::InvalidArgumentError(
        absl::StrCat("schema \"", schema, "\" cannot be combined: merge needs \"", kReportSchema,
                     "\" (reports that carry their latency histograms)"));
  }
  Report r;
  RunInfo& info = r.info;
  RunStats& stats = r.stats;
  int64_t threads = 0, clients = 0, runs = 1;
  std::string mode;
  const JsonValue* requests = GetObject(root, "requests");
  if (requests == nullptr) return Missing("requests");
  for (absl::Status s :
       {GetString(root, "url", &info.url), GetString(root, "method", &info.method),
        GetString(root, "mode", &mode), GetInt(root, "threads", &threads),
        GetInt(root, "clients", &clients), GetInt(root, "runs", &runs),
        GetDouble(root, "rate_per_second", &info.rate),
        GetInt(root, "body_bytes", &info.body_bytes),
        GetDouble(root, "start_unix_seconds", &info.start_unix_seconds),
        GetDouble(root, "duration_seconds", &r.seconds),
        GetInt(*requests, "succeeded", &stats.succeeded),
        GetInt(*requests, "failed", &stats.failed), GetInt(root, "bytes_sent", &stats.bytes_sent),
        GetInt(root, "bytes_received", &stats.bytes_received),
        GetInt(root, "lost_body_bytes", &stats.lost_body_bytes),
        GetInt(root, "late_requests", &stats.late),
        GetInt(root, "tls_handshakes", &stats.tls_handshakes),
        GetInt(root, "tls_resumed", &stats.tls_resumed)}) {
    if (!s.ok()) return s;
  }
  info.threads = static_cast<int>(threads);
  info.clients = static_cast<int>(clients);
  info.runs = static_cast<int>(runs);
  info.merged = mode == "merged";
  const JsonValue* keepalive = root.Find("keepalive");
  if (keepalive == nullptr || keepalive->type() != JsonValue::Type::kBool) {
    return Missing("keepalive");
  }
  info.keepalive = keepalive->Bool();
  const JsonValue* codes = GetObject(root, "status_codes");
  if (codes == nullptr) return Missing("status_codes");
  for (const auto& [code, n] : codes->object()) {
    int status = 0;
    if (!absl::SimpleAtoi(code, &status) || !n.Int().has_value()) return Missing("status_codes");
    stats.status_codes[status] += *n.Int();
  }
  const JsonValue* errors = GetObject(root, "errors");
  if (errors == nullptr) return Missing("errors");
  for (int i = 0; i < kErrorKinds; ++i) {
    if (absl::Status s = GetInt(*errors, kErrorKeys[i], &stats.errors[static_cast<size_t>(i)]);
        !s.ok()) {
      return s;
    }
  }
  if (absl::Status s = ReadLatency(root, "latency_us", "latency_histogram", &stats.latency);
      !s.ok()) {
    return s;
  }
  if (root.Find("latency_uncorrected_histogram") != nullptr) {
    if (absl::Status s = ReadLatency(root, "latency_uncorrected_us",
                                     "latency_uncorrected_histogram", &stats.latency_uncorrected);
        !s.ok()) {
      return s;
    }
  } else {
    stats.latency_uncorrected = stats.latency;  // Closed model: the same samples.
  }
  const JsonValue* phases = GetObject(root, "phases_us");
  if (phases == nullptr) return Missing("phases_us");
  for (int p = 0; p < kPhases; ++p) {
    if (absl::Status s = ReadHistogramObject(*phases, kPhaseKeys[p], &stats.phases[p]); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("phases_us: ", s.message()));
    }
  }
  if (absl::Status s = ReadHistogramObject(root, "upload_kB_per_second", &stats.upload_rate);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = GetString(root, "rate_stages", &info.rate_stages); !s.ok()) return s;
  const JsonValue* uploads = GetObject(root, "uploads");
  if (uploads == nullptr) return Missing("uploads");
  for (absl::Status s : {GetInt(*uploads, "interrupted", &stats.upload_interruptions),
                         GetInt(*uploads, "verified", &stats.uploads_verified)}) {
    if (!s.ok()) return s;
  }
  const JsonValue* bodies = root.Find("bodies");
  if (bodies == nullptr || bodies->type() != JsonValue::Type::kArray) return Missing("bodies");
  for (const JsonValue& entry : bodies->array()) {
    BodyStats body;
    for (absl::Status s :
         {GetString(entry, "name", &body.name), GetInt(entry, "body_bytes", &body.body_bytes),
          GetInt(entry, "requests", &body.requests), GetInt(entry, "failed", &body.failed),
          GetInt(entry, "bytes_sent", &body.bytes_sent),
          ReadHistogramObject(entry, "latency_us", &body.latency)}) {
      if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat("bodies: ", s.message()));
    }
    stats.bodies.push_back(std::move(body));
  }
  const JsonValue* series = root.Find("time_series");
  if (series == nullptr || series->type() != JsonValue::Type::kArray) return Missing("time_series");
  for (const JsonValue& entry : series->array()) {
    int64_t t = 0;
    Second second;
    for (absl::Status s :
         {GetInt(entry, "t", &t), GetInt(entry, "requests", &second.requests),
          GetInt(entry, "errors", &second.errors), GetInt(entry, "bytes_sent", &second.bytes_sent),
          GetInt(entry, "bytes_received", &second.bytes_received),
          GetString(entry, "histogram", &second.histogram)}) {
      if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat("time_series: ", s.message()));
    }
    if (absl::Status s = stats.series.Add(t, second); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("time_series: ", s.message()));
    }
  }
  return r;
}

absl::StatusOr<Report> MergeReports(const std::vector<Report>& reports) {
  if (reports.empty()) return absl::InvalidArgumentError("no reports to merge");
  Report out;
  out.info = reports.front().info;
  out.info.merged = true;
  out.info.runs = 0;
  out.info.threads = out.info.clients = 0;
  out.info.rate = 0;
  double start = reports.front().info.start_unix_seconds;
  double end = start;
  double sum = 0, sum_squares = 0, sum_u = 0, sum_squares_u = 0;
  int64_t min = INT64_MAX, max = 0, min_u = INT64_MAX, max_u = 0;
  for (const Report& r : reports) {
    if (r.info.url != out.info.url) out.info.url = "(several URLs)";
    if (r.info.method != out.info.method) out.info.method = "(several methods)";
    out.info.runs += r.info.runs;
    out.info.threads += r.info.threads;
    out.info.clients += r.info.clients;
    out.info.rate += r.info.rate;
    start = std::min(start, r.info.start_unix_seconds);
    end = std::max(end, r.info.start_unix_seconds + r.seconds);
    const RunStats& s = r.stats;
    out.stats.succeeded += s.succeeded;
    out.stats.failed += s.failed;
    for (int i = 0; i < kErrorKinds; ++i) out.stats.errors[i] += s.errors[i];
    out.stats.lost_body_bytes += s.lost_body_bytes;
    out.stats.bytes_sent += s.bytes_sent;
    out.stats.bytes_received += s.bytes_received;
    out.stats.late += s.late;
    out.stats.tls_handshakes += s.tls_handshakes;
    out.stats.tls_resumed += s.tls_resumed;
    for (const auto& [code, n] : s.status_codes) out.stats.status_codes[code] += n;
    // Rebuilt with exact figures, so merging them is exact.
    for (int p = 0; p < kPhases; ++p) out.stats.phases[p].Merge(s.phases[p]);
    out.stats.upload_rate.Merge(s.upload_rate);
    MergeBodies(s.bodies, &out.stats.bodies);
    out.stats.upload_interruptions += s.upload_interruptions;
    out.stats.uploads_verified += s.uploads_verified;
    if (r.info.rate_stages != out.info.rate_stages) out.info.rate_stages = "(several)";
    for (const auto& [h, into] :
         {std::pair(&s.latency, &out.stats.latency),
          std::pair(&s.latency_uncorrected, &out.stats.latency_uncorrected)}) {
      if (absl::Status st = into->AddHdr(h->ToHdr()); !st.ok()) return st;
    }
    if (s.latency.count() > 0) {
      min = std::min(min, s.latency.min());
      max = std::max(max, s.latency.max());
      sum += s.latency.sum();
      sum_squares += s.latency.sum_squares();
    }
    if (s.latency_uncorrected.count() > 0) {
      min_u = std::min(min_u, s.latency_uncorrected.min());
      max_u = std::max(max_u, s.latency_uncorrected.max());
      sum_u += s.latency_uncorrected.sum();
      sum_squares_u += s.latency_uncorrected.sum_squares();
    }
    if (absl::Status st = out.stats.series.Merge(s.series); !st.ok()) return st;
  }
  if (out.stats.latency.count() > 0) out.stats.latency.RestoreStats(min, max, sum, sum_squares);
  if (out.stats.latency_uncorrected.count() > 0) {
    out.stats.latency_uncorrected.RestoreStats(min_u, max_u, sum_u, sum_squares_u);
  }
  out.info.start_unix_seconds = start;
  out.info.requests_per_client = 0;
  out.info.duration_limit_seconds = end - start;
  out.seconds = end - start;
  return out;
}

}  // namespace epollhttp::loadgen
