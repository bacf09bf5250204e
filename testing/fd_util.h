// fd_util.h: test helpers for code that owns file descriptors.
//
// Test-only. A helper whose system call fails prints why and aborts the test
// binary: no test can go on without its pipe.
#ifndef EPOLLHTTP_TESTING_FD_UTIL_H_
#define EPOLLHTTP_TESTING_FD_UTIL_H_

#include <utility>

#include "base/fd.h"

namespace epollhttp::test {

// MakePipe() returns {read end, write end} of a new O_CLOEXEC pipe, with any
// extra pipe2(2) `flags` (e.g. O_NONBLOCK); aborts with a message on stderr
// if pipe2(2) fails.
std::pair<Fd, Fd> MakePipe(int flags = 0);

// IsOpen(fd) returns whether `fd` names an open descriptor in this process.
bool IsOpen(int fd);

// OpenFdCount() returns how many descriptors this process has open (entries of
// /proc/self/fd, not counting the one used to list it), or -1 if it cannot
// be read.
int OpenFdCount();

}  // namespace epollhttp::test

#endif  // EPOLLHTTP_TESTING_FD_UTIL_H_
