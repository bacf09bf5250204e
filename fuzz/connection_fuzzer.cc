// connection_fuzzer.cc: the real Connection (codec, handlers, timers, bounds)
// over a FakeTransport, with a simulated clock.
//
// Input layout: byte 0 is the configuration (bits 0-2: read sizes, see
// split_plan.h; bit 3: the admin listener's router, where anything but
// /healthz is 404; bit 6: a minimum body rate; bit 7: small parser limits). The
// rest is what the client sends, optionally followed by the marker "\0ACT"
// and a script of two-byte actions: (pieces of client data to deliver first,
// action). Actions close or open the peer's window, cap each write, advance
// the clock, half-close or reset the connection, or start a graceful drain.
// After the script, the peer reads everything and the clock runs on until the
// connection has ended.
//
// Oracles (any failure aborts):
// - the output is a well-formed sequence of HTTP/1.1 responses; nothing after
//   one that carries Connection: close; no 2xx after an error; no content in
//   the answer to a HEAD request (error answers included);
//   X-Received-Body-Bytes never exceeds the bytes sent; never more responses
//   than requests could have been sent;
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
// - without time, drains or resets in the script, the output does not depend
//   on read sizes or write limits (`100 Continue` aside, which depends on
//   timing by design).
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"
#include "fuzz/split_plan.h"
#include "server/app.h"
#include "server/connection.h"
#include "net/buffer.h"
#include "net/event_loop.h"
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

constexpr absl::string_view kMarker = absl::string_view("\0ACT", 4);
constexpr size_t kLargestResponse = 512;  // Hello, health, 404 and error replies.

void Check(bool ok, const char* what) { ::epollhttp::fuzz::Check(ok, "connection_fuzzer", what); }

// Checks a stream of responses, fed incrementally as the connection writes.
class ResponseChecker {
 public:
  // `to_head` (not owned) holds, in order, whether each response the codec
  // queued answers a HEAD request; the checker takes one per response.
  ResponseChecker(size_t input_size, std::deque<bool>* to_head)
      : input_size_(input_size), to_head_(to_head) {}

  // Consume() parses every complete response at the front of `*pending`
  // (keeping a partial one, as writes may split it) and appends it to
  // `*transcript` unless it is `100 Continue`.
  void Consume(std::string* pending, std::string* transcript) {
    absl::string_view rest = *pending;
    while (!rest.empty()) {
      Check(!closed_, "bytes written after Connection: close");
      const size_t head_end = rest.find("\r\n\r\n");
      if (head_end == absl::string_view::npos) break;
      const absl::string_view head = rest.substr(0, head_end + 2);
      Check(absl::StartsWith(head, "HTTP/1.1 "), "bad status line");
      int status = 0;
      Check(head.size() >= 12 && absl::SimpleAtoi(head.substr(9, 3), &status), "bad status code");
      if (status == 100) {
        Check(head == "HTTP/1.1 100 Continue\r\n", "bad interim response");
        rest.remove_prefix(head_end + 4);
        continue;
      }
      int64_t length = -1;
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
        if (name == "Connection" && value == "close") close = true;
        if (name == "X-Received-Body-Bytes") {
          Check(absl::SimpleAtoi(value, &received), "bad X-Received-Body-Bytes");
        }
      }
      Check(length >= 0, "response without Content-Length");
      Check(!to_head_->empty(), "a response the codec did not report");
      const size_t body = to_head_->front() ? 0 : static_cast<size_t>(length);
      const absl::string_view after = rest.substr(head_end + 4);
      if (after.size() < body) break;  // The rest is still to be written.
      to_head_->pop_front();
      if (status >= 200 && status < 300) {
        Check(!error_seen_, "2xx after an error");
        Check(received < 0 || static_cast<size_t>(received) <= input_size_,
              "X-Received-Body-Bytes out of range");
        ++successes_;
      } else {
        Check(status == 404 || (status >= 400 && status < 600), "unexpected status");
        if (status != 404) {
          Check(close, "error response without Connection: close");
          error_seen_ = true;
        }
        if (status == 408) ++timeouts_408_;
      }
      ++responses_;
      const size_t total = head_end + 4 + body;
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
  size_t input_size_;
  std::deque<bool>* to_head_;
  int64_t responses_ = 0;
  int64_t successes_ = 0;
  int64_t timeouts_408_ = 0;
  bool closed_ = false;
  bool error_seen_ = false;
};

// Observes the connection: body bytes per request against its
// Content-Length, timeouts, and which responses answer a HEAD request (the
// codec knows a request's method once its head has parsed).
class Observer final : public epollhttp::ConnectionObserver {
 public:
  void OnRequestStart() override { head_method_ = false; }
  void OnRequestHead(const epollhttp::http::RequestHead& head) override {
    head_method_ = head.method == epollhttp::http::Method::kHead;
    length_ =
        head.body_kind == epollhttp::http::BodyKind::kContentLength ? head.content_length : -1;
    body_ = 0;
    if (length_ > 0) announced_ += length_;
  }
  void OnBodyBytes(int64_t n) override {
    body_ += n;
    Check(length_ < 0 || body_ <= length_, "body bytes beyond Content-Length");
  }
  void OnResponse(int /*status*/, bool /*parse_error*/, int64_t /*body_bytes*/) override {
    to_head_.push_back(head_method_);
  }
  void OnTimeout(TimeoutKind kind) override {
    ++timeouts_;
    last_timeout_ = kind;
    if (kind == TimeoutKind::kWrite) ++write_timeouts_;
  }
  int64_t write_timeouts_ = 0;
  int64_t announced_ = 0;
  int64_t timeouts_ = 0;
  TimeoutKind last_timeout_ = TimeoutKind::kIdle;
  std::deque<bool> to_head_;

