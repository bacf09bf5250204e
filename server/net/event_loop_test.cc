#include "server/net/event_loop.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "testing/fd_util.h"

namespace epollhttp::net {
namespace {

using ::epollhttp::test::MakePipe;
using namespace std::chrono_literals;

std::unique_ptr<EventLoop> NewLoop() {
  auto loop = EventLoop::Create();
  EXPECT_TRUE(loop.ok()) << loop.status();
  return std::move(*loop);
}

TEST(EventLoopTest, WatcherSeesReadabilityOfAPipe) {
  auto loop = NewLoop();
  auto [r, w] = MakePipe();
  std::string got;
  auto watcher = loop->Watch(r.get(), EPOLLIN, [&](uint32_t events) {
    EXPECT_TRUE(events & EPOLLIN);
    char buf[16];
    const ssize_t n = ::read(r.get(), buf, sizeof(buf));
    got.assign(buf, n > 0 ? n : 0);
    loop->Stop();
  });
  ASSERT_NE(watcher, nullptr);
  ASSERT_EQ(::write(w.get(), "hi", 2), 2);
  loop->Run();
  EXPECT_EQ(got, "hi");
}

TEST(EventLoopTest, DestroyedWatcherGetsNoCallbackInTheSameRound) {
  auto loop = NewLoop();
  auto [r1, w1] = MakePipe();
  auto [r2, w2] = MakePipe();
  std::unique_ptr<EventLoop::Watcher> a, b;
  int calls = 0;
  // Whichever runs first destroys the other; the other must not run.
  a = loop->Watch(r1.get(), EPOLLIN, [&](uint32_t) {
    ++calls;
    b.reset();
    loop->Stop();
  });
  b = loop->Watch(r2.get(), EPOLLIN, [&](uint32_t) {
    ++calls;
    a.reset();
    loop->Stop();
  });
  ASSERT_EQ(::write(w1.get(), "x", 1), 1);
  ASSERT_EQ(::write(w2.get(), "x", 1), 1);
  loop->Run();
  EXPECT_EQ(calls, 1);
}

TEST(EventLoopTest, TimersFireInDeadlineOrderAndCancelWorks) {
  auto loop = NewLoop();
  std::vector<int> order;
  EventLoop::Timer t3 = loop->RunAfter(3ms, [&] {
    order.push_back(3);
    loop->Stop();
  });
  EventLoop::Timer t1 = loop->RunAfter(1ms, [&] { order.push_back(1); });
  EventLoop::Timer cancelled = loop->RunAfter(2ms, [&] { order.push_back(2); });
  EventLoop::Timer t0 = loop->RunAfter(0ms, [&] { order.push_back(0); });
  {
    EventLoop::Timer destroyed = loop->RunAfter(0ms, [&] { order.push_back(-1); });
  }
  EXPECT_TRUE(cancelled.armed());
  cancelled.Cancel();
  EXPECT_FALSE(cancelled.armed());
  loop->Run();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 3}));
  EXPECT_FALSE(t3.armed());  // Fired: the handle is inert.
}

TEST(EventLoopTest, MovedTimerHandleKeepsTheTimer) {
  auto loop = NewLoop();
  bool fired = false;
  EventLoop::Timer a = loop->RunAfter(0ms, [&] {
    fired = true;
    loop->Stop();
  });
  EventLoop::Timer b = std::move(a);
  EXPECT_FALSE(a.armed());  // NOLINT(bugprone-use-after-move): moved-from is empty.
  EXPECT_TRUE(b.armed());
  loop->Run();
  EXPECT_TRUE(fired);
}

TEST(EventLoopTest, ATimerArmedByATimerWaitsForTheNextRound) {
  auto loop = NewLoop();
  auto [r, w] = MakePipe();
  // A zero-delay timer that re-arms itself must not keep the loop from its
  // I/O: the pipe made readable by its first run is seen before its second.
  int rounds = 0;
  EventLoop::Timer timer;
  std::function<void()> rearm = [&] {
    if (++rounds == 1) {
      ASSERT_EQ(::write(w.get(), "x", 1), 1);
    }
    timer = loop->RunAfter(0ms, rearm);
  };
  timer = loop->RunAfter(0ms, rearm);
  int rounds_when_read = -1;
  auto watcher = loop->Watch(r.get(), EPOLLIN, [&](uint32_t) {
    rounds_when_read = rounds;
    loop->Stop();
  });
  loop->Run();
  EXPECT_EQ(rounds_when_read, 1);
}

TEST(EventLoopTest, PostFromAnotherThreadRunsOnTheLoop) {
  auto loop = NewLoop();
  std::atomic<int> ran{0};
  std::thread::id loop_thread;
  std::thread runner([&] {
    loop_thread = std::this_thread::get_id();
    loop->Run();
  });
  std::vector<std::thread> posters;
  for (int t = 0; t < 4; ++t) {
    posters.emplace_back([&] {
      for (int i = 0; i < 100; ++i) loop->Post([&] { ran.fetch_add(1); });
    });
  }
  for (auto& p : posters) p.join();
  loop->Post([&] { loop->Stop(); });
  runner.join();
  EXPECT_EQ(ran.load(), 400);
}

TEST(EventLoopTest, DeleteSoonRunsAfterTheCallback) {
  auto loop = NewLoop();
  struct Tracked {
    bool* destroyed;
    ~Tracked() { *destroyed = true; }
  };
  bool destroyed = false;
  bool destroyed_during_callback = true;
  std::unique_ptr<Tracked> object(new Tracked{&destroyed});
  loop->Post([&] {
    loop->DeleteSoon(std::move(object));
    destroyed_during_callback = destroyed;
    loop->Stop();
  });
  loop->Run();
  EXPECT_FALSE(destroyed_during_callback);
  EXPECT_TRUE(destroyed);
}

}  // namespace
}  // namespace epollhttp::net
