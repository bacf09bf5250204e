// The in-process Server over real loopback sockets: keep-alive, pipelining,
// byte-at-a-time heads, large bodies, resets, bounded memory and descriptors,
// graceful shutdown, with and without deferred accept.
#include <sys/socket.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "server/server.h"
#include "testing/fd_util.h"
#include "testing/hello_server.h"
#include "testing/process_stats.h"
#include "testing/socket_util.h"

namespace epollhttp {
namespace {

using ::epollhttp::test::ConnectLoopback;
using ::epollhttp::test::HeaderValue;
using ::epollhttp::test::HelloServer;
using ::epollhttp::test::kSanitizerAllocator;
using ::epollhttp::test::OpenFdCount;
using ::epollhttp::test::ReadResponse;
using ::epollhttp::test::ReadToEof;
using ::epollhttp::test::ResidentBytes;
using ::epollhttp::test::Response;
using ::epollhttp::test::SendAll;
using ::epollhttp::test::WaitForFdCount;

const char kGet[] = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";

// Every test runs with deferred accept (a connection is accepted with its
// first bytes and read at once) and without (accepted at the handshake, so
// the first read usually finds nothing and the connection waits in epoll).
class ServerTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.port = 0;
    options.threads = 2;
    options.defer_accept = GetParam();
    ASSERT_TRUE(hello_.Start(options).ok());
  }
  HelloServer hello_;
  Server& server_ = hello_.server();
};

TEST_P(ServerTest, KeepAliveConnectionServesManyRequests) {
  Fd fd = ConnectLoopback(server_.port());
  ASSERT_TRUE(fd);
  std::string leftover;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(SendAll(fd.get(), kGet));
    const Response r = ReadResponse(fd.get(), &leftover);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "Hello! I am an epoll server.");
    EXPECT_EQ(HeaderValue(r.head, "Content-Type"), "text/html");
    EXPECT_EQ(HeaderValue(r.head, "X-Received-Body-Bytes"), "0");
  }
}

