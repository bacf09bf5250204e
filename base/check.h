// check.h: EPOLLHTTP_DCHECK(condition), an assertion of a programming
// contract (a thread rule, a call order) that costs nothing in the optimised
// build users run and benchmark.
//
// It is checked when NDEBUG is not defined (--config=debug) or when
// EPOLLHTTP_DCHECK_ALWAYS_ON is (the sanitizer and fuzzing configurations in
// .bazelrc set it, so `bazel test --config=asan //...` checks every contract).
// A failed check prints the condition and its place to stderr and aborts.
//
// Thread safety: usable from any thread.
#ifndef EPOLLHTTP_BASE_CHECK_H_
#define EPOLLHTTP_BASE_CHECK_H_

#include <cstdio>
#include <cstdlib>

namespace epollhttp::internal {

[[noreturn]] inline void DcheckFailed(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: check failed: %s\n", file, line, condition);
  std::abort();
}

}  // namespace epollhttp::internal

#if !defined(NDEBUG) || defined(EPOLLHTTP_DCHECK_ALWAYS_ON)
#define EPOLLHTTP_DCHECK_IS_ON 1
#define EPOLLHTTP_DCHECK(condition)   \
  ((condition) ? static_cast<void>(0) \
               : ::epollhttp::internal::DcheckFailed(#condition, __FILE__, __LINE__))
#else
#define EPOLLHTTP_DCHECK_IS_ON 0
// Not evaluated, but still compiled: a check cannot rot in the optimised build.
#define EPOLLHTTP_DCHECK(condition) static_cast<void>(sizeof((condition) ? 1 : 0))
#endif

#endif  // EPOLLHTTP_BASE_CHECK_H_
