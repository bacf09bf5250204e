#include "loadgen/histogram.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace epollhttp::loadgen {
namespace {

int64_t ExactPercentile(std::vector<int64_t> sorted, double percentile) {
  const int64_t rank = std::max<int64_t>(
      1, static_cast<int64_t>(std::ceil(percentile / 100.0 * static_cast<double>(sorted.size()))));
  return sorted[static_cast<size_t>(rank - 1)];
}

TEST(HistogramTest, EmptyIsAllZero) {
  Histogram h;
  EXPECT_EQ(h.count(), 0);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), 0);
  EXPECT_EQ(h.ValueAtPercentile(50), 0);
  EXPECT_EQ(h.mean(), 0);
}

TEST(HistogramTest, SmallValuesAreExact) {
  Histogram h;
  for (int64_t v = 0; v < 2048; ++v) h.Record(v);
  EXPECT_EQ(h.ValueAtPercentile(50), 1023);
  EXPECT_EQ(h.ValueAtPercentile(100), 2047);
  EXPECT_EQ(h.min(), 0);
  EXPECT_DOUBLE_EQ(h.mean(), 1023.5);
}

TEST(HistogramTest, PercentilesOfRandomSamplesAreWithinATenthOfAPercent) {
  std::mt19937_64 rng(42);
  // Log-uniform from 1 us to 1 h: every bucket range gets exercised.
  std::uniform_real_distribution<double> exponent(0, std::log(3.6e9));
  for (int trial = 0; trial < 5; ++trial) {
    Histogram h;
    std::vector<int64_t> samples;
    for (int i = 0; i < 100000; ++i) {
      const int64_t v = static_cast<int64_t>(std::exp(exponent(rng)));
      samples.push_back(v);
      h.Record(v);
    }
    std::sort(samples.begin(), samples.end());
    for (const double p : {1.0, 10.0, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
      const double exact = static_cast<double>(ExactPercentile(samples, p));
      const double got = static_cast<double>(h.ValueAtPercentile(p));
      EXPECT_LE(std::abs(got - exact), exact * 0.001) << "p" << p << " exact " << exact;
    }
    EXPECT_EQ(h.min(), samples.front());
    EXPECT_EQ(h.max(), samples.back());
    double sum = 0;
    for (int64_t v : samples) sum += static_cast<double>(v);
    EXPECT_NEAR(h.mean(), sum / samples.size(), 1e-6 * h.mean());
  }
}

TEST(HistogramTest, MergeEqualsRecordingEverythingInOne) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int64_t> value(0, 10'000'000);
  Histogram a, b, all;
  for (int i = 0; i < 20000; ++i) {
    const int64_t v = value(rng);
    (i % 3 == 0 ? a : b).Record(v);
    all.Record(v);
  }
  a.Merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.min(), all.min());
  EXPECT_EQ(a.max(), all.max());
  EXPECT_NEAR(a.stdev(), all.stdev(), 1e-6 * all.stdev());
  for (const double p : {50.0, 99.0, 99.99}) {
    EXPECT_EQ(a.ValueAtPercentile(p), all.ValueAtPercentile(p));
  }
}

TEST(HistogramTest, OutOfRangeValuesAreClamped) {
  Histogram h;
  h.Record(-5);
  h.Record(Histogram::kMaxValue * 10);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), Histogram::kMaxValue);
  EXPECT_EQ(h.ValueAtPercentile(100), Histogram::kMaxValue);
}

TEST(HistogramTest, StdevOfKnownSamples) {
  Histogram h;
  for (int64_t v : {2, 4, 4, 4, 5, 5, 7, 9}) h.Record(v);
  EXPECT_DOUBLE_EQ(h.stdev(), 2.0);
}

}  // namespace
}  // namespace epollhttp::loadgen
