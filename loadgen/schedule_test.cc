#include "loadgen/schedule.h"

#include <cmath>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace epollhttp::loadgen {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

double Seconds(std::optional<nanoseconds> t) {
  return t.has_value() ? std::chrono::duration<double>(*t).count() : -1;
}

TEST(RateScheduleTest, AConstantRateIsEvenlySpacedAndEndless) {
  const RateSchedule s = RateSchedule::Parse("100").value();
  EXPECT_TRUE(s.open());
  EXPECT_FALSE(s.staged());
  EXPECT_EQ(s.DueAt(0), nanoseconds(0));
  EXPECT_EQ(s.DueAt(5), milliseconds(50));
  EXPECT_EQ(s.DueAt(1'000'000), std::chrono::seconds(10'000));
  EXPECT_DOUBLE_EQ(s.mean_rate(), 100);
}

TEST(RateScheduleTest, ClosedModel) {
  for (const char* text : {"", "0", " 0 "}) {
    const RateSchedule s = RateSchedule::Parse(text).value();
    EXPECT_FALSE(s.open()) << text;
    EXPECT_FALSE(s.DueAt(0).has_value());
  }
}

TEST(RateScheduleTest, ARampFromZeroFollowsTheIntegralOfTheRate) {
  // 0 -> 100/s over 10 s: the count is 5 t^2, 500 in all.
  const RateSchedule s = RateSchedule::Parse("0,100:10s").value();
  EXPECT_TRUE(s.staged());
  EXPECT_EQ(s.length(), std::chrono::seconds(10));
  EXPECT_EQ(s.planned(), 500);
  EXPECT_NEAR(Seconds(s.DueAt(0)), 0, 1e-9);
  EXPECT_NEAR(Seconds(s.DueAt(20)), 2, 1e-9);
  EXPECT_NEAR(Seconds(s.DueAt(499)), std::sqrt(499 / 5.0), 1e-9);
  EXPECT_FALSE(s.DueAt(500).has_value());
  EXPECT_DOUBLE_EQ(s.mean_rate(), 50);
}

TEST(RateScheduleTest, HoldThenPause) {
  const RateSchedule s = RateSchedule::Parse("200,200:5s,0:0s,0:30s").value();
  EXPECT_EQ(s.length(), std::chrono::seconds(35));
  EXPECT_EQ(s.planned(), 1000);
  EXPECT_NEAR(Seconds(s.DueAt(999)), 4.995, 1e-9);
  EXPECT_FALSE(s.DueAt(1000).has_value());  // The pause sends nothing.
}

TEST(RateScheduleTest, StagesSimulatedSecondBySecondMatchTheirRates) {
  // Ramp to 50/s in a minute, on to 500/s over five, down to 0 in 30 s.
  const RateSchedule s = RateSchedule::Parse("50:1m,500:5m,0:30s").value();
  EXPECT_EQ(s.length(), std::chrono::seconds(390));
  EXPECT_EQ(s.planned(), 1500 + 82500 + 7500);
  std::vector<int64_t> per_second(390, 0);
  double last = -1;
  for (int64_t k = 0; k < s.planned(); ++k) {
    const double t = Seconds(s.DueAt(k));
    ASSERT_GE(t, last) << k;  // Never earlier than the request before.
    ASSERT_LT(t, 390) << k;
    last = t;
    ++per_second[static_cast<size_t>(t)];
  }
  EXPECT_FALSE(s.DueAt(s.planned()).has_value());
  EXPECT_NEAR(Seconds(s.DueAt(1500)), 60, 1e-6);  // The second stage starts on time.
  // Each second holds the integral of the rate over it, to one request.
  auto rate = [](double t) {
    if (t < 60) return 50 * t / 60;
    if (t < 360) return 50 + 450 * (t - 60) / 300;
    return 500 * (390 - t) / 30;
  };
  for (int second = 0; second < 390; ++second) {
    const double expected = (rate(second) + rate(second + 1)) / 2;
    EXPECT_NEAR(static_cast<double>(per_second[static_cast<size_t>(second)]), expected, 1.01)
        << second;
  }
}

TEST(RateScheduleTest, BadSchedulesAreOneLineNamingThePart) {
  for (const char* bad : {"abc", "-1", "1e8", "50:", "50:1x", "x:1m", "50:-1s", "50:1m,7", "0:10s",
                          "0,0:1m", "50:1m,,10:1s", "nan"}) {
    const absl::StatusOr<RateSchedule> s = RateSchedule::Parse(bad);
    ASSERT_FALSE(s.ok()) << bad;
    const std::string message(s.status().message());
    EXPECT_EQ(message.rfind("--rate \"", 0), 0u) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace epollhttp::loadgen
