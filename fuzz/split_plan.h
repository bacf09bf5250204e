// split_plan.h: what the //fuzz harnesses share: fuzzer-chosen read sizes
// for their split-invariance oracles, and the oracle failure report.
//
// A harness takes one control byte from its input and builds a SplitPlan from
// it; Next() then yields the sizes of the pieces in which the rest of the
// input is fed, as epoll reads would deliver it. Sizes are pseudo-random in
// [1, 2^(control & 7)] from a xorshift generator seeded with the control byte
// (so control & 7 == 0 means one byte at a time, and every plan is
// reproducible from the saved input).
//
// Thread safety: a value type; use each instance from one thread.
#ifndef EPOLLHTTP_FUZZ_SPLIT_PLAN_H_
#define EPOLLHTTP_FUZZ_SPLIT_PLAN_H_

#include <sanitizer/asan_interface.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace epollhttp::fuzz {

// Check() aborts the harness (so libFuzzer saves the input) with
// "<harness>: oracle failed: <what>" on stderr when `ok` is false.
inline void Check(bool ok, const char* harness, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "%s: oracle failed: %s\n", harness, what);
  std::abort();
}

class SplitPlan {
 public:
  explicit SplitPlan(uint8_t control)
      : max_piece_(1u << (control & 7u)), state_(0x9e3779b9u ^ (uint32_t{control} * 0x01000193u)) {}

  // Next() returns the next piece size, at least 1 and at most `left`
  // (`left` must be at least 1).
  size_t Next(size_t left) {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 17;
    state_ ^= state_ << 5;
    const size_t size = 1 + state_ % max_piece_;
    return size < left ? size : left;
  }

 private:
  uint32_t max_piece_;
  uint32_t state_;
};

// ArrivingInput hands out "everything received so far" views of an input that
// arrives in pieces, the way a connection's buffer looks to a parser: the bytes
// move between calls (two buffers are used in turn) and, under ASan, the bytes
// not yet arrived are poisoned, so reading past the view is caught without a
// fresh allocation per piece. Copies O(input size) bytes per input; reuse one
// instance across inputs (Reset()) to avoid allocating at all.
class ArrivingInput {
 public:
  ArrivingInput() = default;
  ~ArrivingInput() {
    for (auto& buffer : buffers_) {
      if (buffer != nullptr) ASAN_UNPOISON_MEMORY_REGION(buffer.get(), capacity_);
    }
  }
  ArrivingInput(const ArrivingInput&) = delete;
  ArrivingInput& operator=(const ArrivingInput&) = delete;

  // Reset() starts a new input of `size` bytes at `data` (which must outlive
  // the Arrive() calls), with nothing arrived yet.
  void Reset(const char* data, size_t size) {
    if (size + 1 > capacity_) {
      for (auto& buffer : buffers_) {
        if (buffer != nullptr) ASAN_UNPOISON_MEMORY_REGION(buffer.get(), capacity_);
        buffer.reset(new char[size + 1]);
      }
      capacity_ = size + 1;
    }
    data_ = data;
    valid_[0] = valid_[1] = 0;
    for (auto& buffer : buffers_) ASAN_POISON_MEMORY_REGION(buffer.get(), capacity_);
  }

  // Arrive() makes the first `arrived` bytes (non-decreasing across calls, at
  // most the size) available and returns a view of them in the other buffer.
  const char* Arrive(size_t arrived) {
    which_ ^= 1;
    char* buffer = buffers_[which_].get();
    ASAN_UNPOISON_MEMORY_REGION(buffer, arrived);
    std::memcpy(buffer + valid_[which_], data_ + valid_[which_], arrived - valid_[which_]);
    valid_[which_] = arrived;
    return buffer;
  }

 private:
  const char* data_ = nullptr;
  size_t capacity_ = 0;
  std::unique_ptr<char[]> buffers_[2];
  size_t valid_[2] = {0, 0};
  int which_ = 0;
};

}  // namespace epollhttp::fuzz

#endif  // EPOLLHTTP_FUZZ_SPLIT_PLAN_H_
