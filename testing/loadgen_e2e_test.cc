// End-to-end: the real `//loadgen` binary against the real `//server` binary
// (the tutorial workload, scaled down), and loadgen's command-line contract.
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "loadgen/merge.h"
#include "testing/report_json.h"
#include "testing/server_process.h"
#include "testing/socket_util.h"

namespace epollhttp::test {
namespace {

TEST(LoadgenE2eTest, TutorialWorkloadScaledDown) {
  auto server = ServerProcess::Start({{"--threads=2"}});
  ASSERT_TRUE(server.ok()) << server.status();
  int status = 0;
  const std::string json =
      RunCommand(absl::StrCat(LoadgenPath(), " --url http://127.0.0.1:", (*server)->port(),
                              "/upload --threads 4 --requests 10 --progress never --json -"),
                 &status);
  EXPECT_EQ(status, 0) << json;
  EXPECT_EQ(JsonNumber(json, "total", "\"requests\""), 40) << json;
  EXPECT_EQ(JsonNumber(json, "succeeded", "\"requests\""), 40);
  EXPECT_EQ(JsonNumber(json, "failed", "\"requests\""), 0);
  EXPECT_EQ(JsonNumber(json, "bytes_sent"), 40 * int64_t{3748935});
  EXPECT_EQ(JsonNumber(json, "lost_body_bytes", "\"errors\""), 0);
  EXPECT_EQ(JsonNumber(json, "200", "\"status_codes\""), 40);
  // The server saw exactly the same.
  EXPECT_EQ(MetricValue(ScrapeMetrics((*server)->port()), "epollhttp_requests_total{code=\"200\"}"),
            40);
  EXPECT_EQ(MetricValue(ScrapeMetrics((*server)->port()), "epollhttp_request_body_bytes_total"),
            40 * int64_t{3748935});
  EXPECT_EQ((*server)->Stop(), 0);
}

TEST(LoadgenE2eTest, FileAndFormUploadsArriveWhole) {
  auto server = ServerProcess::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string file = absl::StrCat(std::getenv("TEST_TMPDIR"), "/image.jpeg");
  {
    std::ofstream out(file, std::ios::binary);
    out << std::string(100000, 'j');
  }
  int status = 0;
  std::string json = RunCommand(
      absl::StrCat(LoadgenPath(), " --url http://127.0.0.1:", (*server)->port(),
                   "/ --threads 2 --requests 3 --file ", file, " --progress=never --json=-"),
      &status);
  EXPECT_EQ(status, 0) << json;
  EXPECT_EQ(JsonNumber(json, "bytes_sent"), 6 * 100000);
  json = RunCommand(
      absl::StrCat(LoadgenPath(), " --url http://127.0.0.1:", (*server)->port(),
                   "/ --threads 1 --requests 2 --form --file ", file, " --progress=never --json=-"),
      &status);
  EXPECT_EQ(status, 0) << json;  // X-Received-Body-Bytes matched the multipart size.
  EXPECT_GT(JsonNumber(json, "body_bytes"), 100000);
  EXPECT_EQ((*server)->Stop(), 0);
}

TEST(LoadgenE2eTest, UsageErrorsAreOneLineAndExitCode2) {
  for (const char* args :
       {"--threads 0", "--no_such_flag", "--url ftp://example.com/",
        "--url http://127.0.0.1:99999/", "--file /nonexistent/image.jpeg", "--duration=soon",
        "--method BREW", "--header NoColon", "--progress=sometimes", "--workers -1", "stray",
        "--rate 50:1x", "--rate 10:1m --duration 5s", "--body_sizes 1k:50%",
        "--body_sizes 1k:100% --file /etc/hostname", "--client_upload_rate fast",
        "--method GET --chunked", "--chunk_bytes -1", "--slo 'p50_think<1s'"}) {
    int status = 0;
    const std::string out = RunCommand(absl::StrCat(LoadgenPath(), " ", args, " 2>&1"), &status);
    EXPECT_EQ(status, 2) << args << ": " << out;
    EXPECT_EQ(out.rfind("loadgen: ", 0), 0u) << args << ": " << out;
    EXPECT_EQ(out.find('\n'), out.size() - 1) << args << ": " << out;  // One line.
  }
}

TEST(LoadgenE2eTest, ServerDownGivesConnectErrorsAndExitCode1) {
  int port = 0;
  {
    auto server = ServerProcess::Start();
    ASSERT_TRUE(server.ok());
    port = (*server)->port();
    EXPECT_EQ((*server)->Stop(), 0);
  }
  int status = 0;
  const std::string json = RunCommand(absl::StrCat(LoadgenPath(), " --url http://127.0.0.1:", port,
                                                   "/ --threads 2 --requests 5 --json -"),
                                      &status);
  EXPECT_EQ(status, 1);
  EXPECT_EQ(JsonNumber(json, "connect", "\"errors\""), 10) << json;
}

}  // namespace
}  // namespace epollhttp::test

