#include "net/event_loop.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "base/check.h"
#include "net/timer_queue.h"

namespace epollhttp::net {
namespace {

constexpr uint64_t kWakeData = 0;  // epoll data of the eventfd; watchers are pointers.

}  // namespace

void Timer::ArmAt(Clock::time_point when) {
  EPOLLHTTP_DCHECK(loop_->InLoopThread());
  loop_->timers_->Arm(this, std::max(when, loop_->now_));
}

void Timer::ArmAfter(Clock::duration delay) { ArmAt(loop_->Now() + delay); }

void Timer::ArmNextRound() {
  EPOLLHTTP_DCHECK(loop_->InLoopThread());
  loop_->timers_->ArmNextRound(this);
}

void Timer::Cancel() {
  if (slot_ == kNotArmed) return;
  EPOLLHTTP_DCHECK(loop_->InLoopThread());
  loop_->timers_->Cancel(this);
}

EventLoop::EventLoop(Epoll epoll, Fd wake_fd, TimeSource* time)
    : epoll_(std::move(epoll)),
      wake_fd_(std::move(wake_fd)),
      time_(time),
      now_(ReadTime()),
      timers_(std::make_unique<TimerQueue>()) {}

absl::StatusOr<std::unique_ptr<EventLoop>> EventLoop::Create(TimeSource* time) {
  absl::StatusOr<Epoll> epoll = Epoll::Create();
  if (!epoll.ok()) return epoll.status();
  Fd wake(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake) return absl::ErrnoToStatus(errno, "eventfd");
  if (absl::Status s = epoll->Add(wake.get(), EPOLLIN, kWakeData); !s.ok()) return s;
  return std::unique_ptr<EventLoop>(new EventLoop(std::move(*epoll), std::move(wake), time));
}

EventLoop::~EventLoop() {
  for (Task& task : deferred_) task();
}

EventLoop::Watcher::~Watcher() { Stop(); }

void EventLoop::Watcher::Stop() {
  if (!registered_) return;
  loop_->Forget(this);
  registered_ = false;
}

bool EventLoop::Watcher::Start(int fd, uint32_t events, FdCallback callback) {
  EPOLLHTTP_DCHECK(loop_->InLoopThread());
  if (registered_) return false;
  fd_ = fd;
  events_ = events;
  callback_ = std::move(callback);
  if (!loop_->epoll_.Add(fd, events, reinterpret_cast<uintptr_t>(this)).ok()) return false;
  registered_ = true;
  ++loop_->watchers_;
  return true;
}

bool EventLoop::Watcher::SetEvents(uint32_t events) {
  EPOLLHTTP_DCHECK(loop_->InLoopThread());
  if (events == events_) return true;
  events_ = events;
  return loop_->epoll_.Modify(fd_, events, reinterpret_cast<uintptr_t>(this)).ok();
}

std::unique_ptr<EventLoop::Watcher> EventLoop::Watch(int fd, uint32_t events, FdCallback callback) {
  auto watcher = std::make_unique<Watcher>(this);
  if (!watcher->Start(fd, events, std::move(callback))) return nullptr;
  return watcher;
}

void EventLoop::Forget(Watcher* watcher) {
  EPOLLHTTP_DCHECK(InLoopThread());
  --watchers_;
  if (!watcher->fd_closing_) (void)epoll_.Remove(watcher->fd_);
  // Events of this round not yet dispatched must not reach a dead watcher.
  for (int i = dispatch_index_; i < dispatch_count_; ++i) {
    if (events_[i].data.u64 == reinterpret_cast<uintptr_t>(watcher))
      events_[i].data.u64 = kWakeData;
  }
}

void EventLoop::DeleteSoonTask(Task task) {
  EPOLLHTTP_DCHECK(InLoopThread());
  deferred_.push_back(std::move(task));
}

void EventLoop::Post(Task task) {
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // A non-empty queue already has its wake-up written: the loop drains the
    // queue after reading the eventfd, in the same round.
    wake = posted_.empty();
    posted_.push_back(std::move(task));
    has_posted_.store(true, std::memory_order_release);
  }
  if (!wake) return;
  const uint64_t one = 1;
  (void)!::write(wake_fd_.get(), &one, sizeof(one));
}

