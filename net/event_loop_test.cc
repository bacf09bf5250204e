#include "net/event_loop.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <random>
#include <string>
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
  Timer t3(loop.get(), [&] {
    order.push_back(3);
    loop->Stop();
  });
  Timer t1(loop.get(), [&] { order.push_back(1); });
  Timer cancelled(loop.get(), [&] { order.push_back(2); });
  Timer t0(loop.get(), [&] { order.push_back(0); });
  t3.ArmAfter(3ms);
  t1.ArmAfter(1ms);
  cancelled.ArmAfter(2ms);
  t0.ArmAfter(0ms);
  {
    Timer destroyed(loop.get(), [&] { order.push_back(-1); });
    destroyed.ArmAfter(0ms);
  }
  EXPECT_TRUE(cancelled.armed());
  cancelled.Cancel();
  EXPECT_FALSE(cancelled.armed());
  loop->Run();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 3}));
  EXPECT_FALSE(t3.armed());  // Fired: disarmed until armed again.
}

TEST(EventLoopTest, ATimerArmedByATimerWaitsForTheNextRound) {
  auto loop = NewLoop();
  auto [r, w] = MakePipe();
  // A zero-delay timer that re-arms itself must not keep the loop from its
  // I/O: the pipe made readable by its first run is seen before its second.
  int rounds = 0;
  Timer timer(loop.get(), [&] {
    if (++rounds == 1) {
      ASSERT_EQ(::write(w.get(), "x", 1), 1);
    }
    timer.ArmAfter(0ms);
  });
  timer.ArmAfter(0ms);
  int rounds_when_read = -1;
  auto watcher = loop->Watch(r.get(), EPOLLIN, [&](uint32_t) {
    rounds_when_read = rounds;
    loop->Stop();
  });
  loop->Run();
  EXPECT_EQ(rounds_when_read, 1);
}

TEST(EventLoopTest, NextRoundRunsAfterTheNextRoundsIoInArmOrder) {
  auto loop = NewLoop();
  auto [r, w] = MakePipe();
  std::vector<std::string> log;
  Timer a(loop.get(), [&] { log.push_back("a"); });
  Timer b(loop.get(), [&] { log.push_back("b"); });
  Timer cancelled(loop.get(), [&] { log.push_back("cancelled"); });
  // c re-arms itself for the next round: it runs once per round.
  int c_runs = 0;
  Timer c(loop.get(), [&] {
    log.push_back("c");
    if (++c_runs < 3) c.ArmNextRound();
  });
  auto watcher = loop->Watch(r.get(), EPOLLIN, [&](uint32_t) {
    char byte;
    ASSERT_EQ(::read(r.get(), &byte, 1), 1);
    log.push_back("io");
  });
  ASSERT_EQ(::write(w.get(), "x", 1), 1);
  b.ArmNextRound();
  a.ArmNextRound();
  cancelled.ArmNextRound();
  c.ArmNextRound();
  b.ArmNextRound();  // Re-arming moves b behind the others.
  EXPECT_TRUE(cancelled.armed());
  cancelled.Cancel();
  EXPECT_FALSE(cancelled.armed());
  EXPECT_EQ(loop->RunOnce(std::chrono::seconds(10)), 4);  // Does not block.
  EXPECT_EQ(log, (std::vector<std::string>{"io", "a", "c", "b"}));
  EXPECT_EQ(loop->RunOnce(std::chrono::seconds(10)), 1);
  EXPECT_EQ(loop->RunOnce(std::chrono::seconds(10)), 1);
  EXPECT_EQ(c_runs, 3);
  EXPECT_FALSE(a.armed() || b.armed() || c.armed());
}

TEST(EventLoopTest, ANextRoundTimerCancelledByAnEarlierOneDoesNotRun) {
  auto loop = NewLoop();
  int runs = 0;
  std::unique_ptr<Timer> second;
  Timer first(loop.get(), [&] {
    ++runs;
    second.reset();  // Destroying an armed timer disarms it.
  });
  second = std::make_unique<Timer>(loop.get(), [&] { runs += 100; });
  first.ArmNextRound();
  second->ArmNextRound();
  loop->RunUntilIdle();
  EXPECT_EQ(runs, 1);
}

// A timer that records its firing.
struct Recorder {
  Recorder(EventLoop* loop, int i, std::vector<int>* l)
      : id(i), log(l), timer(loop, [this] { log->push_back(id); }) {}
  int id;
  std::vector<int>* log;
  Timer timer;
};

TEST(EventLoopTest, TimersFireInTimeThenArmOrderThroughReArmsAndCancels) {
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
  // Destroying armed timers removes them from the heap and the round list.
  for (int i = 0; i < 10; ++i) timers[i]->timer.ArmAt(loop.Now());
  for (int i = 10; i < 20; ++i) timers[i]->timer.ArmNextRound();
  timers.clear();
  fired.clear();
  loop.RunUntilIdle();
  EXPECT_TRUE(fired.empty());
}

TEST(EventLoopTest, TimerArmedInThePastFiresNowButAfterOlderDueTimers) {
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

TEST(EventLoopTest, ATimerSwitchesBetweenTimeAndNextRound) {
  ManualTime time;
  auto created = EventLoop::Create(&time);
  ASSERT_TRUE(created.ok());
  EventLoop& loop = **created;
  std::vector<int> fired;
  Recorder a(&loop, 1, &fired);
  a.timer.ArmAfter(std::chrono::seconds(5));
  a.timer.ArmNextRound();  // Replaces the timed arming.
  loop.RunUntilIdle();
  EXPECT_EQ(fired, (std::vector<int>{1}));
  a.timer.ArmNextRound();
  a.timer.ArmAfter(std::chrono::seconds(5));  // Replaces the next-round arming.
  loop.RunUntilIdle();
  EXPECT_EQ(fired.size(), 1u);
  time.Advance(std::chrono::seconds(5));
  loop.RunUntilIdle();
  EXPECT_EQ(fired, (std::vector<int>{1, 1}));
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

TEST(EventLoopTest, InLoopThreadIsTheThreadInsideRunOrAnyWhileNoneIs) {
  auto loop = NewLoop();
  EXPECT_TRUE(loop->InLoopThread());  // Set-up, before Run().
  bool inside = false;
  bool other_thread = true;
  loop->Post([&] {
    inside = loop->InLoopThread();
    std::thread([&] { other_thread = loop->InLoopThread(); }).join();
    loop->Stop();
  });
  std::thread runner([&] { loop->Run(); });
  runner.join();
  EXPECT_TRUE(inside);
  EXPECT_FALSE(other_thread);
  EXPECT_TRUE(loop->InLoopThread());  // Tear-down, after Run().
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
