// connection_fuzzer.cc: the real Connection (codec, streams, timers, bounds)
// over a FakeTransport, with a simulated clock.
//
// Input layout: byte 0 is the configuration (bits 0-2: read sizes, see
// split_plan.h; bit 3: the admin listener's router, where anything but
// /healthz is 404; bit 4: asynchronous streams, below; bit 5: the server's
// counters (with /metrics routed) and an access log; bit 6: a minimum body
// rate; bit 7: small parser limits and a 64-byte write high-water mark; past
// every 32 reads the smallest read doubles). The rest is what the client sends,
// optionally followed by the marker "\0ACT" and a script of two-byte actions
// (pieces of client data to deliver first, action), then optionally by the
// marker "\0ASY" and the streams' script. Actions close or open the peer's
// window, cap each write, advance the clock, half-close or reset the
// connection, start a graceful drain, or abort it as the shutdown deadline
// does. After the script, the peer reads
// everything and the clock runs on until the connection has ended.
//
// With bit 4 every request goes to an asynchronous stream whose behaviour
// comes from the streams' script (one byte per stream, and a pseudo-random
// sequence seeded by it): whether it reads its body; whether it pauses after
// a body piece and for how many loop rounds; when it answers (from Start(),
// from OnEnd(), some rounds after OnEnd(), or early, at its first body
// piece); whether in one Respond(), in pieces (Content-Length or chunked,
// one piece per round, or after OnWritable() once the writer is not
// writable()) or by cancelling; and whether a 104 comes first. From the
// same sequence: whether it offers memory for its body to be read into
// (BodyBuffer(), a size drawn per read) and whether its Content-Length
// pieces go through a pipe (WritePipe(), WriteBody() when the connection
// refuses, as while earlier pipe bytes wait behind later ones). It answers
// `#<index> <body bytes> <body hash>`. A stream whose byte is 0xff is never
// started: its handler returns none, which the codec answers 500.
//
// Oracles (any failure aborts):
// - the output is a well-formed sequence of HTTP/1.1 responses (Content-
//   Length or chunked; 1xx skipped); nothing after one that carries
//   Connection: close; no 2xx after an error; no content in the answer to a
//   HEAD request (error answers included); X-Received-Body-Bytes never
//   exceeds the bytes sent; never more responses than requests could have
//   been sent;
// - streams: answers come in request order (#0, #1, ...); every body byte
//   reaches its stream exactly once and in order (each stream's length and
//   hash at OnEnd() equal a reference codec's fed the whole input at once);
//   no callback while paused but OnAbort(); OnAbort() at most once, and
//   nothing after it; every writer call the stream makes in order succeeds,
//   and after an abort every one is refused; every stream is destroyed, and
//   each either finished its answer or was aborted;
// - nothing is written or read after close, and nothing written after the
//   write side was shut; never a wait for input while the last bytes, written
//   to leave with the FIN, wait for it;
// - bounds: per readiness report at most kReadsPerEvent reads and
//   kResponsesPerEvent responses; queued output at most one batch plus one
//   response; buffered input at most a head plus one read; no spinning on a
//   readiness the connection does not consume;
// - bytes dropped unread never exceed the Content-Length bodies announced,
//   and no request's body bytes exceed its Content-Length;
// - each timeout is the one specified: a write timeout only after
//   write_timeout without a written byte, an idle timeout only after
//   idle_timeout without one, a body timeout only after body_timeout without
//   a read (without a minimum rate), a header timeout only after
//   header_timeout; the header timeout of a started head answers 408, the
//   others close without writing;
// - every connection ends once the client stops sending and time runs on;
// - without time, drains, resets, early answers or counters in the script, the output
//   does not depend on read sizes or write limits (`100 Continue` aside,
//   which depends on timing by design).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "fuzz/split_plan.h"
#include "net/buffer.h"
#include "net/event_loop.h"
#include "server/access_log.h"
#include "server/app.h"
#include "server/connection.h"
#include "server/http/codec.h"
#include "server/metrics.h"
#include "server/observers.h"
#include "testing/fake_transport.h"

