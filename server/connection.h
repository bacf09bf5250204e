// connection.h: one accepted TCP connection: socket I/O around an HttpSession.
//
// Reads into the loop's scratch buffer (body bytes are never copied; a
// Content-Length body's tail is dropped in the kernel), keeps only an
// incomplete request head or a backlog of requests not yet answered, writes
// responses and resumes partial writes on EPOLLOUT, and after a closing
// response shuts the write side and drains input for a bounded time
// (lingering close) so the client reads the status rather than a reset.
// (After a complete request answered with Connection: close and no further
// input, it closes at once.)
//
// Bounded work and memory (hostile clients):
// - An event reads at most kReadsPerEvent times; a read outside a body takes
//   at most kHeadReadBytes, so one read holds a bounded number of requests.
// - Requests are answered in batches of at most kOutputBatch bytes of
//   responses, each sent before the next batch starts, and at most
//   kResponsesPerEvent per event; requests beyond that wait in the input
//   buffer (the backlog) and are resumed in a later loop round.
// - While any output is queued (the socket did not take it all) nothing more
//   is read or answered: later requests stay in the kernel, where TCP flow
//   control pushes back on the client. Queued output is therefore at most one
//   batch plus one response.
// - A write error ends the connection at once.
// - The input buffer holds a partial head plus at most one read; buffered
//   head bytes are completed from a new read a piece at a time, so the buffer
//   never takes in a whole read to finish a short head.
//
// Timeouts (ConnectionOptions): a request head must arrive within
// header_timeout of its first byte (408, then close); a body must make
// progress every body_timeout and, after its first body_timeout, keep an
// average of body_min_rate bytes per second; a kept-alive connection may idle
// for idle_timeout (a new one, before its first byte, for header_timeout);
// queued output must make progress every write_timeout. The last three close
// without a response. One timer per connection is re-armed lazily: progress
// only records a time, and the timer re-checks when it fires, so busy
// connections cost no timer operations.
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
#include "absl/types/span.h"
#include "server/http_session.h"
#include "server/metrics.h"
#include "server/net/buffer.h"
#include "server/net/event_loop.h"
#include "server/net/fd.h"

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

// Bounds on one connection's work per event and its buffers (see above).
inline constexpr int kReadsPerEvent = 4;
inline constexpr size_t kHeadReadBytes = 16 * 1024;
inline constexpr size_t kOutputBatch = 32 * 1024;
inline constexpr int kResponsesPerEvent = 256;

class Connection {
 public:
  // `on_close` is called once, on the loop thread, when the connection is
  // finished; the owner then frees it with DeleteSoon. `scratch` and
  // `shared_output` are the loop's shared read buffer and response buffer
  // (empty between uses) and must outlive the connection. `session.stats`, if
  // set, also counts this connection and its bytes written.
  Connection(net::EventLoop* loop, net::Fd fd, const SessionOptions& session,
             const ConnectionOptions& options, absl::Span<char> scratch,
             std::string* shared_output, absl::AnyInvocable<void(Connection*)> on_close);

  // Start() reads whatever has already arrived (with deferred accept, the
  // request usually has), answers it, and registers with the loop only if the
  // connection stays open. Returns false (and closes) if registration fails;
  // a connection that finished during Start() is closed and returns true.
  bool Start();

  // Drain() is graceful shutdown: the next response carries Connection:
  // close and is the last. An idle connection reads once (a request already
  // sent has started) and closes now if nothing arrived; no further batch of
  // requests is read.
  void Drain();

  // buffer_bytes() is the heap bytes this connection's buffers hold now.
  [[nodiscard]] size_t buffer_bytes() const { return input_.capacity() + output_.capacity(); }
  // peak_buffer_bytes() is the most buffer_bytes() has been at a read or
  // write (the owner uses it to return memory to the system after attacks).
  [[nodiscard]] size_t peak_buffer_bytes() const { return peak_buffer_bytes_; }

 private:
  using TimePoint = net::EventLoop::Clock::time_point;

