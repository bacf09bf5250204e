#include "server/net/event_loop.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "testing/fd_util.h"

namespace epollhttp::net {
namespace {

using ::epollhttp::testing::MakePipe;
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
  a = loop->Watch(r1.get(), EPOLLIN, [&](uint32_t) { ++calls; b.reset(); loop->Stop(); });
  b = loop->Watch(r2.get(), EPOLLIN, [&](uint32_t) { ++calls; a.reset(); loop->Stop(); });
  ASSERT_EQ(::write(w1.get(), "x", 1), 1);
  ASSERT_EQ(::write(w2.get(), "x", 1), 1);
  loop->Run();
  EXPECT_EQ(calls, 1);
}

TEST(EventLoopTest, TimersFireInDeadlineOrderAndCancelWorks) {
  auto loop = NewLoop();
  std::vector<int> order;
  loop->RunAfter(3ms, [&] { order.push_back(3); loop->Stop(); });
  loop->RunAfter(1ms, [&] { order.push_back(1); });
  EventLoop::TimerId cancelled = loop->RunAfter(2ms, [&] { order.push_back(2); });
  loop->RunAfter(0ms, [&] { order.push_back(0); });
  loop->Cancel(cancelled);
  loop->Run();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 3}));
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
