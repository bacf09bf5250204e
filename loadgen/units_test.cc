#include "loadgen/units.h"

#include "gtest/gtest.h"

namespace epollhttp::loadgen {
namespace {

TEST(UnitsTest, Sizes) {
  EXPECT_EQ(ParseSize("0").value(), 0);
  EXPECT_EQ(ParseSize("1k").value(), 1000);
  EXPECT_EQ(ParseSize("3.7M").value(), 3'700'000);
  EXPECT_EQ(ParseSize("3.7MB").value(), 3'700'000);
  EXPECT_EQ(ParseSize("100m").value(), 100'000'000);
  EXPECT_EQ(ParseSize("1Ki").value(), 1024);
  EXPECT_EQ(ParseSize("2MiB").value(), 2 << 20);
  EXPECT_EQ(ParseSize("1G").value(), 1'000'000'000);
  EXPECT_EQ(ParseSize("3748935").value(), 3748935);
  for (const char* bad : {"", "k", "-1", "1x", "1.2.3", "1e3", "2000T", "1kbit", "2000000G"}) {
    EXPECT_FALSE(ParseSize(bad).ok()) << bad;
  }
}

TEST(UnitsTest, Rates) {
  EXPECT_DOUBLE_EQ(ParseByteRate("2Mbit").value(), 250'000);
  EXPECT_DOUBLE_EQ(ParseByteRate("20Mbit/s").value(), 2'500'000);
  EXPECT_DOUBLE_EQ(ParseByteRate("500kbit").value(), 62'500);
  EXPECT_DOUBLE_EQ(ParseByteRate("1Gbit").value(), 125'000'000);
  EXPECT_DOUBLE_EQ(ParseByteRate("800bit").value(), 100);
  EXPECT_DOUBLE_EQ(ParseByteRate("1MB").value(), 1'000'000);
  EXPECT_DOUBLE_EQ(ParseByteRate("250kB/s").value(), 250'000);
  EXPECT_DOUBLE_EQ(ParseByteRate("100B").value(), 100);
  for (const char* bad :
       {"", "2", "2M", "Mbit", "0Mbit", "-1Mbit", "2Mibit", "2Xbit", "2Mbit/h", "9999Gbit"}) {
    EXPECT_FALSE(ParseByteRate(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace epollhttp::loadgen
