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

Histogram::Histogram() : counts_(static_cast<size_t>(Index(kMaxValue)) + 1, 0) {}

void Histogram::Record(int64_t value) {
  value = std::clamp<int64_t>(value, 0, kMaxValue);
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
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  min_ = count_ == 0 ? other.min_ : std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  count_ += other.count_;
  sum_ += other.sum_;
  sum_squares_ += other.sum_squares_;
}

double Histogram::mean() const { return count_ == 0 ? 0 : sum_ / static_cast<double>(count_); }

double Histogram::stdev() const {
  if (count_ == 0) return 0;
  const double m = mean();
  return std::sqrt(std::max(0.0, sum_squares_ / static_cast<double>(count_) - m * m));
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
