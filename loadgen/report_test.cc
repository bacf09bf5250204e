#include "loadgen/report.h"

#include <string>

#include "gtest/gtest.h"

namespace epollhttp::loadgen {
namespace {

RunStats SampleStats() {
  RunStats s;
  for (int i = 1; i <= 100; ++i) {
    s.latency.Record(i * 100);
    s.latency_uncorrected.Record(i * 50);
  }
  s.succeeded = 98;
  s.failed = 2;
  s.errors[static_cast<int>(ErrorKind::kConnect)] = 1;
  s.errors[static_cast<int>(ErrorKind::kLostBytes)] = 1;
  s.lost_body_bytes = 7;
  s.bytes_sent = 1000;
  s.bytes_received = 2800;
  s.status_codes[200] = 99;
  s.status_codes[503] = 1;
  for (int i = 1; i <= 98; ++i) {
    s.phases[static_cast<int>(Phase::kSend)].Record(10);
    s.phases[static_cast<int>(Phase::kWait)].Record(i * 20);
    s.phases[static_cast<int>(Phase::kReceive)].Record(5);
    s.upload_rate.Record(1000);  // 1 MB/s.
  }
  s.phases[static_cast<int>(Phase::kConnect)].Record(40);
  return s;
}

RunInfo SampleInfo() {
  RunInfo info;
  info.url = "http://127.0.0.1:8000/\"q\"";
  info.method = "POST";
  info.threads = 2;
  info.clients = 4;
  info.requests_per_client = 25;
  info.body_bytes = 10;
  return info;
}

// Percentiles are the top of their histogram bucket (within 0.1%): 5000 lies
// in [5000, 5003], 9000 in [9000, 9007], 9900 in [9896, 9903].
TEST(ReportTest, JsonHasTheDocumentedSchema) {
  const std::string json = FormatJson(SampleInfo(), SampleStats(), 2.0);
  for (const char* key :
       {"\"schema\": \"epollhttp.loadgen/4\"",
        "\"runs\": 1",
        "\"start_unix_seconds\": ",
        "\"latency_histogram\": \"HISTFAA",
        "\"time_series\": [",
        "\"url\": \"http://127.0.0.1:8000/\\\"q\\\"\"",
        "\"mode\": \"requests\"",
        "\"requests\": {\"total\": 100, \"succeeded\": 98, \"failed\": 2}",
        "\"requests_per_second\": 50,",
        "\"duration_seconds\": 2,",
        "\"bytes_sent\": 1000,",
        "\"bytes_received\": 2800,",
        "\"status_codes\": {\"200\": 99, \"503\": 1}",
        "\"errors\": {\"connect\": 1, \"write\": 0, \"read\": 0, \"status\": 0, \"body\": 0, "
        "\"lost_body_bytes\": 1, \"tls\": 0, \"protocol\": 0}",
        "\"phases_us\": {\n  \"connect\": {\"min\": 40, \"mean\": 40,",
        "\"tls\": {\"min\": 0, \"mean\": 0, \"stdev\": 0, \"max\": 0, \"p50\": 0, \"p90\": 0, "
        "\"p99\": 0, \"p999\": 0, \"p9999\": 0, \"count\": 0, \"histogram\": \"HISTFAA",
        "\"send\": {\"min\": 10, \"mean\": 10, \"stdev\": 0, \"max\": 10, \"p50\": 10,",
        "\"wait\": {\"min\": 20, \"mean\": 990, \"stdev\": ",
        "\"count\": 98, \"histogram\": \"HISTFAA",
        "\"upload_kB_per_second\": {\"min\": 1000, \"mean\": 1000,",
        "\"lost_body_bytes\": 7",
        "\"late_requests\": 0",
        "\"tls_handshakes\": 0, \"tls_resumed\": 0",
        "\"latency_us\": {\"min\": 100, \"mean\": 5050, \"stdev\": ",
        "\"max\": 10000",
        "\"p50\": 5003",
        "\"p90\": 9007",
        "\"p99\": 9903",
        "\"p999\": 10000",
        "\"p9999\": 10000",
        "\"latency_uncorrected_us\": {\"min\": 50,"}) {
    EXPECT_NE(json.find(key), std::string::npos) << key << "\n" << json;
  }
  // Balanced braces, one object.
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (c == '\\' && in_string) {
      ++i;
      continue;
    }
    if (c == '"') in_string = !in_string;
    if (in_string) continue;
    if (c == '{') ++depth;
    if (c == '}') --depth;
    ASSERT_GE(depth, 0);
  }
  EXPECT_EQ(depth, 0);
  EXPECT_EQ(json.back(), '\n');
}

TEST(ReportTest, SummaryNamesTheRunAndEveryErrorCategory) {
  const std::string text = FormatSummary(SampleInfo(), SampleStats(), 2.0);
  EXPECT_EQ(text.rfind("100 requests (4 clients \xC3\x97 25, 2 threads) POST", 0), 0u) << text;
  EXPECT_NE(text.find("98 succeeded, 2 failed in 2.000 s: 50.0 req/s"), std::string::npos);
  EXPECT_NE(text.find("status codes: 200: 99 503: 1"), std::string::npos);
  EXPECT_NE(text.find("errors: connect 1, write 0, read/timeout 0, unexpected status 0, "
                      "unexpected body 0, lost body bytes 1 (7 bytes)"),
            std::string::npos);
  EXPECT_NE(text.find("p99.99"), std::string::npos);
}

TEST(ReportTest, RateModeShowsUncorrectedLatencyAndLateRequests) {
  RunInfo info = SampleInfo();
  info.rate = 500;
  RunStats stats = SampleStats();
  stats.late = 3;
  const std::string text = FormatSummary(info, stats, 2.0);
  EXPECT_NE(text.find("uncorrected"), std::string::npos);
  EXPECT_NE(text.find("3 requests started more than 1 ms late"), std::string::npos);
}

TEST(ReportTest, LatencyBarsCountEverySampleWhenTheyShareBuckets) {
  // 400 uploads of 1.500 s to 1.504 s: a few buckets of 1 ms each at 1.5 s.
  Histogram h;
  for (int i = 0; i < 400; ++i) h.Record(1'500'000 + (i % 5) * 1'000);
  const std::string bars = LatencyBars(h);
  int64_t total = 0;
  size_t at = 0;
  while ((at = bars.find('[', at)) != std::string::npos) {
    total += std::stoll(bars.substr(at + 1));
    ++at;
  }
  EXPECT_EQ(total, 400) << bars;
}

}  // namespace
}  // namespace epollhttp::loadgen
