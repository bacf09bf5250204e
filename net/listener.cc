#include "net/listener.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>

#include "absl/strings/str_cat.h"

namespace epollhttp::net {

absl::StatusOr<Listener> Listener::Bind(const std::string& address, uint16_t port,
                                        bool defer_accept) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, address.c_str(), &addr.sin_addr) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("not an IPv4 address: \"", address, "\""));
  }
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return absl::ErrnoToStatus(errno, "socket");
  const int one = 1;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
      ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
    return absl::ErrnoToStatus(errno, "setsockopt");
  }
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("bind ", address, ":", port));
  }
  const int defer_seconds = 1;  // The shortest deferral the kernel offers.
  if (defer_accept && ::setsockopt(fd.get(), IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer_seconds,
                                   sizeof(defer_seconds)) != 0) {
    return absl::ErrnoToStatus(errno, "setsockopt(TCP_DEFER_ACCEPT)");
  }
  if (::listen(fd.get(), SOMAXCONN) != 0) return absl::ErrnoToStatus(errno, "listen");
  socklen_t len = sizeof(addr);
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return absl::ErrnoToStatus(errno, "getsockname");
  }
  return Listener(std::move(fd), ntohs(addr.sin_port));
}

absl::Status Listener::CheckPortFree(const std::string& address, uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, address.c_str(), &addr.sin_addr) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("not an IPv4 address: \"", address, "\""));
  }
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return absl::ErrnoToStatus(errno, "socket");
  const int one = 1;
  // SO_REUSEADDR (TIME_WAIT leftovers are fine) but not SO_REUSEPORT: the
  // bind fails if anything, a reuseport group included, holds the port.
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) {
    return absl::ErrnoToStatus(errno, "setsockopt");
  }
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("bind ", address, ":", port));
  }
  return absl::OkStatus();
}

absl::StatusOr<Listener> Listener::Dup() const {
  Fd copy(::fcntl(fd_.get(), F_DUPFD_CLOEXEC, 0));
  if (!copy) return absl::ErrnoToStatus(errno, "dup");
  return Listener(std::move(copy), port_);
}

Fd Listener::Accept(int* error) {
  Fd fd(::accept4(fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
  if (!fd) {
    *error = errno;
    return fd;
  }
  *error = 0;
  return fd;
}

}  // namespace epollhttp::net