namespace {

using ::epollhttp::Connection;
using ::epollhttp::ConnectionContext;
using ::epollhttp::ConnectionWorkPool;
using ::epollhttp::TimeoutKind;
using ::epollhttp::fuzz::SplitPlan;
using ::epollhttp::test::FakeTransport;
using Clock = ::epollhttp::net::EventLoop::Clock;
using std::chrono::milliseconds;
namespace http = ::epollhttp::http;

constexpr absl::string_view kActMarker = absl::string_view("\0ACT", 4);
constexpr absl::string_view kAsyncMarker = absl::string_view("\0ASY", 4);
constexpr size_t kLargestResponse = 512;  // Hello, health, 404, error and stream replies.
// A /metrics answer: under 2 KiB of counters plus at most 4 routes x 5
// status classes x 20 lines of histogram.
constexpr size_t kLargestMetricsResponse = 64 * 1024;

void Check(bool ok, const char* what) { ::epollhttp::fuzz::Check(ok, "connection_fuzzer", what); }

// FNV-1a over a stream's body bytes.
uint64_t Hash(uint64_t hash, absl::string_view data) {
  for (const char c : data) {
    hash ^= static_cast<uint8_t>(c);
    hash *= 0x100000001b3u;
  }
  return hash;
}
constexpr uint64_t kHashSeed = 0xcbf29ce484222325u;

// What a stream had received when its body ended.
struct BodyRecord {
  int64_t bytes = 0;
  uint64_t hash = kHashSeed;
  bool read = false;  // The stream read the bytes (not only counted them).
};

// What one run's streams share with the harness.
struct StreamLog {
  void Clear(absl::string_view new_script) {
    script = new_script;
    started = live = aborted = 0;
    early = cancelled_midway = false;
    ends.clear();
    no_stream.clear();
  }
  // Plan() is stream `index`'s behaviour byte.
  uint8_t Plan(int index) const {
    return script.empty()
               ? static_cast<uint8_t>(0x5a + index)
               : static_cast<uint8_t>(script[static_cast<size_t>(index) % script.size()]);
  }
  absl::string_view script;
  int started = 0;
  int live = 0;
  int aborted = 0;
  bool early = false;             // An answer racing the body (the output depends on read sizes).
  bool cancelled_midway = false;  // A response cut short by Cancel().
  std::vector<std::pair<int, BodyRecord>> ends;  // (index, record) at each OnEnd().
  std::vector<int> no_stream;                    // Requests whose handler started none.
};

// The asynchronous stream (see the top of this file).
class AsyncStream final : public http::RequestStream {
 public:
  AsyncStream(StreamLog* log, int index, http::ResponseWriter& writer)
      : log_(log),
        writer_(&writer),
        timer_(writer.loop(), [this] { OnTimer(); }),
        index_(index),
        random_(0x9e3779b9u ^ (uint32_t{log->Plan(index)} * 0x01000193u) ^
                static_cast<uint32_t>(index)),
        pieces_(random_ ^ 0x5bd1e995u) {
    const uint8_t plan = log->Plan(index);
    read_ = (plan & 1) != 0;
    when_ = static_cast<When>((plan >> 1) & 3);
    how_ = static_cast<How>((plan >> 3) & 3);
    interim_ = (plan & 0x20) != 0;
    delay_ = (plan >> 6) & 3;
    ++log_->live;
  }
  ~AsyncStream() override {
    --log_->live;
    Check(aborted_ || finished_, "a stream destroyed without an answer or an abort");
    if (pipe_[0] >= 0) ::close(pipe_[0]);
    if (pipe_[1] >= 0) ::close(pipe_[1]);
  }

  http::BodyMode body_mode() const {
    return read_ ? http::BodyMode::kRead : http::BodyMode::kDiscard;
  }

  // Begin() runs from Start(): a stream told to answer from there does. With
  // a body to come, that answer races the body, as an early one does.
  void Begin(bool has_body) {
    if (when_ != When::kStart) return;
    if (has_body) log_->early = true;
    StartAnswer(/*early=*/false);
  }

  absl::Span<char> BodyBuffer(size_t max) override {
    if (!direct_ || paused_) return {};
    offered_ = true;
    // Sizes from the split-dependent sequence: `pieces_` shapes the output.
    return absl::Span<char>(space_, std::min<size_t>(max, 1 + Next() % sizeof(space_)));
  }

  http::BodyAction OnBodyRead(size_t n, http::ResponseWriter& writer) override {
    Check(offered_, "OnBodyRead() without BodyBuffer()");
    Check(n <= sizeof(space_), "OnBodyRead() past the memory offered");
    offered_ = false;
    return OnBody(absl::string_view(space_, n), writer);
  }

  http::BodyAction OnBody(absl::string_view data, http::ResponseWriter& writer) override {
    Alive(writer);
    Check(read_, "OnBody() for a stream that does not read");
    Check(!paused_, "OnBody() while paused");
    Check(!ended_, "OnBody() after OnEnd()");
    record_.bytes += static_cast<int64_t>(data.size());
    record_.hash = Hash(record_.hash, data);
    if (when_ == When::kEarly && !answering_) {
      log_->early = true;
      StartAnswer(/*early=*/true);
    }
    if (answered_ || (Next() & 3) != 0) return http::BodyAction::kContinue;
    paused_ = true;
    resume_in_ = static_cast<int>(Next() % 4);
    timer_.ArmNextRound();
    return http::BodyAction::kPause;
  }

  void OnEnd(http::ResponseWriter& writer) override {
    Alive(writer);
    Check(!paused_, "OnEnd() while paused");
    Check(!ended_, "OnEnd() twice");
    ended_ = true;
    record_.read = read_;
    if (!read_) record_.bytes = writer.request().body_bytes;
    log_->ends.emplace_back(index_, record_);
    if (answering_) return;
    if (when_ == When::kEnd || when_ == When::kEarly) {
      StartAnswer(/*early=*/false);
    } else if (when_ == When::kLater) {
      answer_in_ = delay_;
      timer_.ArmNextRound();
    }
  }

  void OnWritable(http::ResponseWriter& writer) override {
    Alive(writer);
    Check(writer.writable(), "OnWritable() while not writable()");
    if (!waiting_writable_) return;
    waiting_writable_ = false;
    WritePiece();
  }

  void OnAbort(http::AbortReason reason) override {
    Check(http::AbortReasonName(reason) != "unknown", "an abort without a reason");
    Check(!aborted_, "OnAbort() twice");
    aborted_ = true;
    ++log_->aborted;
    Check(writer_->aborted(), "aborted() false in OnAbort()");
    Check(writer_->Respond({}) == -ECANCELED, "a write in OnAbort() was not refused");
    Check(writer_->WriteBody("x") == -ECANCELED, "a body write in OnAbort() was not refused");
  }

 private:
  enum class When : uint8_t { kStart, kEnd, kLater, kEarly };
  enum class How : uint8_t { kRespond, kLength, kChunked, kCancel };

  void Alive(http::ResponseWriter& writer) {
    Check(!aborted_, "a callback after OnAbort()");
    Check(&writer == writer_, "a callback with another writer");
  }