TEST_P(ServerTest, ThreePipelinedRequestsInOneSegmentAnswerInOrder) {
  Fd fd = ConnectLoopback(server_.port());
  ASSERT_TRUE(SendAll(fd.get(),
                      "POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"
                      "HEAD /b HTTP/1.1\r\nHost: t\r\n\r\n"
                      "PUT /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "2\r\nxy\r\n0\r\n\r\n"));
  std::string leftover;
  const Response a = ReadResponse(fd.get(), &leftover);
  EXPECT_EQ(HeaderValue(a.head, "X-Received-Body-Bytes"), "3");
  // HEAD: headers only; read it by hand since its Content-Length has no body.
  while (leftover.find("\r\n\r\n") == std::string::npos) {
    char buf[512];
    const ssize_t n = ::recv(fd.get(), buf, sizeof(buf), 0);
    ASSERT_GT(n, 0);
    leftover.append(buf, n);
  }
  const size_t head_end = leftover.find("\r\n\r\n") + 4;
  EXPECT_TRUE(leftover.rfind("HTTP/1.1 200 OK\r\n", 0) == 0) << leftover;
  leftover.erase(0, head_end);
  const Response c = ReadResponse(fd.get(), &leftover);
  EXPECT_EQ(c.status, 200);
  EXPECT_EQ(HeaderValue(c.head, "X-Received-Body-Bytes"), "2");
  EXPECT_EQ(c.body, "Hello! I am an epoll server.");
}

TEST_P(ServerTest, RequestSentOneByteAtATime) {
  Fd fd = ConnectLoopback(server_.port());
  const std::string request =
      "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
  for (const char c : request) ASSERT_TRUE(SendAll(fd.get(), std::string(1, c)));
  std::string leftover;
  const Response r = ReadResponse(fd.get(), &leftover);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(HeaderValue(r.head, "X-Received-Body-Bytes"), "5");
}

TEST_P(ServerTest, LargeBodyIsCountedExactly) {
  Fd fd = ConnectLoopback(server_.port());
  const std::string body(10 * 1024 * 1024 + 7, 'z');
  ASSERT_TRUE(SendAll(fd.get(), "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                                    std::to_string(body.size()) + "\r\n\r\n" + body));
  std::string leftover;
  const Response r = ReadResponse(fd.get(), &leftover);
  EXPECT_EQ(HeaderValue(r.head, "X-Received-Body-Bytes"), std::to_string(body.size()));
}

TEST_P(ServerTest, BodyDiscardStopsExactlyAtAPipelinedRequest) {
  // The body's tail is discarded in the kernel; it must stop at the body's
  // last byte so the request behind it is read intact.
  Fd fd = ConnectLoopback(server_.port());
  const std::string body(3 * 1024 * 1024 + 1, 'p');
  ASSERT_TRUE(SendAll(
      fd.get(), "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(body.size()) +
                    "\r\n\r\n" + body +
                    "PUT /next HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"));
  std::string leftover;
  Response r = ReadResponse(fd.get(), &leftover);
  EXPECT_EQ(HeaderValue(r.head, "X-Received-Body-Bytes"), std::to_string(body.size()));
  r = ReadResponse(fd.get(), &leftover);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(HeaderValue(r.head, "X-Received-Body-Bytes"), "3");
}

TEST_P(ServerTest, ParseErrorIsAnsweredThenTheConnectionCloses) {
  Fd fd = ConnectLoopback(server_.port());
  ASSERT_TRUE(SendAll(fd.get(),
                      "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"));
  bool reset = false;
  const std::string all = ReadToEof(fd.get(), &reset);
  EXPECT_FALSE(reset);
  EXPECT_TRUE(all.rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0) << all;
  EXPECT_NE(all.find("Connection: close\r\n"), std::string::npos);
}

TEST_P(ServerTest, Http10ClosesAfterTheResponse) {
  Fd fd = ConnectLoopback(server_.port());
  ASSERT_TRUE(SendAll(fd.get(), "GET / HTTP/1.0\r\n\r\n"));
  bool reset = false;
  const std::string all = ReadToEof(fd.get(), &reset);
  EXPECT_FALSE(reset);
  EXPECT_NE(all.find("Connection: close\r\n"), std::string::npos);
  EXPECT_NE(all.find("Hello! I am an epoll server."), std::string::npos);
}

TEST_P(ServerTest, ClientResetMidBodyCostsOnlyItsConnection) {
  {
    Fd fd = ConnectLoopback(server_.port());
    ASSERT_TRUE(
        SendAll(fd.get(), "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\nab"));
    linger reset_on_close{1, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &reset_on_close, sizeof(reset_on_close));
  }  // Closing with SO_LINGER 0 sends RST.
  Fd fd = ConnectLoopback(server_.port());
  ASSERT_TRUE(SendAll(fd.get(), kGet));
  std::string leftover;
  EXPECT_EQ(ReadResponse(fd.get(), &leftover).status, 200);
}

TEST_P(ServerTest, ResetClientsLeaveNoDescriptorBehind) {
  const int baseline = OpenFdCount();
  ASSERT_GT(baseline, 0);
  for (int i = 0; i < 20; ++i) {
    Fd fd = ConnectLoopback(server_.port());
    ASSERT_TRUE(SendAll(
        fd.get(),
        i % 2 == 0 ? "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 9000\r\n\r\nab" : "GET / HT"));
    linger reset_on_close{1, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &reset_on_close, sizeof(reset_on_close));
  }
  // The client sockets are closed; the server's ends must follow.
  EXPECT_EQ(WaitForFdCount(0, baseline), baseline);
  // And it still serves.
  Fd fd = ConnectLoopback(server_.port());
  ASSERT_TRUE(SendAll(fd.get(), kGet));
  std::string leftover;
  EXPECT_EQ(ReadResponse(fd.get(), &leftover).status, 200);
}

TEST_P(ServerTest, HundredMegabyteBodyStreamsInBoundedMemory) {
  constexpr int64_t kBody = 100 * 1024 * 1024;
  Fd fd = ConnectLoopback(server_.port());
  ASSERT_TRUE(SendAll(fd.get(), "PUT /big HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                                    std::to_string(kBody) + "\r\n\r\n"));
  const std::string block(256 * 1024, 'b');
  const int64_t baseline = ResidentBytes();
  ASSERT_GT(baseline, 0);
  int64_t peak = baseline;
  for (int64_t sent = 0; sent < kBody; sent += static_cast<int64_t>(block.size())) {
    ASSERT_TRUE(SendAll(fd.get(), block));
    peak = std::max(peak, ResidentBytes());
  }
  std::string leftover;
  const Response r = ReadResponse(fd.get(), &leftover);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(HeaderValue(r.head, "X-Received-Body-Bytes"), std::to_string(kBody));
  // Server and client share this process; both stream. A buffered body would
  // add 100 MB. (Not under a sanitizer allocator: it keeps freed memory resident.)
  if (!kSanitizerAllocator) {
    EXPECT_LT(peak - baseline, 8 * 1024 * 1024) << "RSS grew from " << baseline << " to " << peak;
  }
}

TEST_P(ServerTest, SlowReaderWithTinyReceiveBufferGetsEveryResponseIntact) {
  Fd fd = ConnectLoopback(server_.port(), /*receive_buffer=*/2048);
  ASSERT_TRUE(fd);
  constexpr int kRequests = 4000;  // ~700 KB of responses: far beyond socket buffers.
  std::string requests;
  for (int i = 0; i < kRequests; ++i) {
    requests += "POST /" + std::to_string(i) +
                " HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(i % 10) + "\r\n\r\n" +
                std::string(i % 10, 'x');
  }
  // Send from another thread: the server stops reading while its output is
  // backed up, so this blocks until the reader below catches up.
  std::thread sender([&] { EXPECT_TRUE(SendAll(fd.get(), requests)); });
  std::string leftover;
  for (int i = 0; i < kRequests; ++i) {
    const Response r = ReadResponse(fd.get(), &leftover, /*read_size=*/97);
    ASSERT_EQ(r.status, 200) << "response " << i;
    ASSERT_EQ(HeaderValue(r.head, "X-Received-Body-Bytes"), std::to_string(i % 10));
    ASSERT_EQ(r.body, "Hello! I am an epoll server.");
  }
  sender.join();
}

TEST_P(ServerTest, GracefulShutdownFinishesTheRequestInFlight) {
  Fd fd = ConnectLoopback(server_.port());
  ASSERT_TRUE(SendAll(fd.get(), "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nab"));
  // On loopback the bytes are queued at the server once send() returns; the
  // server must count them as a started request even if it has not read them.
  server_.BeginShutdown();
  ASSERT_TRUE(SendAll(fd.get(), "cd"));
  std::string leftover;
  const Response r = ReadResponse(fd.get(), &leftover);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(HeaderValue(r.head, "X-Received-Body-Bytes"), "4");
  // BeginShutdown() is asynchronous, so the response may or may not carry
  // Connection: close; either way the server then closes cleanly.
  bool reset = true;
  EXPECT_EQ(ReadToEof(fd.get(), &reset), leftover);
  EXPECT_FALSE(reset);
  EXPECT_TRUE(leftover.empty());
}

TEST_P(ServerTest, TlsClientHelloIsRefusedAtItsFirstByte) {
  // A client speaking TLS to the plain port: 0x16 can start no request line,
  // so the answer comes without waiting for a line end that never comes.
  Fd fd = ConnectLoopback(server_.port());
  ASSERT_TRUE(SendAll(fd.get(), absl::string_view("\x16\x03\x01\x02\x00\x01\x00\x01\xfc", 9)));
  std::string leftover;
  const Response r = ReadResponse(fd.get(), &leftover);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "bad request line\n");
}

TEST(SharedListenerTest, LoopsSharingOneSocketServeEveryConnection) {
  ServerOptions options;
  options.port = 0;
  options.threads = 2;
  options.shared_listener = true;
  HelloServer hello;
  ASSERT_TRUE(hello.Start(options).ok());
  Server& server = hello.server();
  std::vector<Fd> clients;
  for (int i = 0; i < 20; ++i) {
    clients.push_back(ConnectLoopback(server.port()));
    ASSERT_TRUE(SendAll(clients.back().get(), kGet));
  }
  for (Fd& fd : clients) {
    std::string leftover;
    EXPECT_EQ(ReadResponse(fd.get(), &leftover).status, 200);
  }
}

INSTANTIATE_TEST_SUITE_P(Accept, ServerTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Deferred" : "Immediate";
                         });

}  // namespace
}  // namespace epollhttp
