// clock.h: where time comes from. Code that waits or times out reads a
// `TimeSource` instead of the system clock, so a test or fuzzer can replace it
// with a `ManualTime` that it advances by hand, and reach every timeout
// without waiting.
//
// Thread safety: a TimeSource is read by the thread that owns its user (an
// event loop); ManualTime must be advanced on that thread too.
#ifndef EPOLLHTTP_BASE_CLOCK_H_
#define EPOLLHTTP_BASE_CLOCK_H_

#include <chrono>

namespace epollhttp {

// The clock every timeout is measured on: monotonic, nanoseconds.
using Clock = std::chrono::steady_clock;

class TimeSource {
 public:
  virtual ~TimeSource() = default;
  virtual Clock::time_point Now() = 0;
};

// SteadyTime reads the steady clock.
class SteadyTime final : public TimeSource {
 public:
  Clock::time_point Now() override { return Clock::now(); }
};

// ManualTime moves only when told to.
class ManualTime final : public TimeSource {
 public:
  Clock::time_point Now() override { return now_; }
  void Advance(Clock::duration d) { now_ += d; }

 private:
  // An arbitrary start far from the clock's epoch, so deadlines never wrap.
  Clock::time_point now_ = Clock::time_point(std::chrono::hours(1000));
};

}  // namespace epollhttp

#endif  // EPOLLHTTP_BASE_CLOCK_H_
