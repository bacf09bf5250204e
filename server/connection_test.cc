// Connection over a FakeTransport and a ManualTime: every timeout, partial
// writes and backpressure, half-close, the lingering close, the discard path,
// graceful drain and the hostile-load bounds, deterministically (no sockets,
// no waiting).
#include "server/connection.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "net/buffer.h"
#include "net/event_loop.h"
#include "server/app.h"
#include "server/metrics.h"
#include "server/observers.h"
#include "testing/fake_transport.h"

namespace epollhttp {
namespace {

using ::epollhttp::test::FakeTransport;
using std::chrono::milliseconds;

constexpr char kGet[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
constexpr size_t kHelloResponse = 118;  // Bytes of the hello reply to kGet.

// Count() is how many times `needle` occurs in `text`.
int Count(absl::string_view text, absl::string_view needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != absl::string_view::npos;
       at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

std::string Repeat(absl::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out.append(s.data(), s.size());
  return out;
}

class ConnectionTest : public ::testing::Test {
 protected:
  ConnectionTest() : app_(&metrics_, /*admin_listener=*/false), stats_(metrics_.loop(0)) {
    auto loop = net::EventLoop::Create(&time_);
    EXPECT_TRUE(loop.ok());
    loop_ = std::move(*loop);
    context_.loop = loop_.get();
    context_.router = &app_.router();
    context_.observer = &stats_;
    context_.options.header_timeout = milliseconds(1000);
    context_.options.body_timeout = milliseconds(1000);
    context_.options.idle_timeout = milliseconds(5000);
    context_.options.write_timeout = milliseconds(2000);
    context_.options.linger_time = milliseconds(500);
    context_.options.body_min_rate = 0;
    context_.scratch = absl::MakeSpan(scratch_, sizeof(scratch_));
    context_.shared_output = &shared_output_;
    context_.pool = &pool_;
    context_.on_close = [](void* self, Connection*) {
      ++static_cast<ConnectionTest*>(self)->closes_;
    };
    context_.owner = this;
  }

  ~ConnectionTest() override {
    // Whatever happened, nothing touched the transport after Close(), and
    // no byte held for a FIN was left waiting while the connection read.
    if (fake_ != nullptr) {
      EXPECT_EQ(fake_->after_close(), 0);
      EXPECT_EQ(fake_->held_waits(), 0);
    }
  }

  // Open() starts a connection over a new fake whose peer has already sent
  // `first` (as with deferred accept).
  void Open(absl::string_view first = "") {
    transports_.push_back(std::make_unique<FakeTransport>());
    fake_ = transports_.back().get();
    fake_->PeerSend(first);
    connection_ = std::make_unique<Connection>(&context_, fake_);
    ASSERT_TRUE(connection_->Start());
  }

  // Run() delivers readiness and due timers until nothing is left to do.
  // (Timers first: a round also brings the loop's time up to the clock.)
  void Run() {
    for (int i = 0; i < 1000; ++i) {
      const int rounds = loop_->RunUntilIdle();
      const int calls = fake_->Pump();
      ASSERT_LT(calls, 10'000) << "the connection spins on a readiness it does not consume";
      if (rounds == 1 && calls == 0) return;
    }
    FAIL() << "no quiescence";
  }

  // Advance() moves the clock and runs what became due.
  void Advance(milliseconds d) {
    time_.Advance(d);
    Run();
  }

  uint64_t Timeouts(TimeoutKind kind) const {
    return metrics_.Snapshot().timeouts[static_cast<int>(kind)];
  }
  bool closed() const { return connection_->state() == Connection::State::kClosed; }

  ManualTime time_;
  std::unique_ptr<net::EventLoop> loop_;
  Metrics metrics_{1};
  HelloApp app_;
  StatsObserver stats_;
  char scratch_[64 * 1024];
  net::Buffer shared_output_{1 << 20};
  ConnectionContext context_;
  ConnectionWorkPool pool_;
  std::vector<std::unique_ptr<FakeTransport>> transports_;  // Outlive connection_.
  FakeTransport* fake_ = nullptr;                           // The newest.
  std::unique_ptr<Connection> connection_;
  int closes_ = 0;
};

TEST(ConnectionSizeTest, AnIdleConnectionStaysWithinItsByteBudget) {
  // docs/architecture.md's budget: with its 80-byte socket transport and the
  // server's list links, an accepted connection is one 256-byte block.
  EXPECT_LE(sizeof(Connection), 152u);
}

TEST_F(ConnectionTest, AnswersKeepAliveRequestsAndSetsNoDelayOnlyForTheSecondWrite) {
  Open(kGet);
  EXPECT_EQ(fake_->TakeWritten().size(), kHelloResponse);
  EXPECT_FALSE(fake_->nodelay());
  EXPECT_TRUE(fake_->watching());
  fake_->PeerSend(kGet);
  Run();
  EXPECT_EQ(Count(fake_->TakeWritten(), "HTTP/1.1 200 OK"), 1);
  EXPECT_TRUE(fake_->nodelay());
  EXPECT_EQ(connection_->state(), Connection::State::kOpen);
  EXPECT_EQ(connection_->buffer_bytes(), 0u);  // An idle connection holds no buffers.
  EXPECT_EQ(fake_->fin_writes(), 0);           // Kept-alive answers leave at once.
}

TEST_F(ConnectionTest, AnsweredRequestsAreTimedForTheDurationHistogram) {
  Open(absl::StrCat(kGet, kGet, "BAD\r\n\r\n"));
  const MetricsSnapshot s = metrics_.Snapshot();
  // Route "other" (index 0), class 2xx: the two answered requests; the one
  // that did not parse is not timed.
  uint64_t timed = 0;
  for (size_t i = 0; i < s.durations.size(); ++i) timed += s.durations[i];
  uint64_t ok = 0;
  for (int b = 0; b <= kDurationBounds; ++b)
    ok += s.durations[static_cast<size_t>(kStatusClasses * 0 + 1) * (kDurationBounds + 1) +
                      static_cast<size_t>(b)];
  EXPECT_EQ(ok, 2u);
  EXPECT_EQ(timed, 2u);
}

TEST_F(ConnectionTest, ConnectionCloseIsAnsweredAndClosedWithoutRegistering) {
  Open("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  EXPECT_NE(fake_->TakeWritten().find("Connection: close\r\n"), std::string::npos);
  EXPECT_TRUE(closed());
  EXPECT_FALSE(fake_->write_shut());  // Nothing unread: no lingering close.
  EXPECT_EQ(closes_, 1);
  EXPECT_EQ(fake_->fin_writes(), 1);  // The last answer may wait for the FIN.
}

TEST_F(ConnectionTest, AClosingAnswerTheWindowSplitsWaitsOnlyForWritability) {
  Open();
  fake_->set_window(100);
  fake_->PeerSend("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  Run();
  EXPECT_FALSE(closed());
  EXPECT_EQ(fake_->events(), uint32_t{EPOLLOUT});  // Not EPOLLIN: the tail is held.
  fake_->set_window(FakeTransport::kUnlimited);
  Run();
  EXPECT_NE(fake_->TakeWritten().find("Connection: close\r\n"), std::string::npos);
  EXPECT_TRUE(closed());
  EXPECT_EQ(fake_->fin_writes(), fake_->writes());  // Every try at it, the blocked ones too.
}

TEST_F(ConnectionTest, HeaderTimeoutAnswers408ThenLingers) {
  Open("GET / HTTP/1.1\r\nHo");
  Advance(milliseconds(999));
  EXPECT_EQ(fake_->TakeWritten(), "");
  Advance(milliseconds(1));
  EXPECT_EQ(fake_->TakeWritten().rfind("HTTP/1.1 408 Request Timeout\r\n", 0), 0u);
  EXPECT_EQ(Timeouts(TimeoutKind::kHeader), 1u);
  EXPECT_EQ(connection_->state(), Connection::State::kLingering);
  EXPECT_TRUE(fake_->write_shut());
  Advance(milliseconds(500));
  EXPECT_TRUE(closed());
}

TEST_F(ConnectionTest, HeaderTimeoutRunsFromTheFirstByteNotFromProgress) {
  Open("G");
  for (int i = 0; i < 9; ++i) {
    Advance(milliseconds(100));
    fake_->PeerSend("E");  // Progress, but the head never completes.
  }
  Advance(milliseconds(99));
  EXPECT_EQ(Timeouts(TimeoutKind::kHeader), 0u);
  Advance(milliseconds(1));
  EXPECT_EQ(Timeouts(TimeoutKind::kHeader), 1u);
}

TEST_F(ConnectionTest, SilentNewConnectionIsClosedQuietly) {
  Open();
  Advance(milliseconds(1000));
  EXPECT_TRUE(closed());
  EXPECT_EQ(fake_->TakeWritten(), "");
  EXPECT_EQ(Timeouts(TimeoutKind::kHeader), 1u);
}

TEST_F(ConnectionTest, BodyWithoutProgressIsClosedWithoutAResponse) {
  Open("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nab");
  Advance(milliseconds(999));
  EXPECT_FALSE(closed());
  Advance(milliseconds(1));
  EXPECT_TRUE(closed());
  EXPECT_EQ(fake_->TakeWritten(), "");
  EXPECT_EQ(Timeouts(TimeoutKind::kBody), 1u);
}

TEST_F(ConnectionTest, BodyProgressKeepsTheBodyGoingWithoutAMinimumRate) {
  Open("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\n");
  for (int i = 0; i < 6; ++i) {
    Advance(milliseconds(900));
    fake_->PeerSend("x");
    Run();
  }
  EXPECT_NE(fake_->TakeWritten().find("X-Received-Body-Bytes: 6\r\n"), std::string::npos);
}

TEST_F(ConnectionTest, MinimumRateClosesATrickleAfterTheFirstBodyTimeout) {
  context_.options.body_min_rate = 100;  // After 1 s, 100 B/s on average.
  Open("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n");
  // One byte per 500 ms: never 1 s without progress, but far below the rate.
  // The deadline is 1 s + received / 100 B/s: with 2 bytes by 1 s, 1.02 s.
  Advance(milliseconds(500));
  fake_->PeerSend("x");
  Run();
  Advance(milliseconds(500));
  fake_->PeerSend("x");
  Run();
  EXPECT_FALSE(closed());
  Advance(milliseconds(19));
  EXPECT_FALSE(closed());
  Advance(milliseconds(1));
  EXPECT_TRUE(closed());
  EXPECT_EQ(Timeouts(TimeoutKind::kBody), 1u);
}

TEST_F(ConnectionTest, MinimumRateSparesAnUploadAboveIt) {
  context_.options.body_min_rate = 100;
  Open("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 300\r\n\r\n");
  for (int i = 0; i < 3; ++i) {
    Advance(milliseconds(900));  // 100 bytes per 900 ms: above 100 B/s.
    fake_->PeerSend(std::string(100, 'b'));
    Run();
  }
  EXPECT_FALSE(closed());
  EXPECT_NE(fake_->TakeWritten().find("X-Received-Body-Bytes: 300\r\n"), std::string::npos);
  EXPECT_EQ(Timeouts(TimeoutKind::kBody), 0u);
}

TEST_F(ConnectionTest, IdleKeepAliveConnectionIsClosedQuietly) {
  Open(kGet);
  fake_->TakeWritten();
  Advance(milliseconds(4999));
  EXPECT_FALSE(closed());
  Advance(milliseconds(1));
  EXPECT_TRUE(closed());
  EXPECT_EQ(fake_->TakeWritten(), "");
  EXPECT_EQ(Timeouts(TimeoutKind::kIdle), 1u);
}

TEST_F(ConnectionTest, OutputThePeerNeverTakesIsClosedByTheWriteTimeout) {
  Open();
  fake_->set_window(10);
  fake_->PeerSend(kGet);
  Run();
  EXPECT_EQ(connection_->queued_output(), kHelloResponse - 10);
  EXPECT_EQ(fake_->events(), static_cast<uint32_t>(EPOLLOUT));  // Not reading meanwhile.
  Advance(milliseconds(1999));
  EXPECT_FALSE(closed());
  Advance(milliseconds(1));
  EXPECT_TRUE(closed());
  EXPECT_EQ(Timeouts(TimeoutKind::kWrite), 1u);
}

TEST_F(ConnectionTest, WriteProgressKeepsASlowReaderGoing) {
  Open();
  fake_->set_window(0);
  fake_->PeerSend(Repeat(kGet, 3));
  Run();
  std::string all;
  while (!closed() && Count(all, "Hello!") < 3) {
    Advance(milliseconds(1500));  // Under the write timeout between bits of progress.
    fake_->OpenWindow(50);
    Run();
    all += fake_->TakeWritten();
  }
  EXPECT_EQ(Count(all, "HTTP/1.1 200 OK"), 3);
  EXPECT_EQ(Timeouts(TimeoutKind::kWrite), 0u);
}

TEST_F(ConnectionTest, PartialWritesOfAFewBytesDeliverEveryResponseIntact) {
  Open();
  fake_->set_write_limit(7);
  fake_->PeerSend(Repeat(kGet, 40));
  Run();
  const std::string all = fake_->TakeWritten();
  EXPECT_EQ(all.size(), 40 * kHelloResponse);
  EXPECT_EQ(Count(all, "HTTP/1.1 200 OK\r\n"), 40);
  EXPECT_EQ(connection_->queued_output(), 0u);
}

TEST_F(ConnectionTest, NonReadingPipelinerIsHeldToBoundedMemory) {
  Open();
  fake_->set_window(1000);
  fake_->PeerSend(Repeat(kGet, 200 * 1024 / 27));
  Run();
  // Queued output is one batch plus one response at most; the input buffer
  // at most one read; the rest stays with the peer (in the kernel).
  EXPECT_LE(connection_->queued_output(), kOutputBatch + kHelloResponse);
  EXPECT_LE(connection_->buffered_input(), kHeadReadBytes);
  EXPECT_LE(connection_->peak_buffer_bytes(), kOutputBatch + kHeadReadBytes + 2 * kHelloResponse);
  EXPECT_GT(fake_->unread(), 150u * 1024);
  EXPECT_EQ(fake_->events(), static_cast<uint32_t>(EPOLLOUT));
  // Once the peer reads, everything is answered, in order and intact.
  fake_->set_window(FakeTransport::kUnlimited);
  Run();
  EXPECT_EQ(fake_->unread(), 0u);
  EXPECT_EQ(connection_->responses(), static_cast<int64_t>(200 * 1024 / 27));
  EXPECT_EQ(connection_->queued_output(), 0u);
  EXPECT_EQ(connection_->buffer_bytes(), 0u);
}

TEST_F(ConnectionTest, OneEventAnswersABoundedNumberOfRequests) {
  Open();
  fake_->PeerSend(Repeat(kGet, 1000));
  const int64_t reads_before = fake_->reads();
  EXPECT_EQ(fake_->Pump(1), 1);  // One readiness report.
  EXPECT_LE(connection_->responses(), kResponsesPerEvent);
  EXPECT_LE(fake_->reads() - reads_before, kReadsPerEvent);
  EXPECT_GT(connection_->responses(), 0);
  // The rest is answered in later rounds.
  Run();
  EXPECT_EQ(connection_->responses(), 1000);
  EXPECT_EQ(Count(fake_->TakeWritten(), "HTTP/1.1 200 OK\r\n"), 1000);
}

TEST_F(ConnectionTest, ABacklogWithNothingMoreToReadIsResumedByTheLoop) {
  // 600 small requests fit in one 16 KiB read: after the first event's 256
  // answers, nothing is readable, so only the loop's resume can finish them.
  Open(Repeat(kGet, 600));
  EXPECT_EQ(connection_->responses(), kResponsesPerEvent);
  EXPECT_EQ(fake_->unread(), 0u);
  Run();
  EXPECT_EQ(connection_->responses(), 600);
}

TEST_F(ConnectionTest, PartialHeadAfterLargeBatchesKeepsLittleMemory) {
  Open();
  for (int round = 0; round < 3; ++round) {
    fake_->PeerSend(absl::StrCat(round == 0 ? "" : "st: a\r\n\r\n", Repeat(kGet, 2000),
                                 "GET / HTTP/1.1\r\nHo"));
    Run();
    fake_->TakeWritten();
  }
  EXPECT_EQ(connection_->responses(), 3 * 2000 + 2);
  EXPECT_EQ(connection_->buffered_input(), 18u);
  EXPECT_LE(connection_->buffer_bytes(), 4096u);
  EXPECT_LE(connection_->peak_buffer_bytes(), 16u * 1024);
}

TEST_F(ConnectionTest, HalfClosedClientGetsItsResponsesThenTheConnectionCloses) {
  Open();
  fake_->PeerSend(Repeat(kGet, 600));
  fake_->PeerClose();
  Run();
  EXPECT_EQ(Count(fake_->TakeWritten(), "HTTP/1.1 200 OK\r\n"), 600);
  EXPECT_TRUE(closed());
  EXPECT_FALSE(fake_->write_shut());
}

TEST_F(ConnectionTest, HalfClosedClientWithQueuedOutputIsClosedAfterTheFlush) {
  Open();
  fake_->set_window(100);
  fake_->PeerSend(Repeat(kGet, 2));
  fake_->PeerClose();
  Run();
  EXPECT_FALSE(closed());
  fake_->set_window(FakeTransport::kUnlimited);
  Run();
  EXPECT_EQ(Count(fake_->TakeWritten(), "HTTP/1.1 200 OK\r\n"), 2);
  EXPECT_TRUE(closed());
}

TEST_F(ConnectionTest, ErrorResponseLingersReadingAndDroppingInput) {
  Open("BAD\r\n\r\n");
  EXPECT_EQ(fake_->TakeWritten().rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u);
  EXPECT_EQ(connection_->state(), Connection::State::kLingering);
  EXPECT_TRUE(fake_->write_shut());
  EXPECT_EQ(fake_->fin_writes(), 1);           // Its FIN is the lingering close's shutdown.
  fake_->PeerSend(std::string(100'000, 'z'));  // The client was still sending.
  Run();
  EXPECT_EQ(fake_->unread(), 0u);
  EXPECT_EQ(fake_->writes_after_shutdown(), 0);
  Advance(milliseconds(499));
  EXPECT_FALSE(closed());
  Advance(milliseconds(1));
  EXPECT_TRUE(closed());
}

TEST_F(ConnectionTest, LingeringEndsWhenThePeerCloses) {
  Open("BAD\r\n\r\n");
  fake_->PeerClose();
  Run();
  EXPECT_TRUE(closed());
}

TEST_F(ConnectionTest, UnreadBodyIsDroppedUnreadAndNeverPastItsEnd) {
  Open("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000000\r\n\r\nab");
  fake_->PeerSend(std::string(1'000'000 - 2, 'b') + kGet);
  Run();
  const std::string all = fake_->TakeWritten();
  EXPECT_NE(all.find("X-Received-Body-Bytes: 1000000\r\n"), std::string::npos);
  EXPECT_EQ(Count(all, "HTTP/1.1 200 OK\r\n"), 2);  // The pipelined GET was read, not dropped.
  EXPECT_EQ(fake_->bytes_discarded(), 1'000'000 - 2);
  EXPECT_EQ(metrics_.Snapshot().body_bytes, 1'000'000u);
}

TEST_F(ConnectionTest, DrainClosesAnIdleConnectionAtOnce) {
  Open(kGet);
  connection_->Drain();
  EXPECT_TRUE(closed());
}

TEST_F(ConnectionTest, DrainAnswersTheRequestAlreadySentWithConnectionClose) {
  Open(kGet);
  fake_->TakeWritten();
  fake_->PeerSend(Repeat(kGet, 5));  // Sent, not yet read when the drain starts.
  connection_->Drain();
  Run();
  const std::string all = fake_->TakeWritten();
  EXPECT_EQ(Count(all, "HTTP/1.1 200 OK\r\n"), 1);  // Only the request that started.
  EXPECT_NE(all.find("Connection: close\r\n"), std::string::npos);
  EXPECT_NE(connection_->state(), Connection::State::kOpen);
}

TEST_F(ConnectionTest, DrainLetsARequestInFlightFinish) {
  Open("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nab");
  connection_->Drain();
  EXPECT_FALSE(closed());
  fake_->PeerSend("cd");
  Run();
  const std::string all = fake_->TakeWritten();
  EXPECT_NE(all.find("X-Received-Body-Bytes: 4\r\nConnection: close\r\n"), std::string::npos)
      << all;
  // The body's last bytes were dropped unseen, so more may follow: linger.
  EXPECT_EQ(connection_->state(), Connection::State::kLingering);
  fake_->PeerClose();
  Run();
  EXPECT_TRUE(closed());
}

TEST_F(ConnectionTest, WriteErrorStopsTheWorkAtOnce) {
  Open();
  fake_->PeerSend(Repeat(kGet, 1000));
  fake_->PeerReset();
  Run();
  EXPECT_TRUE(closed());
  EXPECT_EQ(connection_->responses(), 0);  // The read failed first.
  // Reset after the first batch went out: no further batch is answered.
  Open();
  fake_->PeerSend(Repeat(kGet, 1000));
  fake_->set_window(kOutputBatch);
  fake_->Pump(1);
  fake_->PeerReset();
  Run();
  EXPECT_TRUE(closed());
  EXPECT_LE(connection_->responses(), static_cast<int64_t>(2 * kOutputBatch / kHelloResponse + 2));
}

TEST_F(ConnectionTest, ResetDuringABodyCostsOnlyThisConnection) {
  Open("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nab");
  fake_->PeerReset();
  Run();
  EXPECT_TRUE(closed());
  EXPECT_EQ(closes_, 1);
}

TEST_F(ConnectionTest, AnIdleConnectionHoldsNoWorkAndReusesThePools) {
  Open(kGet);
  EXPECT_EQ(fake_->TakeWritten().size(), kHelloResponse);
  // Between requests the connection holds only itself: its work went back.
  EXPECT_FALSE(connection_->busy());
  EXPECT_EQ(connection_->buffer_bytes(), 0u);
  EXPECT_EQ(pool_.free(), 1u);
  // A partial head takes the work (and keeps the bytes) until it completes.
  fake_->PeerSend("GET / HTTP/1.1\r\nHo");
  Run();
  EXPECT_TRUE(connection_->busy());
  EXPECT_EQ(connection_->buffered_input(), 18u);
  EXPECT_EQ(pool_.free(), 0u);
  fake_->PeerSend("st: a\r\n\r\n");
  Run();
  EXPECT_EQ(fake_->TakeWritten().size(), kHelloResponse);
  EXPECT_FALSE(connection_->busy());
  EXPECT_EQ(pool_.free(), 1u);
  EXPECT_EQ(connection_->responses(), 2);
  // The idle timeout still runs from the last response.
  Advance(milliseconds(4999));
  EXPECT_FALSE(closed());
  Advance(milliseconds(1));
  EXPECT_TRUE(closed());
}

TEST_F(ConnectionTest, AReusedWorkStartsAsNew) {
  // A connection that ended mid-head gives back work whose codec saw bytes;
  // the next connection must not see them.
  Open("GET /a-long-path HTTP/1.1\r\nHost: a\r\nX-Half: ");
  fake_->PeerReset();
  Run();
  EXPECT_TRUE(closed());
  connection_.reset();
  EXPECT_EQ(pool_.free(), 1u);
  Open(kGet);
  EXPECT_EQ(Count(fake_->TakeWritten(), "HTTP/1.1 200 OK"), 1);
  EXPECT_EQ(pool_.free(), 1u);
}

TEST_F(ConnectionTest, DrainReachesTheWorkOfARequestThatStartsLater) {
  Open(kGet);
  fake_->TakeWritten();
  EXPECT_FALSE(connection_->busy());
  // A request already sent to an idle connection (which holds no codec) is
  // answered as the last one.
  fake_->PeerSend(kGet);
  connection_->Drain();
  EXPECT_NE(fake_->TakeWritten().find("Connection: close\r\n"), std::string::npos);
  EXPECT_TRUE(closed());
}

// --- Streams that hold the read or answer later.

// What an asynchronous stream saw; the test drives its writer.
struct Probe {
  http::ResponseWriter* writer = nullptr;  // Valid while `alive`.
  std::string body;                        // Every body byte, in order.
  std::vector<std::string> events;
  int aborts = 0;
  int refused_in_abort = 0;
  bool alive = false;
  bool pause = false;   // OnBody() answers kPause.
  bool direct = false;  // The stream offers `space` for its body.
  char space[16] = {};
  int direct_reads = 0;
};

// POST /pause reads its body (pausing after each piece if asked); GET /later
// answers nothing by itself. Everything else is the hello reply.
class ProbeHandler final : public http::Handler {
 public:
  explicit ProbeHandler(Probe* probe) : probe_(probe) {}
  class Stream final : public http::RequestStream {
   public:
    explicit Stream(Probe* probe) : probe_(probe) { probe_->alive = true; }
    ~Stream() override {
      probe_->alive = false;
      probe_->writer = nullptr;
    }
    http::BodyAction OnBody(absl::string_view data, http::ResponseWriter& writer) override {
      (void)writer;
      probe_->body.append(data.data(), data.size());
      return probe_->pause ? http::BodyAction::kPause : http::BodyAction::kContinue;
    }
    absl::Span<char> BodyBuffer(size_t max) override {
      if (!probe_->direct) return {};
      return absl::Span<char>(probe_->space, std::min(max, sizeof(probe_->space)));
    }
    http::BodyAction OnBodyRead(size_t n, http::ResponseWriter& writer) override {
      (void)writer;
      probe_->body.append(probe_->space, n);
      ++probe_->direct_reads;
      return probe_->pause ? http::BodyAction::kPause : http::BodyAction::kContinue;
    }
    void OnEnd(http::ResponseWriter& writer) override {
      (void)writer;
      probe_->events.push_back("end");
    }
    void OnAbort(http::AbortReason reason) override {
      ++probe_->aborts;
      probe_->events.push_back(absl::StrCat("abort ", http::AbortReasonName(reason)));
      if (probe_->writer->Respond({}) == -ECANCELED) ++probe_->refused_in_abort;
    }

   private:
    Probe* probe_;
  };
  http::StreamStart Start(const http::RequestHead& head,
                          http::ResponseWriter& writer) const override {
    (void)head;
    probe_->writer = &writer;
    return {http::Owned(std::make_unique<Stream>(probe_)), http::BodyMode::kRead};
  }

 private:
  Probe* probe_;
};

class AsyncConnectionTest : public ConnectionTest {
 protected:
  AsyncConnectionTest() {
    router_.SetDefault(&hello_);
    router_.Handle(http::Method::kPost, "/pause", &probe_handler_);
    router_.Handle(http::Method::kGet, "/later", &probe_handler_);
    context_.router = &router_;
  }

  // Answer() finishes the held request with a 200 whose body is `text`.
  void Answer(absl::string_view text) {
    ASSERT_NE(probe_.writer, nullptr);
    http::Response response;
    response.body = text;
    EXPECT_EQ(probe_.writer->Respond(response), 0);
  }

  Probe probe_;
  ProbeHandler probe_handler_{&probe_};
  HelloHandler hello_;
  http::Router router_;
};

constexpr char kLater[] = "GET /later HTTP/1.1\r\nHost: a\r\n\r\n";

std::string PauseHead(int length) {
  return absl::StrCat("POST /pause HTTP/1.1\r\nHost: a\r\nContent-Length: ", length, "\r\n\r\n");
}

TEST_F(AsyncConnectionTest, APausedBodyStopsReadingAndResumesWithEveryByteOnce) {
  probe_.pause = true;
  Open(PauseHead(300) + std::string(100, 'a'));
  EXPECT_TRUE(connection_->held());
  EXPECT_EQ(probe_.body, std::string(100, 'a'));
  // The client keeps sending; nothing is read: the bytes stay with the peer
  // (in the kernel, where TCP pushes back).
  const int64_t reads = fake_->reads();
  fake_->PeerSend(std::string(100, 'b'));
  Run();
  fake_->PeerSend(std::string(100, 'c'));
  Run();
  EXPECT_EQ(fake_->reads(), reads);
  EXPECT_EQ(fake_->unread(), 200u);
  EXPECT_EQ(fake_->events(), 0u);  // Not even EPOLLIN: only a reset would wake it.
  // The resume lets the rest through (one read, one piece), exactly once.
  probe_.writer->ResumeBody();
  Run();
  EXPECT_EQ(probe_.body, std::string(100, 'a') + std::string(100, 'b') + std::string(100, 'c'));
  EXPECT_EQ(fake_->unread(), 0u);
  EXPECT_TRUE(probe_.events.empty());  // The end waits for the last resume.
  probe_.writer->ResumeBody();
  Run();
  EXPECT_EQ(probe_.events, (std::vector<std::string>{"end"}));
  Answer("stored");
  Run();
  EXPECT_NE(fake_->TakeWritten().find("\r\n\r\nstored"), std::string::npos);
  EXPECT_FALSE(connection_->held());
  EXPECT_FALSE(probe_.alive);
}

TEST_F(AsyncConnectionTest, ABodyIsReadIntoTheStreamsMemoryAndNeverPastItsEnd) {
  probe_.direct = true;
  Open(PauseHead(100) + "ab");  // Read with the head, as usual.
  std::string rest;
  for (int i = 0; i < 98; ++i) rest += static_cast<char>('c' + i % 20);
  fake_->PeerSend(rest + kGet);  // A pipelined request right behind the body.
  Run();
  EXPECT_EQ(probe_.body, "ab" + rest);
  EXPECT_EQ(probe_.direct_reads, 7);  // 98 bytes, 16 at a time.
  EXPECT_EQ(probe_.events, (std::vector<std::string>{"end"}));
  Answer("stored");
  Run();
  const std::string all = fake_->TakeWritten();
  EXPECT_NE(all.find("\r\n\r\nstored"), std::string::npos);
  EXPECT_EQ(Count(all, "HTTP/1.1 200 OK\r\n"), 2);  // The GET was read whole, after.
  EXPECT_EQ(metrics_.Snapshot().body_bytes, 100u);
}

TEST_F(AsyncConnectionTest, BytesFromAPipeGoOutInTheirPlaceAmongTheOthers) {
  Open(kLater);
  int ends[2];
  ASSERT_EQ(::pipe(ends), 0);
  http::ResponseHead head;
  head.content_length = 13;
  ASSERT_EQ(probe_.writer->WriteHead(head), 0);
  ASSERT_EQ(::write(ends[1], "hello ", 6), 6);
  ASSERT_EQ(probe_.writer->WritePipe(ends[0], 6), 0);
  ASSERT_EQ(::write(ends[1], "world", 5), 5);
  ASSERT_EQ(probe_.writer->WritePipe(ends[0], 5), 0);       // Continues the pipe's bytes.
  ASSERT_EQ(probe_.writer->WriteBody("!"), 0);              // After them.
  EXPECT_EQ(probe_.writer->WritePipe(ends[0], 1), -EBUSY);  // Not after the "!".
  ASSERT_EQ(probe_.writer->WriteBody("?"), 0);
  // The connection holds its own descriptor: the stream's may go at once.
  ::close(ends[0]);
  ::close(ends[1]);
  ASSERT_EQ(probe_.writer->Finish(), 0);
  fake_->set_write_limit(4);  // Every part in several writes.
  Run();
  const std::string all = fake_->TakeWritten();
  EXPECT_EQ(all.substr(all.find("\r\n\r\n") + 4), "hello world!?");
  EXPECT_GE(fake_->spliced(), 3);
  EXPECT_FALSE(connection_->held());
}

TEST_F(AsyncConnectionTest, APausedBodyIsNotKilledByTheBodyTimeoutOrTheMinimumRate) {
  context_.options.body_min_rate = 100;  // After 1 s, 100 B/s on average.
  probe_.pause = true;
  Open(PauseHead(4));
  Advance(milliseconds(900));  // 900 ms of the body's time...
  fake_->PeerSend("ab");       // ...then a piece, and the stream pauses.
  Run();
  EXPECT_TRUE(connection_->held());
  Advance(milliseconds(60'000));  // A minute of pause: far past both limits.
  EXPECT_FALSE(closed());
  EXPECT_EQ(Timeouts(TimeoutKind::kBody), 0u);
  // Resumed, the body's clock goes on from where it stopped: 900 ms used, so
  // the minimum rate allows 1 s + 2 B / 100 B/s - 900 ms = 120 ms more.
  probe_.pause = false;
  probe_.writer->ResumeBody();
  Run();
  Advance(milliseconds(119));
  EXPECT_FALSE(closed());
  Advance(milliseconds(1));
  EXPECT_TRUE(closed());
  EXPECT_EQ(Timeouts(TimeoutKind::kBody), 1u);
  EXPECT_EQ(probe_.events, (std::vector<std::string>{"abort timeout"}));
  EXPECT_EQ(probe_.refused_in_abort, 1);
}

TEST_F(AsyncConnectionTest, AWriteTimeoutStillRunsWhileAStreamHoldsTheRead) {
  Open();
  fake_->set_window(10);
  fake_->PeerSend(absl::StrCat(kGet, kLater));  // A hello the client does not read.
  Run();
  EXPECT_TRUE(connection_->held());
  EXPECT_GT(connection_->queued_output(), 0u);
  Advance(milliseconds(2000));
  EXPECT_TRUE(closed());
  EXPECT_EQ(Timeouts(TimeoutKind::kWrite), 1u);
  EXPECT_EQ(probe_.aborts, 1);
  EXPECT_EQ(probe_.events, (std::vector<std::string>{"end", "abort timeout"}));
}

TEST_F(AsyncConnectionTest, ALateAnswerGoesOutInOrderBetweenPipelinedRequests) {
  Open(absl::StrCat(kGet, kLater, kGet, kGet));
  // The first hello went out; the others wait behind the held request,
  // unanswered, however many rounds pass.
  std::string all = fake_->TakeWritten();
  EXPECT_EQ(Count(all, "HTTP/1.1 200 OK"), 1);
  for (int round = 0; round < 5; ++round) {
    loop_->RunOnce(std::chrono::nanoseconds(0));
    fake_->Pump();
  }
  EXPECT_EQ(fake_->TakeWritten(), "");
  EXPECT_EQ(connection_->responses(), 1);
  // The answer, in pieces, after the callbacks returned.
  http::ResponseHead head;
  head.content_length = 10;
  ASSERT_EQ(probe_.writer->WriteHead(head), 0);
  ASSERT_EQ(probe_.writer->WriteBody("late-"), 0);
  Run();
  EXPECT_EQ(Count(fake_->TakeWritten(), "late-"), 1);  // Sent as it comes.
  ASSERT_EQ(probe_.writer->WriteBody("reply"), 0);
  ASSERT_EQ(probe_.writer->Finish(), 0);
  Run();
  all = fake_->TakeWritten();
  const size_t late = all.find("reply");
  const size_t hello = all.find("Hello!");
  EXPECT_NE(late, std::string::npos);
  EXPECT_LT(late, hello);
  EXPECT_EQ(Count(all, "Hello!"), 2);  // The two behind it, after it.
  EXPECT_EQ(connection_->responses(), 4);
  EXPECT_FALSE(connection_->busy());  // Idle again: the work went back.
}

TEST_F(AsyncConnectionTest, ALateAnswerToAHalfClosedClientIsWrittenThenTheConnectionCloses) {
  Open(kLater);
  fake_->PeerClose();
  Run();
  EXPECT_FALSE(closed());  // Not read while held: the FIN waits.
  Answer("bye");
  Run();
  EXPECT_NE(fake_->TakeWritten().find("\r\n\r\nbye"), std::string::npos);
  EXPECT_TRUE(closed());
  EXPECT_EQ(probe_.aborts, 0);
}

TEST_F(AsyncConnectionTest, AResetAbortsTheStreamOnceAndLaterWritesAreRefused) {
  Open(kLater);
  http::ResponseWriter* writer = probe_.writer;
  fake_->PeerReset();
  Run();
  EXPECT_TRUE(closed());
  EXPECT_EQ(probe_.events, (std::vector<std::string>{"end", "abort reset"}));
  EXPECT_FALSE(probe_.alive);
  EXPECT_EQ(closes_, 1);
  (void)writer;  // The writer died with the stream's request; nothing to call.
}

TEST_F(AsyncConnectionTest, TheEndOfTheStreamMidBodyAbortsTheStream) {
  Open(PauseHead(10) + "abc");
  fake_->PeerClose();
  Run();
  EXPECT_TRUE(closed());
  EXPECT_EQ(probe_.events, (std::vector<std::string>{"abort end of stream"}));
}

TEST_F(AsyncConnectionTest, ShutdownAbortsAHeldRequestOnce) {
  Open(kLater);
  connection_->Drain();  // The held request may still finish...
  EXPECT_FALSE(closed());
  connection_->Abort();  // ...until the shutdown deadline.
  EXPECT_TRUE(closed());
  EXPECT_EQ(probe_.events, (std::vector<std::string>{"end", "abort shutdown"}));
  connection_.reset();  // Nothing more on destruction.
  EXPECT_EQ(probe_.aborts, 1);
}

TEST_F(AsyncConnectionTest, DestroyingAConnectionAbortsItsRequestAsAShutdown) {
  Open(PauseHead(10) + "abc");
  connection_.reset();
  EXPECT_EQ(probe_.events, (std::vector<std::string>{"abort shutdown"}));
}

TEST_F(AsyncConnectionTest, AMalformedBodyAbortsTheStreamAndAnswers400) {
  Open("POST /pause HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXX");
  EXPECT_EQ(probe_.events, (std::vector<std::string>{"abort bad request"}));
  EXPECT_EQ(fake_->TakeWritten().rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u);
  EXPECT_EQ(connection_->state(), Connection::State::kLingering);
}

TEST_F(AsyncConnectionTest, AnEarlyAnswerDuringTheBodyClosesAfterLingering) {
  probe_.pause = true;
  Open(PauseHead(100) + "abc");
  http::Response response;
  response.status = 413;
  ASSERT_EQ(probe_.writer->Respond(response), 0);
  Run();
  const std::string out = fake_->TakeWritten();
  EXPECT_EQ(out.rfind("HTTP/1.1 413 Content Too Large\r\n", 0), 0u);
  EXPECT_NE(out.find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(connection_->state(), Connection::State::kLingering);
  EXPECT_EQ(probe_.aborts, 0);
  fake_->PeerSend(std::string(97, 'z'));  // The rest of the body is dropped.
  Run();
  EXPECT_EQ(fake_->unread(), 0u);
  EXPECT_EQ(probe_.body, "abc");
}

// GET /big streams 64 pieces of 64 KiB, each while the writer has room
// (as a download would), the rest from OnWritable().
class BigStream final : public http::RequestStream {
 public:
  explicit BigStream(int* chunks) : chunks_(chunks) {}
  void OnEnd(http::ResponseWriter& writer) override {
    http::ResponseHead head;
    head.content_length = 64 * 64 * 1024;
    writer.WriteHead(head);
    OnWritable(writer);
  }
  void OnWritable(http::ResponseWriter& writer) override {
    // Write while the writer has room, as a download would.
    while (writer.writable() && *chunks_ < 64) {
      writer.WriteBody(std::string(64 * 1024, 'd'));
      ++*chunks_;
    }
    if (*chunks_ == 64) writer.Finish();
  }

 private:
  int* chunks_;
};
class BigHandler final : public http::Handler {
 public:
  explicit BigHandler(int* chunks) : chunks_(chunks) {}
  http::StreamStart Start(const http::RequestHead& head,
                          http::ResponseWriter& writer) const override {
    (void)head;
    (void)writer;
    return {http::Owned(std::make_unique<BigStream>(chunks_)), http::BodyMode::kDiscard};
  }

 private:
  int* chunks_;
};

// GET /big routed, the connection opened with the peer's window shut.
class BigStreamTest : public AsyncConnectionTest {
 protected:
  BigStreamTest() { router_.Handle(http::Method::kGet, "/big", &big_); }

  // SendWithClosedWindow() opens the connection with the window shut,
  // delivers `bytes` in one read and runs the loop.
  void SendWithClosedWindow(absl::string_view bytes) {
    Open();
    fake_->set_window(0);
    fake_->PeerSend(bytes);
    Run();
  }

  int chunks_ = 0;
  BigHandler big_{&chunks_};
};

TEST_F(BigStreamTest, AStreamedBodyLargerThanTheWindowWaitsForWritable) {
  SendWithClosedWindow("GET /big HTTP/1.1\r\nHost: a\r\n\r\n");
  // Nothing taken: the stream stopped at the high-water mark.
  EXPECT_LE(connection_->queued_output(), http::ResponseWriter::kHighWater + 64 * 1024 + 200);
  EXPECT_LT(chunks_, 64);
  size_t received = 0;
  while (!closed() && chunks_ < 64) {
    fake_->OpenWindow(256 * 1024);
    Run();
    received += fake_->TakeWritten().size();
    EXPECT_LE(connection_->queued_output(), http::ResponseWriter::kHighWater + 64 * 1024 + 200);
  }
  fake_->set_window(FakeTransport::kUnlimited);
  Run();
  received += fake_->TakeWritten().size();
  EXPECT_EQ(chunks_, 64);
  EXPECT_GT(received, 64u * 64 * 1024);
  EXPECT_FALSE(connection_->busy());
}

TEST_F(BigStreamTest, AnAnswerFinishedFromOnWritableLetsTheRequestsBehindItGo) {
  // Everything arrives in one read: nothing more will make the socket
  // readable, so the requests behind /big wait on the connection alone.
  SendWithClosedWindow(absl::StrCat("GET /big HTTP/1.1\r\nHost: a\r\n\r\n", kGet, kGet));
  EXPECT_LT(chunks_, 64);
  fake_->set_window(FakeTransport::kUnlimited);
  Run();
  EXPECT_EQ(chunks_, 64);
  const std::string all = fake_->TakeWritten();
  EXPECT_EQ(Count(all, "Hello!"), 2);
  EXPECT_EQ(connection_->responses(), 3);
  EXPECT_FALSE(closed());
}

TEST_F(BigStreamTest, AnAnswerFinishedFromOnWritableLeavesTheConnectionToItsIdleTimeout) {
  SendWithClosedWindow("GET /big HTTP/1.1\r\nHost: a\r\n\r\n");
  fake_->set_window(FakeTransport::kUnlimited);
  Run();
  EXPECT_EQ(chunks_, 64);
  EXPECT_EQ(connection_->responses(), 1);
  fake_->TakeWritten();
  Advance(milliseconds(4999));
  EXPECT_FALSE(closed());
  Advance(milliseconds(1));
  EXPECT_TRUE(closed());
  EXPECT_EQ(Timeouts(TimeoutKind::kIdle), 1u);
}

}  // namespace
}  // namespace epollhttp
