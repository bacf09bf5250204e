#include "loadgen/slo.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace epollhttp::loadgen {
namespace {

TEST(SloTest, ParsesLatencyAndErrorTerms) {
  absl::StatusOr<std::vector<SloTerm>> terms =
      ParseSlo(" p99<2s, p50 < 250ms,errors<0.1%,errors<5");
  ASSERT_TRUE(terms.ok()) << terms.status();
  ASSERT_EQ(terms->size(), 4u);
  EXPECT_EQ((*terms)[0].kind, SloTerm::Kind::kLatency);
  EXPECT_EQ((*terms)[0].percentile, 99);
  EXPECT_EQ((*terms)[0].limit, 2e6);
  EXPECT_EQ((*terms)[1].limit, 250e3);
  EXPECT_EQ((*terms)[1].text, "p50 < 250ms");
  EXPECT_EQ((*terms)[2].kind, SloTerm::Kind::kErrorPercent);
  EXPECT_DOUBLE_EQ((*terms)[2].limit, 0.1);
  EXPECT_EQ((*terms)[3].kind, SloTerm::Kind::kErrorCount);
  EXPECT_TRUE(ParseSlo("")->empty());
}

TEST(SloTest, BadTermsAreNamedInOneLine) {
  for (const char* bad :
       {"p99", "p99<", "p0<1s", "p101<1s", "px<1s", "p99<2", "p99<-1s", "errors<101%", "errors<-1",
        "latency<1s", "p99<1s,,errors<1", "p99>1s", "p50_think<50ms", "p_wait<1s"}) {
    absl::StatusOr<std::vector<SloTerm>> terms = ParseSlo(bad);
    ASSERT_FALSE(terms.ok()) << bad;
    const std::string message(terms.status().message());
    EXPECT_EQ(message.rfind("--slo", 0), 0u) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
  EXPECT_NE(ParseSlo("p50_think<50ms").status().message().find("unknown phase"), std::string::npos);
}

TEST(SloTest, PhaseTermsJudgeThatPhase) {
  absl::StatusOr<std::vector<SloTerm>> terms = ParseSlo("p50_wait<50ms,p99_send<1s");
  ASSERT_TRUE(terms.ok()) << terms.status();
  EXPECT_EQ((*terms)[0].phase, static_cast<int>(Phase::kWait));
  EXPECT_EQ((*terms)[0].percentile, 50);
  EXPECT_EQ((*terms)[1].phase, static_cast<int>(Phase::kSend));
  RunStats stats;
  stats.latency.Record(10);  // Whole requests are fast; the wait is not.
  stats.phases[static_cast<int>(Phase::kWait)].Record(80'000);
  stats.phases[static_cast<int>(Phase::kSend)].Record(1'000);
  const std::vector<std::string> breaches = SloBreaches(*terms, stats);
  ASSERT_EQ(breaches.size(), 1u);
  EXPECT_EQ(breaches[0].rfind("p50_wait<50ms: 80.", 0), 0u) << breaches[0];
  EXPECT_EQ(SloBreaches(*ParseSlo("p90_tls<1s"), stats),
            std::vector<std::string>{"p90_tls<1s: no tls time was measured"});
}

TEST(SloTest, BreachesNameTheTermAndTheMeasurement) {
  RunStats stats;
  for (int i = 1; i <= 100; ++i) stats.latency.Record(i * 1000);  // 1..100 ms.
  stats.succeeded = 99;
  stats.failed = 1;
  EXPECT_TRUE(SloBreaches(*ParseSlo("p50<60ms,p100<101ms,errors<2%,errors<2"), stats).empty());
  const std::vector<std::string> breaches =
      SloBreaches(*ParseSlo("p50<40ms,p99<1s,errors<1%,errors<1"), stats);
  ASSERT_EQ(breaches.size(), 3u);
  EXPECT_EQ(breaches[0].rfind("p50<40ms: 50.", 0), 0u) << breaches[0];
  EXPECT_EQ(breaches[1], "errors<1%: 1.000% (1 of 100)");
  EXPECT_EQ(breaches[2], "errors<1: 1 failed");
}

TEST(SloTest, NoSamplesBreachLatencyTerms) {
  RunStats stats;
  EXPECT_EQ(SloBreaches(*ParseSlo("p99<1s"), stats),
            std::vector<std::string>{"p99<1s: no latency was measured"});
}

}  // namespace
}  // namespace epollhttp::loadgen
