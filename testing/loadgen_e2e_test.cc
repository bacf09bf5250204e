// End-to-end: the real `//loadgen` binary against the real `//server` binary
// (the tutorial workload, scaled down), and loadgen's command-line contract.
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "testing/server_process.h"
#include "testing/socket_util.h"

namespace epollhttp::test {
namespace {

std::string Loadgen() { return RunfilePath("loadgen/loadgen"); }

// JsonNumber() finds `"key": <number>` after `after` in `json`.
int64_t JsonNumber(const std::string& json, const std::string& key, const std::string& after = "") {
  const size_t start = after.empty() ? 0 : json.find(after);
  if (start == std::string::npos) return -1;
  const std::string needle = "\"" + key + "\": ";
  const size_t at = json.find(needle, start);
  if (at == std::string::npos) return -1;
  const size_t begin = at + needle.size();
  const size_t end = json.find_first_of(",}", begin);
  int64_t value = -1;
  if (!absl::SimpleAtoi(json.substr(begin, end - begin), &value)) return -1;
  return value;
}

TEST(LoadgenE2eTest, TutorialWorkloadScaledDown) {
  auto server = ServerProcess::Start({{"--threads=2"}});
  ASSERT_TRUE(server.ok()) << server.status();
  int status = 0;
  const std::string json =
      RunCommand(absl::StrCat(Loadgen(), " --url http://127.0.0.1:", (*server)->port(),
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
      absl::StrCat(Loadgen(), " --url http://127.0.0.1:", (*server)->port(),
                   "/ --threads 2 --requests 3 --file ", file, " --progress=never --json=-"),
      &status);
  EXPECT_EQ(status, 0) << json;
  EXPECT_EQ(JsonNumber(json, "bytes_sent"), 6 * 100000);
  json = RunCommand(
      absl::StrCat(Loadgen(), " --url http://127.0.0.1:", (*server)->port(),
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
        "--method BREW", "--header NoColon", "--progress=sometimes", "--workers -1", "stray"}) {
    int status = 0;
    const std::string out = RunCommand(absl::StrCat(Loadgen(), " ", args, " 2>&1"), &status);
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
  const std::string json = RunCommand(absl::StrCat(Loadgen(), " --url http://127.0.0.1:", port,
                                                   "/ --threads 2 --requests 5 --json -"),
                                      &status);
  EXPECT_EQ(status, 1);
  EXPECT_EQ(JsonNumber(json, "connect", "\"errors\""), 10) << json;
}

}  // namespace
}  // namespace epollhttp::test
