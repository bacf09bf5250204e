#include "net/epoll.h"

#include <time.h>

#include <algorithm>
#include <atomic>
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

int Epoll::Wait(absl::Span<epoll_event> events, std::chrono::nanoseconds timeout) {
  // Set once a kernel without epoll_pwait2 has been seen.
  static std::atomic<bool> no_pwait2{false};
  const int size = static_cast<int>(events.size());
  while (true) {
    int n;
    if (timeout.count() < 0 || timeout.count() == 0) {
      n = ::epoll_wait(fd_.get(), events.data(), size, timeout.count() < 0 ? -1 : 0);
    } else if (!no_pwait2.load(std::memory_order_relaxed)) {
      const timespec wait{static_cast<time_t>(timeout.count() / 1'000'000'000),
                          static_cast<long>(timeout.count() % 1'000'000'000)};
      n = ::epoll_pwait2(fd_.get(), events.data(), size, &wait, nullptr);
      if (n < 0 && errno == ENOSYS) {
        no_pwait2.store(true, std::memory_order_relaxed);
        continue;
      }
    } else {
      const int64_t ms = std::min<int64_t>((timeout.count() + 999'999) / 1'000'000, 1 << 30);
      n = ::epoll_wait(fd_.get(), events.data(), size, static_cast<int>(ms));
    }
    if (n >= 0) return n;
    if (errno != EINTR) return -errno;
  }
}

}  // namespace epollhttp::net
