// connection.h: one client connection: a Transport (the socket, or a fake in
// tests) under an HTTP/1.1 ServerCodec, driven by its event loop's readiness
// reports, timers and clock.
//
// States (one enum, State): kOpen reads requests and answers them;
// kInputEnded means the peer ended its stream, so what it sent is answered
// and flushed, then the connection closes; kLingering follows a response that
// closes the connection while the client may still be sending: the write side
// is shut and input is read and dropped for linger_time, so the client reads
// the status rather than a reset; kClosed is final (no I/O, no callbacks).
// After a complete request answered with Connection: close and nothing unread
// it closes at once, without lingering.
//
// Reads land in the loop's scratch buffer and are consumed in place (body
// bytes are never copied; a Content-Length body a handler does not read is
// dropped in the kernel). Only an incomplete request head or a backlog of
// requests not yet answered is kept, in `input_`.
//
// Bounds (hostile clients), invariants checked by connection_test and the
// connection fuzzer:
// - an event reads at most kReadsPerEvent times; a read outside a body takes
//   at most kHeadReadBytes, so one read holds a bounded number of requests;
// - requests are answered in batches of at most kOutputBatch bytes of
//   responses, each sent before the next starts, and at most
//   kResponsesPerEvent per event; requests beyond that wait in `input_` (the
//   backlog) and are answered in a later loop round;
// - while any output is queued (the transport did not take it all) nothing
//   more is read or answered: later requests stay in the kernel, where TCP
//   flow control pushes back. Queued output is at most one batch plus one
//   response;
// - a write error ends the connection at once;
// - `input_` holds a partial head plus at most one read; a buffered partial
//   head takes a new read a piece at a time, so it never absorbs a whole read
//   to finish a short head.
//
// Timeouts (ConnectionOptions), all read from the loop's clock: a request head
// must arrive within header_timeout of its first byte (408, then close); a
// body must make progress every body_timeout and, after its first
// body_timeout, average body_min_rate bytes per second; a kept-alive
// connection may idle for idle_timeout (a new one, before its first byte, for
// header_timeout); queued output must make progress every write_timeout; a
// lingering close lasts linger_time. All but the first close without a
// response. One timer per connection is re-armed lazily: progress only
// records a time, and the timer re-checks when it fires, so busy connections
// cost no timer operations.
//
// Thread safety: created, used and destroyed on its event loop's thread.
#ifndef EPOLLHTTP_SERVER_CONNECTION_H_
#define EPOLLHTTP_SERVER_CONNECTION_H_

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "server/access_log.h"
#include "server/http/codec.h"
#include "server/http/router.h"
#include "server/metrics.h"
#include "server/net/buffer.h"
#include "server/net/event_loop.h"
#include "server/net/transport.h"
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

// What one loop's connections share. Must outlive them.
struct ConnectionContext {
  net::EventLoop* loop = nullptr;
  const http::Router* router = nullptr;  // The application.
  http::CodecOptions codec;
  ConnectionOptions options;
  ConnectionObserver* observer = nullptr;  // Optional: counters.
  AccessLog* access_log = nullptr;         // Optional: one line per response.
  absl::Span<char> scratch;                // Reads land here.
  std::string* shared_output = nullptr;    // Responses are written here, then sent.
};

class Connection {
 public:
  enum class State : uint8_t { kOpen, kInputEnded, kLingering, kClosed };

  // `on_close` is called once, on the loop thread, when the connection has
  // closed; the owner then frees it (not from inside that call: with
  // EventLoop::DeleteSoon). `shared_output` is empty between uses.
  Connection(const ConnectionContext* context, std::unique_ptr<net::Transport> transport,
             absl::AnyInvocable<void(Connection*)> on_close);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

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

  [[nodiscard]] State state() const { return state_; }
  // queued_output() is the response bytes the transport has not taken.
  [[nodiscard]] size_t queued_output() const { return output_.size() - output_offset_; }
  // buffered_input() is the received bytes not yet consumed.
  [[nodiscard]] size_t buffered_input() const { return input_.readable().size(); }
  // buffer_bytes() is the heap bytes this connection's buffers hold now, and
  // peak_buffer_bytes() the most they have held (the owner returns memory to
  // the system after connections that held much of it close).
  [[nodiscard]] size_t buffer_bytes() const {
    // An empty std::string's inline capacity is not heap memory.
    return input_.capacity() + (output_.capacity() > kInlineString ? output_.capacity() : 0);
  }
  [[nodiscard]] size_t peak_buffer_bytes() const { return peak_buffer_bytes_; }
  // responses() counts responses queued so far.
  [[nodiscard]] int64_t responses() const { return codec_.responses(); }

