// event_loop_fuzzer.cc: the epoll library's loop, timers, watchers and
// worker pool, driven by a script, against a model.
//
// The input is a script of two-byte operations (op, arg) on one EventLoop
// with a simulated clock, 16 timers held by value, two pipes with watchers,
// and a WorkerPool of two threads with four work slots:
// - arm a timer for a time or after a delay (arg: timer, delay in its high
//   bits), arm it for the next round, cancel it, or give it a victim it
//   cancels when it fires;
// - advance the clock and run the loop until idle, or run one round;
// - start or stop a pipe's watcher, pause or resume it (SetEvents), make its
//   callback destroy the other pipe's watcher, write a byte into a pipe;
// - hand the loop an object to DeleteSoon();
// - submit work into a slot (replacing, so cancelling, what was there),
//   cancel a slot, swap two slots' handles, wait until every live submission
//   has completed, or destroy the pool with work in it and start a new one.
// Before the first input, Run() must return after a posted Stop(), and a
// destroyed loop must run its pending DeleteSoon() destructions.
//
// Oracles (any failure aborts):
// - timers: a timer fires only while armed, once per arming, never before its
//   time; one pass runs the next-round timers armed before it, in arm order,
//   then the due timers in (time, arm order), skipping those a callback
//   cancelled; nothing that is not due fires;
// - watchers: a started watcher's pipe is drained in the round after a
//   write; a stopped or paused watcher's callback never runs (a destroyed
//   one's would be a use after free, which the sanitizers catch);
// - DeleteSoon(): the object lives until the round ends, then is destroyed;
// - worker pool: every submission's work runs off the loop thread; its
//   `done` runs exactly once, on the loop thread, unless its handle was
//   cancelled or replaced, and then never; when the pool is destroyed,
//   `done` runs exactly for the work that ran; nothing is left pending at
//   the end of an input.
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
#include <mutex>
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
  Pipe* other = nullptr;
  int unread = 0;       // Bytes written and not yet drained by the callback.
  bool paused = false;  // Watching no events (SetEvents(0)).
  bool kills = false;   // Its callback destroys the other pipe's watcher.
};

// Counts its destruction.
struct Marker {
  explicit Marker(int* destroyed) : destroyed(destroyed) {}
  ~Marker() { ++*destroyed; }
  int* destroyed;
};