 private:
  bool head_method_ = false;
  int64_t length_ = -1;
  int64_t body_ = 0;
};

struct Harness {
  Harness() { Renew(); }
  // Renew() starts a new loop and clock. Simulated time only moves forward
  // (the loop's round time must never go back), by at most a minute or so
  // per input; a process that has simulated a century starts over.
  void Renew() {
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
  char scratch[64 * 1024];
  epollhttp::net::Buffer shared_output{1 << 20};
  std::string pending;
  std::string transcripts[2];
};

struct Script {
  absl::string_view data;
  absl::string_view actions;
  // Whether the script contains actions that make the output depend on
  // timing (time, drains, resets, half-closes).
  bool timed = false;
};

Script Parse(absl::string_view input) {
  Script script;
  const size_t marker = input.find(kMarker);
  script.data = input.substr(0, marker);
  if (marker != absl::string_view::npos) {
    script.actions = input.substr(marker + kMarker.size());
    for (size_t i = 1; i < script.actions.size(); i += 2) {
      if ((static_cast<uint8_t>(script.actions[i]) >> 5) >= 3) script.timed = true;
    }
  }
  return script;
}

// Run() plays one connection; leaves the responses written (without `100
// Continue`) in `*transcript`.
void Run(Harness& h, const Script& script, uint8_t control, bool whole, std::string* transcript) {
  const bool apply_flow = !whole;
  if (h.time->Now() - h.started > std::chrono::hours(24 * 365 * 100)) h.Renew();
  h.loop->RunUntilIdle();  // The loop's round time catches up with the clock.
  ConnectionContext context;
  context.loop = h.loop.get();
  context.router = (control & 0x08) ? &h.admin_app.admin_router() : &h.app.router();
  Observer observer;
  context.observer = &observer;
  if (control & 0x80) {
    context.codec.parser.max_request_line = 64;
    context.codec.parser.max_head_bytes = 256;
    context.codec.parser.max_headers = 6;
    context.codec.body.max_body_bytes = 64;
    context.codec.body.max_chunk_extension_bytes = 8;
    context.codec.body.max_trailer_bytes = 32;
  }
  context.options.header_timeout = milliseconds(1000);
  context.options.body_timeout = milliseconds(1000);
  context.options.idle_timeout = milliseconds(3000);
  context.options.write_timeout = milliseconds(2000);
  context.options.linger_time = milliseconds(500);
  context.options.body_min_rate = (control & 0x40) ? 100 : 0;
  context.scratch = absl::MakeSpan(h.scratch, sizeof(h.scratch));
  context.shared_output = &h.shared_output;
  const size_t max_buffered =
      context.codec.parser.max_head_bytes + epollhttp::kHeadReadBytes + 2048;

  ConnectionWorkPool pool;  // Per run: the codec options vary.
  context.pool = &pool;
  FakeTransport fake;
  Connection connection(&context, &fake);
  ResponseChecker checker(script.data.size(), &observer.to_head_);
  h.pending.clear();
  transcript->clear();
  const Clock::time_point opened = h.time->Now();
  Clock::time_point last_write = opened;
  Clock::time_point last_read = opened;
  int64_t read_so_far = 0;

  // Collect() takes what was written and notes progress times.
  auto collect = [&] {
    std::string written = fake.TakeWritten();
    if (!written.empty()) last_write = h.time->Now();
    h.pending += written;
    checker.Consume(&h.pending, transcript);
    const int64_t read = fake.bytes_read() + fake.bytes_discarded();
    if (read != read_so_far) last_read = h.time->Now();
    read_so_far = read;
  };
  auto invariants = [&] {
    Check(fake.after_close() == 0, "transport used after close");
    Check(fake.writes_after_shutdown() == 0, "write after the write side was shut");
    Check(fake.held_waits() == 0, "waits to read while bytes wait for the FIN");
    Check(connection.queued_output() <= epollhttp::kOutputBatch + kLargestResponse,
          "queued output beyond its bound");
    Check(connection.buffered_input() <= max_buffered, "buffered input beyond its bound");
    Check(fake.bytes_discarded() <= observer.announced_, "dropped more than the bodies");
  };
  // Drive() delivers readiness one report at a time, then due timers, until
  // nothing is left; checks the per-event bounds and that timeouts are the
  // ones specified.
  auto drive = [&] {
    h.loop->RunUntilIdle();  // Due timers first, and the round time catches up.
    collect();
    invariants();
    for (int guard = 0;; ++guard) {
      Check(guard < 100'000, "no quiescence: the connection spins");
      const int64_t responses = connection.responses();
      const int64_t reads = fake.reads();
      const int64_t timeouts = observer.timeouts_;
      const int64_t written_408 = checker.timeouts_408();
      bool worked = fake.Pump(1) == 1;
      if (worked) {
        Check(connection.responses() - responses <= epollhttp::kResponsesPerEvent,
              "too many responses in one event");
        Check(fake.reads() - reads <= epollhttp::kReadsPerEvent, "too many reads in one event");
      } else {
        worked = h.loop->RunUntilIdle() > 1;
      }
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
          Check(checker.timeouts_408() == written_408 + 1 || connection.queued_output() > 0 ||
                    connection.state() == Connection::State::kClosed,
                "header timeout without 408 or close");
        } else {
          Check(connection.state() == Connection::State::kClosed, "a timeout left it open");
        }
      }
      if (!worked) break;
    }
  };