  // Next() draws from `*state` (xorshift32).
  static uint32_t Next(uint32_t* state) {
    *state ^= *state << 13;
    *state ^= *state >> 17;
    *state ^= *state << 5;
    return *state;
  }
  // Next() draws pause decisions, which depend on how the body is split;
  // piece sizes come from their own sequence, so the output does not.
  uint32_t Next() { return Next(&random_); }

  void Ok(int result, const char* what) { Check(result == 0, what); }

  void StartAnswer(bool early) {
    answering_ = true;
    text_ = early ? absl::StrCat("#", index_, " early\n")
                  : absl::StrCat("#", index_, " ", record_.bytes, " ", record_.hash, "\n");
    if (interim_) {
      const http::ResponseField fields[] = {{"Location", "/later"}};
      Ok(writer_->WriteInterim(104, fields), "WriteInterim() refused");
    }
    switch (how_) {
      case How::kRespond: {
        http::Response response;
        response.body = text_;
        Ok(writer_->Respond(response), "Respond() refused");
        Done();
        return;
      }
      case How::kCancel:
        log_->cancelled_midway = true;
        writer_->Cancel();
        finished_ = true;
        answered_ = true;
        return;
      case How::kLength:
      case How::kChunked: {
        http::ResponseHead head;
        head.content_length = how_ == How::kLength ? static_cast<int64_t>(text_.size()) : -1;
        Ok(writer_->WriteHead(head), "WriteHead() refused");
        answered_ = true;  // The head is out: no pause from here on.
        WritePiece();
        return;
      }
    }
  }

  // WritePiece() writes the next piece of the body; the last one with
  // Finish(), in the same round (so a complete response is a finished one).
  // The next piece waits for the next round, or for OnWritable() when the
  // writer is not writable().
  void WritePiece() {
    const size_t left = text_.size() - written_;
    const size_t piece = left <= 1 ? left : 1 + Next(&pieces_) % left;
    const absl::string_view bytes = absl::string_view(text_).substr(written_, piece);
    if (!piped_ || !Piped(bytes)) Ok(writer_->WriteBody(bytes), "WriteBody() refused");
    written_ += piece;
    if (written_ == text_.size()) {
      Ok(writer_->Finish(), "Finish() refused");
      Done();
      return;
    }
    if (!writer_->writable()) {
      waiting_writable_ = true;
      return;
    }
    timer_.ArmNextRound();  // One piece per round.
  }

  // Piped() sends `bytes` through the stream's pipe: false if the writer
  // takes no pipe bytes now (none here, or earlier ones wait behind later
  // ones), and they must go by WriteBody().
  bool Piped(absl::string_view bytes) {
    if (how_ != How::kLength || bytes.empty()) return false;
    if (pipe_[0] < 0 && ::pipe2(pipe_, O_CLOEXEC | O_NONBLOCK) != 0) return false;
    if (writer_->WritePipe(pipe_[0], 0) != 0) return false;
    Check(::write(pipe_[1], bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()),
          "a pipe took less than a piece");
    const int r = writer_->WritePipe(pipe_[0], static_cast<int64_t>(bytes.size()));
    if (r == 0) return true;
    Check(r == -EBUSY, "WritePipe() refused");
    char drain[kLargestResponse];  // Take the bytes back: they go by WriteBody().
    Check(::read(pipe_[0], drain, bytes.size()) == static_cast<ssize_t>(bytes.size()),
          "the pipe lost a piece");
    return false;
  }

  void Done() {
    finished_ = true;
    answered_ = true;
  }

  void OnTimer() {
    Check(!aborted_, "a timer after OnAbort()");
    if (paused_) {
      if (resume_in_-- > 0) {
        timer_.ArmNextRound();
        return;
      }
      paused_ = false;
      writer_->ResumeBody();
      return;
    }
    if (answering_) {
      WritePiece();
      return;
    }
    if (answer_in_-- > 0) {
      timer_.ArmNextRound();
      return;
    }
    StartAnswer(/*early=*/false);
  }

  StreamLog* log_;
  http::ResponseWriter* writer_;
  epollhttp::net::Timer timer_;
  std::string text_;
  BodyRecord record_;
  size_t written_ = 0;
  int index_;
  int resume_in_ = 0;
  int answer_in_ = 0;
  int delay_ = 0;
  uint32_t random_;
  uint32_t pieces_;
  When when_ = When::kEnd;
  How how_ = How::kRespond;
  bool read_ = false;
  bool interim_ = false;
  bool direct_ = (random_ & 0x100) != 0;  // Offers BodyBuffer().
  bool piped_ = (random_ & 0x200) != 0;   // Sends Content-Length pieces by WritePipe().
  bool offered_ = false;
  char space_[97];
  int pipe_[2] = {-1, -1};
  bool paused_ = false;
  bool waiting_writable_ = false;
  bool ended_ = false;
  bool answering_ = false;
  bool answered_ = false;
  bool finished_ = false;
  bool aborted_ = false;
};

class AsyncHandler final : public http::Handler {
 public:
  explicit AsyncHandler(StreamLog* log) : log_(log) {}
  http::StreamStart Start(const http::RequestHead& head,
                          http::ResponseWriter& writer) const override {
    if (log_->Plan(log_->started) == 0xff) {
      log_->no_stream.push_back(log_->started++);
      return {};
    }
    auto stream = std::make_unique<AsyncStream>(log_, log_->started++, writer);
    AsyncStream* raw = stream.get();
    const http::BodyMode mode = raw->body_mode();
    raw->Begin(head.body_kind != http::BodyKind::kNone);
    return {http::Owned(std::move(stream)), mode};
  }

