#include "loadgen/histogram.h"

#include <algorithm>
#include <cmath>

namespace epollhttp::loadgen {
namespace {

constexpr int kSubBucketBits = 11;  // 2048: 3 significant digits.
constexpr int kSubBuckets = 1 << kSubBucketBits;
constexpr int kHalf = kSubBuckets / 2;  // 1024 buckets per power of two.

int FloorLog2(uint64_t v) { return 63 - __builtin_clzll(v); }

}  // namespace

int Histogram::Index(int64_t value) {
  if (value < kSubBuckets) return static_cast<int>(value);
  // Shift so that value >> shift lies in [1024, 2047].
  const int shift = FloorLog2(static_cast<uint64_t>(value)) - (kSubBucketBits - 1);
  return (shift + 1) * kHalf + static_cast<int>((value >> shift) - kHalf);
}

int64_t Histogram::HighestEquivalent(int index) {
  if (index < kSubBuckets) return index;
  const int shift = index / kHalf - 1;
  const int64_t sub = index % kHalf + kHalf;
  return ((sub + 1) << shift) - 1;
}

int64_t Histogram::LowestEquivalent(int index) {
  if (index < kSubBuckets) return index;
  const int shift = index / kHalf - 1;
  const int64_t sub = index % kHalf + kHalf;
  return sub << shift;
}

Histogram::Histogram() = default;

void Histogram::Allocate() {
  if (counts_.empty()) counts_.assign(static_cast<size_t>(Index(kMaxValue)) + 1, 0);
}

void Histogram::Record(int64_t value) {
  value = std::clamp<int64_t>(value, 0, kMaxValue);
  Allocate();
  ++counts_[static_cast<size_t>(Index(value))];
  min_ = count_ == 0 ? value : std::min(min_, value);
  max_ = std::max(max_, value);
  ++count_;
  const double v = static_cast<double>(value);
  sum_ += v;
  sum_squares_ += v * v;
}

void Histogram::Merge(const Histogram& other) {
  if (other.count_ == 0) return;
  Allocate();
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  min_ = count_ == 0 ? other.min_ : std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  count_ += other.count_;
  sum_ += other.sum_;
  sum_squares_ += other.sum_squares_;
}

HdrCounts Histogram::ToHdr() const {
  HdrCounts h;
  h.significant_digits = 3;
  h.lowest_discernible = 1;
  h.highest_trackable = kMaxValue;
  size_t end = counts_.size();
  while (end > 0 && counts_[end - 1] == 0) --end;
  h.counts.assign(counts_.begin(), counts_.begin() + static_cast<std::ptrdiff_t>(end));
  return h;
}

absl::Status Histogram::AddHdr(const HdrCounts& h) {
  if (h.significant_digits != 3 || h.lowest_discernible != 1 || h.highest_trackable != kMaxValue) {
    return absl::InvalidArgumentError(
        "the histogram's range or precision differs from loadgen's (1 us to 1 h, 3 digits)");
  }
  if (h.counts.size() > static_cast<size_t>(Index(kMaxValue)) + 1) {
    return absl::InvalidArgumentError("the histogram has more counts than its range holds");
  }
  for (size_t i = 0; i < h.counts.size(); ++i) {
    const int64_t n = h.counts[i];
    if (n == 0) continue;
    if (n < 0) return absl::InvalidArgumentError("the histogram has a negative count");
    Allocate();
    counts_[i] += n;
    const int index = static_cast<int>(i);
    const int64_t low = LowestEquivalent(index);
    const int64_t high = HighestEquivalent(index);
    min_ = count_ == 0 ? low : std::min(min_, low);
    max_ = std::max(max_, std::min(high, kMaxValue));
    count_ += n;
    const double middle = (static_cast<double>(low) + static_cast<double>(high)) / 2;
    sum_ += middle * static_cast<double>(n);
    sum_squares_ += middle * middle * static_cast<double>(n);
  }
  return absl::OkStatus();
}

void Histogram::RestoreStats(int64_t min, int64_t max, double sum, double sum_squares) {
  min_ = min;
  max_ = max;
  sum_ = sum;
  sum_squares_ = sum_squares;
}

void Histogram::Reset() {
  if (count_ > 0) std::fill(counts_.begin(), counts_.end(), 0);
  count_ = 0;
  min_ = max_ = 0;
  sum_ = sum_squares_ = 0;
}

double Histogram::mean() const { return count_ == 0 ? 0 : sum_ / static_cast<double>(count_); }

double Histogram::stdev() const {
  if (count_ == 0) return 0;
  const double m = mean();
  return std::sqrt(std::max(0.0, sum_squares_ / static_cast<double>(count_) - m * m));
}

int64_t Histogram::CountAtOrBelow(int64_t value) const {
  if (value < 0 || count_ == 0) return 0;
  const int last = Index(std::min(value, kMaxValue));
  int64_t n = 0;
  for (int i = 0; i <= last; ++i) n += counts_[static_cast<size_t>(i)];
  return n;
}

int64_t Histogram::ValueAtPercentile(double percentile) const {
  if (count_ == 0) return 0;
  percentile = std::clamp(percentile, 0.0, 100.0);
  const int64_t rank = std::max<int64_t>(
      1, static_cast<int64_t>(std::ceil(percentile / 100.0 * static_cast<double>(count_))));
  int64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(HighestEquivalent(static_cast<int>(i)), max_);
  }
  return max_;
}

}  // namespace epollhttp::loadgen
