// transport.h: `Transport`, the byte stream under one connection, and
// `SocketTransport`, its implementation over a connected TCP socket watched by
// an EventLoop.
//
// The connection above sees only this interface, so tests and fuzzers can put
// an in-memory fake underneath it (testing/fake_transport.h) and drive every
// partial read and write, hang-up and error without a socket. Results follow
// the system calls': a byte count, 0 at end of stream, or -1 with an errno
// value (EAGAIN when the operation would block).
//
// Readiness uses epoll's bits (EPOLLIN, EPOLLOUT, EPOLLRDHUP; EPOLLHUP and
// EPOLLERR are always reported) and level-triggered semantics: the callback
// runs, on the loop thread, whenever a wanted condition holds.
//
// Thread safety: a transport belongs to one connection on one loop thread.
#ifndef EPOLLHTTP_NET_TRANSPORT_H_
#define EPOLLHTTP_NET_TRANSPORT_H_

#include <sys/types.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "base/fd.h"
#include "net/event_loop.h"

namespace epollhttp::net {

// Push says when written bytes leave. kWithFin is a promise: the caller ends
// the stream (ShutdownWrite() or Close()) once these bytes are all written,
// and waits for nothing but writability before then. The transport may then
// hold a final part-filled segment back (MSG_MORE) so that it leaves with the
// FIN: one packet fewer per connection-per-request exchange.
enum class Push : uint8_t { kNow, kWithFin };

class Transport {
 public:
  using ReadyCallback = absl::AnyInvocable<void(uint32_t events)>;

  virtual ~Transport() = default;

  // Read() reads up to `buffer.size()` bytes: > 0 bytes read, 0 at end of
  // stream, or -1 with `*error` set (EAGAIN: nothing to read now).
  virtual ssize_t Read(absl::Span<char> buffer, int* error) = 0;
  // Discard() drops up to `n` received bytes without copying them; returns
  // as Read().
  virtual ssize_t Discard(size_t n, int* error) = 0;
  // Write() writes a prefix of `data`: bytes written, or -1 with `*error`
  // set (EAGAIN: the peer is not taking more now; anything else: the peer is
  // gone). `push` is when the bytes must leave (see Push).
  virtual ssize_t Write(absl::string_view data, Push push, int* error) = 0;
  // splices() is whether Splice() works here.
  [[nodiscard]] virtual bool splices() const { return false; }
  // Splice() moves up to `count` bytes from pipe `pipe_fd` to the stream
  // (splice(2): the pipe's pages, no copy through user space, never waiting
  // on the pipe); returns as Write(). The default cannot: -1 with ENOSYS.
  virtual ssize_t Splice(int pipe_fd, size_t count, int* error) {
    (void)pipe_fd;
    (void)count;
    *error = ENOSYS;
    return -1;
  }
  // ShutdownWrite() sends end of stream; reading goes on.
  virtual void ShutdownWrite() = 0;
  // SetNoDelay() sends small writes at once (TCP_NODELAY).
  virtual void SetNoDelay() = 0;
  // Watch() starts readiness reports for `events`; false if that fails.
  virtual bool Watch(uint32_t events, ReadyCallback callback) = 0;
  // SetEvents() changes the events watched; false if that fails.
  virtual bool SetEvents(uint32_t events) = 0;
  // Close() ends the stream in both directions; no callback runs after it.
  virtual void Close() = 0;
  // PeerName() is the peer's "address:port", or "?" when unknown.
  [[nodiscard]] virtual std::string PeerName() const = 0;
};

class SocketTransport final : public Transport {
 public:
  // Takes ownership of the connected, non-blocking socket `fd`.
  SocketTransport(EventLoop* loop, Fd fd) : fd_(std::move(fd)), watcher_(loop) {}

  ssize_t Read(absl::Span<char> buffer, int* error) override;
  ssize_t Discard(size_t n, int* error) override;
  ssize_t Write(absl::string_view data, Push push, int* error) override;
  [[nodiscard]] bool splices() const override { return true; }
  ssize_t Splice(int pipe_fd, size_t count, int* error) override;
  void ShutdownWrite() override;
  void SetNoDelay() override;
  bool Watch(uint32_t events, ReadyCallback callback) override;
  bool SetEvents(uint32_t events) override;
  void Close() override;
  [[nodiscard]] std::string PeerName() const override;

 private:
  Fd fd_;
  EventLoop::Watcher watcher_;  // Unregisters (unless the fd closed first) when destroyed.
};

}  // namespace epollhttp::net

#endif  // EPOLLHTTP_NET_TRANSPORT_H_
