#include "server/metrics.h"

#include <string>
#include <thread>

#include "gtest/gtest.h"

namespace epollhttp {
namespace {

TEST(MetricsTest, SnapshotSumsEveryLoop) {
  Metrics metrics(2);
  metrics.loop(0)->OnResponse(200, false);
  metrics.loop(1)->OnResponse(200, false);
  metrics.loop(1)->OnResponse(400, true);
  metrics.loop(0)->AddBodyBytes(10);
  metrics.loop(1)->AddBodyBytes(5);
  metrics.loop(0)->OnAccepted();
  metrics.loop(1)->OnAccepted();
  metrics.loop(1)->OnClosed();
  metrics.loop(0)->OnTimeout(TimeoutKind::kIdle);
  const MetricsSnapshot s = metrics.Snapshot();
  EXPECT_EQ(s.requests, 3u);
  EXPECT_EQ(s.responses[200 - 100], 2u);
  EXPECT_EQ(s.parse_errors[400 - 100], 1u);
  EXPECT_EQ(s.parse_errors[200 - 100], 0u);
  EXPECT_EQ(s.body_bytes, 15u);
  EXPECT_EQ(s.accepted, 2u);
  EXPECT_EQ(s.closed, 1u);
  EXPECT_EQ(s.timeouts[static_cast<int>(TimeoutKind::kIdle)], 1u);
}

TEST(MetricsTest, RenderIsPrometheusText) {
  Metrics metrics(1);
  metrics.loop(0)->OnResponse(200, false);
  metrics.loop(0)->OnResponse(431, true);
  metrics.loop(0)->OnResponse(408, false);
  metrics.loop(0)->OnAccepted();
  metrics.loop(0)->OnAccepted();
  metrics.loop(0)->OnClosed();
  metrics.loop(0)->OnTimeout(TimeoutKind::kHeader);
  metrics.loop(0)->OnAbort(http::AbortReason::kEndOfStream);
  const std::string text = metrics.Render();
  EXPECT_NE(text.find("# TYPE epollhttp_requests_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("epollhttp_requests_total{code=\"200\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("epollhttp_requests_total{code=\"431\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("epollhttp_parse_errors_total{code=\"431\"} 1\n"), std::string::npos);
  EXPECT_EQ(text.find("epollhttp_parse_errors_total{code=\"408\"}"), std::string::npos);
  EXPECT_NE(text.find("epollhttp_connections_active 1\n"), std::string::npos);
  EXPECT_NE(text.find("epollhttp_timeouts_total{kind=\"header\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("epollhttp_timeouts_total{kind=\"write\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("epollhttp_request_aborts_total{reason=\"end of stream\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("epollhttp_request_aborts_total{reason=\"reset\"} 0\n"), std::string::npos);
  EXPECT_EQ(text.back(), '\n');
}

TEST(MetricsTest, OutOfRangeStatusIsIgnored) {
  Metrics metrics(1);
  metrics.loop(0)->OnResponse(99, false);
  metrics.loop(0)->OnResponse(600, true);
  EXPECT_EQ(metrics.Snapshot().requests, 0u);
}

TEST(MetricsTest, ScrapeWhileAWorkerCountsSeesWholeValues) {
  Metrics metrics(1);
  constexpr int kEvents = 100000;
  std::thread writer([&] {
    for (int i = 0; i < kEvents; ++i) metrics.loop(0)->AddBodyBytes(1);
  });
  uint64_t last = 0;
  for (int i = 0; i < 1000; ++i) {
    const uint64_t now = metrics.Snapshot().body_bytes;
    ASSERT_GE(now, last);  // Monotonic: a single writer never loses an update.
    last = now;
  }
  writer.join();
  EXPECT_EQ(metrics.Snapshot().body_bytes, static_cast<uint64_t>(kEvents));
}

TEST(MetricsTest, RequestDurationsAreAPrometheusHistogramByRouteAndStatusClass) {
  Metrics metrics(2);
  const int healthz = metrics.AddRoute("/healthz");
  EXPECT_EQ(metrics.AddRoute("/healthz"), healthz);  // Once.
  EXPECT_EQ(metrics.AddRoute("other"), 0);
  EXPECT_EQ(metrics.Route("/never"), 0);
  using std::chrono::microseconds;
  using std::chrono::milliseconds;
  metrics.loop(0)->ObserveRequest(healthz, 200, microseconds(40));    // le 5e-05
  metrics.loop(1)->ObserveRequest(healthz, 204, milliseconds(3));     // le 0.005
  metrics.loop(1)->ObserveRequest(0, 404, std::chrono::seconds(11));  // above 10 s
  metrics.loop(1)->ObserveRequest(0, 700, milliseconds(1));           // ignored
  const std::string text = metrics.Render();
  EXPECT_NE(text.find("# TYPE epollhttp_request_duration_seconds histogram\n"), std::string::npos);
  EXPECT_NE(text.find("epollhttp_request_duration_seconds_bucket{route=\"/healthz\",code=\"2xx\","
                      "le=\"5e-05\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("epollhttp_request_duration_seconds_bucket{route=\"/healthz\",code=\"2xx\","
                      "le=\"0.0025\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("epollhttp_request_duration_seconds_bucket{route=\"/healthz\",code=\"2xx\","
                      "le=\"0.005\"} 2\n"),
            std::string::npos);
  EXPECT_NE(
      text.find("epollhttp_request_duration_seconds_count{route=\"/healthz\",code=\"2xx\"} 2\n"),
      std::string::npos);
  EXPECT_NE(text.find("epollhttp_request_duration_seconds_sum{route=\"/healthz\",code=\"2xx\"} "
                      "0.003040000\n"),
            std::string::npos);
  EXPECT_NE(text.find("epollhttp_request_duration_seconds_bucket{route=\"other\",code=\"4xx\","
                      "le=\"10\"} 0\n"),
            std::string::npos);
  EXPECT_NE(text.find("epollhttp_request_duration_seconds_bucket{route=\"other\",code=\"4xx\","
                      "le=\"+Inf\"} 1\n"),
            std::string::npos);
  EXPECT_EQ(text.find("code=\"5xx\""), std::string::npos);  // Only series that saw a request.
}

}  // namespace
}  // namespace epollhttp
