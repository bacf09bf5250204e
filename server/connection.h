// connection.h: `Connection`, the HTTP session of one client connection: an
// HTTP/1.1 ServerCodec over a ConnectionIo (connection_io.h: the bytes, over
// a Transport: the socket, or a fake in tests), driven by its event loop's
// readiness reports, one timer and the loop's clock.
//
// The session decides; ConnectionIo carries out. The session owns the codec
// and its streams (handler.h), the request deadlines, the backlog of
// requests not yet answered, graceful drain, and aborts. Its states are
// ConnectionIo's: kOpen reads requests and answers them; kInputEnded means
// the client ended its stream, so what it sent is answered and flushed,
// then the connection closes; kLingering follows a response that closes
// the connection while the client may still be sending; kClosed is final.
// After a complete request answered with Connection: close and nothing
// unread it closes at once, without lingering.
//
// Streams may hold the read: while one pauses its body, or has yet to finish
// its response, the session reads nothing from the socket (bytes stay in the
// kernel; requests pipelined behind wait in order), and no header, body or
// minimum-rate timeout runs (a write timeout still does). A stream that
// writes, finishes or resumes later makes the codec wake the session, which
// acts in the loop's next round (Timer::ArmNextRound()): nothing a stream
// does re-enters the session. When the connection dies with a request in
// progress (reset, a timeout, end of stream mid-body, shutdown), that
// request's stream gets exactly one OnAbort().
//
// Reads land in the loop's scratch buffer and are consumed in place (body
// bytes are never copied; a Content-Length body a stream does not read is
// dropped in the kernel). Responses are written to the loop's shared output
// Buffer and sent from there. Only an incomplete request head, a backlog, or
// bytes behind a held request are kept (the input buffer), and only output
// the socket refused is queued (ConnectionIo).
//
// Memory: an idle connection holds only this object (152 bytes) and its
// transport. Everything a request in progress needs (the codec and its
// parser, the input buffer, the access log's request line) is a
// ConnectionWork lent by the loop's pool from the request's first byte until
// the connection is idle again.
//
// Bounds (hostile clients), invariants checked by connection_test and the
// connection fuzzer:
// - an event reads at most kReadsPerEvent times; a read outside a body takes
//   at most kHeadReadBytes, so one read holds a bounded number of requests;
// - requests are answered in batches of at most kOutputBatch bytes of
//   responses, each sent before the next starts, and at most
//   kResponsesPerEvent per event; requests beyond that wait in the input
//   buffer (the backlog) and are answered in a later loop round;
// - while any output is queued nothing more is read or answered: later
//   requests stay in the kernel, where TCP flow control pushes back. Output
//   queued by the codec's own answers is at most one batch plus one
//   response (a stream's own large body is held back by writable());
// - a write error ends the connection at once;
// - the input buffer holds a partial head plus one read; a buffered partial
//   head takes a new read a piece at a time, so it never absorbs a whole
//   read to finish a short head.
//
// Timeouts (ConnectionOptions), all read from the loop's clock: a request
// head must arrive within header_timeout of its first byte (408, then
// close); a body must make progress every body_timeout and, after its first
// body_timeout, average body_min_rate bytes per second (time while a stream
// holds the read does not count); a kept-alive connection may idle for
// idle_timeout (a new one, before its first byte, for header_timeout);
// queued output must make progress every write_timeout; a lingering close
// lasts linger_time. All but the first close without a response. One timer
// per connection is re-armed lazily: progress only records a time, and the
// timer re-checks when it fires, so busy connections cost no timer
// operations.
//
// Thread safety: created, used and destroyed on its event loop's thread.
#ifndef EPOLLHTTP_SERVER_CONNECTION_H_
#define EPOLLHTTP_SERVER_CONNECTION_H_

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "net/buffer.h"
#include "net/event_loop.h"
#include "net/transport.h"
#include "server/access_log.h"
#include "server/connection_io.h"
#include "server/http/codec.h"
#include "server/http/router.h"
#include "server/metrics.h"
#include "server/observers.h"

