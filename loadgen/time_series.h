// time_series.h: a run's results second by second (wall-clock seconds since
// the Unix epoch): requests, errors, body bytes and a latency histogram per
// second, so that throughput and percentiles over time can be drawn and
// merged across threads, runs and machines exactly.
//
// Memory: the second in progress is one Histogram (fixed size); each
// completed second is kept as counters and its histogram's compressed
// HdrHistogram encoding (typically 50-300 bytes), so an hour costs well
// under a megabyte whatever the request rate.
//
// Thread safety: one thread records; Merge() after the recording threads
// have joined.
#ifndef EPOLLHTTP_LOADGEN_TIME_SERIES_H_
#define EPOLLHTTP_LOADGEN_TIME_SERIES_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "loadgen/histogram.h"

namespace epollhttp::loadgen {

struct Second {
  int64_t requests = 0;
  int64_t errors = 0;
  int64_t bytes_sent = 0;
  int64_t bytes_received = 0;
  std::string histogram;  // Latency (us), EncodeHdr().
};

class TimeSeries {
 public:
  // Record() adds one completed request. `unix_second` must not decrease
  // between calls (requests are recorded as they complete).
  void Record(int64_t unix_second, int64_t latency_us, bool failed, int64_t bytes_sent,
              int64_t bytes_received);
  // Finish() closes the second in progress. Call before reading or merging.
  void Finish();
  // Merge() adds `other`'s seconds (both finished). Fails if a histogram
  // cannot be decoded or has other parameters.
  absl::Status Merge(const TimeSeries& other);
  // Add() adds one second's figures (e.g. read from a report).
  absl::Status Add(int64_t unix_second, const Second& second);

  [[nodiscard]] const std::map<int64_t, Second>& seconds() const { return seconds_; }

 private:
  void Close();
  int64_t current_ = -1;
  Second pending_;
  Histogram histogram_;
  std::map<int64_t, Second> seconds_;
};

// SecondHistogram() decodes `second`'s histogram into `*out` (empty if none).
absl::Status SecondHistogram(const Second& second, Histogram* out);

}  // namespace epollhttp::loadgen

#endif  // EPOLLHTTP_LOADGEN_TIME_SERIES_H_
