// event_loop_fuzzer.cc: the epoll library's loop, timers, watchers and
// worker pool, driven by a script, against a model.
//
// The input is a script of two-byte operations (op, arg) on one EventLoop
// with a simulated clock, 16 timers held by value, two pipes with watchers,
// and a WorkerPool of two threads with four work slots:
// - arm a timer for a time (arg: timer, delay from the next byte), arm it for
//   the next round, cancel it, or give it a victim it cancels when it fires;
// - advance the clock and run the loop until idle;
// - start or stop a pipe's watcher, write a byte into a pipe;
// - submit work into a slot (replacing, so cancelling, what was there),
//   cancel a slot, or wait until every live submission has completed.
//
// Oracles (any failure aborts):
// - timers: a timer fires only while armed, once per arming, never before its
//   time; one pass runs the next-round timers armed before it, in arm order,
//   then the due timers in (time, arm order), skipping those a callback
//   cancelled; nothing that is not due fires;
// - watchers: a started watcher's pipe is drained in the round after a
//   write; a stopped watcher's callback never runs;
// - worker pool: every submission's work runs off the loop thread; its
//   `done` runs exactly once, on the loop thread, unless its handle was
//   cancelled or replaced, and then never; nothing is left pending at the end
//   of an input.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/fd.h"
#include "net/event_loop.h"
#include "net/worker_pool.h"

namespace {

using ::epollhttp::Clock;
using ::epollhttp::net::EventLoop;
using ::epollhttp::net::Timer;
using ::epollhttp::net::Work;
using ::epollhttp::net::WorkerPool;
using std::chrono::milliseconds;

void Check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "event_loop_fuzzer: oracle failed: %s\n", what);
  std::abort();
}

constexpr int kTimers = 16;
constexpr int kSlots = 4;

struct Harness;

// One timer and the model of its arming.
struct ModelTimer {
  ModelTimer(Harness* harness, int index);
  void Fire();
  Harness* h;
  int id;
  int victim = -1;  // Cancelled by this one's callback.
  bool armed = false;
  bool next_round = false;
  Clock::time_point when;
  uint64_t sequence = 0;  // Arm order.
  std::unique_ptr<Timer> timer;
};

struct Pipe {
  epollhttp::Fd read;
  epollhttp::Fd write;
  std::unique_ptr<EventLoop::Watcher> watcher;
  int unread = 0;  // Bytes written and not yet drained by the callback.
};

struct Harness {
  Harness() {
    auto created = EventLoop::Create(&time);
    Check(created.ok(), "cannot create the loop");
    loop = std::move(*created);
    auto workers = WorkerPool::Create(2);
    Check(workers.ok(), "cannot start the worker pool");
    pool = std::move(*workers);
    for (int i = 0; i < kTimers; ++i) timers.push_back(std::make_unique<ModelTimer>(this, i));
    for (Pipe& pipe : pipes) {
      int fds[2];
      Check(::pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0, "pipe2");
      pipe.read = epollhttp::Fd(fds[0]);
      pipe.write = epollhttp::Fd(fds[1]);
    }
  }
  epollhttp::ManualTime time;
  std::unique_ptr<EventLoop> loop;
  std::unique_ptr<WorkerPool> pool;
  std::vector<std::unique_ptr<ModelTimer>> timers;
  Pipe pipes[2];
  uint64_t next_sequence = 1;
  std::vector<int> fired;     // This pass, in firing order.
  std::vector<int> expected;  // The model's order for this pass.

  // The worker pool.
  struct Submission {
    Work work;
    uint64_t id = 0;
  };
  Submission slots[kSlots];
  uint64_t next_id = 1;
  std::vector<uint64_t> live;  // Submissions whose `done` must run.
  std::vector<uint64_t> dead;  // Cancelled or replaced: `done` must not run.
  std::atomic<int> on_loop_thread{0};
  std::thread::id loop_thread = std::this_thread::get_id();
};

ModelTimer::ModelTimer(Harness* harness, int index)
    : h(harness),
      id(index),
      timer(std::make_unique<Timer>(harness->loop.get(), [this] { Fire(); })) {}

void ModelTimer::Fire() {
  Check(armed, "a timer fired while not armed");
  Check(next_round || h->loop->Now() >= when, "a timer fired before its time");
  armed = false;
  h->fired.push_back(id);
  if (victim >= 0 && victim != id) {
    ModelTimer& other = *h->timers[static_cast<size_t>(victim)];
    other.timer->Cancel();
    other.armed = false;
  }
}

// Pass() advances the clock by `ms` and runs the loop until idle, checking
// the order against the model.
void Pass(Harness& h, int ms) {
  h.time.Advance(milliseconds(ms));
  const Clock::time_point now = h.time.Now();
  // The model: next-round timers in arm order, then due ones in (time, arm
  // order); a callback's victim is skipped if it has not run yet.
  std::vector<ModelTimer*> next, due;
  for (auto& t : h.timers) {
    if (!t->armed) continue;
    if (t->next_round) {
      next.push_back(t.get());
    } else if (t->when <= now) {
      due.push_back(t.get());
    }
  }
  auto by_sequence = [](const ModelTimer* a, const ModelTimer* b) {
    return a->sequence < b->sequence;
  };
  std::sort(next.begin(), next.end(), by_sequence);
  std::sort(due.begin(), due.end(), [](const ModelTimer* a, const ModelTimer* b) {
    return a->when != b->when ? a->when < b->when : a->sequence < b->sequence;
  });
  h.expected.clear();
  std::vector<bool> cancelled(kTimers, false);
  for (const auto* list : {&next, &due}) {
    for (ModelTimer* t : *list) {
      if (cancelled[static_cast<size_t>(t->id)]) continue;
      h.expected.push_back(t->id);
      if (t->victim >= 0) cancelled[static_cast<size_t>(t->victim)] = true;
    }
  }
  h.fired.clear();
  h.loop->RunUntilIdle();
  Check(h.fired == h.expected, "timers fired out of the model's order");
  for (auto& t : h.timers) {
    Check(t->armed == t->timer->armed(), "a timer's armed() disagrees with the model");
  }
  for (Pipe& pipe : h.pipes) {
    Check(pipe.watcher == nullptr || pipe.unread == 0, "a watched pipe was not drained");
  }
}

