// fiber.h: cooperative fibers on one OS thread, scheduled around the epoll
// library's EventLoop (//net), so that blocking-style client code
// (cpp-httplib) can drive many connections from few threads. A fiber that
// would block on a socket or a sleep switches to the next runnable fiber
// instead; when none is runnable, the scheduler runs a loop round, which
// waits for the first descriptor or timer.
//
// Why: a blocking client thread per connection pays a context switch and a
// cross-CPU wake-up per request. Fibers batch the waits of all connections
// of a thread into one epoll_wait, as wrk's event loop does.
//
// Descriptors are watched once, edge-triggered (EPOLLIN | EPOLLOUT |
// EPOLLRDHUP | EPOLLET), from their first wait; closing a descriptor removes
// it from epoll. Whoever creates a descriptor that may reuse a closed one's
// number calls NewFd() first. Deadlines and sleeps are the loop's timers,
// which wake 200 us early and poll from then on, so a --rate schedule is
// kept to microseconds.
//
// Stacks are mmap()ed with a guard page below. Context switches are a few
// instructions of assembly on x86-64 (ucontext elsewhere), annotated for
// AddressSanitizer and ThreadSanitizer.
//
// Thread safety: a FiberScheduler, its fibers and every call below belong to
// the one thread that calls Run(). Different threads use different
// schedulers.
#ifndef EPOLLHTTP_LOADGEN_FIBER_H_
#define EPOLLHTTP_LOADGEN_FIBER_H_

#include <sys/epoll.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/fd.h"
#include "net/event_loop.h"

namespace epollhttp::loadgen {

class FiberScheduler {
 public:
  using Clock = std::chrono::steady_clock;

  // Create() makes a scheduler with its epoll instance. `stack_bytes` is each
  // fiber's stack (rounded up to pages; sanitizer builds use at least 4 MiB).
  // Stacks are reserved, not committed: a fiber costs the pages it touches.
  static absl::StatusOr<std::unique_ptr<FiberScheduler>> Create(size_t stack_bytes = 1024 * 1024);
  // Fibers that have not finished (Run() was not called) are dropped unrun.
  ~FiberScheduler();

  FiberScheduler(const FiberScheduler&) = delete;
  FiberScheduler& operator=(const FiberScheduler&) = delete;

  // Spawn() adds a fiber that runs `body` once Run() reaches it. Fails
  // (ResourceExhausted) if its stack cannot be mapped.
  absl::Status Spawn(absl::AnyInvocable<void()> body);

  // Run() runs the fibers until every one has returned. Fails (with the
  // fibers left unfinished) if waiting for events fails.
  absl::Status Run();

  // Current() is the scheduler whose fiber is running on this thread, or null
  // outside any fiber.
  static FiberScheduler* Current();

  // WaitFd() (from a fiber) suspends the calling fiber until `fd` reports
  // readiness (any event counts: callers retry their operation) or until
  // `deadline`. Returns false on timeout. Safe only after the caller saw
  // EAGAIN (or a short read) since the last readiness it consumed, or when
  // ReadableSeen(fd) is false (see there).
  bool WaitFd(int fd, Clock::time_point deadline);

  // SleepUntil() (from a fiber) suspends the calling fiber until `when`.
  void SleepUntil(Clock::time_point when);

  // NewFd() forgets what was known about descriptor number `fd`: a new
  // socket with this number exists and is not registered yet.
  void NewFd(int fd);

  // ReadableSeen() is whether epoll reported input on `fd` since
  // ClearReadable(fd), or ever reported a hang-up or error (end of stream
  // stays readable after the data before it is drained, and no new edge
  // announces it). While it is false, any input that arrived since then still
  // has an unconsumed edge, so a reader may wait before its first read. Call
  // ClearReadable() when a read finds the socket empty (EAGAIN, or a read
  // shorter than asked for, which on TCP means the queue was drained).
  bool ReadableSeen(int fd) const {
    return static_cast<size_t>(fd) < fds_.size() &&
           (fds_[fd].readable_seen || fds_[fd].hangup_seen);
  }
  void ClearReadable(int fd) {
    if (static_cast<size_t>(fd) < fds_.size()) fds_[fd].readable_seen = false;
  }

  struct Context;  // A suspended stack (implementation detail of fiber.cc).

 private:
  struct Fiber;
  struct FdState {
    std::unique_ptr<net::EventLoop::Watcher> watcher;  // From the first wait.
    Fiber* waiter = nullptr;
    bool readable_seen = false;
    bool hangup_seen = false;  // EPOLLRDHUP, EPOLLHUP or EPOLLERR: sticky.
  };

  FiberScheduler(std::unique_ptr<net::EventLoop> loop, size_t stack_bytes);
  FdState& StateOf(int fd);
  // OnReady() records readiness of `fd` and wakes its waiter.
  void OnReady(int fd, uint32_t events);
  // Suspend() switches from the running fiber back to the scheduler.
  void Suspend();
  // Resume() switches from the scheduler into `fiber` until it suspends or ends.
  void Resume(Fiber* fiber);
  static void Entry(void* fiber);

  std::unique_ptr<net::EventLoop> loop_;
  size_t stack_bytes_;
  std::vector<std::unique_ptr<Fiber>> fibers_;  // Live fibers.
  std::deque<Fiber*> runnable_;
  std::vector<FdState> fds_;
  Fiber* running_ = nullptr;
  std::unique_ptr<Context> scheduler_context_;  // Run()'s own stack while a fiber runs.
  // Sanitizer bookkeeping for the thread's own stack.
  const void* main_stack_bottom_ = nullptr;
  size_t main_stack_size_ = 0;
  void* main_tsan_fiber_ = nullptr;
};

}  // namespace epollhttp::loadgen

#endif  // EPOLLHTTP_LOADGEN_FIBER_H_
