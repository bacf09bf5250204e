// html_report.h: a run's report as one self-contained HTML page (--html):
// inline SVG charts and tables, no scripts, fonts or anything fetched.
//
// Charts (each an <svg> with an id):
// - "latency-percentiles": latency by percentile on the usual HdrHistogram
//   axis, percentile as 1/(1-p) on a log scale (0%, 90%, 99%, 99.9%, ...),
//   with the uncorrected latency as a second line in rate mode;
// - "throughput": requests (and errors) per second over the run;
// - "latency-over-time": p50 and p99 of each second.
// Tables: the run's parameters, its totals, status codes and errors.
//
// Thread safety: a function only.
#ifndef EPOLLHTTP_LOADGEN_HTML_REPORT_H_
#define EPOLLHTTP_LOADGEN_HTML_REPORT_H_

#include <string>

#include "loadgen/report.h"

namespace epollhttp::loadgen {

// FormatHtml() renders the page. `stats.series` must be finished.
std::string FormatHtml(const RunInfo& info, const RunStats& stats, double seconds);

}  // namespace epollhttp::loadgen

#endif  // EPOLLHTTP_LOADGEN_HTML_REPORT_H_
