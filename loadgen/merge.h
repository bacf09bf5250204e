// merge.h: reading loadgen's JSON reports back and combining reports of
// runs made at the same time (on one or several machines) into the report of
// one run: counts, bytes, status codes and errors add up; latency
// percentiles come from the summed HdrHistogram counts, so they equal those
// of a single histogram holding every sample; min and max are exact; the
// time series adds up second by second; the run lasts from the earliest
// start to the latest end.
//
// Thread safety: functions only.
#ifndef EPOLLHTTP_LOADGEN_MERGE_H_
#define EPOLLHTTP_LOADGEN_MERGE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "loadgen/report.h"

namespace epollhttp::loadgen {

struct Report {
  RunInfo info;
  RunStats stats;
  double seconds = 0;
};

// ReadReport() reads a report written by FormatJson(). Fails
// (InvalidArgument, saying what) on bad JSON, another schema (reports of
// other loadgen versions do not carry their histograms), a missing or
// mistyped field, or a histogram that cannot be decoded.
absl::StatusOr<Report> ReadReport(absl::string_view json);

// MergeReports() combines `reports` (at least one) as described above.
absl::StatusOr<Report> MergeReports(const std::vector<Report>& reports);

}  // namespace epollhttp::loadgen

#endif  // EPOLLHTTP_LOADGEN_MERGE_H_
