// timer_queue.h: `TimerQueue`, an EventLoop's armed Timers: a binary heap of
// timers armed for a time, ordered by (time, arm order), and the list of
// timers armed for the next round. Private to //net: users see only Timer.
//
// Thread safety: the owning loop's thread only.
#ifndef EPOLLHTTP_NET_TIMER_QUEUE_H_
#define EPOLLHTTP_NET_TIMER_QUEUE_H_

#include <cstdint>
#include <vector>

#include "base/clock.h"
#include "net/event_loop.h"

namespace epollhttp::net {

class TimerQueue {
 public:
  // Arm() (re)arms `timer` for `when` (already clamped to the loop's time).
  void Arm(Timer* timer, Clock::time_point when);
  // ArmNextRound() (re)arms `timer` for the next Run().
  void ArmNextRound(Timer* timer);
  // Cancel() disarms `timer` if it is armed.
  void Cancel(Timer* timer);

  // Run() runs the timers armed for the next round before this call, then
  // the heap's timers due at `now` armed before this call, in (time, arm
  // order). A timer armed by a callback here waits for the next Run().
  // Returns how many ran.
  int Run(Clock::time_point now);

  // next_round() is true when a timer waits for the next round.
  [[nodiscard]] bool next_round() const { return !next_.empty(); }
  // empty_heap() and first() describe the timers armed for a time.
  [[nodiscard]] bool empty_heap() const { return heap_.empty(); }
  [[nodiscard]] Clock::time_point first() const { return heap_.front()->when_; }

 private:
  // A list slot: the bit says which list, the rest the position in it.
  static constexpr uint32_t kListBit = Timer::kNextRoundBit;
  static constexpr uint32_t kRunningBit = 1u << 30;
  static constexpr uint32_t kIndexMask = kRunningBit - 1;

  static bool Before(const Timer* a, const Timer* b) {
    return a->when_ < b->when_ || (a->when_ == b->when_ && a->sequence_ < b->sequence_);
  }
  // RunNextRound() runs the timers of next_, as Run() describes.
  int RunNextRound();
  void HeapPush(Timer* timer);
  void HeapRemove(uint32_t index);
  void SiftUp(uint32_t index);
  void SiftDown(uint32_t index);

  std::vector<Timer*> heap_;
  std::vector<Timer*> next_;     // Armed for the next round.
  std::vector<Timer*> running_;  // The next-round timers of the current Run().
  uint64_t next_sequence_ = 1;
};

}  // namespace epollhttp::net

#endif  // EPOLLHTTP_NET_TIMER_QUEUE_H_