void EventLoop::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_requested_ = true;
  }
  const uint64_t one = 1;
  (void)!::write(wake_fd_.get(), &one, sizeof(one));
}

std::chrono::nanoseconds EventLoop::Timeout(Clock::duration max_wait) {
  if (!deferred_.empty() || timers_->next_round() || max_wait <= Clock::duration::zero()) {
    return std::chrono::nanoseconds::zero();
  }
  Clock::duration wait = max_wait;
  if (!timers_->empty_heap()) {
    wait = std::min(wait, timers_->first() - ReadTime() - timer_spin_);
    if (wait <= Clock::duration::zero()) return std::chrono::nanoseconds::zero();
  }
  if (wait == Clock::duration::max()) return std::chrono::nanoseconds(-1);
  return std::chrono::duration_cast<std::chrono::nanoseconds>(wait);
}

int EventLoop::RunPosted() {
  if (!has_posted_.load(std::memory_order_acquire)) return 0;
  std::vector<Task> tasks;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    tasks.swap(posted_);
    has_posted_.store(false, std::memory_order_relaxed);
  }
  for (Task& task : tasks) task();
  return static_cast<int>(tasks.size());
}

int EventLoop::RunOnce(Clock::duration max_wait) {
  EPOLLHTTP_DCHECK(InLoopThread());
  const std::chrono::nanoseconds timeout = Timeout(max_wait);
  // Without watchers a non-blocking round has no fd to ask about (posted
  // tasks are queued apart from the eventfd): tests and fuzzers driving a
  // ManualTime skip the system call.
  const int n =
      watchers_ == 0 && timeout.count() == 0 ? 0 : epoll_.Wait(absl::MakeSpan(events_), timeout);
  now_ = ReadTime();
  if (n < 0) return n;
  dispatch_count_ = n;
  for (dispatch_index_ = 0; dispatch_index_ < dispatch_count_;) {
    const epoll_event event = events_[dispatch_index_++];
    if (event.data.u64 == kWakeData) {
      uint64_t value;
      (void)!::read(wake_fd_.get(), &value, sizeof(value));
      continue;
    }
    reinterpret_cast<Watcher*>(event.data.u64)->callback_(event.events);
  }
  dispatch_index_ = dispatch_count_ = 0;
  int work = n + RunPosted();
  work += timers_->Run(now_);
  // Deferred destruction last: nothing of this round still points at them.
  while (!deferred_.empty()) {
    std::vector<Task> deferred;
    deferred.swap(deferred_);
    work += static_cast<int>(deferred.size());
    for (Task& task : deferred) task();
  }
  return work;
}

void EventLoop::Run() {
  running_thread_.store(std::this_thread::get_id(), std::memory_order_relaxed);
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stop_requested_) break;
    }
    if (const int result = RunOnce(Clock::duration::max()); result < 0) {
      std::fprintf(stderr, "epollhttp: epoll_wait: %s\n", std::strerror(-result));
      break;
    }
  }
  running_thread_.store(std::thread::id(), std::memory_order_relaxed);
}

bool EventLoop::HasWorkNow() {
  return has_posted_.load(std::memory_order_acquire) || !deferred_.empty() ||
         timers_->next_round() || (!timers_->empty_heap() && timers_->first() <= ReadTime());
}

int EventLoop::RunUntilIdle(int max_rounds) {
  int rounds = 0;
  while (rounds < max_rounds) {
    ++rounds;
    const int work = RunOnce(Clock::duration::zero());
    if (work < 0) break;
    const bool timer_due =
        timers_->next_round() || (!timers_->empty_heap() && timers_->first() <= now_);
    if (work == 0 && !timer_due && deferred_.empty()) break;
  }
  return rounds;
}

}  // namespace epollhttp::net