  void OnEvents(uint32_t events);
  // AfterIo() notes phase changes and makes sure the timer is due by the
  // earliest deadline.
  void AfterIo();
  // Deadline() is when the current timeout expires, and which one it is.
  TimePoint Deadline(TimeoutKind* kind) const;
  void OnTimer();
  // OnReadable() answers the backlog, then reads up to `max_reads` times
  // while the connection may take more input (see the bounds above).
  void OnReadable(int max_reads = kReadsPerEvent);
  // ReadOnce() reads (or discards) once and feeds the bytes to the session.
  // Returns false when reading should stop for this event.
  bool ReadOnce();
  // Serve() answers what is buffered followed by `fresh` (just read into
  // scratch), within this event's budget, and keeps in input_ what the
  // session did not consume. Returns false if it stopped early (budget,
  // queued output, or closed).
  bool Serve(absl::string_view fresh);
  // RunSession() gives `input` to the session with the remaining budget and
  // sends what it answered; returns the bytes consumed.
  size_t RunSession(absl::string_view input);
  // MayAnswer() is whether the session may be given more requests now.
  [[nodiscard]] bool MayAnswer() const {
    return !closed_ && output_.empty() && responses_left_ > 0;
  }
  // OutputTarget() is where the session should write responses now.
  std::string* OutputTarget();
  // Deliver() sends what the session wrote to `target` (from OutputTarget()),
  // keeping what the socket did not take, then flushes.
  void Deliver(std::string* target);
  // Send() writes once; returns bytes written, or -1 (EAGAIN/EINTR, or an
  // error after which the connection is closed).
  ssize_t Send(const char* data, size_t size);
  void Flush();
  // NothingUnread() is true when no input is buffered and the last read
  // emptied the socket, so closing is not expected to turn into a reset that
  // destroys the response.
  [[nodiscard]] bool NothingUnread() const;
  void StartLingering();
  void Close();
  // WantedEvents() is the epoll events the connection needs now: EPOLLOUT
  // while output is queued, else EPOLLIN unless input is finished.
  [[nodiscard]] uint32_t WantedEvents() const;
  void UpdateEvents();
  void NotePeak() { peak_buffer_bytes_ = std::max(peak_buffer_bytes_, buffer_bytes()); }

  net::EventLoop* loop_;
  net::Fd fd_;
  ConnectionOptions options_;
  WorkerStats* stats_;
  HttpSession session_;
  absl::Span<char> scratch_;
  std::string* shared_output_;
  absl::AnyInvocable<void(Connection*)> on_close_;
  std::unique_ptr<net::EventLoop::Watcher> watcher_;
  net::Buffer input_;     // Unconsumed input: a partial head and/or the backlog.
  std::string output_;    // Response bytes the socket has not taken yet.
  size_t output_offset_ = 0;
  size_t peak_buffer_bytes_ = 0;
  int responses_left_ = 0;      // This event's response budget.
  bool backlog_ = false;        // input_ holds requests the session has not looked at.
  bool peer_closed_ = false;    // Read returned EOF: no more input.
  bool input_drained_ = false;  // The last read found the socket empty.
  bool sent_before_ = false;    // A write has been made (see Send()).
  bool nodelay_ = false;        // TCP_NODELAY is set.
  bool lingering_ = false;
  bool closed_ = false;
  // Timeouts.
  TimePoint timer_at_ = TimePoint::max();  // When timer_ fires; max: none.
  HttpSession::Phase phase_ = HttpSession::Phase::kIdle;
  int64_t phase_responses_ = 0;
  TimePoint phase_since_;   // When phase_ (for this request) began.
  TimePoint last_read_;     // Last read that returned bytes.
  TimePoint last_write_;    // Last write progress, or when output became pending.
  // Owned timers: destroying a handle cancels its task.
  net::EventLoop::Timer timer_;
  net::EventLoop::Timer linger_timer_;
  net::EventLoop::Timer resume_timer_;  // Answers the backlog in a later round.
};

}  // namespace epollhttp

#endif  // EPOLLHTTP_SERVER_CONNECTION_H_
