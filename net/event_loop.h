// event_loop.h: `EventLoop`, one reactor per thread: fd readiness callbacks
// (`Watcher`), timers (`Timer`), cross-thread tasks and deferred destruction
// (the muduo / Envoy / libuv design).
//
// A round of the loop (RunOnce()) waits in epoll_wait, then runs, in order:
// 1. the callbacks of the fds that are ready;
// 2. the tasks other threads Post()ed;
// 3. the timers due at the round's time, and those armed with
//    Timer::ArmNextRound() in an earlier round;
// 4. DeleteSoon() destructions.
// A timer armed while timers run (even one already due) runs in the next
// round, after that round's I/O: a callback that re-arms itself yields to
// other work instead of starving it.
//
// - Watchers and timers are owned by their users, usually by value: the loop
//   only points at them while they are registered or armed, and destroying
//   one unregisters or cancels it. No callback of a destroyed watcher runs,
//   even one already returned by the same epoll_wait.
// - Time comes from a TimeSource (base/clock.h): the steady clock, or in
//   tests a ManualTime they advance by hand and then RunUntilIdle(), so every
//   timeout can be tested without waiting.
// - Waits have nanosecond precision (epoll_pwait2). RunOnce() lets another
//   scheduler (loadgen's fibers) drive the loop a round at a time, and
//   set_timer_spin() makes timers fire within microseconds of their time.
// - An epoll_wait failure is returned, never retried in a loop: Run() stops
//   and RunOnce() reports it.
//
// Thread safety: Post() and Stop() may be called from any thread. Everything
// else, on this class and on its Watchers and Timers, must be called on the
// loop's thread: the one inside Run(), or any one thread while no thread is
// inside Run() (setting up before, tearing down after). InLoopThread() tells
// which, and the loop checks it (EPOLLHTTP_DCHECK, base/check.h).
#ifndef EPOLLHTTP_NET_EVENT_LOOP_H_
#define EPOLLHTTP_NET_EVENT_LOOP_H_

#include <sys/epoll.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "base/clock.h"
#include "base/fd.h"
#include "net/epoll.h"

namespace epollhttp::net {

class EventLoop;
class TimerQueue;  // The loop's armed timers (timer_queue.h, private to //net).

// A one-shot callback on one loop's thread, held by value in its owner, so
// arming it allocates nothing. ArmAt() and ArmAfter() run it at a time (the
// loop keeps such timers in a binary heap: O(log n) arm, re-arm and cancel);
// ArmNextRound() runs it in the loop's next round, after that round's I/O
// (O(1)), to yield to other connections before going on. Each arming replaces
// the previous one; the callback runs once per arming unless cancelled first.
// Destroying the timer cancels it. Not copyable or movable: the loop points
// at it while it is armed.
//
// Thread safety: the loop's thread only (see EventLoop). The callback may
// re-arm, cancel or destroy its own timer.
//
// The callback is a std::function (copyable callables only): 32 bytes and
// 8-byte aligned, where absl::AnyInvocable is 16-byte aligned and would pad
// every idle connection's timer by 16 bytes (docs/architecture.md has the
// byte budget).
class Timer {
 public:
  using Callback = std::function<void()>;
  using Clock = ::epollhttp::Clock;

  Timer(EventLoop* loop, Callback callback) : loop_(loop), callback_(std::move(callback)) {}
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;
  ~Timer() { Cancel(); }

  // ArmAt() (re)schedules the callback for `when`, or for the loop's Now()
  // if that is earlier.
  void ArmAt(Clock::time_point when);
  void ArmAfter(Clock::duration delay);
  // ArmNextRound() (re)schedules the callback for the loop's next round,
  // after that round's I/O. The next epoll_wait does not block.
  void ArmNextRound();
  // Cancel() disarms the timer; it does nothing if the timer is not armed.
  void Cancel();

  // armed() is true while the callback is still to run; next_round() when it
  // is armed with ArmNextRound().
  [[nodiscard]] bool armed() const { return slot_ != kNotArmed; }
  [[nodiscard]] bool next_round() const {
    return slot_ != kNotArmed && (slot_ & kNextRoundBit) != 0;
  }
  // when() is the time armed with ArmAt()/ArmAfter() (meaningless otherwise).
  [[nodiscard]] Clock::time_point when() const { return when_; }

 private:
  friend class EventLoop;
  friend class TimerQueue;
  static constexpr uint32_t kNotArmed = UINT32_MAX;
  // slot_ is the timer's position in the loop's heap, or with kNextRoundBit
  // set its position in the next-round list.
  static constexpr uint32_t kNextRoundBit = 1u << 31;