void Cancel(Harness& h, int slot);

void Submit(Harness& h, int slot) {
  Harness::Submission& s = h.slots[slot];
  Cancel(h, slot);  // What the slot held is replaced, so cancelled.
  s.id = h.next_id++;
  const uint64_t id = s.id;
  h.live.push_back(id);
  Harness* harness = &h;
  s.work = h.pool->Submit(
      h.loop.get(),
      [harness] {
        if (std::this_thread::get_id() == harness->loop_thread) harness->on_loop_thread++;
      },
      [harness, id] {
        Check(harness->loop->InLoopThread() && std::this_thread::get_id() == harness->loop_thread,
              "a completion off the loop thread");
        Check(std::find(harness->dead.begin(), harness->dead.end(), id) == harness->dead.end(),
              "a cancelled submission completed");
        auto it = std::find(harness->live.begin(), harness->live.end(), id);
        Check(it != harness->live.end(), "a submission completed twice");
        harness->live.erase(it);
      });
}

void Cancel(Harness& h, int slot) {
  Harness::Submission& s = h.slots[slot];
  if (!s.work.pending()) return;
  s.work.Cancel();
  h.dead.push_back(s.id);
  h.live.erase(std::find(h.live.begin(), h.live.end(), s.id));
}

// Settle() waits (on the loop's eventfd) until every live submission has
// completed.
void Settle(Harness& h) {
  for (int round = 0; !h.live.empty(); ++round) {
    Check(round < 100'000, "a submission never completed");
    h.loop->RunOnce(milliseconds(100));
  }
  for (auto& s : h.slots) Check(!s.work.pending(), "a handle pending after its completion");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Harness* const h = new Harness;
  for (size_t i = 0; i + 1 < size; i += 2) {
    const uint8_t op = data[i] % 12;
    const uint8_t arg = data[i + 1];
    ModelTimer& t = *h->timers[arg % kTimers];
    switch (op) {
      case 0:
      case 1: {  // Arm for a time: the delay is the arg's high bits, in ms.
        const Clock::time_point when = h->loop->Now() + milliseconds(arg >> 4);
        t.timer->ArmAt(when);
        t.armed = true;
        t.next_round = false;
        t.when = std::max(when, h->loop->Now());
        t.sequence = h->next_sequence++;
        break;
      }
      case 2:
        t.timer->ArmNextRound();
        t.armed = true;
        t.next_round = true;
        t.sequence = h->next_sequence++;
        break;
      case 3:
        t.timer->Cancel();
        t.armed = false;
        break;
      case 4: t.victim = (arg >> 4) == 0 ? -1 : (arg >> 4); break;
      case 5: Pass(*h, arg % 32); break;
      case 6: {  // Start or stop a pipe's watcher.
        Pipe& pipe = h->pipes[arg & 1];
        if (pipe.watcher != nullptr) {
          pipe.watcher.reset();
          break;
        }
        Pipe* p = &pipe;
        pipe.watcher = h->loop->Watch(pipe.read.get(), EPOLLIN, [p](uint32_t events) {
          Check((events & EPOLLIN) != 0, "a watcher woken without input");
          char buffer[64];
          const ssize_t n = ::read(p->read.get(), buffer, sizeof(buffer));
          Check(n > 0 && n <= p->unread, "a watcher read what was not written");
          p->unread -= static_cast<int>(n);
        });
        Check(pipe.watcher != nullptr, "cannot watch a pipe");
        break;
      }
      case 7: {  // Write a byte into a pipe.
        Pipe& pipe = h->pipes[arg & 1];
        if (pipe.unread < 4096 && ::write(pipe.write.get(), "x", 1) == 1) ++pipe.unread;
        break;
      }
      case 8: Submit(*h, arg % kSlots); break;
      case 9: Cancel(*h, arg % kSlots); break;
      case 10: Settle(*h); break;
      case 11: h->loop->RunOnce(std::chrono::nanoseconds(0)); break;
    }
  }
  // Every input ends settled, so the next starts from a known state: due
  // timers run, submissions complete, pipes drained and unwatched.
  Settle(*h);
  Pass(*h, 0);
  for (auto& timer : h->timers) {
    timer->timer->Cancel();
    timer->armed = false;
    timer->victim = -1;
  }
  for (Pipe& pipe : h->pipes) {
    char buffer[4096];
    while (pipe.unread > 0 && ::read(pipe.read.get(), buffer, sizeof(buffer)) > 0) {
    }
    pipe.unread = 0;
    pipe.watcher.reset();
  }
  h->dead.clear();
  Check(h->on_loop_thread.load() == 0, "work ran on the loop thread");
  return 0;
}
