#include "loadgen/fiber.h"

#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

// The portable fallback (also selectable on x86-64 with
// -DEPOLLHTTP_FIBER_UCONTEXT, to test it) is swapcontext(), which costs a
// sigprocmask() system call per switch.
#if defined(__x86_64__) && !defined(EPOLLHTTP_FIBER_UCONTEXT)
#define EPOLLHTTP_FIBER_ASM 1
#else
#include <ucontext.h>
#endif

// Sanitizers must be told about stack switches.
#if defined(__SANITIZE_ADDRESS__)
#define EPOLLHTTP_FIBER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EPOLLHTTP_FIBER_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define EPOLLHTTP_FIBER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define EPOLLHTTP_FIBER_TSAN 1
#endif
#endif

#if defined(EPOLLHTTP_FIBER_ASAN)
extern "C" void __sanitizer_start_switch_fiber(void** fake_stack_save, const void* bottom,
                                               size_t size);
extern "C" void __sanitizer_finish_switch_fiber(void* fake_stack_save, const void** bottom_old,
                                                size_t* size_old);
#endif
#if defined(EPOLLHTTP_FIBER_TSAN)
extern "C" void* __tsan_get_current_fiber();
extern "C" void* __tsan_create_fiber(unsigned flags);
extern "C" void __tsan_destroy_fiber(void* fiber);
extern "C" void __tsan_switch_to_fiber(void* fiber, unsigned flags);
#endif

namespace epollhttp::loadgen {
namespace {

#if defined(EPOLLHTTP_FIBER_ASM)
// SwitchContext(from, to): saves the callee-saved registers, the MXCSR and
// x87 control words on the current stack, stores the stack pointer in
// *from, loads `to` as the stack pointer and restores the same from there.
// A new context's stack is laid out by MakeContext() so that the restore
// "returns" into FiberStart with r12 = argument and r13 = function.
extern "C" void epollhttp_fiber_switch(void** from, void* to);
extern "C" void epollhttp_fiber_start();
asm(R"(
  .text
  .p2align 4
  .globl epollhttp_fiber_switch
  .hidden epollhttp_fiber_switch
  .type epollhttp_fiber_switch, @function
epollhttp_fiber_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $16, %rsp
  stmxcsr 8(%rsp)
  fnstcw (%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  fldcw (%rsp)
  ldmxcsr 8(%rsp)
  addq $16, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size epollhttp_fiber_switch, .-epollhttp_fiber_switch

  .p2align 4
  .globl epollhttp_fiber_start
  .hidden epollhttp_fiber_start
  .type epollhttp_fiber_start, @function
epollhttp_fiber_start:
  movq %r12, %rdi
  callq *%r13
  ud2
  .size epollhttp_fiber_start, .-epollhttp_fiber_start
)");
#endif

}  // namespace

struct FiberScheduler::Context {
#if defined(EPOLLHTTP_FIBER_ASM)
  void* sp = nullptr;
#else
  ucontext_t uc;
#endif
};

namespace {

// MakeContext() prepares `context` to run entry(arg) on the stack
// [low, low + size) when first switched to.
void MakeContext(FiberScheduler::Context* context, char* low, size_t size, void (*entry)(void*),
                 void* arg) {
#if defined(EPOLLHTTP_FIBER_ASM)
  const uintptr_t top = (reinterpret_cast<uintptr_t>(low) + size) & ~uintptr_t{15};
  // From the saved stack pointer up: x87 control word, MXCSR, r15, r14,
  // r13, r12, rbx, rbp, return address. After the return, rsp == top, so
  // FiberStart's call enters `entry` with the ABI's alignment.
  auto* slots = reinterpret_cast<uint64_t*>(top - 72);
  uint32_t mxcsr;
  uint16_t fpu_control;
  asm volatile("stmxcsr %0" : "=m"(mxcsr));
  asm volatile("fnstcw %0" : "=m"(fpu_control));
  slots[0] = fpu_control;
  slots[1] = mxcsr;
  slots[2] = 0;                                  // r15
  slots[3] = 0;                                  // r14
  slots[4] = reinterpret_cast<uint64_t>(entry);  // r13
  slots[5] = reinterpret_cast<uint64_t>(arg);    // r12
  slots[6] = 0;                                  // rbx
  slots[7] = 0;                                  // rbp: ends frame-pointer walks
  slots[8] = reinterpret_cast<uint64_t>(&epollhttp_fiber_start);
  context->sp = slots;
#else
  getcontext(&context->uc);
  context->uc.uc_stack.ss_sp = low;
  context->uc.uc_stack.ss_size = size;
  context->uc.uc_link = nullptr;
  // makecontext() passes int arguments: the pointer goes in two halves. The
  // entry function is always the same one, so it is kept once.
  static void (*const target)(void*) = entry;
  const auto bits = reinterpret_cast<uintptr_t>(arg);
  void (*trampoline)(unsigned, unsigned) = [](unsigned hi, unsigned lo) {
    target(reinterpret_cast<void*>((static_cast<uintptr_t>(hi) << 32) | lo));
  };
  makecontext(&context->uc, reinterpret_cast<void (*)()>(trampoline), 2,
              static_cast<unsigned>(bits >> 32), static_cast<unsigned>(bits & 0xffffffffu));
#endif
}

void SwitchContext(FiberScheduler::Context* from, FiberScheduler::Context* to) {
#if defined(EPOLLHTTP_FIBER_ASM)
  epollhttp_fiber_switch(&from->sp, to->sp);
#else
  swapcontext(&from->uc, &to->uc);
#endif
}

thread_local FiberScheduler* current_scheduler = nullptr;

// Timers wake this much early and poll from then on: a timed wait would
// overshoot by the kernel's timer slack, which would show up as latency in
// --rate schedules.
constexpr auto kSpinBefore = std::chrono::microseconds(200);

}  // namespace

struct FiberScheduler::Fiber {
  FiberScheduler* scheduler = nullptr;
  absl::AnyInvocable<void()> body;
  char* mapping = nullptr;  // Guard page, then the stack.
  size_t mapping_bytes = 0;
  char* stack_low = nullptr;
  size_t stack_bytes = 0;
  Context context;
  bool finished = false;
  // A descriptor wait or sleep in progress.
  int wait_fd = -1;
  bool timed_out = false;
  // A descriptor wait's deadline, or a sleep's end (created with the fiber).
  std::unique_ptr<net::Timer> timer;
  void* fake_stack = nullptr;  // AddressSanitizer's, while switched out.
  void* tsan_fiber = nullptr;

