#include "loadgen/html_report.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace epollhttp::loadgen {
namespace {

constexpr double kWidth = 760, kHeight = 300;
constexpr double kLeft = 70, kRight = 40, kTop = 20, kBottom = 44;

std::string Escape(const std::string& text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// NiceCeiling() is the smallest 1, 2 or 5 times a power of ten >= `v`.
double NiceCeiling(double v) {
  if (v <= 0) return 1;
  const double power = std::pow(10, std::floor(std::log10(v)));
  for (const double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * power >= v * (1 - 1e-9)) return m * power;
  }
  return 10 * power;
}

// Us() renders a latency with a unit.
std::string Us(double us) {
  if (us < 1000) return absl::StrFormat("%.0f µs", us);
  if (us < 1e6) return absl::StrFormat("%.3g ms", us / 1e3);
  return absl::StrFormat("%.3g s", us / 1e6);
}

struct Series {
  std::string name;
  std::string color;
  bool dashed = false;
  std::vector<std::pair<double, double>> points;  // (x, y) in data units.
};

// Chart() is one <svg>: line series over a linear y axis from 0, with x
// ticks at `x_ticks` (position, label) and `y_format` for the y labels.
std::string Chart(const std::string& id, const std::string& title, const std::string& x_label,
                  double x_max, const std::vector<std::pair<double, std::string>>& x_ticks,
                  const std::vector<Series>& series, std::string (*y_format)(double)) {
  double y_max = 0;
  for (const Series& s : series) {
    for (const auto& [x, y] : s.points) y_max = std::max(y_max, y);
  }
  y_max = NiceCeiling(y_max);
  if (x_max <= 0) x_max = 1;
  const double plot_w = kWidth - kLeft - kRight, plot_h = kHeight - kTop - kBottom;
  auto px = [&](double x) { return kLeft + x / x_max * plot_w; };
  auto py = [&](double y) { return kTop + plot_h - y / y_max * plot_h; };
  std::string out = absl::StrFormat(
      "<figure><figcaption>%s</figcaption>\n<svg id=\"%s\" xmlns=\"http://www.w3.org/2000/svg\" "
      "width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" role=\"img\">\n",
      Escape(title), id, kWidth, kHeight, kWidth, kHeight);
  absl::StrAppend(&out,
                  absl::StrFormat("<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                                  "class=\"plot\"/>\n",
                                  kLeft, kTop, plot_w, plot_h));
  for (int i = 0; i <= 5; ++i) {
    const double y = y_max * i / 5;
    absl::StrAppend(&out, absl::StrFormat("<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
                                          "class=\"grid\"/><text x=\"%.1f\" y=\"%.1f\" "
                                          "class=\"ylabel\">%s</text>\n",
                                          kLeft, kLeft + plot_w, py(y), py(y), kLeft - 6, py(y) + 4,
                                          Escape(y_format(y))));
  }
  for (const auto& [x, label] : x_ticks) {
    absl::StrAppend(&out, absl::StrFormat("<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
                                          "class=\"grid\"/><text x=\"%.1f\" y=\"%.1f\" "
                                          "class=\"xlabel\">%s</text>\n",
                                          px(x), px(x), kTop, kTop + plot_h, px(x),
                                          kTop + plot_h + 16, Escape(label)));
  }
  absl::StrAppend(&out, absl::StrFormat("<text x=\"%.1f\" y=\"%.1f\" class=\"axis\">%s</text>\n",
                                        kLeft + plot_w / 2, kHeight - 6, Escape(x_label)));
  double legend_x = kLeft + 10;
  for (const Series& s : series) {
    std::string points;
    for (const auto& [x, y] : s.points) {
      absl::StrAppend(&points, absl::StrFormat("%.1f,%.1f ", px(x), py(y)));
    }
    absl::StrAppend(
        &out, absl::StrFormat("<polyline class=\"line\" stroke=\"%s\"%s points=\"%s\"/>\n", s.color,
                              s.dashed ? " stroke-dasharray=\"6 4\"" : "", points));
    absl::StrAppend(&out, absl::StrFormat("<text x=\"%.1f\" y=\"%.1f\" fill=\"%s\" "
                                          "class=\"legend\">%s</text>\n",
                                          legend_x, kTop + 16, s.color, Escape(s.name)));
    legend_x += 12 + 8 * static_cast<double>(s.name.size());
  }
  return out + "</svg></figure>\n";
}

std::string CountLabel(double n) { return absl::StrFormat("%.6g", n); }

std::string PercentileChart(const RunInfo& info, const RunStats& stats) {
  // x = log10(1 / (1 - p)): 0 at 0%, 1 at 90%, 2 at 99%, ... up to where
  // the samples run out (the last sample is the max).
  const int64_t n = std::max<int64_t>(stats.latency.count(), 1);
  const double decades = std::clamp(std::ceil(std::log10(static_cast<double>(n))), 1.0, 6.0);
  std::vector<std::pair<double, std::string>> ticks;
  const char* const labels[] = {"0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%"};
  for (int d = 0; d <= static_cast<int>(decades); ++d) ticks.emplace_back(d, labels[d]);
  auto curve = [&](const Histogram& h, const char* name, const char* color, bool dashed) {
    Series s{name, color, dashed, {}};
    constexpr int kPoints = 240;
    for (int i = 0; i <= kPoints; ++i) {
      const double x = decades * i / kPoints;
      const double percentile = 100 * (1 - std::pow(10, -x));
      s.points.emplace_back(x, static_cast<double>(h.ValueAtPercentile(percentile)));
    }
    return s;
  };
  std::vector<Series> series = {curve(stats.latency, "latency", "#1f5fa8", false)};
  if (info.rate > 0) {
    series.push_back(curve(stats.latency_uncorrected, "uncorrected", "#999999", true));
  }
  return Chart("latency-percentiles", "Latency by percentile", "percentile", decades, ticks, series,
               &Us);
}

std::vector<std::pair<double, std::string>> TimeTicks(double span) {
  const double step = NiceCeiling(std::max(span, 1.0) / 8);
  std::vector<std::pair<double, std::string>> ticks;
  for (double t = 0; t <= span + 1e-9; t += step) {
    ticks.emplace_back(t, absl::StrFormat("%.6gs", t));
  }
  return ticks;
}

std::string OverTimeCharts(const RunStats& stats) {
  const auto& seconds = stats.series.seconds();
  if (seconds.empty()) return "<p>No requests completed, so there is no time series.</p>\n";
  const int64_t first = seconds.begin()->first;
  const double span = static_cast<double>(seconds.rbegin()->first - first + 1);
  Series requests{"requests/s", "#1f5fa8", false, {}};
  Series errors{"errors/s", "#c0392b", false, {}};
  Series p50{"p50", "#1f5fa8", false, {}};
  Series p99{"p99", "#d35400", false, {}};
  Histogram h;
  for (const auto& [t, second] : seconds) {
    const double x = static_cast<double>(t - first) + 0.5;
    requests.points.emplace_back(x, static_cast<double>(second.requests));
    errors.points.emplace_back(x, static_cast<double>(second.errors));
    if (SecondHistogram(second, &h).ok() && h.count() > 0) {
      p50.points.emplace_back(x, static_cast<double>(h.ValueAtPercentile(50)));
      p99.points.emplace_back(x, static_cast<double>(h.ValueAtPercentile(99)));
    }
  }
  return Chart("throughput", "Throughput over time (each second)", "time since the first request",
               span, TimeTicks(span), {requests, errors}, &CountLabel) +
         Chart("latency-over-time", "Latency over time (each second)",
               "time since the first request", span, TimeTicks(span), {p50, p99}, &Us);
}

std::string Row(const std::string& name, const std::string& value) {
  return absl::StrCat("<tr><th>", Escape(name), "</th><td>", Escape(value), "</td></tr>\n");
}

// PhaseChart() is where a request's time goes: one bar of the phases' mean
// time per answered request (connect and tls spread over every request, so
// the segments add up to the mean request), with a legend, and a table of
// each phase's percentiles. Empty when no request was answered.
std::string PhaseChart(const RunStats& stats) {
  const int64_t answered = stats.phases[static_cast<int>(Phase::kSend)].count();
  if (answered == 0) return "";
  constexpr const char* kColors[kPhases] = {"#8e44ad", "#16a085", "#1f5fa8", "#d35400", "#27ae60"};
  double per_request[kPhases];
  double total = 0;
  for (int p = 0; p < kPhases; ++p) {
    per_request[p] = stats.phases[p].sum() / static_cast<double>(answered);
    total += per_request[p];
  }
  const double plot = kWidth - kLeft - kRight;
  constexpr double kBarTop = 10, kBarHeight = 36, kLegendTop = 70;
  int timed = 0;
  for (int p = 0; p < kPhases; ++p) timed += stats.phases[p].count() > 0 ? 1 : 0;
  const double height = kLegendTop + 24 * timed;
  std::string out = absl::StrFormat(
      "<h2 id=\"phase-section\">Phases</h2>\n<figure><figcaption>Where a request's time goes (mean "
      "per answered "
      "request: %s)</figcaption>\n<svg id=\"phases\" xmlns=\"http://www.w3.org/2000/svg\" "
      "width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\">\n",
      Us(total), kWidth, height, kWidth, height);
  double x = kLeft;
  int row = 0;
  for (int p = 0; p < kPhases; ++p) {
    if (stats.phases[p].count() == 0) continue;
    const double w = total > 0 ? plot * per_request[p] / total : 0;
    absl::StrAppend(&out, absl::StrFormat("<rect x=\"%.1f\" y=\"%.0f\" width=\"%.1f\" "
                                          "height=\"%.0f\" fill=\"%s\"><title>%s: %s</title>"
                                          "</rect>\n",
                                          x, kBarTop, w, kBarHeight, kColors[p], kPhaseLabels[p],
                                          Us(per_request[p])));
    if (w > 60) {
      absl::StrAppend(&out,
                      absl::StrFormat("<text class=\"legend\" x=\"%.1f\" y=\"%.0f\" "
                                      "fill=\"#fff\" text-anchor=\"middle\">%s</text>\n",
                                      x + w / 2, kBarTop + kBarHeight / 2 + 4, kPhaseKeys[p]));
    }
    x += w;
    const Histogram& h = stats.phases[p];
    const double y = kLegendTop + 24 * row++;
    absl::StrAppend(
        &out, absl::StrFormat("<rect x=\"%.0f\" y=\"%.0f\" width=\"14\" height=\"14\" fill=\"%s\"/>"
                              "<text class=\"legend\" x=\"%.0f\" y=\"%.0f\">%s: %s per request "
                              "(%d timed: p50 %s, p99 %s)</text>\n",
                              kLeft, y, kColors[p], kLeft + 22, y + 12, kPhaseLabels[p],
                              Us(per_request[p]), h.count(),
                              Us(static_cast<double>(h.ValueAtPercentile(50))),
                              Us(static_cast<double>(h.ValueAtPercentile(99)))));
  }
  absl::StrAppend(&out,
                  "</svg></figure>\n<table id=\"phase-table\">\n<tr><th>phase</th>"
                  "<th>count</th><th>mean</th><th>p50</th><th>p90</th><th>p99</th>"
                  "<th>max</th></tr>\n");
  for (int p = 0; p < kPhases; ++p) {
    const Histogram& h = stats.phases[p];
    if (h.count() == 0) continue;
    absl::StrAppend(&out, "<tr><th>", kPhaseLabels[p], "</th><td>", h.count(), "</td><td>",
                    Us(h.mean()), "</td>");
    for (const double percentile : {50.0, 90.0, 99.0}) {
      absl::StrAppend(&out, "<td>", Us(static_cast<double>(h.ValueAtPercentile(percentile))),
                      "</td>");
    }
    absl::StrAppend(&out, "<td>", Us(static_cast<double>(h.max())), "</td></tr>\n");
  }
  absl::StrAppend(&out, "</table>\n");
  const Histogram& rate = stats.upload_rate;
  if (rate.count() > 0) {
    absl::StrAppend(
        &out, absl::StrFormat(
                  "<p id=\"upload-rate\">Upload rate per request (body over send "
                  "phase): mean %.1f, p50 %.1f, slowest %.1f, "
                  "fastest %.1f MB/s.</p>\n",
                  rate.mean() / 1000, static_cast<double>(rate.ValueAtPercentile(50)) / 1000,
                  static_cast<double>(rate.min()) / 1000, static_cast<double>(rate.max()) / 1000));
  }
  return out;
}

}  // namespace

