// WorkerPool: completions come back on the loop that submitted, cancelled
// work never completes, and `done` may chain more work through its handle.
#include "net/worker_pool.h"

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "net/event_loop.h"

namespace epollhttp::net {
namespace {

std::unique_ptr<EventLoop> NewLoop() {
  auto loop = EventLoop::Create();
  EXPECT_TRUE(loop.ok()) << loop.status();
  return std::move(*loop);
}

std::unique_ptr<WorkerPool> NewPool(int threads) {
  auto pool = WorkerPool::Create(threads);
  EXPECT_TRUE(pool.ok()) << pool.status();
  return std::move(*pool);
}

// A gate worker threads wait at until the test opens it.
class Gate {
 public:
  void Wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    open_cv_.wait(lock, [this] { return open_; });
  }
  void Open() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      open_ = true;
    }
    open_cv_.notify_all();
  }
  // WaitArrived() returns once `n` threads have called Arrive().
  void Arrive() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++arrived_;
    }
    arrived_cv_.notify_all();
  }
  void WaitArrived(int n) {
    std::unique_lock<std::mutex> lock(mutex_);
    arrived_cv_.wait(lock, [&] { return arrived_ >= n; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable open_cv_;
  std::condition_variable arrived_cv_;
  bool open_ = false;
  int arrived_ = 0;
};

TEST(WorkerPoolTest, RejectsABadSize) {
  EXPECT_FALSE(WorkerPool::Create(0).ok());
  EXPECT_FALSE(WorkerPool::Create(1025).ok());
}

TEST(WorkerPoolTest, TenThousandTasksCompleteOnTheLoopThatSubmittedThem) {
  constexpr int kLoops = 2;
  constexpr int kPerLoop = 5000;
  auto pool = NewPool(4);
  struct PerLoop {
    std::unique_ptr<EventLoop> loop;
    std::vector<Work> handles;
    int completed = 0;  // Touched only on the loop's thread.
    int wrong_thread = 0;
    std::thread::id thread;
  };
  PerLoop loops[kLoops];
  std::atomic<int> worked{0};
  std::mutex mutex;
  std::set<std::thread::id> workers;  // Guarded by mutex.
  for (PerLoop& l : loops) l.loop = NewLoop();
  std::vector<std::thread> threads;
  for (PerLoop& l : loops) {
    l.loop->Post([&l, &pool, &worked, &mutex, &workers] {
      l.thread = std::this_thread::get_id();
      l.handles.reserve(kPerLoop);
      for (int i = 0; i < kPerLoop; ++i) {
        l.handles.push_back(pool->Submit(
            l.loop.get(),
            [&worked, &mutex, &workers] {
              {
                std::lock_guard<std::mutex> lock(mutex);
                workers.insert(std::this_thread::get_id());
              }
              worked.fetch_add(1);
            },
            [&l] {
              if (!l.loop->InLoopThread() || std::this_thread::get_id() != l.thread) {
                ++l.wrong_thread;
              }
              if (++l.completed == kPerLoop) l.loop->Stop();
            }));
      }
    });
    threads.emplace_back([&l] { l.loop->Run(); });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(worked.load(), kLoops * kPerLoop);
  EXPECT_LE(workers.size(), 4u);
  for (PerLoop& l : loops) {
    EXPECT_EQ(workers.count(l.thread), 0u);  // Work never ran on a loop.
    EXPECT_EQ(l.completed, kPerLoop);
    EXPECT_EQ(l.wrong_thread, 0);
    for (const Work& w : l.handles) EXPECT_FALSE(w.pending());
    l.handles.clear();
  }
  EXPECT_EQ(pool->queued(), 0);
}

TEST(WorkerPoolTest, CancelledWorkNeverCompletesAndQueuedWorkDoesNotRun) {
  // One thread, so the queue's order is the order of completion.
  auto pool = NewPool(1);
  auto loop = NewLoop();
  Gate gate;
  std::atomic<int> worked{0};
  int done = 0;
  // A "stream" that owns its work: destroying it (as on abort) cancels it.
  struct Stream {
    Work work;
  };
  std::vector<std::unique_ptr<Stream>> streams;
  // The first piece is running (it waits at the gate) when the streams abort;
  // the rest are still queued.
  streams.push_back(std::make_unique<Stream>());
  streams.back()->work = pool->Submit(
      loop.get(),
      [&] {
        gate.Arrive();
        gate.Wait();
        worked.fetch_add(1);
      },
      [&] { ++done; });
  for (int i = 0; i < 10; ++i) {
    streams.push_back(std::make_unique<Stream>());
    streams.back()->work = pool->Submit(
        loop.get(), [&] { worked.fetch_add(100); }, [&] { ++done; });
  }
  gate.WaitArrived(1);
  for (auto& s : streams) EXPECT_TRUE(s->work.pending());
  streams.clear();  // Abort: every handle is destroyed.
  bool sentinel = false;
  Work last = pool->Submit(
      loop.get(), [] {},
      [&] {
        sentinel = true;
        loop->Stop();
      });
  gate.Open();
  loop->Run();
  EXPECT_TRUE(sentinel);
  EXPECT_FALSE(last.pending());
  EXPECT_EQ(done, 0);           // No cancelled completion ran.
  EXPECT_EQ(worked.load(), 1);  // Only the piece already running did its work.
}

TEST(WorkerPoolTest, DoneMayChainMoreWorkThroughItsOwnHandle) {
  auto pool = NewPool(2);
  auto loop = NewLoop();
  int steps = 0;
  std::atomic<int> worked{0};
  Work handle;
  std::function<void()> next = [&] {
    if (++steps == 100) {
      loop->Stop();
      return;
    }
    EXPECT_FALSE(handle.pending());  // Cleared before `done` runs.
    handle = pool->Submit(
        loop.get(), [&] { worked.fetch_add(1); }, next);
  };
  handle = pool->Submit(
      loop.get(), [&] { worked.fetch_add(1); }, next);
  loop->Run();
  EXPECT_EQ(steps, 100);
  EXPECT_EQ(worked.load(), 100);
}

TEST(WorkerPoolTest, AMovedHandleStillCancels) {
  auto pool = NewPool(1);
  auto loop = NewLoop();
  int done = 0;
  Work a = pool->Submit(
      loop.get(), [] {}, [&] { ++done; });
  Work b = std::move(a);
  EXPECT_FALSE(a.pending());  // NOLINT(bugprone-use-after-move): moved-from is empty.
  EXPECT_TRUE(b.pending());
  b.Cancel();
  EXPECT_FALSE(b.pending());
  Work sentinel = pool->Submit(
      loop.get(), [] {}, [&] { loop->Stop(); });
  loop->Run();
  EXPECT_EQ(done, 0);
}

TEST(WorkerPoolTest, DetachedWorkRunsAfterItsHandleIsGone) {
  auto pool = NewPool(1);
  auto loop = NewLoop();
  std::atomic<int> worked{0};
  int done = 0;
  {
    Work work = pool->Submit(
        loop.get(), [&] { worked.fetch_add(1); }, [&] { ++done; });
    work.Detach();
    EXPECT_FALSE(work.pending());
  }  // Destroying a detached handle cancels nothing.
  Work sentinel = pool->Submit(
      loop.get(), [] {}, [&] { loop->Stop(); });
  loop->Run();
  EXPECT_EQ(worked.load(), 1);
  EXPECT_EQ(done, 1);
}

TEST(WorkerPoolTest, OrphanedWorkRunsButItsDoneDoesNot) {
  auto pool = NewPool(1);
  auto loop = NewLoop();
  std::atomic<int> worked{0};
  int done = 0;
  {
    Work work = pool->Submit(
        loop.get(), [&] { worked.fetch_add(1); }, [&] { ++done; });
    work.Orphan();
    EXPECT_FALSE(work.pending());
  }
  Work sentinel = pool->Submit(
      loop.get(), [] {}, [&] { loop->Stop(); });
  loop->Run();
  EXPECT_EQ(worked.load(), 1);
  EXPECT_EQ(done, 0);
}

}  // namespace
}  // namespace epollhttp::net