 private:
  using TimePoint = net::EventLoop::Clock::time_point;
  static inline const size_t kInlineString = std::string().capacity();

  void OnEvents(uint32_t events);
  // AfterIo() notes codec phase changes and makes sure the timer is due by
  // the earliest deadline.
  void AfterIo();
  void ArmTimer();
  // Deadline() is when the current timeout expires, and which one it is.
  TimePoint Deadline(TimeoutKind* kind) const;
  void OnTimer();
  // OnReadable() answers the backlog, then reads up to `max_reads` times
  // while the connection may take more input (see the bounds above).
  void OnReadable(int max_reads = kReadsPerEvent);
  // ReadOnce() reads (or drops) once and serves the bytes. Returns false when
  // reading should stop for this event.
  bool ReadOnce();
  // Serve() answers what is buffered followed by `fresh` (just read into
  // scratch), within this event's budget, and keeps in input_ what the codec
  // did not consume. Returns false if it stopped early (budget, queued
  // output, or closed).
  bool Serve(absl::string_view fresh);
  // RunCodec() gives `input` to the codec with the remaining budget and
  // sends what it answered; returns the bytes consumed.
  size_t RunCodec(absl::string_view input);
  // Backlog() is whether input_ holds requests the codec has yet to look at.
  [[nodiscard]] bool Backlog() const { return codec_.yielded() && !input_.empty(); }
  // MayAnswer() is whether the codec may be given more requests now.
  [[nodiscard]] bool MayAnswer() const {
    return state_ != State::kClosed && output_.empty() && responses_left_ > 0;
  }
  // ScheduleResume() answers the backlog in a later loop round.
  void ScheduleResume();
  // OutputTarget() is where the codec should write responses now.
  std::string* OutputTarget();
  // Deliver() sends what the codec wrote to `target` (from OutputTarget()),
  // keeping what the transport did not take, then flushes.
  void Deliver(std::string* target);
  // Send() writes once; returns bytes written, or -1 (would block, or an
  // error after which the connection is closed).
  ssize_t Send(absl::string_view data);
  void Flush();
  // NothingUnread() is true when no input is buffered and the last read
  // emptied the transport, so closing is not expected to turn into a reset
  // that destroys the response.
  [[nodiscard]] bool NothingUnread() const { return input_.empty() && transport_empty_; }
  void StartLingering();
  void Close();
  // WantedEvents() is the readiness the connection needs in its state.
  [[nodiscard]] uint32_t WantedEvents() const;
  void UpdateEvents();
  void NotePeak() { peak_buffer_bytes_ = std::max(peak_buffer_bytes_, buffer_bytes()); }

  const ConnectionContext* context_;
  net::EventLoop* loop_;
  std::unique_ptr<net::Transport> transport_;
  std::unique_ptr<AccessLogObserver> access_log_;  // Only with an access log.
  http::ServerCodec codec_;
  absl::AnyInvocable<void(Connection*)> on_close_;
  State state_ = State::kOpen;
  bool watching_ = false;         // Registered for readiness (after Start()).
  bool transport_empty_ = false;  // The last read found nothing more to read.
  uint8_t writes_ = 0;            // 0, 1: writes so far; 2: TCP_NODELAY is set.
  int responses_left_ = 0;        // This event's response budget.
  net::Buffer input_;             // Unconsumed input: a partial head and/or the backlog.
  std::string output_;            // Response bytes the transport has not taken yet.
  size_t output_offset_ = 0;
  size_t peak_buffer_bytes_ = 0;
  // Timeouts. phase_since_ is when the codec's phase (for this request), or
  // the lingering close, began.
  http::ServerCodec::Phase phase_ = http::ServerCodec::Phase::kIdle;
  int64_t phase_responses_ = 0;
  TimePoint phase_since_;
  TimePoint last_read_;                    // Last read that returned bytes.
  TimePoint last_write_;                   // Last write progress, or when output became pending.
  TimePoint timer_at_ = TimePoint::max();  // When timer_ fires; max: not armed.
  net::EventLoop::Timer timer_;
  net::EventLoop::Timer resume_timer_;  // Answers the backlog in a later round.
};

}  // namespace epollhttp

#endif  // EPOLLHTTP_SERVER_CONNECTION_H_
