#include "net/event_loop.h"

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

EventLoop::Watcher::~Watcher() { Stop(); }

void EventLoop::Watcher::Stop() {
  if (!registered_) return;
  loop_->Forget(this);
  registered_ = false;
}

bool EventLoop::Watcher::Start(int fd, uint32_t events, FdCallback callback) {
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
  --watchers_;
  if (!watcher->fd_closing_) (void)epoll_.Remove(watcher->fd_);
  // Events of this round not yet dispatched must not reach a dead watcher.
  for (int i = dispatch_index_; i < dispatch_count_; ++i) {
    if (events_[i].data.u64 == reinterpret_cast<uintptr_t>(watcher))
      events_[i].data.u64 = kWakeData;
  }
}

void EventLoop::InlineTimer::ArmAt(Clock::time_point when) {
  if (armed()) loop_->HeapRemove(index_);
  when_ = std::max(when, loop_->now_);
  sequence_ = loop_->next_sequence_++;
  loop_->HeapPush(this);
}

void EventLoop::InlineTimer::Cancel() {
  if (armed()) loop_->HeapRemove(index_);
}

void EventLoop::Timer::Record::Fire(void* self) {
  // The task may re-assign or destroy its own handle (and so this record):
  // it runs from the stack.
  Task task = std::move(static_cast<Record*>(self)->task);
  task();
}

EventLoop::Timer EventLoop::RunAfter(Clock::duration delay, Task task) {
  Timer timer;
  timer.record_ = std::make_unique<Timer::Record>(this, std::move(task));
  timer.record_->node.ArmAfter(std::max(delay, Clock::duration::zero()));
  return timer;
}

void EventLoop::HeapPush(InlineTimer* timer) {
  timer->index_ = static_cast<uint32_t>(timers_.size());
  timers_.push_back(timer);
  SiftUp(timer->index_);
}

void EventLoop::HeapRemove(uint32_t index) {
  InlineTimer* removed = timers_[index];
  removed->index_ = InlineTimer::kNotArmed;
  InlineTimer* last = timers_.back();
  timers_.pop_back();
  if (last == removed) return;
  timers_[index] = last;
  last->index_ = index;
  SiftUp(index);
  SiftDown(last->index_);
}

void EventLoop::SiftUp(uint32_t index) {
  InlineTimer* timer = timers_[index];
  while (index > 0) {
    const uint32_t parent = (index - 1) / 2;
    if (!Before(timer, timers_[parent])) break;
    timers_[index] = timers_[parent];
    timers_[index]->index_ = index;
    index = parent;
  }
  timers_[index] = timer;
  timer->index_ = index;
}

void EventLoop::SiftDown(uint32_t index) {
  InlineTimer* timer = timers_[index];
  const uint32_t size = static_cast<uint32_t>(timers_.size());
  while (true) {
    uint32_t child = 2 * index + 1;
    if (child >= size) break;
    if (child + 1 < size && Before(timers_[child + 1], timers_[child])) ++child;
    if (!Before(timers_[child], timer)) break;
    timers_[index] = timers_[child];
    timers_[index]->index_ = index;
    index = child;
  }
  timers_[index] = timer;
  timer->index_ = index;
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
    wait = std::min(wait, timers_[0]->when_ - ReadTime() - timer_spin_);
    if (wait <= Clock::duration::zero()) return std::chrono::nanoseconds::zero();
  }
  if (wait == Clock::duration::max()) return std::chrono::nanoseconds(-1);
  return std::chrono::duration_cast<std::chrono::nanoseconds>(wait);
}

int EventLoop::RunTimers() {
  // Only timers armed before this pass: one armed by a task here (never
  // earlier than now_, so behind every older due timer) waits for the next
  // round even if it is already due.
  const uint64_t armed_before = next_sequence_;
  int ran = 0;
  while (!timers_.empty()) {
    InlineTimer* timer = timers_[0];
    if (timer->when_ > now_ || timer->sequence_ >= armed_before) break;
    HeapRemove(0);
    timer->callback_(timer->arg_);
    ++ran;
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
    const bool timer_due = !timers_.empty() && timers_[0]->when_ <= ReadTime();
    if (work == 0 && !timer_due && deferred_.empty()) break;
  }
  return rounds;
}

}  // namespace epollhttp::net
