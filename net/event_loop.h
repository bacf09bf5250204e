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
#ifndef EPOLLHTTP_NET_EVENT_LOOP_H_
#define EPOLLHTTP_NET_EVENT_LOOP_H_

#include <sys/epoll.h>

#include <chrono>
#include <climits>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "base/clock.h"
#include "base/fd.h"
#include "net/epoll.h"

namespace epollhttp::net {

class EventLoop {
 public:
  using Clock = ::epollhttp::Clock;
  using FdCallback = absl::AnyInvocable<void(uint32_t events)>;
  using Task = absl::AnyInvocable<void()>;

  // A registered fd. It may be held by value in its owner (Start()) or come
  // from Watch(). Destroying it unregisters the fd (which it does not own),
  // and no callback for it runs afterwards, even one already returned by the
  // same epoll_wait.
  class Watcher {
   public:
    explicit Watcher(EventLoop* loop) : loop_(loop) {}
    Watcher(const Watcher&) = delete;
    Watcher& operator=(const Watcher&) = delete;
    ~Watcher();
    // Start() registers `fd` for `events`; `callback` runs on the loop
    // thread with the ready events. False (nothing registered) if epoll_ctl
    // fails or the watcher is already started.
    bool Start(int fd, uint32_t events, FdCallback callback);
    // Stop() unregisters now (as destroying does); no callback runs after it.
    void Stop();
    // SetEvents() changes the epoll events watched (e.g. add EPOLLOUT).
    // Returns false (and logs nothing) if epoll_ctl fails.
    bool SetEvents(uint32_t events);
    [[nodiscard]] uint32_t events() const { return events_; }
    [[nodiscard]] bool started() const { return registered_; }
    // FdClosing() tells the watcher that its fd is about to be closed (and has
    // no duplicates), which removes it from epoll by itself: destroying the
    // watcher then skips the epoll_ctl(DEL) system call.
    void FdClosing() { fd_closing_ = true; }

   private:
    friend class EventLoop;
    EventLoop* loop_;
    int fd_ = -1;
    uint32_t events_ = 0;
    bool registered_ = false;  // Added to epoll (and counted in watchers_).
    bool fd_closing_ = false;
    FdCallback callback_;
  };

  // A one-shot timer held by value in its owner, so arming it allocates
  // nothing: the loop keeps armed timers in a binary heap ordered by time
  // (O(log n) arm, re-arm and cancel). Each ArmAt() runs `callback(arg)` once
  // unless cancelled first; destroying the timer cancels it. Not movable: the
  // loop points at it while it is armed.
  class InlineTimer {
   public:
    using Callback = void (*)(void* arg);
    InlineTimer(EventLoop* loop, Callback callback, void* arg)
        : loop_(loop), callback_(callback), arg_(arg) {}
    InlineTimer(const InlineTimer&) = delete;
    InlineTimer& operator=(const InlineTimer&) = delete;
    ~InlineTimer() { Cancel(); }

    // ArmAt() (re)schedules the timer for `when`, or for the loop's Now() if
    // that is earlier.
    void ArmAt(Clock::time_point when);
    void ArmAfter(Clock::duration delay) { ArmAt(loop_->Now() + delay); }
    void Cancel();
    [[nodiscard]] bool armed() const { return index_ != kNotArmed; }
    [[nodiscard]] Clock::time_point when() const { return when_; }

   private:
    friend class EventLoop;
    static constexpr uint32_t kNotArmed = UINT32_MAX;
    EventLoop* loop_;
    Callback callback_;
    void* arg_;
    Clock::time_point when_;
    uint64_t sequence_ = 0;
    uint32_t index_ = kNotArmed;  // Position in the loop's heap.
  };

  // A one-shot task armed by RunAfter(), owned by its handle. Destroying the
  // handle, or Cancel(), cancels the task if it has not run; after the task
  // has run the handle is inert (and may be re-assigned from inside the
  // task). A default-constructed handle holds no timer. Move-only.
  class Timer {
   public:
    Timer() = default;
    Timer(Timer&&) noexcept = default;
    Timer& operator=(Timer&&) noexcept = default;
    ~Timer() = default;

    void Cancel() {
      if (record_ != nullptr) record_->node.Cancel();
    }
    // armed() is true while the task is still to run.
    [[nodiscard]] bool armed() const { return record_ != nullptr && record_->node.armed(); }

   private:
    friend class EventLoop;
    struct Record {
      Record(EventLoop* loop, Task t) : node(loop, &Record::Fire, this), task(std::move(t)) {}
      static void Fire(void* self);
      InlineTimer node;
      Task task;
    };
    std::unique_ptr<Record> record_;
  };

  // Create() makes a loop with its epoll instance and wake-up eventfd. It
  // reads `time` (not owned; it must outlive the loop), or the steady clock
  // when null.
  static absl::StatusOr<std::unique_ptr<EventLoop>> Create(TimeSource* time = nullptr);
  ~EventLoop();

  // Watch() is a started Watcher for `fd`, or nullptr if epoll_ctl fails.
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
  // The timer heap, ordered by (when, sequence).
  static bool Before(const InlineTimer* a, const InlineTimer* b) {
    return a->when_ < b->when_ || (a->when_ == b->when_ && a->sequence_ < b->sequence_);
  }
  void HeapPush(InlineTimer* timer);
  void HeapRemove(uint32_t index);
  void SiftUp(uint32_t index);
  void SiftDown(uint32_t index);
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
  std::vector<InlineTimer*> timers_;  // A binary heap.
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

#endif  // EPOLLHTTP_NET_EVENT_LOOP_H_
