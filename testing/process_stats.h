// process_stats.h: what a process is using, read from /proc, for tests that
// assert bounded memory, no leaked descriptors, or an idle CPU.
//
// Test-only. Each function returns -1 when the /proc file cannot be read or
// parsed (e.g. the process has exited); callers assert on the value.
// Thread safety: stateless; callable from any thread.
#ifndef EPOLLHTTP_TESTING_PROCESS_STATS_H_
#define EPOLLHTTP_TESTING_PROCESS_STATS_H_

#include <sys/types.h>

#include <cstdint>

namespace epollhttp::test {

// kSanitizerAllocator is whether this build runs under AddressSanitizer or
// ThreadSanitizer. Their allocators keep freed memory resident (ASan's
// quarantine) or return it on their own schedule, and add shadow memory, so
// resident-memory bounds do not hold.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitizerAllocator = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool kSanitizerAllocator = true;
#else
inline constexpr bool kSanitizerAllocator = false;
#endif
#else
inline constexpr bool kSanitizerAllocator = false;
#endif

// ResidentBytes() is the resident set size (VmRSS) of process `pid` (0: this
// process), in bytes.
int64_t ResidentBytes(pid_t pid = 0);

// CpuSeconds() is the user + system CPU time process `pid` (0: this process)
// has used so far, in seconds.
double CpuSeconds(pid_t pid = 0);

// OpenFdCountOf() is the number of open descriptors of process `pid` (0:
// this process, not counting the descriptor used to list them).
int OpenFdCountOf(pid_t pid);

// WaitForFdCount() polls until process `pid` (0: this process) has `count`
// descriptors open or 20 s pass; returns the last count seen.
int WaitForFdCount(pid_t pid, int count);

}  // namespace epollhttp::test

#endif  // EPOLLHTTP_TESTING_PROCESS_STATS_H_