namespace epollhttp {

struct ConnectionOptions {
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds body_timeout{30'000};
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds write_timeout{30'000};
  std::chrono::milliseconds linger_time{2'000};  // Lingering close.
  // Minimum average body rate after the first body_timeout (0: none). A body
  // of B bytes must be complete within body_timeout + B / body_min_rate.
  int64_t body_min_rate = 500;
};

// Bounds on one connection's work per event and on its buffers (see above).
inline constexpr int kReadsPerEvent = 4;
inline constexpr size_t kHeadReadBytes = 16 * 1024;
inline constexpr size_t kOutputBatch = 32 * 1024;
inline constexpr int kResponsesPerEvent = 256;
// A stream above the high-water mark hears OnWritable() at most this many
// times per event before the session yields to the loop.
inline constexpr int kWritableCallsPerEvent = 16;

class Connection;
class ConnectionWorkPool;

// What one loop's connections share. Must outlive them.
struct ConnectionContext {
  net::EventLoop* loop = nullptr;
  const http::Router* router = nullptr;  // The application.
  http::CodecOptions codec;
  ConnectionOptions options;
  ConnectionWorkPool* pool = nullptr;      // Required: lends the state of requests in progress.
  ConnectionObserver* observer = nullptr;  // Optional: counters.
  AccessLog* access_log = nullptr;         // Optional: one line per response.
  absl::Span<char> scratch;                // Reads land here.
  net::Buffer* shared_output = nullptr;    // Responses are written here, then sent.
  // Called once, on the loop thread, when a connection has closed; the owner
  // then frees it (not from inside this call: with EventLoop::DeleteSoon).
  void (*on_close)(void* owner, Connection* connection) = nullptr;
  void* owner = nullptr;
};

// SessionSink is how a connection's codec reaches it (http::CodecSink). It
// lives in the ConnectionWork, so an idle connection carries no vtable.
class SessionSink final : public http::CodecSink {
 public:
  void set_connection(Connection* connection) { connection_ = connection; }
  net::Buffer* Output() override;
  [[nodiscard]] size_t QueuedOutput() const override;
  void Wake() override;
  [[nodiscard]] net::EventLoop* loop() const override;
  int QueuePipe(int fd, int64_t length) override;

 private:
  Connection* connection_ = nullptr;
};

// ConnectionWork is what a connection needs while a request is in progress:
// an idle keep-alive connection holds none.
struct ConnectionWork {
  explicit ConnectionWork(const ConnectionContext& context)
      : codec(context.codec, context.router) {}
  http::ServerCodec codec;
  SessionSink sink;
  net::Buffer input;   // Unconsumed input: a partial head, a backlog, bytes behind a hold.
  RequestTimer timer;  // Times each request for the loop's observer.
  std::unique_ptr<AccessLogObserver> access_log;  // With an access log only.
};

// ConnectionWorkPool lends ConnectionWork to the connections of contexts with
// the same router and codec options (a work's codec is built for them), and
// keeps up to `keep` returned ones for reuse (their parser tables keep their
// size), freeing the rest. Thread safety: the loop's thread only.
class ConnectionWorkPool {
 public:
  explicit ConnectionWorkPool(size_t keep = 64) : keep_(keep) {}
  std::unique_ptr<ConnectionWork> Take(const ConnectionContext& context);
  void Give(std::unique_ptr<ConnectionWork> work);
  [[nodiscard]] size_t free() const { return free_.size(); }

 private:
  size_t keep_;
  std::vector<std::unique_ptr<ConnectionWork>> free_;
};

class Connection {
 public:
  using State = ConnectionIo::State;

  // `transport` (not owned) must outlive the connection; `context` too.
  // context->on_close is called once the connection has closed.
  Connection(const ConnectionContext* context, net::Transport* transport);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  // Destroying an open connection closes nothing: the owner closes the
  // transport. A request in progress is aborted (kShutdown); held work goes
  // back to the pool.
  ~Connection();

  // Start() reads whatever has already arrived (with deferred accept, the
  // request usually has), answers it, and registers for readiness only if
  // the connection stays open. Returns false (and closes) if registration
  // fails; a connection that finished during Start() returns true.
  bool Start();

  // Drain() is graceful shutdown: the next response carries Connection:
  // close and is the last. An idle connection reads once (a request already
  // sent has started) and closes now if nothing arrived; no further batch of
  // requests is read.
  void Drain();

  // Abort() closes now (the shutdown deadline): a request in progress gets
  // OnAbort(kShutdown).
  void Abort();

  [[nodiscard]] State state() const { return io_.state(); }
  // queued_output() is the response bytes the transport has not taken.
  [[nodiscard]] size_t queued_output() const { return io_.queued(); }
  // buffered_input() is the received bytes not yet consumed.
  [[nodiscard]] size_t buffered_input() const { return work_ == nullptr ? 0 : work_->input.size(); }
  // buffer_bytes() is the heap bytes this connection's buffers hold now, and
  // peak_buffer_bytes() the most they have held (the owner returns memory to
  // the system after connections that held much of it close).
  [[nodiscard]] size_t buffer_bytes() const;
  [[nodiscard]] size_t peak_buffer_bytes() const { return peak_buffer_bytes_; }
  // busy() is whether the connection holds a ConnectionWork.
  [[nodiscard]] bool busy() const { return work_ != nullptr; }
  // held() is whether a stream holds the read (a paused body, or a response
  // to come).
  [[nodiscard]] bool held() const {
    return work_ != nullptr && work_->codec.phase() == http::ServerCodec::Phase::kHeld;
  }
  // responses() counts requests answered so far.
  [[nodiscard]] int64_t responses() const { return responses_; }

 private:
  using TimePoint = net::EventLoop::Clock::time_point;
  using Phase = http::ServerCodec::Phase;
  // Why the codec stopped taking input the last time it was fed.
  enum class Stop : uint8_t { kNeedInput, kYielded, kHeld, kClosing };

  // --- What the codec asks of the session (through SessionSink).
  friend class SessionSink;
  net::Buffer* Output();
  [[nodiscard]] size_t QueuedOutput() const;
  // QueuePipe(): the sink's, after the output so far (moved from the loop's
  // shared buffer into this connection's queue first, to keep the order).
  int QueuePipe(int fd, int64_t length);
  void Wake();

  void OnEvents(uint32_t events);
  void OnTimer();
  // AfterIo() notes codec phase changes, gives a waiting stream its
  // OnWritable(), makes sure the timer is due by the earliest deadline, and
  // returns the ConnectionWork once idle.
  void AfterIo();
  void ArmTimer();
  // Deadline() is when the current timeout expires, and which one it is.
  TimePoint Deadline(TimeoutKind* kind) const;
  // OnReadable() answers the backlog, then reads up to `max_reads` times
  // while the connection may take more input (see the bounds above).
  void OnReadable(int max_reads = kReadsPerEvent);
  // ReadOnce() reads (or drops) once and serves the bytes. Returns false when
  // reading should stop for this event.
  bool ReadOnce();
  // OnEndOfStream() handles the client's FIN.
  void OnEndOfStream();
  // Serve() answers what is buffered followed by `fresh` (just read into
  // scratch), within this event's budget, and keeps in the input buffer what
  // the codec did not consume. Returns false if it stopped early (budget,
  // queued output, a hold, or closed).
  bool Serve(absl::string_view fresh);
  // RunCodec() gives `input` to the codec with the remaining budget and
  // sends what it answered; returns the bytes consumed.
  size_t RunCodec(absl::string_view input);
  // Call() runs one codec entry point `f` with the output target chosen,
  // accounts for what it did and delivers the output.
  template <typename F>
  http::InputResult Call(F f);
  // Acquire() makes sure work_ is held (a request is starting).
  void Acquire();
  // MaybeRelease() returns work_ to the pool if nothing is in progress. Only
  // entry points (Start, Drain, OnEvents, OnTimer) call it, through AfterIo(),
  // so work_ is stable within one call.
  void MaybeRelease();
  [[nodiscard]] bool Idle() const { return work_ == nullptr || work_->codec.idle(); }
  [[nodiscard]] Phase CodecPhase() const {
    return work_ == nullptr ? Phase::kIdle : work_->codec.phase();
  }
  [[nodiscard]] bool StreamActive() const {
    return work_ != nullptr && work_->codec.stream_active();
  }
  [[nodiscard]] bool OutputQueued() const { return io_.has_queue(); }
  [[nodiscard]] bool InputBuffered() const { return work_ != nullptr && !work_->input.empty(); }
  // Backlog() is whether the input buffer holds bytes the codec has yet to
  // look at: requests left when the budget ran out, or behind a lifted hold.
  [[nodiscard]] bool Backlog() const {
    return InputBuffered() && stop_ != Stop::kNeedInput && !held();
  }
  // MayAnswer() is whether the codec may be given more requests now.
  [[nodiscard]] bool MayAnswer() const {
    return !io_.closed() && !OutputQueued() && responses_left_ > 0;
  }
  // ScheduleResume() answers the backlog in a later loop round.
  void ScheduleResume() { timer_.ArmNextRound(); }
  // Deliver() sends what the codec wrote to the shared output, keeping what
  // the transport did not take, then flushes the queue.
  void Deliver();
  // Written() notes `n` bytes written now.
  void Written(ssize_t n);
  void Flush();
  // OutputEnds() is whether the output produced so far is all this
  // connection will write: the codec has answered its last request, or the
  // client has ended its stream with nothing left to answer. Flush() ends
  // the stream once such output is written.
  [[nodiscard]] bool OutputEnds() const {
    return work_ != nullptr && (work_->codec.closing() || (io_.state() == State::kInputEnded &&
                                                           !Backlog() && !StreamActive()));
  }
  // NothingUnread() is true when no input is buffered and the last read
  // emptied the transport, so closing is not expected to turn into a reset
  // that destroys the response.
  [[nodiscard]] bool NothingUnread() const { return !InputBuffered() && io_.transport_empty(); }
  void StartLingering();
  // Close() closes now; a request in progress gets OnAbort(`reason`).
  void Close(http::AbortReason reason);
  // WantRead() is whether the session wants input now.
  [[nodiscard]] bool WantRead() const { return !held(); }
  void UpdateEvents();
  void NotePeak() {
    peak_buffer_bytes_ =
        static_cast<uint32_t>(std::max<size_t>(peak_buffer_bytes_, buffer_bytes()));
  }

  // Ordered so that nothing pads: an idle connection is 152 bytes.
  const ConnectionContext* context_;
  ConnectionIo io_;
  std::unique_ptr<ConnectionWork> work_;  // While a request is in progress.
  // One timer: the earliest deadline, or the next round (a stream's wake-up,
  // or the backlog).
  net::Timer timer_;
  // Timeouts. phase_since_ is when the codec's phase (for this request), or
  // the lingering close, began. While a stream holds the read mid-body,
  // last_read_ keeps when the body began, so that the body's clock resumes
  // where it stopped (see AfterIo()).
  TimePoint phase_since_;
  TimePoint last_read_;   // Last read that returned bytes.
  TimePoint last_write_;  // Last write progress, or when output became pending.
  int64_t responses_ = 0;
  uint32_t peak_buffer_bytes_ = 0;
  int16_t responses_left_ = 0;  // This event's response budget.
  Phase phase_ = Phase::kIdle;
  Stop stop_ = Stop::kNeedInput;
  bool draining_ = false;   // The next response is the last.
  bool restart_ = false;    // A response was counted: the phase's clock restarts.
  bool to_shared_ = false;  // Inside a codec call whose output goes to the shared buffer.
};

}  // namespace epollhttp

#endif  // EPOLLHTTP_SERVER_CONNECTION_H_
