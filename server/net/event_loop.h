// event_loop.h: `EventLoop`, one reactor per thread: fd readiness callbacks,
// timers, cross-thread tasks and deferred destruction (muduo/Envoy design).
//
// - Watch() registers an fd and returns an owned `Watcher`; destroying the
//   watcher unregisters the fd, and no callback for it runs afterwards, even
//   one already returned by the same epoll_wait.
// - RunAfter() arms a one-shot timer and returns an owned `Timer`;
//   destroying the handle cancels it (O(log n) arm and cancel). Timers drive
//   the epoll_wait timeout. A timer armed while timers run (even with zero
//   delay) fires in the next round, after that round's I/O, so a task that
//   re-arms itself yields to other work instead of starving it.
// - Post() and Stop() are safe from any thread (mutex-guarded queue, eventfd
//   wake-up).
// - DeleteSoon() frees an object after the current dispatch round, so a
//   connection is never freed inside its own callback.
// - Time comes from a TimeSource (base/clock.h): the steady clock, or in
//   tests a ManualTime they advance by hand and then RunUntilIdle(), so every
//   timeout can be tested without waiting.
// - Waits have nanosecond precision (epoll_pwait2). RunOnce() lets another
//   scheduler (loadgen's fibers) drive the loop a round at a time, and
//   set_timer_spin() makes timers fire within microseconds of their time.
// - An epoll_wait failure is returned, never retried in a loop: Run() stops
//   and RunOnce() reports it.
//
// Thread safety: everything except Post() and Stop() must be called on the
// loop's thread (the one inside Run()), or before Run() starts.
#ifndef EPOLLHTTP_SERVER_NET_EVENT_LOOP_H_
#define EPOLLHTTP_SERVER_NET_EVENT_LOOP_H_

#include <sys/epoll.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "base/clock.h"
#include "base/fd.h"
#include "server/net/epoll.h"

namespace epollhttp::net {

class EventLoop {
 public:
  using Clock = ::epollhttp::Clock;
  using FdCallback = absl::AnyInvocable<void(uint32_t events)>;
  using Task = absl::AnyInvocable<void()>;

  // A registered fd. Destroying it unregisters the fd (which it does not own).
  class Watcher {
   public:
    Watcher(const Watcher&) = delete;
    Watcher& operator=(const Watcher&) = delete;
    ~Watcher();
    // SetEvents() changes the epoll events watched (e.g. add EPOLLOUT).
    // Returns false (and logs nothing) if epoll_ctl fails.
    bool SetEvents(uint32_t events);
    [[nodiscard]] uint32_t events() const { return events_; }
    // FdClosing() tells the watcher that its fd is about to be closed (and has
    // no duplicates), which removes it from epoll by itself: destroying the
    // watcher then skips the epoll_ctl(DEL) system call.
    void FdClosing() { fd_closing_ = true; }

   private:
    friend class EventLoop;
    Watcher(EventLoop* loop, int fd, uint32_t events, FdCallback callback)
        : loop_(loop), fd_(fd), events_(events), callback_(std::move(callback)) {}
    EventLoop* loop_;
    int fd_;
    uint32_t events_;
    bool registered_ = false;  // Added to epoll (and counted in watchers_).
    bool fd_closing_ = false;
    FdCallback callback_;
  };

  // A one-shot timer armed by RunAfter(). Destroying the handle, or
  // Cancel(), cancels the task if it has not run; after the task has run the
  // handle is inert. A default-constructed handle holds no timer. Move-only.
  class Timer {
   public:
    Timer() = default;
    Timer(Timer&& other) noexcept { *this = std::move(other); }
    Timer& operator=(Timer&& other) noexcept;
    Timer(const Timer&) = delete;
    Timer& operator=(const Timer&) = delete;
    ~Timer() { Cancel(); }

    void Cancel();
    // armed() is true while the task is still to run.
    [[nodiscard]] bool armed() const;

   private:
    friend class EventLoop;
    Timer(EventLoop* loop, Clock::time_point when, uint64_t sequence)
        : loop_(loop), when_(when), sequence_(sequence) {}
    EventLoop* loop_ = nullptr;
    Clock::time_point when_;
    uint64_t sequence_ = 0;
  };

