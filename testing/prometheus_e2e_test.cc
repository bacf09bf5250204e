// /metrics as Prometheus's own tools read it, on the real //server binary:
// `promtool check metrics` accepts the exposition, and a real Prometheus
// (Debian's, started here on a free port with a temporary configuration and
// storage) scrapes the admin listener and answers a histogram_quantile()
// query over the request-duration histogram with a number.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/fd.h"
#include "gtest/gtest.h"
#include "testing/server_process.h"
#include "testing/socket_util.h"

namespace epollhttp::test {
namespace {

using Clock = std::chrono::steady_clock;

// FreePort() is a loopback port nothing listens on now.
uint16_t FreePort() {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof(addr);
  if (!fd || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), size) != 0 ||
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &size) != 0) {
    return 0;
  }
  return ntohs(addr.sin_port);
}

// A temporary directory, removed with its contents.
class TempDir {
 public:
  TempDir() {
    std::string pattern = absl::StrCat(
        std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp", "/prometheus.XXXXXX");
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    int code = 0;
    if (!path_.empty()) RunCommand("rm -rf '" + path_ + "'", &code);
  }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Runs a command in the background; killed on destruction.
class Child {
 public:
  explicit Child(const std::vector<std::string>& argv) {
    pid_ = ::fork();
    if (pid_ == 0) {
      std::vector<char*> args;
      for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  ~Child() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  [[nodiscard]] bool started() const { return pid_ > 0; }

 private:
  pid_t pid_ = -1;
};

std::unique_ptr<ServerProcess> StartServer() {
  ServerProcessOptions options;
  options.flags = {"--admin_address=127.0.0.1:0", "--test_routes"};
  auto server = ServerProcess::Start(options);
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? std::move(*server) : nullptr;
}

// Traffic() sends a few requests of each kind, so the histogram has series.
void Traffic(const ServerProcess& server) {
  int code = 0;
  for (int i = 0; i < 3; ++i) {
    RunCommand(absl::StrCat("curl -s -o /dev/null http://127.0.0.1:", server.port(), "/"), &code);
    RunCommand(absl::StrCat("curl -s -o /dev/null -d abc http://127.0.0.1:", server.port(),
                            "/test/digest"),
               &code);
    RunCommand(
        absl::StrCat("curl -s -o /dev/null http://127.0.0.1:", server.admin_port(), "/healthz"),
        &code);
  }
}

TEST(PrometheusE2eTest, PromtoolAcceptsTheExposition) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  Traffic(*server);
  int code = -1;
  const std::string output =
      RunCommand(absl::StrCat("curl -s http://127.0.0.1:", server->admin_port(),
                              "/metrics | promtool check metrics 2>&1"),
                 &code);
  EXPECT_EQ(code, 0) << output;
  const std::string metrics = ScrapeMetrics(server->admin_port());
  EXPECT_NE(metrics.find("epollhttp_request_duration_seconds_count{route=\"/test/digest\","
                         "code=\"2xx\"} 3\n"),
            std::string::npos)
      << metrics;
  EXPECT_EQ(server->Stop(), 0);
}

TEST(PrometheusE2eTest, ARealPrometheusScrapesAndAnswersAQuantile) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  Traffic(*server);
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const uint16_t port = FreePort();
  ASSERT_NE(port, 0);
  {
    std::ofstream config(dir.path() + "/prometheus.yml");
    config << "global:\n  scrape_interval: 1s\n"
           << "scrape_configs:\n  - job_name: epollhttp\n    static_configs:\n"
           << "      - targets: ['127.0.0.1:" << server->admin_port() << "']\n";
  }
  Child prometheus({"/usr/bin/prometheus", "--config.file=" + dir.path() + "/prometheus.yml",
                    "--storage.tsdb.path=" + dir.path() + "/data",
                    absl::StrCat("--web.listen-address=127.0.0.1:", port), "--log.level=error"});
  ASSERT_TRUE(prometheus.started());
  const std::string query =
      "histogram_quantile(0.99,sum+by+(le)(epollhttp_request_duration_seconds_bucket))";
  const std::string command =
      absl::StrCat("curl -s 'http://127.0.0.1:", port, "/api/v1/query?query=", query, "'");
  // Prometheus scrapes every second: ask until the answer holds a value.
  std::string answer;
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(60);
  while (Clock::now() < deadline) {
    int code = 0;
    answer = RunCommand(command, &code);
    if (answer.find("\"resultType\":\"vector\",\"result\":[{") != std::string::npos) break;
  }
  // {"status":"success","data":{"resultType":"vector","result":[{"metric":{},
  //  "value":[<time>,"<seconds>"]}]}}
  const size_t value = answer.find("\"value\":[");
  ASSERT_NE(value, std::string::npos) << answer;
  const size_t quote = answer.find(",\"", value);
  ASSERT_NE(quote, std::string::npos) << answer;
  const double seconds = std::strtod(answer.c_str() + quote + 2, nullptr);
  EXPECT_GT(seconds, 0.0) << answer;
  EXPECT_LE(seconds, 10.0) << answer;
  EXPECT_EQ(server->Stop(), 0);
}

}  // namespace
}  // namespace epollhttp::test