  EventLoop* loop_;
  Callback callback_;
  Clock::time_point when_;
  uint64_t sequence_ = 0;  // Arm order: ties in time fire in arm order.
  uint32_t slot_ = kNotArmed;
};

class EventLoop {
 public:
  using Clock = ::epollhttp::Clock;
  using FdCallback = absl::AnyInvocable<void(uint32_t events)>;
  using Task = absl::AnyInvocable<void()>;

  // A registered fd. It may be held by value in its owner (Start()) or come
  // from Watch(). Destroying it unregisters the fd (which it does not own),
  // and no callback for it runs afterwards, even one already returned by the
  // same epoll_wait. Thread safety: the loop's thread only.
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

  // Create() makes a loop with its epoll instance and wake-up eventfd. It
  // reads `time` (not owned; it must outlive the loop), or the steady clock
  // when null. Fails (with the errno as a Status) if a system call does.
  static absl::StatusOr<std::unique_ptr<EventLoop>> Create(TimeSource* time = nullptr);
  // Destroying the loop runs pending DeleteSoon() destructions and drops
  // posted tasks unrun. Every Watcher and Timer must be gone first.
  ~EventLoop();

  // Watch() is a started Watcher for `fd`, or nullptr if epoll_ctl fails.
  std::unique_ptr<Watcher> Watch(int fd, uint32_t events, FdCallback callback);

  // DeleteSoon() destroys `object` after the current dispatch round.
  template <typename T>
  void DeleteSoon(std::unique_ptr<T> object) {
    DeleteSoonTask([object = std::move(object)]() mutable { object.reset(); });
  }

  // Post() queues `task` to run on the loop thread in its next round. Safe
  // from any thread; tasks run in the order posted. Only the post that finds
  // the queue empty writes the wake-up eventfd, so a burst of posts (worker
  // completions) costs one system call, not one each.
  void Post(Task task);
  // Stop() makes Run() return after the current round. Safe from any thread.
  void Stop();
  // Run() dispatches rounds until Stop() or an epoll_wait failure (logged to
  // stderr). The calling thread is the loop's thread until Run() returns.
  void Run();

  // RunOnce() runs one round (see the top of this file): waits for
  // readiness, a posted task or the first timer, but at most `max_wait`
  // (zero: does not block; Clock::duration::max(): no limit). Returns the
  // amount of work done (0: none), or -errno if epoll_wait failed.
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

  // HasWorkNow() is true when a round would run something without waiting
  // for an fd: a posted task, a timer due by the clock or armed for the next
  // round, or a deferred deletion. For tests and fuzzers that drive a fake
  // transport and skip idle rounds.
  [[nodiscard]] bool HasWorkNow();

  // Now() is the time at the start of the current dispatch round (or of the
  // last RunUntilIdle() round).
  [[nodiscard]] Clock::time_point Now() const { return now_; }

  // InLoopThread() is true on the thread inside Run(), or on any thread while
  // no thread is inside Run(). Safe from any thread.
  [[nodiscard]] bool InLoopThread() const {
    const std::thread::id running = running_thread_.load(std::memory_order_relaxed);
    return running == std::thread::id() || running == std::this_thread::get_id();
  }

 private:
  friend class Timer;
  EventLoop(Epoll epoll, Fd wake_fd, TimeSource* time);
  Clock::time_point ReadTime() { return time_ != nullptr ? time_->Now() : Clock::now(); }
  void Forget(Watcher* watcher);
  void DeleteSoonTask(Task task);
  // Timeout() is how long the next wait may block: until the first timer
  // (less the spin), at most `max_wait`; negative: forever.
  std::chrono::nanoseconds Timeout(Clock::duration max_wait);
  // RunPosted() returns how many tasks ran.
  int RunPosted();

  Epoll epoll_;
  Fd wake_fd_;
  TimeSource* time_;  // Null: the steady clock.
  Clock::time_point now_;
  std::unique_ptr<TimerQueue> timers_;
  int watchers_ = 0;  // Registered watchers (the wake-up eventfd aside).
  Clock::duration timer_spin_ = Clock::duration::zero();
  std::vector<epoll_event> events_ = std::vector<epoll_event>(256);
  int dispatch_index_ = 0;
  int dispatch_count_ = 0;
  std::vector<Task> deferred_;
  std::atomic<std::thread::id> running_thread_{};  // Inside Run(); none otherwise.

  // std::mutex rather than absl::Mutex: Debian's abseil is not built with
  // ThreadSanitizer, which then cannot see absl::Mutex's happens-before.
  std::mutex mutex_;
  std::vector<Task> posted_;     // Guarded by mutex_.
  bool stop_requested_ = false;  // Guarded by mutex_.
  // posted_ is not empty (set under mutex_): a round with nothing posted
  // takes no lock. A post that races with the check has written the eventfd,
  // so the next round sees it.
  std::atomic<bool> has_posted_{false};
};

}  // namespace epollhttp::net

#endif  // EPOLLHTTP_NET_EVENT_LOOP_H_