  // Create() makes a loop with its epoll instance and wake-up eventfd. It
  // reads `time` (not owned; it must outlive the loop), or the steady clock
  // when null.
  static absl::StatusOr<std::unique_ptr<EventLoop>> Create(TimeSource* time = nullptr);
  ~EventLoop();

  // Watch() registers `fd` (level-triggered `events`); `callback` runs on this
  // thread with the ready events. Returns nullptr if epoll_ctl fails.
  std::unique_ptr<Watcher> Watch(int fd, uint32_t events, FdCallback callback);

  // RunAfter() runs `task` once, `delay` from Now(), unless the returned
  // handle is cancelled or destroyed first. The handle must not outlive the
  // loop.
  [[nodiscard]] Timer RunAfter(Clock::duration delay, Task task);

  // DeleteSoon() destroys `object` after the current dispatch round.
  template <typename T>
  void DeleteSoon(std::unique_ptr<T> object) {
    deferred_.emplace_back([object = std::move(object)]() mutable { object.reset(); });
  }

  // Post() queues `task` to run on the loop thread. Safe from any thread.
  void Post(Task task);
  // Stop() makes Run() return after the current round. Safe from any thread.
  void Stop();
  // Run() dispatches events until Stop() or an epoll_wait failure (logged to
  // stderr). Call from the loop's own thread.
  void Run();

  // RunOnce() runs one round: waits for readiness, a posted task or the first
  // timer, but at most `max_wait` (zero: does not block;
  // Clock::duration::max(): no limit), then dispatches ready fds, posted
  // tasks, due timers and deferred deletions. Returns the amount of work done
  // (0: none), or -errno if epoll_wait failed.
  int RunOnce(Clock::duration max_wait);

  // set_timer_spin() wakes `spin` before a timer is due and from then on polls
  // without blocking, so the timer runs within microseconds of its time
  // instead of after the kernel's timer slack. For latency-sensitive
  // schedules (loadgen's --rate); costs busy polling for `spin` per timer.
  void set_timer_spin(Clock::duration spin) { timer_spin_ = spin; }

  // RunUntilIdle() runs rounds without blocking until nothing is left to do
  // now: no ready fd, posted task, due timer or deferred deletion (at most
  // `max_rounds`). Returns the rounds run. For tests driving a ManualTime.
  int RunUntilIdle(int max_rounds = 100'000);

  // Now() is the time at the start of the current dispatch round (or of the
  // last RunUntilIdle() round).
  [[nodiscard]] Clock::time_point Now() const { return now_; }

 private:
  EventLoop(Epoll epoll, Fd wake_fd, TimeSource* time)
      : epoll_(std::move(epoll)), wake_fd_(std::move(wake_fd)), time_(time), now_(ReadTime()) {}
  Clock::time_point ReadTime() { return time_ != nullptr ? time_->Now() : Clock::now(); }
  void Forget(Watcher* watcher);
  // Timeout() is how long the next wait may block: until the first timer
  // (less the spin), at most `max_wait`; negative: forever.
  std::chrono::nanoseconds Timeout(Clock::duration max_wait);
  // RunTimers() returns how many timers ran.
  int RunTimers();
  // RunPosted() returns how many tasks ran.
  int RunPosted();

  Epoll epoll_;
  Fd wake_fd_;
  TimeSource* time_;  // Null: the steady clock.
  Clock::time_point now_;
  std::map<std::pair<Clock::time_point, uint64_t>, Task> timers_;
  uint64_t next_sequence_ = 1;
  int watchers_ = 0;  // Registered watchers (the wake-up eventfd aside).
  Clock::duration timer_spin_ = Clock::duration::zero();
  std::vector<epoll_event> events_ = std::vector<epoll_event>(256);
  int dispatch_index_ = 0;
  int dispatch_count_ = 0;
  std::vector<Task> deferred_;

  // std::mutex rather than absl::Mutex: Debian's abseil is not built with
  // ThreadSanitizer, which then cannot see absl::Mutex's happens-before.
  std::mutex mutex_;
  std::vector<Task> posted_;     // Guarded by mutex_.
  bool stop_requested_ = false;  // Guarded by mutex_.
};

}  // namespace epollhttp::net

#endif  // EPOLLHTTP_SERVER_NET_EVENT_LOOP_H_