namespace epollhttp::test {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(LoadgenE2eTest, ConcurrentRunsStartTogetherAndMergeExactly) {
  auto server = ServerProcess::Start({{"--threads=2"}});
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string dir = std::getenv("TEST_TMPDIR");
  const double start_at =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count() +
      1.5;
  // Three processes at once, as on three machines.
  std::string command;
  for (int i = 0; i < 3; ++i) {
    absl::StrAppend(&command, LoadgenPath(), " --url http://127.0.0.1:", (*server)->port(),
                    "/ --method GET --threads 1 --clients ", i + 1, " --requests ", 200 * (i + 1),
                    " --progress=never --start_at ", absl::StrFormat("%.3f", start_at), " --json ",
                    dir, "/run", i, ".json >/dev/null & ");
  }
  int status = 0;
  RunCommand(command + "wait", &status);
  ASSERT_EQ(status, 0);
  std::vector<loadgen::Report> runs;
  loadgen::Histogram all;
  int64_t total = 0;
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<loadgen::Report> run =
        loadgen::ReadReport(ReadFile(absl::StrCat(dir, "/run", i, ".json")));
    ASSERT_TRUE(run.ok()) << run.status();
    // Each started at the agreed time.
    EXPECT_GE(run->info.start_unix_seconds, start_at - 0.01);
    EXPECT_LT(run->info.start_unix_seconds, start_at + 0.5);
    ASSERT_TRUE(all.AddHdr(run->stats.latency.ToHdr()).ok());
    total += run->stats.succeeded;
    runs.push_back(*std::move(run));
  }
  EXPECT_EQ(total, 200 * 1 + 400 * 2 + 600 * 3);
  const std::string out = RunCommand(
      absl::StrCat(LoadgenPath(), " merge ", dir, "/run0.json ", dir, "/run1.json ", dir,
                   "/run2.json --json ", dir, "/merged.json --html ", dir, "/merged.html"),
      &status);
  ASSERT_EQ(status, 0) << out;
  EXPECT_NE(out.find("2800 requests (3 runs merged: 6 clients, 3 threads)"), std::string::npos)
      << out;
  // The merged histogram, decoded, holds exactly every run's samples.
  absl::StatusOr<loadgen::Report> merged = loadgen::ReadReport(ReadFile(dir + "/merged.json"));
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_EQ(merged->stats.latency.ToHdr().counts, all.ToHdr().counts);
  EXPECT_EQ(merged->stats.succeeded, total);
  for (double p : {50.0, 90.0, 99.0, 99.9}) {  // (The max is exact in the report.)
    EXPECT_EQ(merged->stats.latency.ValueAtPercentile(p), all.ValueAtPercentile(p)) << p;
  }
  int64_t per_second = 0;
  for (const auto& [t, second] : merged->stats.series.seconds()) per_second += second.requests;
  EXPECT_EQ(per_second, total);
  const std::string html = ReadFile(dir + "/merged.html");
  EXPECT_NE(html.find("id=\"latency-percentiles\""), std::string::npos);
  EXPECT_NE(html.find("<tr><th>merged runs</th><td>3</td></tr>"), std::string::npos);
  // Reports that cannot be combined: one line, exit 2.
  const std::string bad = RunCommand(
      absl::StrCat(LoadgenPath(), " merge ", dir, "/run0.json /nonexistent.json 2>&1"), &status);
  EXPECT_EQ(status, 2);
  EXPECT_EQ(bad, "loadgen: merge: cannot read /nonexistent.json\n");
  EXPECT_EQ((*server)->Stop(), 0);
}

