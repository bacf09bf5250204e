#include "loadgen/fiber.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "base/fd.h"
#include "gtest/gtest.h"
#include "testing/fd_util.h"

namespace epollhttp::loadgen {
namespace {

using Clock = FiberScheduler::Clock;
using std::chrono::milliseconds;

std::unique_ptr<FiberScheduler> NewScheduler() {
  absl::StatusOr<std::unique_ptr<FiberScheduler>> s = FiberScheduler::Create();
  EXPECT_TRUE(s.ok()) << s.status();
  return std::move(*s);
}

struct Pipe {
  Fd read, write;
};
Pipe NonBlockingPipe() {
  auto [read, write] = ::epollhttp::test::MakePipe(O_NONBLOCK);
  return {std::move(read), std::move(write)};
}

TEST(FiberTest, RunReturnsWithNoFibersAndCurrentIsSetOnlyInsideOne) {
  auto s = NewScheduler();
  ASSERT_TRUE(s->Run().ok());
  EXPECT_EQ(FiberScheduler::Current(), nullptr);
  FiberScheduler* seen = nullptr;
  ASSERT_TRUE(s->Spawn([&] { seen = FiberScheduler::Current(); }).ok());
  ASSERT_TRUE(s->Run().ok());
  EXPECT_EQ(seen, s.get());
  EXPECT_EQ(FiberScheduler::Current(), nullptr);
}

TEST(FiberTest, SleepersWakeInDeadlineOrderWhateverTheSpawnOrder) {
  auto s = NewScheduler();
  std::vector<int> order;
  Clock::time_point start;  // Set once every fiber is spawned: spawning is slow under TSan.
  for (int delay_ms : {30, 10, 20, 0}) {
    ASSERT_TRUE(s->Spawn([&, delay_ms] {
                   s->SleepUntil(start + milliseconds(delay_ms));
                   EXPECT_GE(Clock::now(), start + milliseconds(delay_ms));
                   order.push_back(delay_ms);
                 }).ok());
  }
  start = Clock::now();
  ASSERT_TRUE(s->Run().ok());
  EXPECT_EQ(order, (std::vector<int>{0, 10, 20, 30}));
}

TEST(FiberTest, AWaitingFiberLetsTheOthersRunAndWakesWhenItsPipeIsWritten) {
  auto s = NewScheduler();
  Pipe p = NonBlockingPipe();
  std::string log;
  ASSERT_TRUE(s->Spawn([&] {
                 char c;
                 ASSERT_EQ(::read(p.read.get(), &c, 1), -1);  // Empty: EAGAIN.
                 log += "wait;";
                 ASSERT_TRUE(s->WaitFd(p.read.get(), Clock::now() + std::chrono::seconds(10)));
                 ASSERT_EQ(::read(p.read.get(), &c, 1), 1);
                 log += std::string("got ") + c + ";";
               }).ok());
  ASSERT_TRUE(s->Spawn([&] {
                 log += "write;";
                 ASSERT_EQ(::write(p.write.get(), "x", 1), 1);
               }).ok());
  ASSERT_TRUE(s->Run().ok());
  EXPECT_EQ(log, "wait;write;got x;");
}

TEST(FiberTest, WaitFdTimesOutAtItsDeadline) {
  auto s = NewScheduler();
  Pipe p = NonBlockingPipe();
  bool ready = true;
  const Clock::time_point deadline = Clock::now() + milliseconds(30);
  ASSERT_TRUE(s->Spawn([&] { ready = s->WaitFd(p.read.get(), deadline); }).ok());
  ASSERT_TRUE(s->Run().ok());
  EXPECT_FALSE(ready);
  EXPECT_GE(Clock::now(), deadline);
}

TEST(FiberTest, AnEarlierWaitEndingDoesNotHideALaterDeadline) {
  // One wait is satisfied long before its deadline; the other must still time
  // out at its own (later-checked) deadline.
  auto s = NewScheduler();
  Pipe a = NonBlockingPipe();
  Pipe b = NonBlockingPipe();
  bool a_ready = false, b_ready = true;
  ASSERT_TRUE(
      s->Spawn([&] { a_ready = s->WaitFd(a.read.get(), Clock::now() + milliseconds(5)); }).ok());
  ASSERT_TRUE(
      s->Spawn([&] { b_ready = s->WaitFd(b.read.get(), Clock::now() + milliseconds(40)); }).ok());
  ASSERT_TRUE(s->Spawn([&] { ASSERT_EQ(::write(a.write.get(), "x", 1), 1); }).ok());
  ASSERT_TRUE(s->Run().ok());
  EXPECT_TRUE(a_ready);
  EXPECT_FALSE(b_ready);
}

TEST(FiberTest, ReadableSeenTracksReportedInputUntilCleared) {
  auto s = NewScheduler();
  Pipe p = NonBlockingPipe();
  ASSERT_TRUE(s->Spawn([&] {
                 EXPECT_FALSE(s->ReadableSeen(p.read.get()));
                 ASSERT_EQ(::write(p.write.get(), "x", 1), 1);
                 // Written before the first wait: registration reports it.
                 ASSERT_TRUE(s->WaitFd(p.read.get(), Clock::now() + std::chrono::seconds(10)));
                 EXPECT_TRUE(s->ReadableSeen(p.read.get()));
                 s->ClearReadable(p.read.get());
                 EXPECT_FALSE(s->ReadableSeen(p.read.get()));
               }).ok());
  ASSERT_TRUE(s->Run().ok());
}

TEST(FiberTest, AReportedHangUpStaysReadableAfterTheDataBeforeItIsDrained) {
  // Data and end of stream arrive together and are reported in one event.
  // Reading the data empties the pipe, but the end of stream is still to be
  // read and no further edge will announce it.
  auto s = NewScheduler();
  Pipe p = NonBlockingPipe();
  ASSERT_TRUE(s->Spawn([&] {
                 ASSERT_EQ(::write(p.write.get(), "xy", 2), 2);
                 p.write.reset();
                 ASSERT_TRUE(s->WaitFd(p.read.get(), Clock::now() + std::chrono::seconds(10)));
                 char buffer[8];
                 ASSERT_EQ(::read(p.read.get(), buffer, sizeof(buffer)), 2);  // Short read.
                 s->ClearReadable(p.read.get());
                 EXPECT_TRUE(s->ReadableSeen(p.read.get()));
                 EXPECT_EQ(::read(p.read.get(), buffer, sizeof(buffer)), 0);
               }).ok());
  ASSERT_TRUE(s->Run().ok());
}

TEST(FiberTest, NewFdForgetsARegistrationOfAClosedDescriptorWithTheSameNumber) {
  auto s = NewScheduler();
  ASSERT_TRUE(s->Spawn([&] {
                 int number;
                 {
                   Pipe first = NonBlockingPipe();
                   number = first.read.get();
                   ASSERT_EQ(::write(first.write.get(), "x", 1), 1);
                   ASSERT_TRUE(s->WaitFd(number, Clock::now() + std::chrono::seconds(10)));
                 }  // Closed: epoll dropped it.
                 Pipe second = NonBlockingPipe();
                 ASSERT_EQ(second.read.get(), number);  // The lowest free number again.
                 s->NewFd(number);
                 ASSERT_EQ(::write(second.write.get(), "y", 1), 1);
                 // Without NewFd() this would wait out its deadline, unregistered.
                 EXPECT_TRUE(s->WaitFd(number, Clock::now() + std::chrono::seconds(10)));
               }).ok());
  ASSERT_TRUE(s->Run().ok());
}

// Recurse() uses about `depth` KiB of stack.
int Recurse(int depth) {
  volatile char frame[1024];
  std::memset(const_cast<char*>(frame), depth & 0xff, sizeof(frame));
  if (depth == 0) return frame[0];
  return Recurse(depth - 1) + frame[depth % sizeof(frame)];
}

TEST(FiberTest, FibersHaveRealStacksAndManyCanBeAliveAtOnce) {
  auto s = NewScheduler();
  int finished = 0;
  const Clock::time_point wake = Clock::now() + milliseconds(5);
  for (int i = 0; i < 500; ++i) {
    ASSERT_TRUE(s->Spawn([&, i] {
                   std::string local = "fiber " + std::to_string(i);
                   s->SleepUntil(wake);  // All 500 are suspended here at once.
                   EXPECT_EQ(local, "fiber " + std::to_string(i));
                   (void)Recurse(100);  // 100 KiB of frames.
                   ++finished;
                 }).ok());
  }
  ASSERT_TRUE(s->Run().ok());
  EXPECT_EQ(finished, 500);
}

TEST(FiberTest, AFiberMaySpawnAnother) {
  auto s = NewScheduler();
  std::vector<int> order;
  ASSERT_TRUE(s->Spawn([&] {
                 order.push_back(1);
                 ASSERT_TRUE(s->Spawn([&] { order.push_back(3); }).ok());
                 order.push_back(2);
               }).ok());
  ASSERT_TRUE(s->Run().ok());
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(FiberTest, FloatingPointStateSurvivesSwitches) {
  auto s = NewScheduler();
  double sum = 0;
  ASSERT_TRUE(s->Spawn([&] {
                 double x = 0.1;
                 for (int i = 0; i < 10; ++i) {
                   s->SleepUntil(Clock::now());
                   x += 0.1;
                 }
                 sum += x;
               }).ok());
  ASSERT_TRUE(s->Spawn([&] {
                 double y = 1.5;
                 for (int i = 0; i < 10; ++i) {
                   s->SleepUntil(Clock::now() + std::chrono::microseconds(10));
                   y *= 2;
                 }
                 sum += y;
               }).ok());
  ASSERT_TRUE(s->Run().ok());
  double expected = 0.1;
  for (int i = 0; i < 10; ++i) expected += 0.1;
  EXPECT_EQ(sum, expected + 1.5 * 1024);
}

}  // namespace
}  // namespace epollhttp::loadgen
