#include "server/net/epoll.h"

#include <cerrno>

namespace epollhttp::net {
namespace {

absl::Status Control(int epfd, int op, int fd, uint32_t events, uint64_t data) {
  epoll_event event{};
  event.events = events;
  event.data.u64 = data;
  if (::epoll_ctl(epfd, op, fd, &event) != 0) {
    return absl::ErrnoToStatus(errno, "epoll_ctl");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Epoll> Epoll::Create() {
  const int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) return absl::ErrnoToStatus(errno, "epoll_create1");
  return Epoll(Fd(fd));
}

absl::Status Epoll::Add(int fd, uint32_t events, uint64_t data) {
  return Control(fd_.get(), EPOLL_CTL_ADD, fd, events, data);
}

absl::Status Epoll::Modify(int fd, uint32_t events, uint64_t data) {
  return Control(fd_.get(), EPOLL_CTL_MOD, fd, events, data);
}

absl::Status Epoll::Remove(int fd) {
  if (::epoll_ctl(fd_.get(), EPOLL_CTL_DEL, fd, nullptr) != 0 && errno != EBADF &&
      errno != ENOENT) {
    return absl::ErrnoToStatus(errno, "epoll_ctl(DEL)");
  }
  return absl::OkStatus();
}

int Epoll::Wait(absl::Span<epoll_event> events, int timeout_ms) {
  while (true) {
    const int n = ::epoll_wait(fd_.get(), events.data(), static_cast<int>(events.size()),
                               timeout_ms);
    if (n >= 0) return n;
    if (errno != EINTR) return -errno;
  }
}

}  // namespace epollhttp::net