  ~Fiber() {
#if defined(EPOLLHTTP_FIBER_TSAN)
    if (tsan_fiber != nullptr) __tsan_destroy_fiber(tsan_fiber);
#endif
    if (mapping != nullptr) ::munmap(mapping, mapping_bytes);
  }
};

absl::StatusOr<std::unique_ptr<FiberScheduler>> FiberScheduler::Create(size_t stack_bytes) {
  absl::StatusOr<std::unique_ptr<net::EventLoop>> loop = net::EventLoop::Create();
  if (!loop.ok()) return loop.status();
  (*loop)->set_timer_spin(kSpinBefore);
#if defined(EPOLLHTTP_FIBER_ASAN) || defined(EPOLLHTTP_FIBER_TSAN)
  stack_bytes = std::max<size_t>(stack_bytes, 4 << 20);  // Instrumented frames are larger.
#endif
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  stack_bytes = (stack_bytes + page - 1) / page * page;
  return std::unique_ptr<FiberScheduler>(new FiberScheduler(std::move(*loop), stack_bytes));
}

FiberScheduler::FiberScheduler(std::unique_ptr<net::EventLoop> loop, size_t stack_bytes)
    : loop_(std::move(loop)), stack_bytes_(stack_bytes), scheduler_context_(new Context) {}

FiberScheduler::~FiberScheduler() {
  // Fibers' timers and descriptors' watchers belong to the loop: release
  // them before it goes.
  fibers_.clear();
  fds_.clear();
}

FiberScheduler* FiberScheduler::Current() { return current_scheduler; }

absl::Status FiberScheduler::Spawn(absl::AnyInvocable<void()> body) {
  auto fiber = std::make_unique<Fiber>();
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  fiber->mapping_bytes = stack_bytes_ + page;
  void* mapping = ::mmap(nullptr, fiber->mapping_bytes, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (mapping == MAP_FAILED) return absl::ResourceExhaustedError("cannot map a fiber stack");
  fiber->mapping = static_cast<char*>(mapping);
  if (::mprotect(fiber->mapping, page, PROT_NONE) != 0) {
    return absl::ResourceExhaustedError("cannot protect a fiber stack's guard page");
  }
  fiber->scheduler = this;
  fiber->body = std::move(body);
  Fiber* const self = fiber.get();
  fiber->timer = std::make_unique<net::Timer>(loop_.get(), [this, self] {
    if (self->wait_fd >= 0) {  // A descriptor wait timed out; a sleep has none.
      self->timed_out = true;
      fds_[self->wait_fd].waiter = nullptr;
    }
    runnable_.push_back(self);
  });
  fiber->stack_low = fiber->mapping + page;
  fiber->stack_bytes = stack_bytes_;
  MakeContext(&fiber->context, fiber->stack_low, fiber->stack_bytes, &FiberScheduler::Entry,
              fiber.get());
#if defined(EPOLLHTTP_FIBER_TSAN)
  fiber->tsan_fiber = __tsan_create_fiber(0);
#endif
  runnable_.push_back(fiber.get());
  fibers_.push_back(std::move(fiber));
  return absl::OkStatus();
}

void FiberScheduler::Entry(void* arg) {
  Fiber* fiber = static_cast<Fiber*>(arg);
  FiberScheduler* scheduler = fiber->scheduler;
#if defined(EPOLLHTTP_FIBER_ASAN)
  __sanitizer_finish_switch_fiber(nullptr, &scheduler->main_stack_bottom_,
                                  &scheduler->main_stack_size_);
#endif
  fiber->body();
  fiber->body = nullptr;  // Its captures die here, on this stack's thread.
  fiber->finished = true;
#if defined(EPOLLHTTP_FIBER_ASAN)
  // Null: this fiber's fake stack is not coming back.
  __sanitizer_start_switch_fiber(nullptr, scheduler->main_stack_bottom_,
                                 scheduler->main_stack_size_);
#endif
#if defined(EPOLLHTTP_FIBER_TSAN)
  __tsan_switch_to_fiber(scheduler->main_tsan_fiber_, 0);
#endif
  SwitchContext(&fiber->context, scheduler->scheduler_context_.get());
  __builtin_unreachable();
}

void FiberScheduler::Resume(Fiber* fiber) {
  running_ = fiber;
#if defined(EPOLLHTTP_FIBER_ASAN)
  void* fake_stack = nullptr;
  __sanitizer_start_switch_fiber(&fake_stack, fiber->stack_low, fiber->stack_bytes);
#endif
#if defined(EPOLLHTTP_FIBER_TSAN)
  __tsan_switch_to_fiber(fiber->tsan_fiber, 0);
#endif
  SwitchContext(scheduler_context_.get(), &fiber->context);
#if defined(EPOLLHTTP_FIBER_ASAN)
  __sanitizer_finish_switch_fiber(fake_stack, nullptr, nullptr);
#endif
  running_ = nullptr;
}

void FiberScheduler::Suspend() {
  Fiber* fiber = running_;
#if defined(EPOLLHTTP_FIBER_ASAN)
  __sanitizer_start_switch_fiber(&fiber->fake_stack, main_stack_bottom_, main_stack_size_);
#endif
#if defined(EPOLLHTTP_FIBER_TSAN)
  __tsan_switch_to_fiber(main_tsan_fiber_, 0);
#endif
  SwitchContext(&fiber->context, scheduler_context_.get());
#if defined(EPOLLHTTP_FIBER_ASAN)
  __sanitizer_finish_switch_fiber(fiber->fake_stack, &main_stack_bottom_, &main_stack_size_);
#endif
}

absl::Status FiberScheduler::Run() {
  FiberScheduler* const outer = current_scheduler;
  current_scheduler = this;
#if defined(EPOLLHTTP_FIBER_TSAN)
  main_tsan_fiber_ = __tsan_get_current_fiber();
#endif
  absl::Status status;
  while (!fibers_.empty()) {
    while (!runnable_.empty()) {
      Fiber* fiber = runnable_.front();
      runnable_.pop_front();
      Resume(fiber);
      if (fiber->finished) {
        auto it =
            std::find_if(fibers_.begin(), fibers_.end(),
                         [fiber](const std::unique_ptr<Fiber>& f) { return f.get() == fiber; });
        std::swap(*it, fibers_.back());
        fibers_.pop_back();
      }
    }
    if (fibers_.empty()) break;
    // Every fiber waits: block until a descriptor or timer wakes one.
    if (const int result = loop_->RunOnce(net::EventLoop::Clock::duration::max()); result < 0) {
      status = absl::ErrnoToStatus(-result, "epoll_wait");
      break;
    }
  }
  current_scheduler = outer;
  return status;
}

FiberScheduler::FdState& FiberScheduler::StateOf(int fd) {
  if (static_cast<size_t>(fd) >= fds_.size()) fds_.resize(static_cast<size_t>(fd) + 1);
  return fds_[fd];
}

void FiberScheduler::NewFd(int fd) {
  if (fd < 0) return;
  FdState& state = StateOf(fd);
  // The old descriptor of this number is closed, which removed it from epoll.
  if (state.watcher != nullptr) state.watcher->FdClosing();
  state = FdState{};
}

bool FiberScheduler::WaitFd(int fd, Clock::time_point deadline) {
  Fiber* self = running_;
  FdState& state = StateOf(fd);
  if (state.watcher == nullptr) {
    state.watcher = loop_->Watch(fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                                 [this, fd](uint32_t events) { OnReady(fd, events); });
    // E.g. a closed descriptor: the caller's next call reports it.
    if (state.watcher == nullptr) return true;
  }
  if (Clock::now() >= deadline) return false;
  state.waiter = self;
  self->wait_fd = fd;
  self->timed_out = false;
  if (deadline != Clock::time_point::max()) {
    // The loop's timers count from its round time: this lands on `deadline`.
    self->timer->ArmAt(deadline);
  }
  Suspend();
  self->timer->Cancel();
  return !self->timed_out;
}

void FiberScheduler::OnReady(int fd, uint32_t events) {
  FdState& state = fds_[fd];
  if (events & EPOLLIN) state.readable_seen = true;
  if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) state.hangup_seen = true;
  if (Fiber* waiter = state.waiter; waiter != nullptr) {
    state.waiter = nullptr;
    waiter->timer->Cancel();
    runnable_.push_back(waiter);
  }
}

void FiberScheduler::SleepUntil(Clock::time_point when) {
  if (Clock::now() >= when) return;
  Fiber* self = running_;
  self->wait_fd = -1;
  self->timer->ArmAt(when);
  Suspend();
}

}  // namespace epollhttp::loadgen
