#include "net/worker_pool.h"

#include <utility>

#include "absl/status/status.h"
#include "base/check.h"

namespace epollhttp::net {
namespace internal {

// One submitted piece of work. Owned by the pool's queue, then by the worker
// running it, then by the task posted to the loop, which frees it. `handle`
// and `done` are touched only on the loop's thread; `cancelled` is also read
// by the worker (to skip work that is no longer wanted).
struct WorkItem {
  WorkItem(EventLoop* l, WorkerPool::Task w, WorkerPool::Task d)
      : loop(l), work(std::move(w)), done(std::move(d)) {}
  EventLoop* loop;
  WorkerPool::Task work;
  WorkerPool::Task done;
  Work* handle = nullptr;
  std::atomic<bool> cancelled{false};
  bool run_done = true;  // Loop thread only: false once orphaned.

  // Complete() runs on the loop's thread once the work has run (or was
  // dropped): `done` runs unless the handle cancelled it.
  static void Complete(std::unique_ptr<WorkItem> item, bool ran) {
    if (item->cancelled.load(std::memory_order_relaxed)) return;
    if (item->handle != nullptr) item->handle->item_ = nullptr;
    item->handle = nullptr;
    // `done` may destroy its own handle, or submit more work.
    if (ran && item->run_done) item->done();
  }
};

}  // namespace internal

Work::Work(internal::WorkItem* item) : item_(item) { item_->handle = this; }

Work::Work(Work&& other) noexcept : item_(other.item_) {
  other.item_ = nullptr;
  if (item_ != nullptr) item_->handle = this;
}

Work& Work::operator=(Work&& other) noexcept {
  if (this == &other) return *this;
  Cancel();
  item_ = other.item_;
  other.item_ = nullptr;
  if (item_ != nullptr) item_->handle = this;
  return *this;
}

void Work::Cancel() {
  if (item_ == nullptr) return;
  EPOLLHTTP_DCHECK(item_->loop->InLoopThread());
  item_->cancelled.store(true, std::memory_order_relaxed);
  item_->handle = nullptr;
  item_ = nullptr;
}

void Work::Orphan() {
  if (item_ == nullptr) return;
  EPOLLHTTP_DCHECK(item_->loop->InLoopThread());
  item_->run_done = false;
  item_->handle = nullptr;
  item_ = nullptr;
}

void Work::Detach() {
  if (item_ == nullptr) return;
  EPOLLHTTP_DCHECK(item_->loop->InLoopThread());
  item_->handle = nullptr;
  item_ = nullptr;
}

absl::StatusOr<std::unique_ptr<WorkerPool>> WorkerPool::Create(int threads) {
  if (threads < 1 || threads > 1024) {
    return absl::InvalidArgumentError("worker threads must be 1..1024");
  }
  std::unique_ptr<WorkerPool> pool(new WorkerPool());
  pool->threads_.reserve(static_cast<size_t>(threads));
  for (int i = 0; i < threads; ++i) {
    pool->threads_.emplace_back([p = pool.get()] { p->WorkerMain(); });
  }
  return pool;
}

WorkerPool::~WorkerPool() {
  std::deque<std::unique_ptr<internal::WorkItem>> dropped;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    dropped.swap(queue_);
  }
  ready_.notify_all();
  for (std::thread& thread : threads_) thread.join();
  // Work that never ran: its handle, if any, is let go on its loop's thread.
  for (std::unique_ptr<internal::WorkItem>& item : dropped) {
    EventLoop* loop = item->loop;
    loop->Post([item = std::move(item)]() mutable {
      internal::WorkItem::Complete(std::move(item), /*ran=*/false);
    });
  }
}

Work WorkerPool::Submit(EventLoop* loop, Task work, Task done) {
  EPOLLHTTP_DCHECK(loop->InLoopThread());
  auto item = std::make_unique<internal::WorkItem>(loop, std::move(work), std::move(done));
  Work handle(item.get());
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(std::move(item));
  }
  queued_.fetch_add(1, std::memory_order_relaxed);
  ready_.notify_one();
  return handle;
}

void WorkerPool::WorkerMain() {
  while (true) {
    std::unique_ptr<internal::WorkItem> item;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // Stopping.
      item = std::move(queue_.front());
      queue_.pop_front();
    }
    queued_.fetch_sub(1, std::memory_order_relaxed);
    // Work nobody waits for any more is skipped; its `done` still goes back
    // to the loop's thread to be destroyed there.
    const bool run = !item->cancelled.load(std::memory_order_relaxed);
    if (run) item->work();
    item->work = nullptr;  // What it captured is freed here, off the loop.
    EventLoop* loop = item->loop;
    loop->Post([item = std::move(item), run]() mutable {
      internal::WorkItem::Complete(std::move(item), run);
    });
  }
}

}  // namespace epollhttp::net
