// epoll.h: `Epoll`, a thin owner of one epoll instance.
//
// Setup calls return absl::Status; `Wait()` is on the hot path and returns a
// plain count (or -errno). Knows nothing about callbacks: see event_loop.h.
//
// Thread safety: Add/Modify/Remove may be called from any thread (the kernel
// serialises them); Wait() from one thread at a time.
#ifndef EPOLLHTTP_NET_EPOLL_H_
#define EPOLLHTTP_NET_EPOLL_H_

#include <sys/epoll.h>

#include <chrono>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "base/fd.h"

namespace epollhttp::net {

class Epoll {
 public:
  // Create() returns a new epoll instance (EPOLL_CLOEXEC), or the errno as a
  // Status if epoll_create1 fails.
  static absl::StatusOr<Epoll> Create();

  // Add() registers `fd` for `events` with `data` returned by Wait().
  absl::Status Add(int fd, uint32_t events, uint64_t data);
  // Modify() changes the events/data of a registered `fd`.
  absl::Status Modify(int fd, uint32_t events, uint64_t data);
  // Remove() unregisters `fd`; a descriptor that is already closed is fine.
  absl::Status Remove(int fd);

  // Wait() waits up to `timeout` (negative: forever; nanosecond precision
  // with epoll_pwait2, milliseconds rounded up on kernels before 5.11) and
  // fills `events`. Returns the number filled (0 on timeout), retrying EINTR;
  // -errno on failure.
  int Wait(absl::Span<epoll_event> events, std::chrono::nanoseconds timeout);

  [[nodiscard]] int fd() const { return fd_.get(); }

 private:
  explicit Epoll(Fd fd) : fd_(std::move(fd)) {}
  Fd fd_;
};

}  // namespace epollhttp::net

#endif  // EPOLLHTTP_NET_EPOLL_H_
