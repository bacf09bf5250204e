// histogram.h: a fixed-memory log-linear latency histogram (the
// HdrHistogram design) for the load generator.
//
// Records integer values (microseconds in loadgen) from 0 to 1 hour
// (3.6e9 us) with 3 significant digits: values below 2048 are exact, and above
// that each power-of-two range is split into 1024 equal buckets, so a reported
// value is within 1/1024 (< 0.1%) of every value recorded in its bucket.
// Larger values are clamped to the maximum and counted. Memory is fixed
// (~184 KiB, allocated at the first sample, so an unused histogram costs
// nothing) whatever the number of samples; min, max, mean and stdev are
// tracked exactly.
//
// Thread safety: not synchronised. Each loadgen thread records into its own
// histogram; they are merged after the threads have joined.
#ifndef EPOLLHTTP_LOADGEN_HISTOGRAM_H_
#define EPOLLHTTP_LOADGEN_HISTOGRAM_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "loadgen/hdr_codec.h"

namespace epollhttp::loadgen {

class Histogram {
 public:
  static constexpr int64_t kMaxValue = int64_t{3600} * 1000 * 1000;  // 1 h in us.

  Histogram();

  // Record() adds one sample; negative values count as 0, values above
  // kMaxValue as kMaxValue.
  void Record(int64_t value);

  // Merge() adds every sample of `other`.
  void Merge(const Histogram& other);

  // ToHdr() is the counts with their HdrHistogram parameters (1, kMaxValue,
  // 3 digits), for EncodeHdr().
  [[nodiscard]] HdrCounts ToHdr() const;
  // AddHdr() adds decoded counts. Fails (InvalidArgument) unless they have
  // this histogram's parameters. min, max, mean and stdev then come from the
  // buckets (each sample taken at its bucket's middle) until RestoreStats().
  absl::Status AddHdr(const HdrCounts& counts);
  // RestoreStats() sets the exactly tracked statistics (as reported with
  // the counts), for a histogram rebuilt with AddHdr().
  void RestoreStats(int64_t min, int64_t max, double sum, double sum_squares);
  [[nodiscard]] double sum() const { return sum_; }
  [[nodiscard]] double sum_squares() const { return sum_squares_; }

  // Reset() empties the histogram.
  void Reset();

  [[nodiscard]] int64_t count() const { return count_; }
  [[nodiscard]] int64_t min() const { return count_ == 0 ? 0 : min_; }
  [[nodiscard]] int64_t max() const { return max_; }
  [[nodiscard]] double mean() const;
  [[nodiscard]] double stdev() const;  // Population standard deviation.

  // ValueAtPercentile() returns the value below or at which `percentile`
  // (0-100] percent of the samples lie: the highest value equivalent to the
  // bucket holding the sample of rank max(1, ceil(percentile / 100 * count)),
  // capped at max(). 0 when empty.
  [[nodiscard]] int64_t ValueAtPercentile(double percentile) const;
  // CountAtOrBelow() is how many samples lie in buckets whose values are all
  // at or below `value` (the bucket holding `value` counts in full).
  [[nodiscard]] int64_t CountAtOrBelow(int64_t value) const;

 private:
  static int Index(int64_t value);
  // Allocate() makes the buckets on first use.
  void Allocate();
  static int64_t HighestEquivalent(int index);
  static int64_t LowestEquivalent(int index);

  std::vector<int64_t> counts_;
  int64_t count_ = 0;
  int64_t min_ = 0;
  int64_t max_ = 0;
  double sum_ = 0;
  double sum_squares_ = 0;
};

}  // namespace epollhttp::loadgen

#endif  // EPOLLHTTP_LOADGEN_HISTOGRAM_H_