TEST(LoadgenE2eTest, StartAtInThePastIsAUsageError) {
  int status = 0;
  const std::string out =
      RunCommand(absl::StrCat(LoadgenPath(), " --start_at 2001-01-01T00:00:00Z 2>&1"), &status);
  EXPECT_EQ(status, 2);
  EXPECT_EQ(out, "loadgen: --start_at 2001-01-01T00:00:00Z is in the past\n");
}

TEST(LoadgenE2eTest, HelpAndVersionExitZero) {
  int status = -1;
  const std::string help = RunCommand(absl::StrCat(LoadgenPath(), " --help"), &status);
  EXPECT_EQ(status, 0);
  EXPECT_NE(help.find("--threads"), std::string::npos) << help;
  EXPECT_NE(help.find("--json"), std::string::npos) << help;
  const std::string version = RunCommand(absl::StrCat(LoadgenPath(), " --version"), &status);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(version.rfind("loadgen 0.", 0), 0u) << version;
  EXPECT_NE(version.find(" (commit "), std::string::npos) << version;
  const std::string server = RunCommand(RunfilePath("server/server") + " --version", &status);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(server.rfind("server 0.", 0), 0u) << server;
}

TEST(LoadgenE2eTest, AnSloBreachExits3AndNamesTheTerm) {
  auto server = ServerProcess::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string base =
      absl::StrCat(LoadgenPath(), " --url http://127.0.0.1:", (*server)->port(),
                   "/ --threads 1 --requests 20 --progress never");
  int status = -1;
  std::string out = RunCommand(base + " --slo 'p99<30s,errors<1%' 2>&1", &status);
  EXPECT_EQ(status, 0) << out;
  // No request is answered within a microsecond.
  out = RunCommand(base + " --slo 'p50<1us,errors<1%' 2>&1", &status);
  EXPECT_EQ(status, 3) << out;
  EXPECT_NE(out.find("loadgen: SLO breached: p50<1us: "), std::string::npos) << out;
  EXPECT_EQ(out.find("SLO breached: errors"), std::string::npos) << out;
  out = RunCommand(base + " --slo 'p99<' 2>&1", &status);
  EXPECT_EQ(status, 2) << out;
  // merge applies it to the merged result.
  const std::string json = absl::StrCat(std::getenv("TEST_TMPDIR"), "/slo.json");
  RunCommand(absl::StrCat(base, " --json ", json, " >/dev/null"), &status);
  EXPECT_EQ(status, 0);
  out = RunCommand(absl::StrCat(LoadgenPath(), " merge ", json, " '--slo=p50<1us' 2>&1"), &status);
  EXPECT_EQ(status, 3) << out;
  EXPECT_NE(out.find("loadgen: merge: SLO breached: p50<1us"), std::string::npos) << out;
  EXPECT_EQ((*server)->Stop(), 0);
}

