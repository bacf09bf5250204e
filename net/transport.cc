#include "net/transport.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace epollhttp::net {

ssize_t SocketTransport::Read(absl::Span<char> buffer, int* error) {
  ssize_t n;
  do {
    n = ::read(fd_.get(), buffer.data(), buffer.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) *error = errno;
  return n;
}

ssize_t SocketTransport::Discard(size_t n, int* error) {
  // TCP honours MSG_TRUNC on receive: the bytes are dropped in the kernel,
  // never copied. The system call is made directly because sanitizer
  // interceptors for recv() would treat the null buffer as `n` bytes written.
  ssize_t got;
  do {
    got = ::syscall(SYS_recvfrom, fd_.get(), nullptr, n, MSG_TRUNC, nullptr, nullptr);
  } while (got < 0 && errno == EINTR);
  if (got < 0) *error = errno;
  return got;
}

ssize_t SocketTransport::Write(absl::string_view data, Push push, int* error) {
  // MSG_MORE holds a part-filled last segment until the FIN that the caller
  // promised joins it (ShutdownWrite() and close() push it out).
  const int flags = MSG_NOSIGNAL | (push == Push::kWithFin ? MSG_MORE : 0);
  ssize_t n;
  do {
    n = ::send(fd_.get(), data.data(), data.size(), flags);
  } while (n < 0 && errno == EINTR);
  if (n < 0) *error = errno;
  return n;
}

ssize_t SocketTransport::Splice(int pipe_fd, size_t count, int* error) {
  // A peer that is gone is EPIPE: the server ignores SIGPIPE.
  ssize_t n;
  do {
    n = ::splice(pipe_fd, nullptr, fd_.get(), nullptr, count, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
  } while (n < 0 && errno == EINTR);
  if (n < 0) *error = errno;
  return n;
}

void SocketTransport::ShutdownWrite() { ::shutdown(fd_.get(), SHUT_WR); }

void SocketTransport::SetNoDelay() {
  const int one = 1;
  ::setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

bool SocketTransport::Watch(uint32_t events, ReadyCallback callback) {
  return watcher_.Start(fd_.get(), events, std::move(callback));
}

bool SocketTransport::SetEvents(uint32_t events) {
  return watcher_.started() && watcher_.SetEvents(events);
}

void SocketTransport::Close() {
  // close() removes the fd from epoll, so the watcher need not.
  watcher_.FdClosing();
  watcher_.Stop();
  fd_.reset();
}

std::string SocketTransport::PeerName() const {
  sockaddr_storage addr{};
  socklen_t size = sizeof(addr);
  char host[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (::getpeername(fd_.get(), reinterpret_cast<sockaddr*>(&addr), &size) != 0 ||
      addr.ss_family != AF_INET) {
    return "?";
  }
  const auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
  ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
  port = ntohs(in->sin_port);
  return std::string(host) + ":" + std::to_string(port);
}

}  // namespace epollhttp::net
