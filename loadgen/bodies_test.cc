#include "loadgen/bodies.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace epollhttp::loadgen {
namespace {

TEST(BodiesTest, ParsesASizeMix) {
  const std::vector<BodySize> sizes = ParseBodySizes("1k:50%,3.7M:45%, 100M:5%").value();
  ASSERT_EQ(sizes.size(), 3u);
  EXPECT_EQ(sizes[0].bytes, 1000);
  EXPECT_EQ(sizes[0].percent, 50);
  EXPECT_EQ(sizes[1].bytes, 3'700'000);
  EXPECT_EQ(sizes[2].bytes, 100'000'000);
  EXPECT_EQ(sizes[2].percent, 5);
  EXPECT_EQ(ParseBodySizes("0:100%").value()[0].bytes, 0);
}

TEST(BodiesTest, BadMixesAreOneLine) {
  for (const char* bad : {"", "1k", "1k:50", "1k:50%", "1k:50%,2k:60%", "1k:0%,2k:100%", "x:100%",
                          "1k:50%,1000:50%", "1k:-5%,2k:105%", "1k:abc%"}) {
    const absl::StatusOr<std::vector<BodySize>> sizes = ParseBodySizes(bad);
    ASSERT_FALSE(sizes.ok()) << bad;
    const std::string message(sizes.status().message());
    EXPECT_EQ(message.rfind("--body_sizes \"", 0), 0u) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

TEST(BodiesTest, PicksFollowTheWeightsInEveryStretchOfRequests) {
  const BodyPicker picker({50, 45, 5});
  for (const int64_t n : {100, 1000, 100000}) {
    std::vector<int64_t> counts(3, 0);
    for (int64_t k = 0; k < n; ++k) ++counts[picker.Pick(k)];
    // Low discrepancy: within a few requests of the share, however long.
    EXPECT_NEAR(static_cast<double>(counts[0]), 0.50 * n, 3) << n;
    EXPECT_NEAR(static_cast<double>(counts[1]), 0.45 * n, 3) << n;
    EXPECT_NEAR(static_cast<double>(counts[2]), 0.05 * n, 3) << n;
  }
  // The same on every run, and one body always picks itself.
  EXPECT_EQ(picker.Pick(12345), BodyPicker({50, 45, 5}).Pick(12345));
  EXPECT_EQ(BodyPicker({1}).Pick(7), 0u);
  // Equal weights (repeated --file) take turns evenly.
  const BodyPicker files({1, 1});
  int64_t first = 0;
  for (int64_t k = 0; k < 1000; ++k) first += files.Pick(k) == 0;
  EXPECT_NEAR(static_cast<double>(first), 500, 3);
}

}  // namespace
}  // namespace epollhttp::loadgen
