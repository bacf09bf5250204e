// Timeouts, limits and connection caps of the in-process Server, observed the
// way a client sees them (raw sockets) and through GET /metrics. Every timeout
// is tested deterministically in //server:connection_test; the cases here are
// the ones where the kernel's part matters (a lingering close the client reads
// cleanly, real backpressure, the accept queue, many slow sockets).
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/server.h"
#include "testing/hello_server.h"
#include "testing/socket_util.h"

namespace epollhttp {
namespace {

using ::epollhttp::test::ConnectLoopback;
using ::epollhttp::test::HeaderValue;
using ::epollhttp::test::ReadResponse;
using ::epollhttp::test::ReadToEof;
using ::epollhttp::test::Response;
using ::epollhttp::test::SendAll;
using std::chrono::milliseconds;

const char kGet[] = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";

ServerOptions ShortTimeouts() {
  ServerOptions options;
  options.port = 0;
  options.threads = 2;
  options.connection.header_timeout = milliseconds(300);
  options.connection.body_timeout = milliseconds(300);
  options.connection.idle_timeout = milliseconds(300);
  options.connection.write_timeout = milliseconds(300);
  options.connection.linger_time = milliseconds(300);
  return options;
}

// Metric() scrapes /metrics and returns sample `name`, or -1.
int64_t Metric(uint16_t port, const std::string& name) {
  return ::epollhttp::test::MetricValue(::epollhttp::test::ScrapeMetrics(port), name);
}

// WaitForMetric() polls /metrics until `name` reaches `value` or 10 s pass;
// returns the last value seen.
int64_t WaitForMetric(uint16_t port, const std::string& name, int64_t value) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int64_t now = Metric(port, name);
  while (now != value && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
    now = Metric(port, name);
  }
  return now;
}

// Readable() is whether `fd` has bytes (or EOF) within `wait`.
bool Readable(int fd, milliseconds wait) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(wait.count())) == 1;
}

class HardeningTest : public ::testing::Test {
 protected:
  void Start(const ServerOptions& options) { ASSERT_TRUE(server_.Start(options).ok()); }
  uint16_t port() const { return server_.port(); }
  ::epollhttp::test::HelloServer server_;
};

