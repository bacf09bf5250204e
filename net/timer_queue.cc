#include "net/timer_queue.h"

#include <utility>

namespace epollhttp::net {

void TimerQueue::Arm(Timer* timer, Clock::time_point when) {
  Cancel(timer);
  timer->when_ = when;
  timer->sequence_ = next_sequence_++;
  HeapPush(timer);
}

void TimerQueue::ArmNextRound(Timer* timer) {
  Cancel(timer);
  timer->slot_ = kListBit | static_cast<uint32_t>(next_.size());
  next_.push_back(timer);
}

void TimerQueue::Cancel(Timer* timer) {
  const uint32_t slot = timer->slot_;
  if (slot == Timer::kNotArmed) return;
  if ((slot & kListBit) == 0) {
    HeapRemove(slot);
    return;
  }
  // A list keeps its order: the slot is emptied, and skipped when it comes.
  std::vector<Timer*>& list = (slot & kRunningBit) != 0 ? running_ : next_;
  list[slot & kIndexMask] = nullptr;
  timer->slot_ = Timer::kNotArmed;
}

int TimerQueue::Run(Clock::time_point now) {
  // Only timers armed before this pass run in it: one armed by a callback
  // here (never earlier than `now`, so behind every older due timer) waits
  // for the next round even if it is already due.
  const uint64_t armed_before = next_sequence_;
  int ran = 0;
  if (!next_.empty()) ran += RunNextRound();
  while (!heap_.empty()) {
    Timer* timer = heap_.front();
    if (timer->when_ > now || timer->sequence_ >= armed_before) break;
    HeapRemove(0);
    timer->callback_();
    ++ran;
  }
  return ran;
}

int TimerQueue::RunNextRound() {
  int ran = 0;
  // The next-round timers armed before this round; those armed from here on
  // go to the (now empty) next_ list and wait a round.
  running_.swap(next_);
  for (size_t i = 0; i < running_.size(); ++i) {
    if (running_[i] != nullptr)
      running_[i]->slot_ = kListBit | kRunningBit | static_cast<uint32_t>(i);
  }
  for (Timer*& slot : running_) {
    Timer* timer = slot;
    if (timer == nullptr) continue;  // Cancelled by an earlier callback.
    slot = nullptr;
    timer->slot_ = Timer::kNotArmed;
    timer->callback_();
    ++ran;
  }
  running_.clear();
  return ran;
}

void TimerQueue::HeapPush(Timer* timer) {
  timer->slot_ = static_cast<uint32_t>(heap_.size());
  heap_.push_back(timer);
  SiftUp(timer->slot_);
}

void TimerQueue::HeapRemove(uint32_t index) {
  Timer* removed = heap_[index];
  removed->slot_ = Timer::kNotArmed;
  Timer* last = heap_.back();
  heap_.pop_back();
  if (last == removed) return;
  heap_[index] = last;
  last->slot_ = index;
  SiftUp(index);
  SiftDown(last->slot_);
}

void TimerQueue::SiftUp(uint32_t index) {
  Timer* timer = heap_[index];
  while (index > 0) {
    const uint32_t parent = (index - 1) / 2;
    if (!Before(timer, heap_[parent])) break;
    heap_[index] = heap_[parent];
    heap_[index]->slot_ = index;
    index = parent;
  }
  heap_[index] = timer;
  timer->slot_ = index;
}

void TimerQueue::SiftDown(uint32_t index) {
  Timer* timer = heap_[index];
  const uint32_t size = static_cast<uint32_t>(heap_.size());
  while (true) {
    uint32_t child = 2 * index + 1;
    if (child >= size) break;
    if (child + 1 < size && Before(heap_[child + 1], heap_[child])) ++child;
    if (!Before(heap_[child], timer)) break;
    heap_[index] = heap_[child];
    heap_[index]->slot_ = index;
    index = child;
  }
  heap_[index] = timer;
  timer->slot_ = index;
}

}  // namespace epollhttp::net