struct Harness {
  Harness() {
    auto created = EventLoop::Create(&time);
    Check(created.ok(), "cannot create the loop");
    loop = std::move(*created);
    StartPool();
    // Run() returns after a posted Stop().
    bool stopped = false;
    loop->Post([this, &stopped] {
      stopped = true;
      loop->Stop();
    });
    loop->Run();
    Check(stopped, "Run() returned before the posted Stop() ran");
    // A loop destroyed with a DeleteSoon() pending runs it.
    {
      int destroyed = 0;
      auto other = EventLoop::Create(&time);
      Check(other.ok(), "cannot create a second loop");
      (*other)->DeleteSoon(std::make_unique<Marker>(&destroyed));
      other->reset();
      Check(destroyed == 1, "a destroyed loop dropped a DeleteSoon()");
    }
    for (int i = 0; i < kTimers; ++i) timers.push_back(std::make_unique<ModelTimer>(this, i));
    for (Pipe& pipe : pipes) {
      int fds[2];
      Check(::pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0, "pipe2");
      pipe.read = epollhttp::Fd(fds[0]);
      pipe.write = epollhttp::Fd(fds[1]);
    }
    pipes[0].other = &pipes[1];
    pipes[1].other = &pipes[0];
  }
  void StartPool() {
    auto workers = WorkerPool::Create(2);
    Check(workers.ok(), "cannot start the worker pool");
    pool = std::move(*workers);
  }
  epollhttp::ManualTime time;
  std::unique_ptr<EventLoop> loop;
  std::unique_ptr<WorkerPool> pool;
  std::vector<std::unique_ptr<ModelTimer>> timers;
  Pipe pipes[2];
  uint64_t next_sequence = 1;
  int deletes = 0;            // Objects handed to DeleteSoon().
  int destroyed = 0;          // Of those, destroyed.
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
  std::mutex ran_mutex;
  std::vector<uint64_t> ran;  // Submissions whose work ran (guarded by ran_mutex).
  bool Ran(uint64_t id) {
    std::lock_guard<std::mutex> lock(ran_mutex);
    return std::find(ran.begin(), ran.end(), id) != ran.end();
  }
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
    Check(pipe.watcher == nullptr || pipe.paused || pipe.unread == 0,
          "a watched pipe was not drained");
  }
  Check(h.destroyed == h.deletes, "a DeleteSoon() object outlived its round");
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
      [harness, id] {
        if (std::this_thread::get_id() == harness->loop_thread) harness->on_loop_thread++;
        std::lock_guard<std::mutex> lock(harness->ran_mutex);
        harness->ran.push_back(id);
      },
      [harness, id] {
        Check(harness->loop->InLoopThread() && std::this_thread::get_id() == harness->loop_thread,
              "a completion off the loop thread");
        Check(harness->Ran(id), "a completion for work that never ran");
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

// RestartPool() destroys the pool with whatever it holds (work running
// finishes; work queued is dropped), lets the loop take the completions, and
// starts a new pool.
void RestartPool(Harness& h) {
  h.pool.reset();
  for (int round = 0;; ++round) {
    Check(round < 100'000, "a handle pending after its pool was destroyed");
    bool pending = false;
    for (auto& s : h.slots) pending = pending || s.work.pending();
    if (!pending) break;
    h.loop->RunOnce(milliseconds(100));
  }
  // Every `done` of work that ran has run; the rest never will.
  for (const uint64_t id : h.live) {
    Check(!h.Ran(id), "work ran but its done never did");
    h.dead.push_back(id);
  }
  h.live.clear();
  h.StartPool();
}

void Watch(Harness& h, Pipe& pipe) {
  Pipe* p = &pipe;
  pipe.paused = false;
  pipe.watcher = h.loop->Watch(pipe.read.get(), EPOLLIN, [p](uint32_t events) {
    Check(!p->paused, "a paused watcher's callback ran");
    Check((events & EPOLLIN) != 0, "a watcher woken without input");
    char buffer[64];
    const ssize_t n = ::read(p->read.get(), buffer, sizeof(buffer));
    Check(n > 0 && n <= p->unread, "a watcher read what was not written");
    p->unread -= static_cast<int>(n);
    if (p->kills) p->other->watcher.reset();
  });
  Check(pipe.watcher != nullptr, "cannot watch a pipe");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Harness* const h = new Harness;
  for (size_t i = 0; i + 1 < size; i += 2) {
    const uint8_t op = data[i] % 16;
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
        } else {
          Watch(*h, pipe);
        }
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
      case 12: {  // Pause or resume a watcher, or toggle whether it kills the other.
        Pipe& pipe = h->pipes[arg & 1];
        if (arg & 2) {
          pipe.kills = !pipe.kills;
        } else if (pipe.watcher != nullptr) {
          pipe.paused = !pipe.paused;
          Check(pipe.watcher->SetEvents(pipe.paused ? 0u : uint32_t{EPOLLIN}), "SetEvents failed");
        }
        break;
      }
      case 13: {  // Arm after a delay: the arg's high bits, in ms.
        t.timer->ArmAfter(milliseconds(arg >> 4));
        t.armed = true;
        t.next_round = false;
        t.when = h->loop->Now() + milliseconds(arg >> 4);
        t.sequence = h->next_sequence++;
        break;
      }
      case 14: {  // Swap two slots' handles (moving a Work moves what it cancels).
        const int a = arg % kSlots, b = (arg >> 2) % kSlots;
        if (a != b) std::swap(h->slots[a], h->slots[b]);
        break;
      }
      case 15:
        if (arg & 1) {
          RestartPool(*h);
        } else {
          h->loop->DeleteSoon(std::make_unique<Marker>(&h->destroyed));
          ++h->deletes;
          Check(h->destroyed < h->deletes, "a DeleteSoon() object destroyed at once");
        }
        break;
    }
  }
  // Every input ends settled, so the next starts from a known state: due
  // timers run, submissions complete, pipes drained and unwatched. The pool
  // starts over too: work cancelled in this input may still be on its way
  // back to the loop, and the leak check after the input must not see it in
  // flight.
  Settle(*h);
  RestartPool(*h);
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
    pipe.paused = pipe.kills = false;
  }
  h->dead.clear();
  Check(h->on_loop_thread.load() == 0, "work ran on the loop thread");
  return 0;
}
