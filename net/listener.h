// listener.h: a non-blocking listening TCP socket (IPv4) and accept4().
//
// Each event loop owns one Listener bound with SO_REUSEPORT to the same
// address, so the kernel spreads connections across loops without a shared
// accept queue or thundering herd. (Alternatively the loops share one socket
// through Dup() and watch it with EPOLLEXCLUSIVE; see ServerOptions.)
//
// Thread safety: a Listener is used by the one loop thread that owns it.
#ifndef EPOLLHTTP_NET_LISTENER_H_
#define EPOLLHTTP_NET_LISTENER_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "base/fd.h"

namespace epollhttp::net {

class Listener {
 public:
  // Bind() listens on `address`:`port` (port 0 picks a free one) with
  // SO_REUSEADDR and SO_REUSEPORT. Fails with InvalidArgument for a bad
  // address and the errno (e.g. EADDRINUSE) otherwise.
  //
  // With `defer_accept`, the kernel completes a connection's handshake but
  // queues it for accept() only once its first bytes arrive
  // (TCP_DEFER_ACCEPT), so a new connection can be read at once instead of
  // being registered with epoll first. A connection that sends nothing is
  // queued anyway after about a second (when the kernel's SYN-ACK retransmit
  // is answered), so it is still seen and timed out.
  static absl::StatusOr<Listener> Bind(const std::string& address, uint16_t port,
                                       bool defer_accept = false);

  // CheckPortFree() fails (as Bind would, e.g. EADDRINUSE) if `port` on
  // `address` is held by any socket, including another process's
  // SO_REUSEPORT group, which Bind() alone would silently join. Call it before
  // the first Bind() of a fixed port.
  static absl::Status CheckPortFree(const std::string& address, uint16_t port);

  // Dup() is another Listener on the same listening socket (a duplicated
  // descriptor), for loops that share one accept queue; fails with the errno.
  absl::StatusOr<Listener> Dup() const;

  // Accept() returns a new connected socket (SOCK_NONBLOCK | SOCK_CLOEXEC;
  // the connection sets TCP_NODELAY itself when it first needs it), or an
  // invalid Fd with `*error` set to errno (EAGAIN when no connection is
  // waiting, EMFILE/ENFILE when out of descriptors).
  Fd Accept(int* error);

  [[nodiscard]] uint16_t port() const { return port_; }
  [[nodiscard]] int fd() const { return fd_.get(); }

 private:
  Listener(Fd fd, uint16_t port) : fd_(std::move(fd)), port_(port) {}
  Fd fd_;
  uint16_t port_;
};

}  // namespace epollhttp::net

#endif  // EPOLLHTTP_NET_LISTENER_H_