std::string FormatHtml(const RunInfo& info, const RunStats& stats, double seconds) {
  const int64_t total = stats.succeeded + stats.failed;
  std::string started = "-";
  if (info.start_unix_seconds > 0) {
    const time_t t = static_cast<time_t>(info.start_unix_seconds);
    std::tm utc{};
    char buffer[64];
    if (gmtime_r(&t, &utc) != nullptr &&
        std::strftime(buffer, sizeof(buffer), "%Y-%m-%d %H:%M:%S UTC", &utc) > 0) {
      started = buffer;
    }
  }
  std::string out = absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>loadgen: ",
      Escape(info.method), " ", Escape(info.url), "</title>\n<style>\n",
      "body{font-family:sans-serif;margin:24px;color:#222;max-width:820px}\n",
      "h1{font-size:20px}h2{font-size:16px;margin-top:28px}p{font-size:14px}\n",
      "table{border-collapse:collapse;margin:8px 0}th,td{padding:3px 10px;text-align:left;"
      "border-bottom:1px solid #ddd;font-size:14px}th{font-weight:normal;color:#555}\n",
      "figure{margin:16px 0}figcaption{font-weight:bold;font-size:14px;margin-bottom:4px}\n",
      ".plot{fill:#fafafa;stroke:#bbb}.grid{stroke:#e4e4e4}.line{fill:none;stroke-width:2}\n",
      ".ylabel{font-size:11px;text-anchor:end}.xlabel{font-size:11px;text-anchor:middle}\n",
      ".axis{font-size:12px;text-anchor:middle;fill:#555}.legend{font-size:12px}\n",
      "</style></head><body>\n<h1>loadgen: ", Escape(info.method), " ", Escape(info.url),
      "</h1>\n<h2>Run</h2>\n<table>\n");
  absl::StrAppend(&out, Row("started", started),
                  Row("duration", absl::StrFormat("%.3f s", seconds)));
  if (info.merged) absl::StrAppend(&out, Row("merged runs", absl::StrCat(info.runs)));
  absl::StrAppend(
      &out, Row("threads / clients", absl::StrCat(info.threads, " / ", info.clients)),
      Row("mode", info.merged ? "merged"
                  : info.requests_per_client > 0
                      ? absl::StrCat(info.requests_per_client, " requests per client")
                      : absl::StrFormat("%.6g s", info.duration_limit_seconds)),
      Row("rate", !info.rate_stages.empty()
                      ? absl::StrFormat("stages %s (mean %.6g req/s, open model)", info.rate_stages,
                                        info.rate)
                  : info.rate > 0 ? absl::StrFormat("%.6g req/s (open model)", info.rate)
                                  : "as fast as answered (closed model)"),
      Row("body", absl::StrCat(info.body_bytes, " bytes")),
      Row("connections", info.keepalive ? "keep-alive" : "one per request"));
  absl::StrAppend(
      &out, "</table>\n<h2>Results</h2>\n<table>\n",
      Row("requests",
          absl::StrCat(total, " (", stats.succeeded, " succeeded, ", stats.failed, " failed)")),
      Row("throughput", absl::StrFormat("%.1f req/s", seconds > 0 ? total / seconds : 0)),
      Row("upload / download",
          absl::StrFormat("%.1f / %.2f MB/s", seconds > 0 ? stats.bytes_sent / seconds / 1e6 : 0,
                          seconds > 0 ? stats.bytes_received / seconds / 1e6 : 0)),
      Row("latency p50 / p99 / p99.9 / max",
          absl::StrCat(Us(static_cast<double>(stats.latency.ValueAtPercentile(50))), " / ",
                       Us(static_cast<double>(stats.latency.ValueAtPercentile(99))), " / ",
                       Us(static_cast<double>(stats.latency.ValueAtPercentile(99.9))), " / ",
                       Us(static_cast<double>(stats.latency.max())))));
  if (stats.tls_handshakes > 0) {
    absl::StrAppend(&out, Row("TLS handshakes", absl::StrCat(stats.tls_handshakes, " (",
                                                             stats.tls_resumed, " resumed)")));
  }
  absl::StrAppend(&out, "</table>\n", PercentileChart(info, stats), PhaseChart(stats),
                  OverTimeCharts(stats), "<h2>Status codes</h2>\n<table id=\"status-codes\">\n");
  if (stats.status_codes.empty()) absl::StrAppend(&out, Row("none", ""));
  for (const auto& [code, n] : stats.status_codes) {
    absl::StrAppend(&out, Row(absl::StrCat(code), absl::StrCat(n)));
  }
  if (!stats.bodies.empty()) {
    absl::StrAppend(&out,
                    "</table>\n<h2>Bodies</h2>\n<table id=\"bodies\">\n<tr><th>body</th>"
                    "<th>bytes</th><th>requests</th><th>failed</th><th>p50</th><th>p99</th>"
                    "<th>max</th></tr>\n");
    for (const BodyStats& b : stats.bodies) {
      absl::StrAppend(&out, "<tr><th>", Escape(b.name), "</th><td>", b.body_bytes, "</td><td>",
                      b.requests, "</td><td>", b.failed, "</td><td>",
                      Us(static_cast<double>(b.latency.ValueAtPercentile(50))), "</td><td>",
                      Us(static_cast<double>(b.latency.ValueAtPercentile(99))), "</td><td>",
                      Us(static_cast<double>(b.latency.max())), "</td></tr>\n");
    }
  }
  absl::StrAppend(&out, "</table>\n<h2>Errors</h2>\n<table id=\"errors\">\n");
  for (int i = 0; i < kErrorKinds; ++i) {
    absl::StrAppend(&out, Row(kErrorLabels[i], absl::StrCat(stats.errors[static_cast<size_t>(i)])));
  }
  if (!stats.tls_error.empty()) absl::StrAppend(&out, Row("TLS failure", stats.tls_error));
  absl::StrAppend(&out, "</table>\n</body></html>\n");
  return out;
}

}  // namespace epollhttp::loadgen