  bool reset = false;
  // Start, as after accept: whatever the first piece holds is read at once.
  SplitPlan plan(control);
  size_t fed = 0;
  size_t action = 0;
  auto next_piece = [&] {
    const size_t piece = whole ? script.data.size() - fed : plan.Next(script.data.size() - fed);
    if (!whole) fake.set_read_limit(piece);
    fake.PeerSend(script.data.substr(fed, piece));
    fed += piece;
  };
  if (fed < script.data.size()) next_piece();
  Check(connection.Start() || connection.state() == Connection::State::kClosed, "Start failed");
  collect();
  invariants();
  drive();
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
      case 7: connection.Drain(); break;
    }
  };
  if (action + 1 < script.actions.size()) due = static_cast<uint8_t>(script.actions[action]);
  while (fed < script.data.size() || action + 1 < script.actions.size()) {
    if (action + 1 < script.actions.size() && (due == 0 || fed >= script.data.size())) {
      apply(static_cast<uint8_t>(script.actions[action + 1]));
      action += 2;
      if (action + 1 < script.actions.size()) due = static_cast<uint8_t>(script.actions[action]);
    } else {
      next_piece();
      if (due > 0) --due;
    }
    drive();
  }
  // The client stops sending and reads everything; time runs on.
  fake.set_window(FakeTransport::kUnlimited);
  fake.set_write_limit(FakeTransport::kUnlimited);
  drive();
  for (int i = 0; i < 40 && connection.state() != Connection::State::kClosed; ++i) {
    h.time->Advance(milliseconds(500));
    drive();
  }
  Check(connection.state() == Connection::State::kClosed, "the connection never ended");
  checker.Consume(&h.pending, transcript);
  // Only a write timeout or a reset may cut a response short.
  Check(h.pending.empty() || observer.write_timeouts_ > 0 || reset,
        "a partial response at the end");
  const int64_t lines = std::count(script.data.begin(), script.data.end(), '\n');
  Check(checker.responses() <= lines + 1, "more responses than requests");
  Check(checker.successes() <= lines / 2, "a 200 without a complete head");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static Harness* const harness = new Harness;
  const uint8_t control = data[0];
  const Script script = Parse(absl::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  Run(*harness, script, control, /*whole=*/false, &harness->transcripts[0]);
  if (!script.timed) {
    // The same bytes in one read, nothing else: the same responses.
    Script plain;
    plain.data = script.data;
    Run(*harness, plain, control, /*whole=*/true, &harness->transcripts[1]);
    Check(harness->transcripts[0] == harness->transcripts[1], "output depends on read sizes");
  }
  return 0;
}