// `bazel run` starts the binary in its runfiles tree and says where the
// command ran in BUILD_WORKING_DIRECTORY: relative paths are the user's.
TEST(LoadgenE2eTest, RelativeOutputPathsLandWhereBazelRunRan) {
  auto server = ServerProcess::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string user_dir = absl::StrCat(std::getenv("TEST_TMPDIR"), "/user");
  const std::string runfiles_dir = absl::StrCat(std::getenv("TEST_TMPDIR"), "/runfiles");
  int status = 0;
  RunCommand(absl::StrCat("mkdir -p ", user_dir, " ", runfiles_dir), &status);
  const std::string out = RunCommand(
      absl::StrCat("cd ", runfiles_dir, " && BUILD_WORKING_DIRECTORY=", user_dir, " ",
                   LoadgenPath(), " --url http://127.0.0.1:", (*server)->port(),
                   "/ --threads 1 --requests 2 --progress never --json rel.json --html rel.html"),
      &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_TRUE(std::ifstream(user_dir + "/rel.json").good());
  EXPECT_TRUE(std::ifstream(user_dir + "/rel.html").good());
  EXPECT_FALSE(std::ifstream(runfiles_dir + "/rel.json").good());
  // merge reads and writes the same way.
  const std::string merged =
      RunCommand(absl::StrCat("cd ", runfiles_dir, " && BUILD_WORKING_DIRECTORY=", user_dir, " ",
                              LoadgenPath(), " merge rel.json --json merged.json"),
                 &status);
  EXPECT_EQ(status, 0) << merged;
  EXPECT_TRUE(std::ifstream(user_dir + "/merged.json").good());
  EXPECT_EQ((*server)->Stop(), 0);
}

TEST(LoadgenE2eTest, ChunkedAndExpectContinueUploadsArriveWhole) {
  auto server = ServerProcess::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  for (const char* framing :
       {"--chunked --chunk_bytes 7000", "--expect_continue --continue_timeout 30s",
        "--chunked --expect_continue --continue_timeout 30s"}) {
    int status = 0;
    const std::string json =
        RunCommand(absl::StrCat(LoadgenPath(), " --url http://127.0.0.1:", (*server)->port(),
                                "/ --threads 2 --requests 3 --progress never --json - ", framing),
                   &status);
    // Every answer's X-Received-Body-Bytes equals the body sent.
    EXPECT_EQ(status, 0) << framing << json;
    EXPECT_EQ(JsonNumber(json, "200", "\"status_codes\""), 6) << framing;
    EXPECT_EQ(JsonNumber(json, "bytes_sent"), 6 * int64_t{3748935}) << framing;
    EXPECT_EQ(JsonNumber(json, "lost_body_bytes", "\"errors\""), 0) << framing;
  }
  EXPECT_EQ(MetricValue(ScrapeMetrics((*server)->port()), "epollhttp_request_body_bytes_total"),
            18 * int64_t{3748935});
  EXPECT_EQ((*server)->Stop(), 0);
}

TEST(LoadgenE2eTest, AnEarlyFinalAnswerCountsAsItsStatus) {
  // The server refuses a body over 1000 bytes as soon as it reads the head.
  auto server = ServerProcess::Start({{"--max_body_bytes=1000"}});
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string base =
      absl::StrCat(LoadgenPath(), " --url http://127.0.0.1:", (*server)->port(),
                   "/ --threads 2 --requests 3 --progress never --json - ");
  int status = 0;
  std::string json = RunCommand(base + "--body_bytes 33554432", &status);
  EXPECT_EQ(status, 1) << json;
  EXPECT_EQ(JsonNumber(json, "413", "\"status_codes\""), 6) << json;
  EXPECT_EQ(JsonNumber(json, "status", "\"errors\""), 6) << json;
  EXPECT_EQ(JsonNumber(json, "write", "\"errors\""), 0) << json;
  json = RunCommand(base + "--body_bytes 33554432 --expect_status 413", &status);
  EXPECT_EQ(status, 0) << json;
  // Waiting for 100 Continue, not one body byte goes.
  json = RunCommand(base + "--expect_continue --continue_timeout 30s --expect_status 413", &status);
  EXPECT_EQ(status, 0) << json;
  EXPECT_EQ(JsonNumber(json, "413", "\"status_codes\""), 6) << json;
  EXPECT_EQ(JsonNumber(json, "bytes_sent"), 0) << json;
  EXPECT_EQ((*server)->Stop(), 0);
}

TEST(LoadgenE2eTest, AClientUploadRateHoldsWithin5PercentOver5Seconds) {
  auto server = ServerProcess::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  // 2 Mbit/s is 250,000 bytes/s: 1,250,000 bytes take 5 s.
  int status = 0;
  const std::string json = RunCommand(
      absl::StrCat(LoadgenPath(), " --url http://127.0.0.1:", (*server)->port(),
                   "/ --threads 1 --requests 1 --body_bytes 1250000 --client_upload_rate 2Mbit "
                   "--progress never --json -"),
      &status);
  EXPECT_EQ(status, 0) << json;
  const int64_t send_us = JsonNumber(json, "min", "\"send\"");
  const double rate = 1250000 / (static_cast<double>(send_us) / 1e6);
  EXPECT_NEAR(rate, 250000, 0.05 * 250000) << json;
  // The request's latency holds the whole send.
  EXPECT_GE(JsonNumber(json, "min", "\"latency_us\""), send_us);
  EXPECT_EQ((*server)->Stop(), 0);
}

TEST(LoadgenE2eTest, PhasesAreReportedAndGateAnSlo) {
  auto server = ServerProcess::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  int status = 0;
  const std::string base =
      absl::StrCat(LoadgenPath(), " --url http://127.0.0.1:", (*server)->port(),
                   "/ --threads 2 --requests 5 --progress never");
  std::string out = RunCommand(base + " --slo 'p50_wait<30s,p99_send<30s'", &status);
  EXPECT_EQ(status, 0) << out;
  for (const char* line :
       {"DNS/connect          2", "send                10", "wait                10",
        "receive             10", "upload per request: min "}) {
    EXPECT_NE(out.find(line), std::string::npos) << line << "\n" << out;
  }
  out = RunCommand(base + " --slo 'p50_wait<1us' 2>&1 >/dev/null", &status);
  EXPECT_EQ(status, 3) << out;
  EXPECT_EQ(out.rfind("loadgen: SLO breached: p50_wait<1us: ", 0), 0u) << out;
  EXPECT_EQ((*server)->Stop(), 0);
}

TEST(LoadgenE2eTest, ABodyMixIsReportedPerBody) {
  auto server = ServerProcess::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  int status = 0;
  const std::string json =
      RunCommand(absl::StrCat(LoadgenPath(), " --url http://127.0.0.1:", (*server)->port(),
                              "/ --threads 2 --requests 50 --body_sizes 1k:50%,100k:40%,1M:10% "
                              "--progress never --json -"),
                 &status);
  EXPECT_EQ(status, 0) << json;
  const int64_t small = JsonNumber(json, "requests", "\"name\": \"1k\"");
  const int64_t medium = JsonNumber(json, "requests", "\"name\": \"100k\"");
  const int64_t large = JsonNumber(json, "requests", "\"name\": \"1M\"");
  EXPECT_EQ(small + medium + large, 100);
  EXPECT_NEAR(small, 50, 3);
  EXPECT_NEAR(large, 10, 3);
  // Bytes per body add up to the run's, and the server got every one.
  EXPECT_EQ(JsonNumber(json, "bytes_sent"), small * 1000 + medium * 100000 + large * 1000000);
  EXPECT_EQ(JsonNumber(json, "bytes_sent", "\"name\": \"1M\""), large * 1000000);
  EXPECT_EQ(JsonNumber(json, "lost_body_bytes", "\"errors\""), 0);
  EXPECT_EQ((*server)->Stop(), 0);
}

TEST(LoadgenE2eTest, EveryRequestAWholeResumableUploadInterruptedResumedAndVerified) {
  const std::string dir = absl::StrCat(std::getenv("TEST_TMPDIR"), "/uploads");
  int status = 0;
  RunCommand(absl::StrCat("rm -rf ", dir, " && mkdir -p ", dir), &status);
  // Commits every 256 KiB: an IETF append then carries 104s mid-body.
  auto server = ServerProcess::Start({{"--upload_dir=" + dir, "--upload_commit_bytes=262144"}});
  ASSERT_TRUE(server.ok()) << server.status();
  int completed = 0;
  for (const std::string protocol : {"tus", "ietf"}) {
    SCOPED_TRACE(protocol);
    const std::string json =
        RunCommand(absl::StrCat(LoadgenPath(), " --url http://127.0.0.1:", (*server)->port(),
                                "/files/ --upload ", protocol,
                                " --chunk_bytes 1000000 --interrupt 0.5 --threads 2 --requests 3 "
                                "--progress never --json -"),
                   &status);
    EXPECT_EQ(status, 0) << json;
    EXPECT_EQ(JsonNumber(json, "succeeded", "\"requests\""), 6) << json;
    EXPECT_EQ(JsonNumber(json, "verified", "\"uploads\""), 6) << json;
    EXPECT_GT(JsonNumber(json, "interrupted", "\"uploads\""), 0) << json;
    // The last append's status: tus 204; IETF 201, as a whole creation.
    EXPECT_EQ(JsonNumber(json, protocol == "tus" ? "204" : "201", "\"status_codes\""), 6) << json;
    // Re-sent bytes count as sent: at least the six bodies.
    EXPECT_GE(JsonNumber(json, "bytes_sent"), 6 * int64_t{3748935});
    completed += 6;
    EXPECT_EQ(MetricValue(ScrapeMetrics((*server)->port()), "epollhttp_uploads_completed_total"),
              completed);
  }
  const std::string out =
      RunCommand(absl::StrCat(LoadgenPath(), " --upload http2 --progress never 2>&1"), &status);
  EXPECT_EQ(status, 2) << out;
  EXPECT_EQ(out, "loadgen: --upload must be tus or ietf, got \"http2\"\n");
  EXPECT_EQ((*server)->Stop(), 0);
}

}  // namespace
}  // namespace epollhttp::test