TEST_F(HardeningTest, HeaderTimeoutAnswers408ThenCloses) {
  Start(ShortTimeouts());
  Fd fd = ConnectLoopback(port());
  ASSERT_TRUE(SendAll(fd.get(), "GET / HTTP/1.1\r\nHo"));
  bool reset = true;
  const std::string all = ReadToEof(fd.get(), &reset);
  EXPECT_FALSE(reset);
  EXPECT_EQ(all.rfind("HTTP/1.1 408 Request Timeout\r\n", 0), 0u) << all;
  EXPECT_NE(all.find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(Metric(port(), "epollhttp_timeouts_total{kind=\"header\"}"), 1);
  EXPECT_EQ(Metric(port(), "epollhttp_requests_total{code=\"408\"}"), 1);
}

TEST_F(HardeningTest, SilentNewConnectionIsClosedQuietlyAfterHeaderTimeout) {
  Start(ShortTimeouts());
  Fd fd = ConnectLoopback(port());
  bool reset = true;
  EXPECT_EQ(ReadToEof(fd.get(), &reset), "");
  EXPECT_FALSE(reset);
  EXPECT_EQ(Metric(port(), "epollhttp_timeouts_total{kind=\"header\"}"), 1);
}

TEST_F(HardeningTest, ClientThatNeverReadsIsClosedByWriteTimeout) {
  Start(ShortTimeouts());
  Fd fd = ConnectLoopback(port(), /*receive_buffer=*/2048);
  std::string requests;
  for (int i = 0; i < 20000; ++i) requests += kGet;  // ~2.6 MB of responses.
  // The server stops reading once its output backs up, so send from a thread
  // that gives up when the server closes.
  std::thread sender([&] { SendAll(fd.get(), requests); });
  EXPECT_EQ(WaitForMetric(port(), "epollhttp_timeouts_total{kind=\"write\"}", 1), 1);
  ::shutdown(fd.get(), SHUT_RDWR);
  sender.join();
}

TEST_F(HardeningTest, OversizedContentLengthGets413BeforeTheBody) {
  ServerOptions options = ShortTimeouts();
  options.codec.body.max_body_bytes = 1000;
  Start(options);
  Fd fd = ConnectLoopback(port());
  ASSERT_TRUE(SendAll(fd.get(), "PUT / HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\n"));
  // The client keeps sending its body; it must still read the 413.
  std::thread sender([&] { SendAll(fd.get(), std::string(200000, 'b')); });
  std::string leftover;
  const Response r = ReadResponse(fd.get(), &leftover);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(HeaderValue(r.head, "Connection"), "close");
  sender.join();
  EXPECT_EQ(Metric(port(), "epollhttp_request_body_bytes_total"), 0);
  EXPECT_EQ(Metric(port(), "epollhttp_parse_errors_total{code=\"413\"}"), 1);
}

TEST_F(HardeningTest, ChunkedBodyGets413WhenItCrossesTheLimit) {
  ServerOptions options = ShortTimeouts();
  options.codec.body.max_body_bytes = 1000;
  Start(options);
  Fd fd = ConnectLoopback(port());
  std::string request = "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 3; ++i) request += "190\r\n" + std::string(400, 'c') + "\r\n";
  ASSERT_TRUE(SendAll(fd.get(), request));
  std::string leftover;
  const Response r = ReadResponse(fd.get(), &leftover);
  EXPECT_EQ(r.status, 413);
  // Two chunks (800 bytes) fit; the third announces 1200 in all.
  EXPECT_EQ(Metric(port(), "epollhttp_request_body_bytes_total"), 800);
}

TEST_F(HardeningTest, OversizedHeadGets431) {
  ServerOptions options = ShortTimeouts();
  options.codec.parser.max_head_bytes = 1024;
  Start(options);
  Fd fd = ConnectLoopback(port());
  ASSERT_TRUE(SendAll(
      fd.get(), "GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(2000, 'h') + "\r\n\r\n"));
  std::string leftover;
  EXPECT_EQ(ReadResponse(fd.get(), &leftover).status, 431);
}

TEST_F(HardeningTest, MaxConnectionsHoldsNewClientsUntilASlotFrees) {
  ServerOptions options;
  options.port = 0;
  options.threads = 2;
  options.max_connections = 3;
  Start(options);
  std::vector<Fd> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(ConnectLoopback(port()));
    ASSERT_TRUE(SendAll(held.back().get(), kGet));
    std::string leftover;
    ASSERT_EQ(ReadResponse(held.back().get(), &leftover).status, 200);
  }
  // The kernel completes the handshake, but the server does not accept.
  Fd waiting = ConnectLoopback(port());
  ASSERT_TRUE(SendAll(waiting.get(), kGet));
  EXPECT_FALSE(Readable(waiting.get(), milliseconds(300)));
  held.pop_back();  // Frees a slot.
  std::string leftover;
  EXPECT_EQ(ReadResponse(waiting.get(), &leftover).status, 200);
}

TEST_F(HardeningTest, SlowlorisDoesNotDelayANormalClient) {
  ServerOptions options = ShortTimeouts();
  options.connection.header_timeout = milliseconds(1000);
  Start(options);
  constexpr int kSlow = 200;
  const std::string head = "GET / HTTP/1.1\r\nHost: t\r\nX-Slow: 0123456789\r\n\r\n";
  std::vector<Fd> slow;
  for (int i = 0; i < kSlow; ++i) {
    slow.push_back(ConnectLoopback(port()));
    ASSERT_TRUE(slow.back());
  }
  // One byte per connection every 200 ms, for longer than the header timeout.
  std::thread dribbler([&] {
    for (int round = 0; round < 8; ++round) {
      for (Fd& fd : slow) {
        ::send(fd.get(), &head[round], 1, MSG_NOSIGNAL);
      }
      std::this_thread::sleep_for(milliseconds(200));  // The slowloris pace.
    }
  });
  Fd fd = ConnectLoopback(port());
  std::string leftover;
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(SendAll(fd.get(), kGet));
    ASSERT_EQ(ReadResponse(fd.get(), &leftover).status, 200) << "request " << i;
  }
  dribbler.join();
  int answered_408 = 0;
  for (Fd& s : slow) {
    bool reset = false;
    const std::string all = ReadToEof(s.get(), &reset);
    if (all.rfind("HTTP/1.1 408 ", 0) == 0) ++answered_408;
  }
  EXPECT_EQ(answered_408, kSlow);
  EXPECT_EQ(Metric(port(), "epollhttp_timeouts_total{kind=\"header\"}"), kSlow);
}

TEST_F(HardeningTest, HealthzAndMetricsAnswerGetOnly) {
  Start(ShortTimeouts());
  Fd fd = ConnectLoopback(port());
  std::string leftover;
  ASSERT_TRUE(SendAll(fd.get(), "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"));
  Response r = ReadResponse(fd.get(), &leftover);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok\n");
  ASSERT_TRUE(SendAll(fd.get(), "POST /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nx"));
  r = ReadResponse(fd.get(), &leftover);
  EXPECT_EQ(r.body, "Hello! I am an epoll server.");
  ASSERT_TRUE(SendAll(fd.get(), "GET /metrics?x=1 HTTP/1.1\r\nHost: t\r\n\r\n"));
  r = ReadResponse(fd.get(), &leftover);
  EXPECT_EQ(HeaderValue(r.head, "Content-Type"), "text/plain; version=0.0.4");
  EXPECT_NE(r.body.find("epollhttp_requests_total{code=\"200\"} 2\n"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("epollhttp_request_body_bytes_total 1\n"), std::string::npos);
}

}  // namespace
}  // namespace epollhttp
