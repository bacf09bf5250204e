#include "loadgen/html_report.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "loadgen/report.h"

namespace epollhttp::loadgen {
namespace {

// Tags() parses `html` into its element names in document order, checking
// that every element opened is closed in order (void elements aside);
// returns false at the first mismatch.
bool Tags(const std::string& html, std::vector<std::string>* names) {
  std::vector<std::string> open;
  size_t at = 0;
  while ((at = html.find('<', at)) != std::string::npos) {
    const size_t end = html.find('>', at);
    if (end == std::string::npos) return false;
    std::string tag = html.substr(at + 1, end - at - 1);
    at = end + 1;
    if (tag.empty() || tag[0] == '!') continue;  // <!DOCTYPE html>
    const bool closing = tag[0] == '/';
    const bool self_closing = tag.back() == '/';
    std::string name = tag.substr(closing ? 1 : 0, tag.find_first_of(" /", 1) - (closing ? 1 : 0));
    if (closing) {
      if (open.empty() || open.back() != name) return false;
      open.pop_back();
      continue;
    }
    names->push_back(name);
    if (!self_closing && name != "meta") open.push_back(name);
  }
  return open.empty();
}

RunStats Sample(bool with_rate) {
  RunStats s;
  for (int second = 0; second < 5; ++second) {
    for (int i = 1; i <= 1000; ++i) {
      const int64_t latency = 100 + i * (second + 1);
      s.latency.Record(latency);
      s.latency_uncorrected.Record(with_rate ? latency / 2 : latency);
      s.series.Record(1764500000 + second, latency, i % 100 == 0, 0, 28);
      if (i % 100 == 0) {
        ++s.failed;
        s.Count(ErrorKind::kStatus);
        ++s.status_codes[503];
      } else {
        ++s.succeeded;
        ++s.status_codes[200];
      }
    }
  }
  s.series.Finish();
  return s;
}

TEST(HtmlReportTest, IsOneWellFormedPageWithItsChartsAndTables) {
  RunInfo info;
  info.url = "http://127.0.0.1:8000/<x>&y";
  info.method = "GET";
  info.threads = 2;
  info.clients = 4;
  info.requests_per_client = 1250;
  info.start_unix_seconds = 1764500000;
  const std::string html = FormatHtml(info, Sample(false), 5.0);
  std::vector<std::string> names;
  ASSERT_TRUE(Tags(html, &names)) << "unbalanced tags";
  auto count = [&](const std::string& name) {
    int n = 0;
    for (const std::string& t : names) n += t == name;
    return n;
  };
  EXPECT_EQ(count("svg"), 3);
  for (const char* id : {"id=\"latency-percentiles\"", "id=\"throughput\"",
                         "id=\"latency-over-time\"", "id=\"status-codes\"", "id=\"errors\""}) {
    EXPECT_NE(html.find(id), std::string::npos) << id;
  }
  EXPECT_GE(count("polyline"), 5);  // Latency; requests and errors; p50 and p99.
  // The percentile axis is the HdrHistogram one.
  for (const char* label : {">0%<", ">90%<", ">99%<", ">99.9%<"}) {
    EXPECT_NE(html.find(label), std::string::npos) << label;
  }
  // Self-contained: no scripts, nothing fetched.
  EXPECT_EQ(count("script"), 0);
  EXPECT_EQ(count("link"), 0);
  EXPECT_EQ(count("img"), 0);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);
  // Text is escaped; the tables carry the figures.
  EXPECT_NE(html.find("http://127.0.0.1:8000/&lt;x&gt;&amp;y"), std::string::npos);
  EXPECT_NE(html.find("<tr><th>503</th><td>50</td></tr>"), std::string::npos);
  EXPECT_NE(html.find("<tr><th>unexpected status</th><td>50</td></tr>"), std::string::npos);
  EXPECT_NE(html.find("2025-11-30 10:53:20 UTC"), std::string::npos);
  // Rate mode adds the uncorrected curve.
  info.rate = 1000;
  std::vector<std::string> rate_names;
  const std::string rate_html = FormatHtml(info, Sample(true), 5.0);
  ASSERT_TRUE(Tags(rate_html, &rate_names));
  EXPECT_NE(rate_html.find(">uncorrected<"), std::string::npos);
}

TEST(HtmlReportTest, AnEmptyRunStillRenders) {
  RunInfo info;
  info.url = "http://127.0.0.1:1/";
  info.method = "GET";
  RunStats empty;
  empty.series.Finish();
  const std::string html = FormatHtml(info, empty, 0.0);
  std::vector<std::string> names;
  EXPECT_TRUE(Tags(html, &names));
  EXPECT_NE(html.find("no time series"), std::string::npos);
}

TEST(HtmlReportTest, TheTextSummaryDrawsALatencyHistogram) {
  const std::string bars = LatencyBars(Sample(false).latency, 10);
  EXPECT_NE(bars.find("latency histogram"), std::string::npos);
  int rows = 0;
  for (size_t at = 0; (at = bars.find("\n    ", at)) != std::string::npos; ++at) ++rows;
  EXPECT_EQ(rows, 10);
  EXPECT_NE(bars.find("\xE2\x96\xA0"), std::string::npos);  // A bar.
}

TEST(HtmlReportTest, PhasesGetABarTheirTableAndTheUploadRate) {
  RunInfo info;
  info.url = "http://127.0.0.1:8000/";
  info.method = "POST";
  RunStats s = Sample(false);
  for (int i = 0; i < 100; ++i) {
    s.phases[static_cast<int>(Phase::kSend)].Record(3000);  // Mean 3 ms,
    s.phases[static_cast<int>(Phase::kWait)].Record(1000);  // 1 ms,
    s.phases[static_cast<int>(Phase::kReceive)].Record(0);
    s.upload_rate.Record(1250);  // 1.25 MB/s.
  }
  s.phases[static_cast<int>(Phase::kConnect)].Record(400);  // 4 us per request.
  const std::string html = FormatHtml(info, s, 5.0);
  std::vector<std::string> names;
  ASSERT_TRUE(Tags(html, &names)) << "unbalanced tags";
  EXPECT_NE(html.find("id=\"phases\""), std::string::npos);
  EXPECT_NE(html.find("mean per answered request: 4 ms"), std::string::npos) << html;
  // The bar's segments are the phases' shares of 650 px: 3000/4004 for send,
  // after connect's 4/4004.
  EXPECT_NE(html.find("x=\"70.6\" y=\"10\" width=\"487.0\" height=\"36\" fill=\"#1f5fa8\">"
                      "<title>send: 3 ms"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("<tr><th>wait</th><td>100</td><td>1 ms</td>"), std::string::npos);
  EXPECT_EQ(html.find("<tr><th>TLS handshake</th>"), std::string::npos);  // Not timed: no row.
  EXPECT_NE(html.find("mean 1.2, p50 1.2, slowest 1.2, fastest 1.2 MB/s."), std::string::npos)
      << html;
  // No answered request: no phase section.
  EXPECT_EQ(FormatHtml(info, Sample(false), 5.0).find("id=\"phases\""), std::string::npos);
}

}  // namespace
}  // namespace epollhttp::loadgen
