#include "net/event_loop.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <random>
#include <thread>
#include <vector>

#include "base/clock.h"
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

// A value-held timer that records its firing.
struct Recorder {
  static void Fire(void* self) {
    auto* r = static_cast<Recorder*>(self);
    r->log->push_back(r->id);
  }
  Recorder(EventLoop* loop, int i, std::vector<int>* l) : id(i), log(l), timer(loop, &Fire, this) {}
  int id;
  std::vector<int>* log;
  EventLoop::InlineTimer timer;
};

TEST(EventLoopTest, InlineTimersFireInTimeThenArmOrderThroughReArmsAndCancels) {
  ManualTime time;
  auto created = EventLoop::Create(&time);
  ASSERT_TRUE(created.ok());
  EventLoop& loop = **created;
  std::vector<int> fired;
  std::vector<std::unique_ptr<Recorder>> timers;
  constexpr int kTimers = 2000;
  for (int i = 0; i < kTimers; ++i) {
    timers.push_back(std::make_unique<Recorder>(&loop, i, &fired));
  }
  // Arm, re-arm and cancel at random; the model is the last ArmAt() of each
  // timer still armed, ordered by (time, arm order).
  std::mt19937 random(20261130);
  struct Armed {
    int64_t ms;
    int sequence;
  };
  std::vector<Armed> model(kTimers, Armed{-1, 0});
  int sequence = 0;
  for (int step = 0; step < 20000; ++step) {
    const int i = static_cast<int>(random() % kTimers);
    if (random() % 4 == 0) {
      timers[i]->timer.Cancel();
      model[i].ms = -1;
    } else {
      const int64_t ms = random() % 500;
      timers[i]->timer.ArmAt(loop.Now() + std::chrono::milliseconds(ms));
      model[i] = Armed{ms, sequence++};
    }
    EXPECT_EQ(timers[i]->timer.armed(), model[i].ms >= 0);
  }
  std::vector<int> expected;
  for (int i = 0; i < kTimers; ++i) {
    if (model[i].ms >= 0) expected.push_back(i);
  }
  std::sort(expected.begin(), expected.end(), [&](int a, int b) {
    return model[a].ms != model[b].ms ? model[a].ms < model[b].ms
                                      : model[a].sequence < model[b].sequence;
  });
  time.Advance(std::chrono::milliseconds(250));
  loop.RunUntilIdle();
  const size_t early = fired.size();
  for (size_t k = 0; k < early; ++k) EXPECT_LE(model[fired[k]].ms, 250);
  time.Advance(std::chrono::milliseconds(250));
  loop.RunUntilIdle();
  EXPECT_EQ(fired, expected);
  for (auto& t : timers) EXPECT_FALSE(t->timer.armed());
  // Destroying armed timers removes them from the heap.
  for (int i = 0; i < 10; ++i) timers[i]->timer.ArmAt(loop.Now());
  timers.clear();
  fired.clear();
  loop.RunUntilIdle();
  EXPECT_TRUE(fired.empty());
}

TEST(EventLoopTest, InlineTimerArmedInThePastFiresNowButAfterOlderDueTimers) {
  ManualTime time;
  auto created = EventLoop::Create(&time);
  ASSERT_TRUE(created.ok());
  EventLoop& loop = **created;
  std::vector<int> fired;
  Recorder a(&loop, 1, &fired), b(&loop, 2, &fired);
  a.timer.ArmAt(loop.Now());
  b.timer.ArmAt(loop.Now() - std::chrono::hours(1));  // Clamped to Now().
  EXPECT_EQ(b.timer.when(), loop.Now());
  loop.RunUntilIdle();
  EXPECT_EQ(fired, (std::vector<int>{1, 2}));
}

TEST(EventLoopTest, WatcherHeldByValueStartsAndStops) {
  auto loop = NewLoop();
  auto [r, w] = MakePipe();
  int calls = 0;
  EventLoop::Watcher watcher(loop.get());
  EXPECT_FALSE(watcher.started());
  ASSERT_TRUE(watcher.Start(r.get(), EPOLLIN, [&](uint32_t) { ++calls; }));
  EXPECT_TRUE(watcher.started());
  EXPECT_FALSE(watcher.Start(r.get(), EPOLLIN, [](uint32_t) {}));  // Already started.
  ASSERT_EQ(::write(w.get(), "x", 1), 1);
  loop->RunUntilIdle(1);
  EXPECT_EQ(calls, 1);
  watcher.Stop();
  EXPECT_FALSE(watcher.started());
  loop->RunUntilIdle(1);
  EXPECT_EQ(calls, 1);  // Still readable, but no longer watched.
  ASSERT_TRUE(watcher.Start(r.get(), EPOLLIN, [&](uint32_t) { calls += 10; }));
  loop->RunUntilIdle(1);
  EXPECT_EQ(calls, 11);
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
