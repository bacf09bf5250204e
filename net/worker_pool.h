// worker_pool.h: `WorkerPool`, a few threads for slow work (disk I/O, fsync,
// anything that would stall an event loop), whose completions come back to
// the loop that asked (libuv's uv_queue_work model).
//
//   net::Work work = pool->Submit(loop, [data] { /* on a worker */ },
//                                 [this] { /* on `loop`'s thread, after */ });
//
// `work` runs on one of the pool's threads; then `done` runs on the loop's
// thread, posted through the loop's wake-up eventfd (EventLoop::Post(), one
// write per burst of completions). The returned `Work` handle owns the
// request: cancelling or destroying it guarantees `done` never runs, so a
// stream that aborts simply drops its handle. Work already running cannot
// be stopped: it finishes, and its completion is dropped. So `work` must own
// (or outlive the pool with) everything it touches; only `done` may touch
// the submitter's state.
//
// Work runs in submission order (one FIFO queue), each piece on whichever
// thread is free. `done` is always destroyed on the loop's thread, run or
// not, so it may own loop-side objects. Destroying the pool waits for running
// work; queued work that has not started is dropped without running (and so
// is its `done`).
//
// Thread safety: Submit() may be called from any loop's thread, concurrently.
// A `Work` handle belongs to the thread of the loop it was submitted for. The
// loops must outlive the pool, and the pool every handle it returned.
#ifndef EPOLLHTTP_NET_WORKER_POOL_H_
#define EPOLLHTTP_NET_WORKER_POOL_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "net/event_loop.h"

namespace epollhttp::net {

class WorkerPool;

namespace internal {
struct WorkItem;
}  // namespace internal

// The owner's handle on one submitted piece of work. Move-only; a
// default-constructed handle holds nothing. Thread safety: the thread of the
// loop the work was submitted for.
class Work {
 public:
  Work() = default;
  Work(Work&& other) noexcept;
  Work& operator=(Work&& other) noexcept;
  Work(const Work&) = delete;
  Work& operator=(const Work&) = delete;
  ~Work() { Cancel(); }

  // Cancel() makes sure `done` never runs (and `work`, if it has not
  // started). Does nothing once `done` has run or on an empty handle.
  void Cancel();
  // Detach() lets the work (and `done`) run with no handle: it can no
  // longer be cancelled, so `done` must not touch anything the submitter
  // may destroy (work that must outlive its stream: the last commit of an
  // aborted upload). Does nothing on an empty handle.
  void Detach();
  // Orphan() lets the work run (it can no longer be cancelled) but drops
  // `done`: for work whose effect must happen though its submitter is going
  // away (an aborted upload's last write). Does nothing on an empty handle.
  void Orphan();
  // pending() is true from Submit() until `done` runs or Cancel().
  [[nodiscard]] bool pending() const { return item_ != nullptr; }

 private:
  friend class WorkerPool;
  friend struct internal::WorkItem;
  explicit Work(internal::WorkItem* item);
  internal::WorkItem* item_ = nullptr;
};

class WorkerPool {
 public:
  using Task = absl::AnyInvocable<void()>;

  // Create() starts `threads` (1..1024) worker threads; InvalidArgument
  // outside that range.
  static absl::StatusOr<std::unique_ptr<WorkerPool>> Create(int threads);
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;
  // Waits for running work; drops queued work (see above).
  ~WorkerPool();

  // Submit() queues `work` for a worker thread, then `done` for `loop`'s
  // thread. Call on `loop`'s thread. See Work for cancelling.
  [[nodiscard]] Work Submit(EventLoop* loop, Task work, Task done);

  [[nodiscard]] int threads() const { return static_cast<int>(threads_.size()); }
  // queued() is the work waiting for a thread now (racy; for metrics).
  [[nodiscard]] int64_t queued() const { return queued_.load(std::memory_order_relaxed); }

 private:
  WorkerPool() = default;
  void WorkerMain();

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::unique_ptr<internal::WorkItem>> queue_;  // Guarded by mutex_.
  bool stopping_ = false;                                  // Guarded by mutex_.
  std::atomic<int64_t> queued_{0};
  std::vector<std::thread> threads_;
};

}  // namespace epollhttp::net

#endif  // EPOLLHTTP_NET_WORKER_POOL_H_
