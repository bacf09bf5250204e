// The runner against a test server in this process that misbehaves on
// purpose: every error category must be counted exactly.
#include "loadgen/runner.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/fd.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "loadgen/fiber.h"
#include "loadgen/fiber_client.h"
#include "testing/process_stats.h"

namespace epollhttp::loadgen {
namespace {

double WallSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

constexpr char kHello[] = "Hello! I am an epoll server.";

// A blocking HTTP/1.1 server, one thread per connection. The path picks the
// behaviour: /ok answers properly, /status answers 503, /body answers 200 with
// the wrong body, /fewer reports one byte fewer than it read, /drop closes
// after the head (mid-upload), /slow answers after 1 s, /early answers right
// after the head and then reads the body (without X-Received-Body-Bytes),
// /reason1000 and /reason100000 answer 200 with a reason phrase that long,
// /endless answers with a 64 MiB body delimited by closing the connection,
// /reject answers 413 right after the head and closes with the body unread,
// /continue sends 100 Continue when asked before it reads the body,
// /garbage answers with a broken status line, /extra sends bytes after its
// response.
class MisbehavingServer {
 public:
  MisbehavingServer() {
    listener_ = Fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    EXPECT_EQ(::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(::listen(listener_.get(), 64), 0);
    ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { Accept(); });
  }

  ~MisbehavingServer() {
    stopping_ = true;
    ::shutdown(listener_.get(), SHUT_RDWR);
    acceptor_.join();
    for (std::thread& t : connections_) t.join();
  }

  uint16_t port() const { return port_; }

 private:
  void Accept() {
    while (true) {
      const int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      connections_.emplace_back([this, fd] { Serve(Fd(fd)); });
    }
  }

  void Serve(Fd fd) {
    timeval timeout{5, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    std::string buffer;
    char chunk[65536];
    while (!stopping_) {
      size_t end;
      while ((end = buffer.find("\r\n\r\n")) == std::string::npos) {
        const ssize_t n = ::recv(fd.get(), chunk, sizeof(chunk), 0);
        if (n <= 0) return;
        buffer.append(chunk, static_cast<size_t>(n));
      }
      const std::string head = buffer.substr(0, end + 4);
      buffer.erase(0, end + 4);
      const std::string path =
          head.substr(head.find(' ') + 1, head.find(' ', head.find(' ') + 1) - head.find(' ') - 1);
      if (path == "/drop") return;  // Closes with the body unread.
      if (path == "/reject") {
        const std::string response =
            "HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        (void)::send(fd.get(), response.data(), response.size(), MSG_NOSIGNAL);
        return;  // Closes with the body unread.
      }
      if (path == "/continue" && head.find("\r\nExpect: 100-continue\r\n") != std::string::npos) {
        const std::string interim = "HTTP/1.1 100 Continue\r\n\r\n";
        if (::send(fd.get(), interim.data(), interim.size(), MSG_NOSIGNAL) < 0) return;
      }
      int64_t length = 0;
      const size_t cl = head.find("Content-Length: ");
      if (cl != std::string::npos) {
        (void)absl::SimpleAtoi(head.substr(cl + 16, head.find("\r\n", cl) - cl - 16), &length);
      }
      if (path == "/early") {
        const std::string response = absl::StrCat(
            "HTTP/1.1 200 OK\r\nContent-Length: ", sizeof(kHello) - 1, "\r\n\r\n", kHello);
        if (::send(fd.get(), response.data(), response.size(), MSG_NOSIGNAL) < 0) return;
      }
      int64_t read = static_cast<int64_t>(std::min<size_t>(buffer.size(), length));
      buffer.erase(0, static_cast<size_t>(read));
      while (read < length) {
        const ssize_t n =
            ::recv(fd.get(), chunk, std::min<int64_t>(sizeof(chunk), length - read), 0);
        if (n <= 0) return;
        read += n;
      }
      if (path == "/early") continue;  // Answered already.
      if (path == "/endless") {
        const std::string head = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n";
        if (::send(fd.get(), head.data(), head.size(), MSG_NOSIGNAL) < 0) return;
        const std::string block(1 << 20, 'x');
        for (int i = 0; i < 64; ++i) {
          if (::send(fd.get(), block.data(), block.size(), MSG_NOSIGNAL) < 0) return;
        }
        return;  // Closing ends the body.
      }
      if (path == "/slow") std::this_thread::sleep_for(std::chrono::seconds(1));  // Slow server.
      const int status = path == "/status" ? 503 : 200;
      const std::string body = path == "/body" ? "nope" : kHello;
      const int64_t reported = path == "/fewer" ? read - 1 : read;
      const std::string reason = path == "/reason1000"     ? std::string(1000, 'x')
                                 : path == "/reason100000" ? std::string(100000, 'x')
                                                           : "X";
      const std::string response =
          absl::StrCat("HTTP/1.1 ", path == "/garbage" ? "2x0" : absl::StrCat(status), " ", reason,
                       "\r\nContent-Length: ", body.size(), "\r\nX-Received-Body-Bytes: ", reported,
                       "\r\n\r\n", body, path == "/extra" ? "junk" : "");
      if (::send(fd.get(), response.data(), response.size(), MSG_NOSIGNAL) < 0) return;
    }
  }

  Fd listener_;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::vector<std::thread> connections_;
};

class RunnerTest : public ::testing::Test {
 protected:
  RunOptions Options(const std::string& path, int64_t body_bytes = 1000) {
    payload_ = Payload::Generated(body_bytes);
    RunOptions options;
    options.origin = absl::StrCat("http://127.0.0.1:", server_.port());
    options.path = path;
    options.payload = payload_.get();
    options.threads = 2;
    options.clients = 2;
    options.requests_per_client = 3;
    options.expect_body = kHello;
    options.timeout = std::chrono::milliseconds(300);
    return options;
  }