 private:
  StreamLog* log_;
};

// The reference: every request's body, read whole and at once.
class ReferenceHandler final : public http::Handler {
 public:
  explicit ReferenceHandler(std::vector<BodyRecord>* bodies) : bodies_(bodies) {}
  class Stream final : public http::RequestStream {
   public:
    explicit Stream(std::vector<BodyRecord>* bodies) : bodies_(bodies) {}
    http::BodyAction OnBody(absl::string_view data, http::ResponseWriter& writer) override {
      (void)writer;
      record_.bytes += static_cast<int64_t>(data.size());
      record_.hash = Hash(record_.hash, data);
      return http::BodyAction::kContinue;
    }
    void OnEnd(http::ResponseWriter& writer) override {
      bodies_->push_back(record_);
      writer.Respond({});
    }

   private:
    std::vector<BodyRecord>* bodies_;
    BodyRecord record_;
  };
  http::StreamStart Start(const http::RequestHead& head,
                          http::ResponseWriter& writer) const override {
    (void)head;
    (void)writer;
    return {http::Owned(std::make_unique<Stream>(bodies_)), http::BodyMode::kRead};
  }

 private:
  std::vector<BodyRecord>* bodies_;
};

// A sink that keeps nothing: the reference's answers do not matter.
class NullSink final : public http::CodecSink {
 public:
  epollhttp::net::Buffer* Output() override {
    buffer_.Consume(buffer_.size());
    return &buffer_;
  }
  [[nodiscard]] size_t QueuedOutput() const override { return 0; }
  void Wake() override {}
  [[nodiscard]] epollhttp::net::EventLoop* loop() const override { return nullptr; }

 private:
  epollhttp::net::Buffer buffer_;
};

// Checks a stream of responses, fed incrementally as the connection writes.
class ResponseChecker {
 public:
  // `to_head` (not owned) holds, in order, whether each response the codec
  // reported answers a HEAD request; the checker takes one per response.
  // `no_stream` (not owned) lists the requests whose handler started no
  // stream (answered 500).
  ResponseChecker(size_t input_size, bool async, const std::vector<bool>* to_head,
                  const std::vector<int>* no_stream)
      : input_size_(input_size), async_(async), to_head_(to_head), no_stream_(no_stream) {}

  // Consume() parses every complete response at the front of `*pending`
  // (keeping a partial one, as writes may split it) and appends it to
  // `*transcript` unless it is interim. A body delimited by the close (to
  // HTTP/1.0) is complete only `at_end`.
  void Consume(std::string* pending, std::string* transcript, bool at_end = false) {
    absl::string_view rest = *pending;
    while (!rest.empty()) {
      Check(!closed_, "bytes written after Connection: close");
      const size_t head_end = rest.find("\r\n\r\n");
      if (head_end == absl::string_view::npos) break;
      const absl::string_view head = rest.substr(0, head_end + 2);
      Check(absl::StartsWith(head, "HTTP/1.1 "), "bad status line");
      int status = 0;
      Check(head.size() >= 12 && absl::SimpleAtoi(head.substr(9, 3), &status), "bad status code");
      if (status < 200) {
        Check(status == 100 ? head == "HTTP/1.1 100 Continue\r\n"
                            : status == 104 && async_ &&
                                  head ==
                                      "HTTP/1.1 104 Upload Resumption Supported\r\n"
                                      "Location: /later\r\n",
              "bad interim response");
        rest.remove_prefix(head_end + 4);
        continue;
      }
      int64_t length = -1;
      bool chunked = false;
      bool close = false;
      int64_t received = -1;
      size_t pos = head.find("\r\n") + 2;
      while (pos < head.size()) {
        const size_t eol = head.find("\r\n", pos);
        const absl::string_view field = head.substr(pos, eol - pos);
        pos = eol + 2;
        const size_t colon = field.find(": ");
        Check(colon != absl::string_view::npos, "bad response field");
        const absl::string_view name = field.substr(0, colon);
        const absl::string_view value = field.substr(colon + 2);
        if (name == "Content-Length") Check(absl::SimpleAtoi(value, &length), "bad CL");
        if (name == "Transfer-Encoding") {
          Check(value == "chunked" && async_, "bad Transfer-Encoding");
          chunked = true;
        }
        if (name == "Connection" && value == "close") close = true;
        if (name == "X-Received-Body-Bytes") {
          Check(absl::SimpleAtoi(value, &received), "bad X-Received-Body-Bytes");
        }
      }
      Check(!(length >= 0 && chunked), "response with two framings");
      // Neither: a stream's body of unknown length to HTTP/1.0, up to the close.
      const bool until_close = length < 0 && !chunked;
      Check(!until_close || (async_ && close), "response without framing");
      // A response completes before the codec reports it only if it is cut
      // short later; wait for the report.
      if (next_ >= to_head_->size()) break;
      const bool to_head = (*to_head_)[next_];
      absl::string_view after = rest.substr(head_end + 4);
      absl::string_view body;
      size_t total = head_end + 4;
      if (to_head) {
        // No content.
      } else if (until_close) {
        // Complete only at the end, and only if whole: a close cuts a body
        // without a length silently, so a cut one stays pending (and must be
        // explained by a reset, timeout or abort).
        if (!at_end || !absl::EndsWith(after, "\n")) break;
        body = after;
        total += after.size();
      } else if (!chunked) {
        if (after.size() < static_cast<size_t>(length)) break;  // The rest is still to come.
        body = after.substr(0, static_cast<size_t>(length));
        total += static_cast<size_t>(length);
      } else {
        dechunked_.clear();
        if (!Dechunk(after, &dechunked_, &total)) break;
        body = dechunked_;
      }
      ++next_;
      if (status >= 200 && status < 300) {
        Check(!error_seen_, "2xx after an error");
        Check(received < 0 || static_cast<size_t>(received) <= input_size_,
              "X-Received-Body-Bytes out of range");
        if (async_) {
          // An answer to HEAD has no body to carry its index.
          Check(to_head || ParseIndex(body) == next_stream_, "stream answers out of request order");
          ++next_stream_;
        }
        ++successes_;
      } else if (status == 500 && async_ && !close &&
                 std::find(no_stream_->begin(), no_stream_->end(), next_stream_) !=
                     no_stream_->end()) {
        // A handler that started no stream: the codec's 500, in order.
        Check(to_head || body == "the handler started no stream\n", "bad 500 for no stream");
        ++next_stream_;
      } else {
        Check(status == 404 || (status >= 400 && status < 600), "unexpected status");
        if (status != 404) {
          Check(close, "error response without Connection: close");
          error_seen_ = true;
        }
        if (status == 408) ++timeouts_408_;
      }
      ++responses_;
      transcript->append(rest.data(), total);
      rest.remove_prefix(total);
      if (close) closed_ = true;
    }
    pending->erase(0, pending->size() - rest.size());
  }

