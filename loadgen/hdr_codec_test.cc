#include "loadgen/hdr_codec.h"

#include <numeric>
#include <random>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "loadgen/histogram.h"

namespace epollhttp::loadgen {
namespace {

// Written by the Java HdrHistogram library (a public example of its
// compressed form; the padding its author dropped is restored): 2 digits,
// 20000 to 3.6e12, 741 samples.
constexpr char kJavaEncoded[] =
    "HISTFAAAAEV42pNpmSzMwMCgyAABTBDKT4GBgdnNYMcCBvsPEBEJISEuATEZMQ4uASkhIR4nrxg9v2lMaxhvMekI"
    "LGZkKmcCAEf2CsI=";

TEST(HdrCodecTest, ReadsTheJavaLibrarysEncoding) {
  absl::StatusOr<HdrCounts> h = DecodeHdr(kJavaEncoded);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->significant_digits, 2);
  EXPECT_EQ(h->lowest_discernible, 20000);
  EXPECT_EQ(h->highest_trackable, int64_t{3600000000000});
  ASSERT_EQ(h->counts.size(), 169u);
  EXPECT_EQ(std::accumulate(h->counts.begin(), h->counts.end(), int64_t{0}), 741);
  EXPECT_EQ(h->counts[0], 12);
  EXPECT_EQ(h->counts[22], 173);
  EXPECT_EQ(h->counts[107], 1);
  EXPECT_EQ(h->counts[168], 1);
  // Another library's parameters cannot be combined with loadgen's.
  Histogram ours;
  EXPECT_FALSE(ours.AddHdr(*h).ok());
}

TEST(HdrCodecTest, RoundTripsAndStartsAsTheOtherLibrariesExpect) {
  std::mt19937_64 random(20261130);
  Histogram h;
  for (int i = 0; i < 100000; ++i) {
    // Log-uniform from 1 us to about 1 h, plus a few exact small values.
    h.Record(static_cast<int64_t>(std::exp(std::uniform_real_distribution<>(0, 22)(random))));
  }
  h.Record(0);
  h.Record(Histogram::kMaxValue);
  const std::string encoded = EncodeHdr(h.ToHdr());
  EXPECT_TRUE(absl::StartsWith(encoded, "HISTFAA")) << encoded.substr(0, 16);
  absl::StatusOr<HdrCounts> decoded = DecodeHdr(encoded);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->counts, h.ToHdr().counts);
  Histogram rebuilt;
  ASSERT_TRUE(rebuilt.AddHdr(*decoded).ok());
  EXPECT_EQ(rebuilt.count(), h.count());
  for (double p : {1.0, 50.0, 90.0, 99.0, 99.9, 99.99}) {
    EXPECT_EQ(rebuilt.ValueAtPercentile(p), h.ValueAtPercentile(p)) << p;
  }
}

TEST(HdrCodecTest, CountsOfEverySizeAndZeroRunsSurvive) {
  HdrCounts h;
  h.highest_trackable = Histogram::kMaxValue;
  // A single zero, a run of zeros, and counts needing 1 to 9 varint bytes.
  h.counts = {
      5, 0, 7, 0, 0, 0, 63, 64, 8191, 8192, int64_t{1} << 40, int64_t{1} << 55, int64_t{1} << 62};
  absl::StatusOr<HdrCounts> back = DecodeHdr(EncodeHdr(h));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->counts, h.counts);
  // An empty histogram encodes no counts.
  h.counts.clear();
  back = DecodeHdr(EncodeHdr(h));
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->counts.empty());
}

TEST(HdrCodecTest, DamageIsAnErrorNeverACrash) {
  const std::string good = EncodeHdr(Histogram().ToHdr());
  EXPECT_FALSE(DecodeHdr("not base64!").ok());
  EXPECT_FALSE(DecodeHdr("").ok());
  EXPECT_FALSE(DecodeHdr(absl::Base64Escape("\x1c\x84\x93\x99 junk")).ok());  // Cookie.
  std::string bytes;
  ASSERT_TRUE(absl::Base64Unescape(good, &bytes));
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    EXPECT_FALSE(DecodeHdr(absl::Base64Escape(bytes.substr(0, cut))).ok()) << cut;
  }
  std::string flipped = bytes;
  flipped[12] = static_cast<char>(flipped[12] ^ 0x55);  // Inside the deflate stream.
  EXPECT_FALSE(DecodeHdr(absl::Base64Escape(flipped)).ok());
  // A payload longer than the range allows.
  HdrCounts tiny;
  tiny.significant_digits = 1;
  tiny.highest_trackable = 100;
  tiny.counts.assign(10000, 1);
  const absl::StatusOr<HdrCounts> too_long = DecodeHdr(EncodeHdr(tiny));
  ASSERT_FALSE(too_long.ok());
  EXPECT_NE(too_long.status().message().find("more counts than its range holds"),
            std::string::npos);
}

}  // namespace
}  // namespace epollhttp::loadgen