  RunStats RunIt(const RunOptions& options) {
    double seconds = 0;
    double start = 0;
    std::atomic<int64_t> completed{0};
    const double before = WallSeconds();
    absl::StatusOr<RunStats> stats = loadgen::Run(options, &completed, &seconds, &start);
    EXPECT_TRUE(stats.ok()) << stats.status();
    EXPECT_EQ(completed.load(), options.clients * options.requests_per_client);
    if (!stats.ok()) return RunStats();
    // The time series accounts for every request, in the seconds of the run.
    EXPECT_GE(start, before);
    EXPECT_LE(start, WallSeconds());
    int64_t requests = 0, errors = 0, received = 0;
    for (const auto& [t, second] : stats->series.seconds()) {
      EXPECT_GE(t, static_cast<int64_t>(start));
      EXPECT_LE(t, static_cast<int64_t>(start + seconds) + 1);
      requests += second.requests;
      errors += second.errors;
      received += second.bytes_received;
    }
    EXPECT_EQ(requests, stats->succeeded + stats->failed);
    EXPECT_EQ(errors, stats->failed);
    EXPECT_EQ(received, stats->bytes_received);
    return *stats;
  }

  MisbehavingServer server_;
  std::unique_ptr<Payload> payload_;
};

int64_t Errors(const RunStats& s, ErrorKind kind) { return s.errors[static_cast<int>(kind)]; }

TEST_F(RunnerTest, WellBehavedServerSucceedsAndCountsBytes) {
  const RunStats s = RunIt(Options("/ok"));
  EXPECT_EQ(s.succeeded, 6);
  EXPECT_EQ(s.failed, 0);
  EXPECT_EQ(s.bytes_sent, 6000);
  EXPECT_EQ(s.bytes_received, 6 * 28);
  EXPECT_EQ(s.status_codes.at(200), 6);
  EXPECT_EQ(s.latency.count(), 6);
}

TEST_F(RunnerTest, EveryAnsweredRequestIsTimedPhaseByPhase) {
  const RunStats s = RunIt(Options("/ok"));
  auto phase = [&s](Phase p) -> const Histogram& { return s.phases[static_cast<int>(p)]; };
  EXPECT_EQ(phase(Phase::kConnect).count(), 2);  // Keep-alive: one connection per client.
  EXPECT_EQ(phase(Phase::kTls).count(), 0);
  EXPECT_EQ(phase(Phase::kSend).count(), 6);
  EXPECT_EQ(phase(Phase::kWait).count(), 6);
  EXPECT_EQ(phase(Phase::kReceive).count(), 6);
  EXPECT_EQ(s.upload_rate.count(), 6);
  // The phases of a request lie within it, so their sums lie within the
  // sum of the latencies (each figure is rounded down to a microsecond).
  EXPECT_LE(phase(Phase::kSend).sum() + phase(Phase::kWait).sum() + phase(Phase::kReceive).sum(),
            s.latency.sum() + 6 * 3);
  RunOptions options = Options("/ok");
  options.keepalive = false;
  EXPECT_EQ(RunIt(options).phases[static_cast<int>(Phase::kConnect)].count(), 6);
}

TEST_F(RunnerTest, AnEarlyFinalAnswerIsThatStatusNotAWriteError) {
  // The server answers 413 after the head and closes: 32 MB cannot have
  // gone, and the upload stops at the answer.
  RunOptions options = Options("/reject", 32 << 20);
  RunStats s = RunIt(options);
  EXPECT_EQ(s.status_codes[413], 6);
  EXPECT_EQ(Errors(s, ErrorKind::kWrite), 0);
  EXPECT_EQ(Errors(s, ErrorKind::kStatus), 6);
  EXPECT_LT(s.bytes_sent, 6 * (int64_t{32} << 20));
  options.expect_status = 413;
  s = RunIt(options);
  EXPECT_EQ(s.succeeded, 6);
  // Waiting for 100 Continue, the answer comes before any body byte.
  options.expect_continue = true;
  options.continue_timeout = std::chrono::milliseconds(5000);
  s = RunIt(options);
  EXPECT_EQ(s.succeeded, 6);
  EXPECT_EQ(s.status_codes[413], 6);
  EXPECT_EQ(s.bytes_sent, 0);
}

TEST_F(RunnerTest, ExpectContinueSendsTheBodyAfterThe100) {
  RunOptions options = Options("/continue", 100000);
  options.expect_continue = true;
  options.continue_timeout = std::chrono::milliseconds(5000);  // Not reached: the 100 comes.
  const RunStats s = RunIt(options);
  EXPECT_EQ(s.succeeded, 6) << Errors(s, ErrorKind::kRead) << " " << Errors(s, ErrorKind::kWrite);
  EXPECT_EQ(s.bytes_sent, 6 * 100000);
  // A server that never sends 100: the body goes after the timeout.
  options.path = "/ok";
  options.continue_timeout = std::chrono::milliseconds(1);
  EXPECT_EQ(RunIt(options).succeeded, 6);
}

TEST_F(RunnerTest, ProtocolFaultsAreTheirOwnKind) {
  RunOptions options = Options("/garbage");
  RunStats s = RunIt(options);
  EXPECT_EQ(Errors(s, ErrorKind::kProtocol), 6);
  EXPECT_EQ(Errors(s, ErrorKind::kRead), 0);
  options.path = "/extra";
  options.method = "GET";
  s = RunIt(options);
  EXPECT_EQ(Errors(s, ErrorKind::kProtocol), 6);
  EXPECT_EQ(s.failed, 6);
}

TEST_F(RunnerTest, AClientUploadRateStretchesTheSendPhase) {
  RunOptions options = Options("/ok", 100'000);
  options.requests_per_client = 1;
  options.upload_bytes_per_second = 1e6;  // 100 kB at 1 MB/s: 100 ms.
  options.timeout = std::chrono::milliseconds(5000);
  const RunStats s = RunIt(options);
  EXPECT_EQ(s.succeeded, 2);
  // A slice goes when its last byte is due, so the send phase cannot be
  // shorter than the body takes at the rate.
  EXPECT_GE(s.phases[static_cast<int>(Phase::kSend)].min(), 100'000 - 1'000);
  EXPECT_LE(s.upload_rate.max(), 1'010);  // kB/s.
}

TEST_F(RunnerTest, WrongStatusIsCounted) {
  const RunStats s = RunIt(Options("/status"));
  EXPECT_EQ(Errors(s, ErrorKind::kStatus), 6);
  EXPECT_EQ(s.failed, 6);
  EXPECT_EQ(s.status_codes.at(503), 6);
}

TEST_F(RunnerTest, WrongBodyIsCounted) {
  const RunStats s = RunIt(Options("/body"));
  EXPECT_EQ(Errors(s, ErrorKind::kBody), 6);
  EXPECT_EQ(s.failed, 6);
}

TEST_F(RunnerTest, FewerReceivedBytesAreLostBytes) {
  const RunStats s = RunIt(Options("/fewer"));
  EXPECT_EQ(Errors(s, ErrorKind::kLostBytes), 6);
  EXPECT_EQ(s.lost_body_bytes, 6);
}

TEST_F(RunnerTest, ConnectionDroppedMidUploadIsAWriteError) {
  // 32 MB cannot sit in socket buffers, so the upload itself fails.
  const RunStats s = RunIt(Options("/drop", 32 << 20));
  EXPECT_EQ(Errors(s, ErrorKind::kWrite), 6);
  EXPECT_EQ(s.failed, 6);
}

TEST_F(RunnerTest, SlowServerIsAReadTimeout) {
  RunOptions options = Options("/slow");
  options.requests_per_client = 1;
  const RunStats s = RunIt(options);
  EXPECT_EQ(Errors(s, ErrorKind::kRead), 2);
}

TEST_F(RunnerTest, ServerThatIsDownIsAConnectError) {
  int port = 0;
  {
    MisbehavingServer gone;
    port = gone.port();
  }  // Closed: connections are refused.
  RunOptions options = Options("/ok");
  options.origin = absl::StrCat("http://127.0.0.1:", port);
  const RunStats s = RunIt(options);
  EXPECT_EQ(Errors(s, ErrorKind::kConnect), 6);
}

TEST_F(RunnerTest, GetSendsNoBody) {
  RunOptions options = Options("/ok");
  options.method = "GET";
  const RunStats s = RunIt(options);
  EXPECT_EQ(s.succeeded, 6);
  EXPECT_EQ(s.bytes_sent, 0);
}

TEST_F(RunnerTest, AResponseThatArrivesDuringTheUploadIsRead) {
  // 16 MB cannot sit in socket buffers: the client waits for write space
  // while the response arrives, and must still find the response afterwards
  // rather than wait for input that has already been reported.
  RunOptions options = Options("/early", 16 << 20);
  options.threads = 1;
  options.clients = 1;
  const RunStats s = RunIt(options);
  EXPECT_EQ(s.succeeded, 3);
  EXPECT_EQ(s.failed, 0);
}

TEST_F(RunnerTest, ALongReasonPhraseIsReadAndAnOverlongOneIsAReadErrorNotACrash) {
  // cpp-httplib's status-line regex needs ~350 bytes of stack per character.
  RunOptions options = Options("/reason1000");
  options.method = "GET";
  RunStats s = RunIt(options);
  EXPECT_EQ(s.succeeded, 6);
  options.path = "/reason100000";
  s = RunIt(options);
  EXPECT_EQ(Errors(s, ErrorKind::kRead), 6);
}

TEST_F(RunnerTest, AnEndlessBodyIsCountedNotKept) {
  RunOptions options = Options("/endless");
  options.method = "GET";
  options.requests_per_client = 1;
  options.timeout = std::chrono::milliseconds(5000);
  const int64_t rss_before = ::epollhttp::test::ResidentBytes();
  const RunStats s = RunIt(options);
  const int64_t growth = ::epollhttp::test::ResidentBytes() - rss_before;
  EXPECT_EQ(Errors(s, ErrorKind::kBody), 2);
  EXPECT_EQ(s.bytes_received, 2 * (int64_t{64} << 20));
  // Two 64 MiB bodies arrive at once; keeping them would take 128 MiB.
  EXPECT_LT(growth, 32 << 20);
}

TEST_F(RunnerTest, FiberClientWorksOutsideAFiberToo) {
  // Outside a fiber scheduler the client blocks in poll(), like cpp-httplib's.
  FiberClient client("127.0.0.1", server_.port(), std::chrono::milliseconds(1000));
  ASSERT_EQ(FiberScheduler::Current(), nullptr);
  for (int i = 0; i < 2; ++i) {  // The second request reuses the connection.
    httplib::Result result = client.Get("/ok");
    ASSERT_TRUE(result) << httplib::to_string(result.error());
    EXPECT_EQ(result->status, 200);
    EXPECT_EQ(result->body, kHello);
  }
  FiberClient refused("127.0.0.1", 1, std::chrono::milliseconds(1000));
  httplib::Result result = refused.Get("/ok");
  EXPECT_EQ(result.error(), httplib::Error::Connection);
}

TEST_F(RunnerTest, OpenModeTakesAboutTheScheduledTime) {
  RunOptions options = Options("/ok");
  options.schedule = RateSchedule::Parse("100").value();  // 6 at 100/s: the last due at 50 ms.
  double seconds = 0;
  double start = 0;
  const RunStats s = loadgen::Run(options, nullptr, &seconds, &start).value();
  EXPECT_EQ(s.succeeded, 6);
  EXPECT_GE(seconds, 0.05);
  EXPECT_EQ(s.latency_uncorrected.count(), 6);
}

TEST_F(RunnerTest, RateStagesSendThePlannedRequestsAndEndWithTheSchedule) {
  RunOptions options = Options("/ok");
  // 0 -> 400/s over 100 ms plans 20 requests, then 50 ms of pause.
  options.schedule = RateSchedule::Parse("0,400:100ms,0:0s,0:50ms").value();
  options.requests_per_client = 1;  // Ignored: the stages set the length.
  double seconds = 0;
  double start = 0;
  const RunStats s = loadgen::Run(options, nullptr, &seconds, &start).value();
  EXPECT_EQ(s.succeeded, 20);
  EXPECT_EQ(s.latency.count(), 20);
  EXPECT_EQ(s.latency_uncorrected.count(), 20);
  // The run lasts the schedule, its closing pause included.
  EXPECT_GE(seconds, 0.150);
}

TEST_F(RunnerTest, SeveralBodiesTakeTheirSharesAndAreReportedApart) {
  RunOptions options = Options("/ok");
  const std::unique_ptr<Payload> small = Payload::Generated(10);
  const std::unique_ptr<Payload> large = Payload::Generated(100000);
  options.bodies = {{"small", small.get(), 3}, {"large", large.get(), 1}};
  options.requests_per_client = 20;
  const RunStats s = RunIt(options);
  ASSERT_EQ(s.bodies.size(), 2u);
  EXPECT_EQ(s.bodies[0].name, "small");
  EXPECT_EQ(s.bodies[0].requests + s.bodies[1].requests, 40);
  EXPECT_NEAR(static_cast<double>(s.bodies[0].requests), 30, 3);
  EXPECT_EQ(s.bodies[0].bytes_sent, s.bodies[0].requests * 10);
  EXPECT_EQ(s.bodies[1].bytes_sent, s.bodies[1].requests * 100000);
  EXPECT_EQ(s.bytes_sent, s.bodies[0].bytes_sent + s.bodies[1].bytes_sent);
  EXPECT_EQ(s.bodies[1].latency.count(), s.bodies[1].requests);
  EXPECT_EQ(s.succeeded, 40);  // X-Received-Body-Bytes matched each body.
}

TEST_F(RunnerTest, FormUploadWrapsTheFileInMultipart) {
  RunOptions options = Options("/ok", 100);
  options.content_type = payload_->WrapAsForm("image.jpeg", "image/jpeg");
  EXPECT_EQ(options.content_type.rfind("multipart/form-data; boundary=", 0), 0u);
  std::string body;
  for (size_t at = 0; at < payload_->size();) {
    const absl::string_view piece = payload_->Piece(at);
    body.append(piece.data(), piece.size());
    at += piece.size();
  }
  EXPECT_NE(body.find("Content-Disposition: form-data; name=\"file\"; filename=\"image.jpeg\""),
            std::string::npos);
  EXPECT_NE(body.find("\r\n\r\nabcdefghij"), std::string::npos);
  const RunStats s = RunIt(options);
  EXPECT_EQ(s.succeeded, 6);
  EXPECT_EQ(s.bytes_sent, static_cast<int64_t>(6 * payload_->size()));
}

}  // namespace
}  // namespace epollhttp::loadgen
