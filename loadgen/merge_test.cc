#include "loadgen/merge.h"

#include <random>
#include <string>

#include "gtest/gtest.h"
#include "loadgen/hdr_codec.h"
#include "loadgen/report.h"

namespace epollhttp::loadgen {
namespace {

// FakeRun() fills a report as a run of `n` requests starting at `start` would.
Report FakeRun(uint64_t seed, int n, double start, Histogram* all) {
  std::mt19937_64 random(seed);
  Report r;
  r.info.url = "http://127.0.0.1:8000/";
  r.info.method = "GET";
  r.info.threads = 2;
  r.info.clients = 4;
  r.info.requests_per_client = n / 4;
  r.info.start_unix_seconds = start;
  r.seconds = 3.5;
  for (int i = 0; i < n; ++i) {
    const auto latency =
        static_cast<int64_t>(std::exp(std::uniform_real_distribution<>(3, 14)(random)));
    const bool failed = i % 97 == 0;
    r.stats.latency.Record(latency);
    r.stats.latency_uncorrected.Record(latency);
    if (all != nullptr) all->Record(latency);
    if (failed) {
      ++r.stats.failed;
      r.stats.Count(ErrorKind::kStatus);
      ++r.stats.status_codes[503];
    } else {
      ++r.stats.succeeded;
      ++r.stats.status_codes[200];
    }
    r.stats.bytes_received += 28;
    r.stats.phases[static_cast<int>(Phase::kWait)].Record(latency / 2);
    if (i % 10 == 0) r.stats.phases[static_cast<int>(Phase::kConnect)].Record(i % 300);
    r.stats.upload_rate.Record(latency * 3);
    r.stats.series.Record(static_cast<int64_t>(start) + i * 3 / n, latency, failed, 0, 28);
  }
  r.stats.series.Finish();
  return r;
}

Report RoundTrip(const Report& r) {
  absl::StatusOr<Report> back = ReadReport(FormatJson(r.info, r.stats, r.seconds));
  EXPECT_TRUE(back.ok()) << back.status();
  return back.ok() ? *back : Report();
}

TEST(MergeTest, AReportReadsBackAsItWasWritten) {
  const Report r = FakeRun(1, 5000, 1764500000.25, nullptr);
  const Report back = RoundTrip(r);
  EXPECT_EQ(back.stats.succeeded, r.stats.succeeded);
  EXPECT_EQ(back.stats.failed, r.stats.failed);
  EXPECT_EQ(back.stats.status_codes, r.stats.status_codes);
  EXPECT_EQ(back.stats.errors, r.stats.errors);
  EXPECT_EQ(back.stats.latency.ToHdr().counts, r.stats.latency.ToHdr().counts);
  EXPECT_EQ(back.stats.latency.min(), r.stats.latency.min());
  EXPECT_EQ(back.stats.latency.max(), r.stats.latency.max());
  EXPECT_NEAR(back.stats.latency.mean(), r.stats.latency.mean(), 1e-3 * r.stats.latency.mean());
  EXPECT_EQ(back.stats.series.seconds().size(), r.stats.series.seconds().size());
  EXPECT_DOUBLE_EQ(back.info.start_unix_seconds, 1764500000.25);
  for (int p = 0; p < kPhases; ++p) {
    EXPECT_EQ(back.stats.phases[p].ToHdr().counts, r.stats.phases[p].ToHdr().counts) << p;
    EXPECT_EQ(back.stats.phases[p].max(), r.stats.phases[p].max()) << p;
  }
  EXPECT_EQ(back.stats.upload_rate.ToHdr().counts, r.stats.upload_rate.ToHdr().counts);
}

TEST(MergeTest, MergedPercentilesEqualOneHistogramOfEverySample) {
  Histogram all;
  std::vector<Report> reports;
  for (int i = 0; i < 3; ++i) {
    reports.push_back(RoundTrip(FakeRun(100 + i, 20000 + 1000 * i, 1764500000.0 + i * 0.5, &all)));
  }
  absl::StatusOr<Report> merged = MergeReports(reports);
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_EQ(merged->stats.succeeded + merged->stats.failed, all.count());
  EXPECT_EQ(merged->stats.latency.ToHdr().counts, all.ToHdr().counts);
  for (double p : {0.0, 1.0, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
    EXPECT_EQ(merged->stats.latency.ValueAtPercentile(p), all.ValueAtPercentile(p)) << p;
  }
  EXPECT_EQ(merged->stats.latency.min(), all.min());
  EXPECT_EQ(merged->stats.latency.max(), all.max());
  EXPECT_NEAR(merged->stats.latency.mean(), all.mean(), 1e-6 * all.mean());
  EXPECT_NEAR(merged->stats.latency.stdev(), all.stdev(), 1e-4 * all.stdev());
  // Phases merge exactly too: the wait histogram holds every run's samples.
  Histogram all_waits;
  for (int i = 0; i < 3; ++i) {
    all_waits.Merge(FakeRun(100 + i, 20000 + 1000 * i, 0, nullptr).stats.phases[3]);
  }
  const Histogram& waits = merged->stats.phases[static_cast<int>(Phase::kWait)];
  EXPECT_EQ(waits.ToHdr().counts, all_waits.ToHdr().counts);
  EXPECT_EQ(waits.min(), all_waits.min());
  EXPECT_EQ(waits.max(), all_waits.max());
  EXPECT_NEAR(waits.mean(), all_waits.mean(), 1e-6 * all_waits.mean());
  // Earliest start to latest end.
  EXPECT_DOUBLE_EQ(merged->seconds, 1.0 + 3.5);
  EXPECT_EQ(merged->info.runs, 3);
  EXPECT_EQ(merged->info.clients, 12);
  // Seconds add up, with their histograms.
  int64_t series_requests = 0;
  Histogram series_all;
  for (const auto& [t, second] : merged->stats.series.seconds()) {
    series_requests += second.requests;
    absl::StatusOr<HdrCounts> counts = DecodeHdr(second.histogram);
    ASSERT_TRUE(counts.ok());
    ASSERT_TRUE(series_all.AddHdr(*counts).ok());
  }
  EXPECT_EQ(series_requests, all.count());
  EXPECT_EQ(series_all.ToHdr().counts, all.ToHdr().counts);
  // And the merged report is itself a report that merges.
  const Report again = RoundTrip(*merged);
  EXPECT_EQ(again.info.runs, 3);
  EXPECT_EQ(again.stats.latency.ToHdr().counts, all.ToHdr().counts);
}

TEST(MergeTest, ReportsThatCannotBeCombinedSayWhy) {
  const Report r = FakeRun(7, 100, 1764500000.0, nullptr);
  std::string json = FormatJson(r.info, r.stats, r.seconds);
  std::string old = json;
  old.replace(old.find("loadgen/4"), 9, "loadgen/3");
  absl::StatusOr<Report> read = ReadReport(old);
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.status().message().find("schema \"epollhttp.loadgen/3\" cannot be combined"),
            std::string::npos);
  std::string broken = json;
  broken.replace(broken.find("\"latency_histogram\": \"HISTF") + 28, 4, "!!!!");
  read = ReadReport(broken);
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.status().message().find("latency_histogram"), std::string::npos);
  broken = json;
  broken.replace(broken.find("\"count\": "), 9, "\"count\": 1");
  read = ReadReport(broken);
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.status().message().find("phases_us: connect: the count differs"),
            std::string::npos)
      << read.status();
  read = ReadReport(json.substr(0, json.size() / 2));
  EXPECT_FALSE(read.ok());
  EXPECT_FALSE(MergeReports({}).ok());
}

}  // namespace
}  // namespace epollhttp::loadgen