  [[nodiscard]] int64_t responses() const { return responses_; }
  [[nodiscard]] int64_t successes() const { return successes_; }
  [[nodiscard]] int64_t timeouts_408() const { return timeouts_408_; }

 private:
  // Dechunk() decodes a chunked body at the front of `in` (the responses
  // here have no extensions or trailers); false if it is incomplete.
  static bool Dechunk(absl::string_view in, std::string* body, size_t* total) {
    size_t at = 0;
    while (true) {
      const size_t eol = in.find("\r\n", at);
      if (eol == absl::string_view::npos) return false;
      uint64_t size = 0;
      Check(absl::SimpleHexAtoi(in.substr(at, eol - at), &size), "bad chunk size");
      at = eol + 2;
      if (in.size() < at + size + 2) return false;
      if (size == 0) {
        Check(in.substr(at, 2) == "\r\n", "bad last chunk");
        *total += at + 2;
        return true;
      }
      body->append(in.data() + at, size);
      Check(in.substr(at + size, 2) == "\r\n", "bad chunk end");
      at += size + 2;
    }
  }

  // ParseIndex() is N in a stream's "#N ..." answer.
  static int ParseIndex(absl::string_view body) {
    int index = -1;
    const size_t space = body.find(' ');
    Check(absl::StartsWith(body, "#") && space != absl::string_view::npos &&
              absl::SimpleAtoi(body.substr(1, space - 1), &index),
          "a stream's answer without its index");
    return index;
  }

  size_t input_size_;
  bool async_;
  const std::vector<bool>* to_head_;
  const std::vector<int>* no_stream_;
  std::string dechunked_;
  size_t next_ = 0;  // The next response's entry in to_head_.
  int next_stream_ = 0;
  int64_t responses_ = 0;
  int64_t successes_ = 0;
  int64_t timeouts_408_ = 0;
  bool closed_ = false;
  bool error_seen_ = false;
};

// Observes the connection: body bytes per request against its
// Content-Length, timeouts, aborts, and which responses answer a HEAD
// request (the codec knows a request's method once its head has parsed).
class Observer final : public epollhttp::ConnectionObserver {
 public:
  // Clear() starts a run; every event is passed on to `next` (may be null).
  void Clear(epollhttp::ConnectionObserver* next) {
    next_ = next;
    write_timeouts_ = announced_ = timeouts_ = aborts_ = 0;
    last_timeout_ = TimeoutKind::kIdle;
    to_head_.clear();
    head_method_ = false;
    length_ = -1;
    body_ = 0;
  }
  void OnRequestStart() override {
    head_method_ = false;
    if (next_ != nullptr) next_->OnRequestStart();
  }
  void OnRequestHead(const http::RequestHead& head) override {
    head_method_ = head.method == http::Method::kHead;
    length_ = head.body_kind == http::BodyKind::kContentLength ? head.content_length : -1;
    body_ = 0;
    if (length_ > 0) announced_ += length_;
    if (next_ != nullptr) next_->OnRequestHead(head);
  }
  void OnBodyBytes(int64_t n) override {
    body_ += n;
    Check(length_ < 0 || body_ <= length_, "body bytes beyond Content-Length");
    if (next_ != nullptr) next_->OnBodyBytes(n);
  }
  void OnResponse(int status, bool parse_error, int64_t body_bytes) override {
    to_head_.push_back(head_method_);
    if (next_ != nullptr) next_->OnResponse(status, parse_error, body_bytes);
  }
  void OnAbort(http::AbortReason reason) override {
    ++aborts_;
    if (next_ != nullptr) next_->OnAbort(reason);
  }
  void OnTimeout(TimeoutKind kind) override {
    ++timeouts_;
    last_timeout_ = kind;
    if (kind == TimeoutKind::kWrite) ++write_timeouts_;
    if (next_ != nullptr) next_->OnTimeout(kind);
  }
  void OnAccepted() override {
    if (next_ != nullptr) next_->OnAccepted();
  }
  void OnClosed() override {
    if (next_ != nullptr) next_->OnClosed();
  }
  void OnBytesWritten(int64_t n) override {
    if (next_ != nullptr) next_->OnBytesWritten(n);
  }
  void OnRequestDone(absl::string_view route, int status,
                     std::chrono::nanoseconds duration) override {
    Check(!route.empty() && status >= 100 && status < 1000 && duration.count() >= 0,
          "a timed request without a route, status or duration");
    if (next_ != nullptr) next_->OnRequestDone(route, status, duration);
  }
  int64_t write_timeouts_ = 0;
  int64_t announced_ = 0;
  int64_t timeouts_ = 0;
  int64_t aborts_ = 0;
  TimeoutKind last_timeout_ = TimeoutKind::kIdle;
  std::vector<bool> to_head_;

