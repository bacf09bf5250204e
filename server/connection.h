// connection.h: one accepted TCP connection: socket I/O around an HttpSession.
//
// Reads in bounded rounds into the loop's scratch buffer (body bytes are never
// copied), keeps only an incomplete request head, writes responses and resumes
// partial writes on EPOLLOUT (armed only while output is pending), stops
// reading while too much output is queued, and after a closing response shuts
// the write side and drains input for a bounded time (lingering close) so the
// client reads the status rather than a reset.
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
#include "server/net/event_loop.h"
#include "server/net/fd.h"

namespace epollhttp {

class Connection {
 public:
  // `on_close` is called once, on the loop thread, when the connection is
  // finished; the owner then frees it with DeleteSoon. `scratch` is the loop's
  // shared read buffer and must outlive the connection.
  Connection(net::EventLoop* loop, net::Fd fd, const SessionOptions& options,
             absl::Span<char> scratch, absl::AnyInvocable<void(Connection*)> on_close);

  // Start() registers with the loop; returns false (and closes) on failure.
  bool Start();

  // Drain() is graceful shutdown: an idle connection closes now, a busy one
  // after its current response (which carries Connection: close).
  void Drain();

 private:
  void OnEvents(uint32_t events);
  void OnReadable();
  void Flush();
  void StartLingering();
  void Close();
  void UpdateEvents();

  net::EventLoop* loop_;
  net::Fd fd_;
  HttpSession session_;
  absl::Span<char> scratch_;
  absl::AnyInvocable<void(Connection*)> on_close_;
  std::unique_ptr<net::EventLoop::Watcher> watcher_;
  std::string pending_;  // Unconsumed input: an incomplete request head.
  std::string output_;
  size_t output_offset_ = 0;
  bool peer_closed_ = false;  // Read returned EOF: no more input.
  bool lingering_ = false;
  bool closed_ = false;
  net::EventLoop::TimerId linger_timer_;
};

}  // namespace epollhttp

#endif  // EPOLLHTTP_SERVER_CONNECTION_H_
