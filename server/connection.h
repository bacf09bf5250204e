// connection.h: one accepted TCP connection: socket I/O around an HttpSession.
//
// Reads in bounded rounds with one readv() into its input Buffer and the
// loop's scratch buffer (body bytes are never copied; a Content-Length body's
// tail is dropped in the kernel), keeps only an incomplete request head, writes responses and resumes
// partial writes on EPOLLOUT (armed only while output is pending), stops
// reading while too much output is queued, and after a closing response shuts
// the write side and drains input for a bounded time (lingering close) so the
// client reads the status rather than a reset. (After a complete request
// answered with Connection: close and no further input, it closes at once.)
//
// Timeouts (ConnectionOptions): a request head must arrive within
// header_timeout of its first byte (408, then close); a body must make
// progress every body_timeout; a kept-alive connection may idle for
// idle_timeout (a new one, before its first byte, for header_timeout); queued
// output must make progress every write_timeout. The last three close without
// a response. One timer per connection is re-armed lazily: progress only
// records a time, and the timer re-checks when it fires, so busy connections
// cost no timer operations.
//
// Thread safety: created, used and destroyed on its event loop's thread.
#ifndef EPOLLHTTP_SERVER_CONNECTION_H_
#define EPOLLHTTP_SERVER_CONNECTION_H_

#include <chrono>
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
};

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

  // Drain() is graceful shutdown: an idle connection closes now, a busy one
  // after its current response (which carries Connection: close).
  void Drain();

 private:
  using TimePoint = net::EventLoop::Clock::time_point;

  void OnEvents(uint32_t events);
  // AfterIo() notes phase changes and makes sure the timer is due by the
  // earliest deadline.
  void AfterIo();
  // Deadline() is when the current timeout expires, and which one it is.
  TimePoint Deadline(TimeoutKind* kind) const;
  void OnTimer();
  void OnReadable();
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
  bool NothingUnread();
  void StartLingering();
  void Close();
  // WantedEvents() is the epoll events the connection needs now: EPOLLOUT
  // while output is pending, EPOLLIN unless input is paused or finished.
  uint32_t WantedEvents() const;
  void UpdateEvents();

  net::EventLoop* loop_;
  net::Fd fd_;
  ConnectionOptions options_;
  WorkerStats* stats_;
  HttpSession session_;
  absl::Span<char> scratch_;
  std::string* shared_output_;
  absl::AnyInvocable<void(Connection*)> on_close_;
  std::unique_ptr<net::EventLoop::Watcher> watcher_;
  net::Buffer input_;     // Unconsumed input: an incomplete request head.
  std::string output_;    // Response bytes the socket has not taken yet.
  size_t output_offset_ = 0;
  bool peer_closed_ = false;  // Read returned EOF: no more input.
  bool input_drained_ = false;  // The last read found the socket empty.
  bool sent_before_ = false;    // A write has been made (see Flush()).
  bool nodelay_ = false;        // TCP_NODELAY is set.
  bool lingering_ = false;
  bool closed_ = false;
  net::EventLoop::TimerId linger_timer_;
  // Timeouts.
  net::EventLoop::TimerId timer_;
  TimePoint timer_at_ = TimePoint::max();  // When timer_ fires; max: none.
  HttpSession::Phase phase_ = HttpSession::Phase::kIdle;
  int64_t phase_responses_ = 0;
  TimePoint phase_since_;   // When phase_ (for this request) began.
  TimePoint last_read_;     // Last read that returned bytes.
  TimePoint last_write_;    // Last write progress, or when output became pending.
};

}  // namespace epollhttp

#endif  // EPOLLHTTP_SERVER_CONNECTION_H_