 private:
  bool head_method_ = false;
  int64_t length_ = -1;
  int64_t body_ = 0;
  epollhttp::ConnectionObserver* next_ = nullptr;
};

struct Harness {
  Harness() { Renew(); }
  // Renew() starts a new loop and clock. Simulated time only moves forward
  // (the loop's round time must never go back), by at most a minute or so
  // per input; a process that has simulated a century starts over.
  void Renew() {
    for (auto& pool : pools) pool = std::make_unique<ConnectionWorkPool>();
    loop.reset();
    time = std::make_unique<epollhttp::ManualTime>();
    auto created = epollhttp::net::EventLoop::Create(time.get());
    Check(created.ok(), "cannot create the loop");
    loop = std::move(*created);
    started = time->Now();
  }
  std::unique_ptr<epollhttp::ManualTime> time;
  std::unique_ptr<epollhttp::net::EventLoop> loop;
  Clock::time_point started;
  epollhttp::HelloApp app{nullptr, /*admin_listener=*/false};
  epollhttp::HelloApp admin_app{nullptr, /*admin_listener=*/true};
  // Bit 5: the server's counters, /metrics, and an access log (to /dev/null).
  epollhttp::Metrics metrics{1};
  epollhttp::StatsObserver stats{metrics.loop(0), &metrics};
  epollhttp::HelloApp metrics_app{&metrics, /*admin_listener=*/false};
  epollhttp::HelloApp metrics_admin_app{&metrics, /*admin_listener=*/true};
  epollhttp::AccessLog access_log{::open("/dev/null", O_WRONLY | O_CLOEXEC)};
  StreamLog streams;
  AsyncHandler async_handler{&streams};
  http::Router async_router;
  std::vector<BodyRecord> reference;
  ReferenceHandler reference_handler{&reference};
  http::Router reference_router;
  NullSink reference_sink;
  // The reference codecs (default and small limits), reset for each input.
  std::unique_ptr<http::ServerCodec> reference_codecs[2];
  // One work pool per configuration a work's codec is built for (router and
  // limits: control bits 3, 4, 5 and 7), kept across inputs.
  std::unique_ptr<ConnectionWorkPool> pools[16];
  FakeTransport fake;
  Observer observer;
  char scratch[64 * 1024];
  epollhttp::net::Buffer shared_output{1 << 20};
  std::string pending;
  std::string transcripts[2];
};

struct Script {
  absl::string_view data;
  absl::string_view actions;
  absl::string_view streams;
  // Whether the script contains actions that make the output depend on
  // timing (time, drains, resets, half-closes).
  bool timed = false;
};

Script Parse(absl::string_view input) {
  Script script;
  if (const size_t marker = input.find(kAsyncMarker); marker != absl::string_view::npos) {
    script.streams = input.substr(marker + kAsyncMarker.size());
    input = input.substr(0, marker);
  }
  const size_t marker = input.find(kActMarker);
  script.data = input.substr(0, marker);
  if (marker != absl::string_view::npos) {
    script.actions = input.substr(marker + kActMarker.size());
    for (size_t i = 1; i < script.actions.size(); i += 2) {
      if ((static_cast<uint8_t>(script.actions[i]) >> 5) >= 3) script.timed = true;
    }
  }
  return script;
}

http::CodecOptions CodecOptionsFor(uint8_t control) {
  http::CodecOptions codec;
  if (control & 0x80) {
    codec.parser.max_request_line = 64;
    codec.parser.max_head_bytes = 256;
    codec.parser.max_headers = 6;
    codec.body.max_body_bytes = 64;
    codec.body.max_chunk_extension_bytes = 8;
    codec.body.max_trailer_bytes = 32;
    codec.write_high_water = 64;
  }
  return codec;
}

// Reference() records, in h.reference, each request's body as a codec fed
// the whole input at once delivers it.
void Reference(Harness& h, const Script& script, uint8_t control) {
  h.reference.clear();
  std::unique_ptr<http::ServerCodec>& slot = h.reference_codecs[(control & 0x80) ? 1 : 0];
  if (slot == nullptr) {
    slot = std::make_unique<http::ServerCodec>(CodecOptionsFor(control), &h.reference_router);
    slot->set_sink(&h.reference_sink);
  }
  http::ServerCodec& codec = *slot;
  codec.Reset(nullptr);
  absl::string_view rest = script.data;
  while (!rest.empty()) {
    const http::InputResult result = codec.OnInput(rest);
    if (result.closing || result.consumed == 0) break;
    rest.remove_prefix(result.consumed);
  }
  if (codec.stream_active()) codec.Abort(http::AbortReason::kEndOfStream);
}

// Run() plays one connection; leaves the responses written (without
// interim responses) in `*transcript`. Returns whether the output may
// depend on read sizes (an early answer).
bool Run(Harness& h, const Script& script, uint8_t control, bool whole, std::string* transcript) {
  const bool apply_flow = !whole;
  const bool async = (control & 0x10) != 0;
  if (h.time->Now() - h.started > std::chrono::hours(24 * 365 * 100)) h.Renew();
  h.loop->RunUntilIdle();  // The loop's round time catches up with the clock.
  ConnectionContext context;
  context.loop = h.loop.get();
  const bool counted = (control & 0x20) != 0;
  const epollhttp::HelloApp& app = counted ? h.metrics_app : h.app;
  const epollhttp::HelloApp& admin_app = counted ? h.metrics_admin_app : h.admin_app;
  context.router = async              ? &h.async_router
                   : (control & 0x08) ? &admin_app.admin_router()
                                      : &app.router();
  Observer& observer = h.observer;
  observer.Clear(counted ? &h.stats : nullptr);
  if (counted) context.access_log = &h.access_log;
  context.observer = &observer;
  context.codec = CodecOptionsFor(control);
  context.options.header_timeout = milliseconds(1000);
  context.options.body_timeout = milliseconds(1000);
  context.options.idle_timeout = milliseconds(3000);
  context.options.write_timeout = milliseconds(2000);
  context.options.linger_time = milliseconds(500);
  context.options.body_min_rate = (control & 0x40) ? 100 : 0;
  context.scratch = absl::MakeSpan(h.scratch, sizeof(h.scratch));
  context.shared_output = &h.shared_output;
  context.pool = h.pools[(control & 0x08 ? 1 : 0) | (async ? 2 : 0) | (control & 0x80 ? 4 : 0) |
                         (counted ? 8 : 0)]
                     .get();
  // A paused body keeps what is left of its read.
  const size_t max_buffered = context.codec.parser.max_head_bytes + sizeof(h.scratch) + 2048;
  h.streams.Clear(script.streams);

  FakeTransport& fake = h.fake;
  fake.Reset();
  auto connection = std::make_unique<Connection>(&context, &fake);
  ResponseChecker checker(script.data.size(), async, &observer.to_head_, &h.streams.no_stream);
  h.pending.clear();
  transcript->clear();
  const Clock::time_point opened = h.time->Now();
  Clock::time_point last_write = opened;
  Clock::time_point last_read = opened;
  int64_t read_so_far = 0;

  // Collect() takes what was written and notes progress times.
  auto collect = [&] {
    const size_t before = h.pending.size();
    fake.MoveWrittenTo(&h.pending);
    if (h.pending.size() != before) last_write = h.time->Now();
    checker.Consume(&h.pending, transcript);
    const int64_t read = fake.bytes_read() + fake.bytes_discarded();
    if (read != read_so_far) last_read = h.time->Now();
    read_so_far = read;
  };
  auto invariants = [&] {
    Check(fake.after_close() == 0, "transport used after close");
    Check(fake.writes_after_shutdown() == 0, "write after the write side was shut");
    Check(fake.held_waits() == 0, "waits to read while bytes wait for the FIN");
    Check(connection->queued_output() <=
              epollhttp::kOutputBatch + (counted ? kLargestMetricsResponse : kLargestResponse),
          "queued output beyond its bound");
    Check(connection->buffered_input() <= max_buffered, "buffered input beyond its bound");
    Check(fake.bytes_discarded() <= observer.announced_, "dropped more than the bodies");
  };
  // Drive() delivers readiness one report at a time, then due timers, until
  // nothing is left; checks the per-event bounds and that timeouts are the
  // ones specified.
  // Each drive() ends with the loop idle, so only time or an action makes
  // timers due before the next one: `timers` says so.
  auto drive = [&](bool timers) {
    if (timers) {
      h.loop->RunUntilIdle();  // Due timers first, and the round time catches up.
      collect();
      invariants();
    }
    for (int guard = 0;; ++guard) {
      Check(guard < 100'000, "no quiescence: the connection spins");
      const int64_t responses = connection->responses();
      const int64_t reads = fake.reads();
      const int64_t timeouts = observer.timeouts_;
      const int64_t written_408 = checker.timeouts_408();
      bool worked = fake.Pump(1) == 1;
      if (worked) {
        Check(connection->responses() - responses <= epollhttp::kResponsesPerEvent,
              "too many responses in one event");
        Check(fake.reads() - reads <= epollhttp::kReadsPerEvent, "too many reads in one event");
      } else {
        // Nothing readable or writable: due timers and tasks, if any.
        worked = h.loop->HasWorkNow() && h.loop->RunUntilIdle() > 1;
      }
      if (!worked) break;  // Nothing changed since the last check.
      collect();
      invariants();
      if (observer.timeouts_ != timeouts) {
        const auto since = [&](Clock::time_point t) { return h.time->Now() - t; };
        const epollhttp::ConnectionOptions& o = context.options;
        switch (observer.last_timeout_) {
          case TimeoutKind::kWrite:
            Check(since(last_write) >= o.write_timeout, "early write timeout");
            break;
          case TimeoutKind::kIdle:
            Check(since(last_write) >= o.idle_timeout, "early idle timeout");
            break;
          case TimeoutKind::kBody:
            Check(since(opened) >= o.body_timeout, "early body timeout");
            if (o.body_min_rate == 0) {
              Check(since(last_read) >= o.body_timeout, "body timeout despite progress");
            }
            break;
          case TimeoutKind::kHeader:
            Check(since(opened) >= o.header_timeout, "early header timeout");
            break;
        }
        if (observer.last_timeout_ == TimeoutKind::kHeader) {
          // A started head is answered 408 (then the lingering close); a
          // connection that never started one is closed quietly.
          Check(checker.timeouts_408() == written_408 + 1 || connection->queued_output() > 0 ||
                    connection->state() == Connection::State::kClosed,
                "header timeout without 408 or close");
        } else {
          Check(connection->state() == Connection::State::kClosed, "a timeout left it open");
        }
      }
    }
  };

  bool reset = false;
  bool aborted = false;  // By the harness, as the shutdown deadline does.
  // Start, as after accept: whatever the first piece holds is read at once.
  SplitPlan plan(control);
  size_t fed = 0;
  size_t action = 0;
  // Reads grow after the first pieces: a client trickling a few bytes per
  // read takes the same paths on its 33rd read as on its 1000th, and each
  // read is an event to run. Past every 32 pieces the smallest piece doubles.
  size_t pieces = 0;
  auto next_piece = [&] {
    const size_t left = script.data.size() - fed;
    const size_t least = std::min(left, size_t{1} << std::min<size_t>(pieces++ / 32, 16));
    const size_t piece = whole ? left : std::max(plan.Next(left), least);
    if (!whole) fake.set_read_limit(piece);
    fake.PeerSend(script.data.substr(fed, piece));
    fed += piece;
  };
  if (fed < script.data.size()) next_piece();
  Check(connection->Start() || connection->state() == Connection::State::kClosed, "Start failed");
  collect();
  invariants();
  drive(/*timers=*/true);
  int due = 0;  // Pieces to deliver before the next action.
  auto apply = [&](uint8_t op) {
    const uint8_t arg = op & 31;
    switch (op >> 5) {
      case 0:
        if (apply_flow) fake.set_window(size_t{arg} * 64);
        break;
      case 1:
        if (apply_flow) fake.set_window(FakeTransport::kUnlimited);
        break;
      case 2:
        if (apply_flow) fake.set_write_limit(arg == 31 ? FakeTransport::kUnlimited : arg + 1u);
        break;
      case 3: h.time->Advance(milliseconds(100) * arg); break;
      case 4: h.time->Advance(milliseconds(1000) * arg); break;
      case 5:
        fake.PeerClose();
        fed = script.data.size();  // Nothing is sent after a FIN.
        break;
      case 6:
        reset = true;
        fake.PeerReset();
        fed = script.data.size();
        break;
      case 7:
        if (arg & 1) {
          aborted = true;
          connection->Abort();
        } else {
          connection->Drain();
        }
        break;
    }
  };
  if (action + 1 < script.actions.size()) due = static_cast<uint8_t>(script.actions[action]);
  while (fed < script.data.size() || action + 1 < script.actions.size()) {
    bool timers = false;
    if (action + 1 < script.actions.size() && (due == 0 || fed >= script.data.size())) {
      apply(static_cast<uint8_t>(script.actions[action + 1]));
      timers = true;
      action += 2;
      if (action + 1 < script.actions.size()) due = static_cast<uint8_t>(script.actions[action]);
    } else {
      next_piece();
      if (due > 0) --due;
    }
    drive(timers);
  }
  // The client stops sending and reads everything; time runs on.
  fake.set_window(FakeTransport::kUnlimited);
  fake.set_write_limit(FakeTransport::kUnlimited);
  drive(/*timers=*/false);
  for (int i = 0; i < 40 && connection->state() != Connection::State::kClosed; ++i) {
    h.time->Advance(milliseconds(500));
    drive(/*timers=*/true);
  }
  Check(connection->state() == Connection::State::kClosed, "the connection never ended");
  connection.reset();
  h.loop->RunUntilIdle();
  checker.Consume(&h.pending, transcript, /*at_end=*/true);
  const StreamLog& streams = h.streams;
  Check(streams.live == 0, "a stream outlived its connection");
  // The observer also sees the aborts of requests whose handler started no
  // stream.
  Check(!async ||
            (streams.aborted <= observer.aborts_ &&
             observer.aborts_ <= streams.aborted + static_cast<int64_t>(streams.no_stream.size())),
        "aborts the observer did not see");
  // Only a write timeout, a reset, an abort or a cancelled stream may cut a
  // response short.
  Check(h.pending.empty() || observer.write_timeouts_ > 0 || reset || aborted ||
            streams.aborted > 0 || streams.cancelled_midway,
        "a partial response at the end");
  const int64_t lines = std::count(script.data.begin(), script.data.end(), '\n');
  Check(checker.responses() <= lines + 1, "more responses than requests");
  Check(checker.successes() <= lines / 2, "a 200 without a complete head");
  if (async) {
    // Every body byte reached its stream once, in order.
    Reference(h, script, control);
    for (const auto& [index, record] : streams.ends) {
      Check(static_cast<size_t>(index) < h.reference.size(), "a stream the reference never saw");
      const BodyRecord& expected = h.reference[static_cast<size_t>(index)];
      Check(record.bytes == expected.bytes, "a stream's body has the wrong length");
      Check(!record.read || record.hash == expected.hash, "a stream's body bytes differ");
    }
  }
  // /metrics answers count what happened so far, which read sizes change.
  return streams.early || counted;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static Harness* const harness = [] {
    auto* h = new Harness;
    h->async_router.SetDefault(&h->async_handler);
    // The same handler by every kind of route, so that a request's route
    // (exact, the longest prefix, or none) is looked up as the server does;
    // its answer does not depend on which.
    h->async_router.Handle(http::Method::kPost, "/upload", &h->async_handler);
    h->async_router.HandlePrefix("/f", &h->async_handler);
    h->async_router.HandlePrefix("/files/", &h->async_handler);
    h->reference_router.SetDefault(&h->reference_handler);
    return h;
  }();
  const uint8_t control = data[0];
  const Script script = Parse(absl::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  const bool early = Run(*harness, script, control, /*whole=*/false, &harness->transcripts[0]);
  if (!script.timed && !early) {
    // The same bytes in one read, nothing else: the same responses.
    Script plain;
    plain.data = script.data;
    plain.streams = script.streams;
    if (!Run(*harness, plain, control, /*whole=*/true, &harness->transcripts[1])) {
      Check(harness->transcripts[0] == harness->transcripts[1], "output depends on read sizes");
    }
  }
  return 0;
}
