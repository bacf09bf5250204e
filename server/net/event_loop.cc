#include "server/net/event_loop.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

namespace epollhttp::net {
namespace {

constexpr uint64_t kWakeData = 0;  // epoll data of the eventfd; watchers are pointers.

}  // namespace

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

EventLoop::Watcher::~Watcher() { loop_->Forget(this); }

bool EventLoop::Watcher::SetEvents(uint32_t events) {
  if (events == events_) return true;
  events_ = events;
  return loop_->epoll_.Modify(fd_, events, reinterpret_cast<uintptr_t>(this)).ok();
}

std::unique_ptr<EventLoop::Watcher> EventLoop::Watch(int fd, uint32_t events, FdCallback callback) {
  std::unique_ptr<Watcher> watcher(new Watcher(this, fd, events, std::move(callback)));
  if (!epoll_.Add(fd, events, reinterpret_cast<uintptr_t>(watcher.get())).ok()) {
    return nullptr;  // Never registered: its destructor removes nothing.
  }
  watcher->registered_ = true;
  ++watchers_;
  return watcher;
}

void EventLoop::Forget(Watcher* watcher) {
  if (!watcher->registered_) return;
  --watchers_;
  if (!watcher->fd_closing_) (void)epoll_.Remove(watcher->fd_);
  // Events of this round not yet dispatched must not reach a dead watcher.
  for (int i = dispatch_index_; i < dispatch_count_; ++i) {
    if (events_[i].data.u64 == reinterpret_cast<uintptr_t>(watcher))
      events_[i].data.u64 = kWakeData;
  }
}

EventLoop::Timer EventLoop::RunAfter(Clock::duration delay, Task task) {
  const Clock::time_point when = now_ + std::max(delay, Clock::duration::zero());
  const uint64_t sequence = next_sequence_++;
  timers_.emplace(std::make_pair(when, sequence), std::move(task));
  return Timer(this, when, sequence);
}

EventLoop::Timer& EventLoop::Timer::operator=(Timer&& other) noexcept {
  if (this != &other) {
    Cancel();
    loop_ = std::exchange(other.loop_, nullptr);
    when_ = other.when_;
    sequence_ = std::exchange(other.sequence_, 0);
  }
  return *this;
}

void EventLoop::Timer::Cancel() {
  if (sequence_ == 0) return;
  loop_->timers_.erase(std::make_pair(when_, sequence_));  // No-op once it ran.
  sequence_ = 0;
}

bool EventLoop::Timer::armed() const {
  return sequence_ != 0 && loop_->timers_.count(std::make_pair(when_, sequence_)) != 0;
}

void EventLoop::Post(Task task) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    posted_.push_back(std::move(task));
  }
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
  if (!deferred_.empty() || max_wait <= Clock::duration::zero()) {
    return std::chrono::nanoseconds::zero();
  }
  Clock::duration wait = max_wait;
  if (!timers_.empty()) {
    wait = std::min(wait, timers_.begin()->first.first - ReadTime() - timer_spin_);
    if (wait <= Clock::duration::zero()) return std::chrono::nanoseconds::zero();
  }
  if (wait == Clock::duration::max()) return std::chrono::nanoseconds(-1);
  return std::chrono::duration_cast<std::chrono::nanoseconds>(wait);
}

int EventLoop::RunTimers() {
  // Only timers armed before this pass: one armed by a task here waits for
  // the next round even if it is already due.
  const uint64_t armed_before = next_sequence_;
  int ran = 0;
  auto it = timers_.begin();
  while (it != timers_.end() && it->first.first <= now_) {
    if (it->first.second >= armed_before) {
      ++it;
      continue;
    }
    const auto key = it->first;
    Task task = std::move(it->second);
    timers_.erase(it);
    task();
    ++ran;
    // The task may have armed or cancelled timers: continue after its key.
    it = timers_.upper_bound(key);
  }
  return ran;
}

int EventLoop::RunPosted() {
  std::vector<Task> tasks;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    tasks.swap(posted_);
  }
  for (Task& task : tasks) task();
  return static_cast<int>(tasks.size());
}

int EventLoop::RunOnce(Clock::duration max_wait) {
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
  work += RunTimers();
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
}

int EventLoop::RunUntilIdle(int max_rounds) {
  int rounds = 0;
  while (rounds < max_rounds) {
    ++rounds;
    const int work = RunOnce(Clock::duration::zero());
    if (work < 0) break;
    const bool timer_due = !timers_.empty() && timers_.begin()->first.first <= ReadTime();
    if (work == 0 && !timer_due && deferred_.empty()) break;
  }
  return rounds;
}

}  // namespace epollhttp::net
