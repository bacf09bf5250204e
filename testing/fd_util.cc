#include "testing/fd_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace epollhttp::test {

std::pair<Fd, Fd> MakePipe(int flags) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | flags) != 0) {
    std::fprintf(stderr, "MakePipe: pipe2: %s\n", std::strerror(errno));
    std::abort();
  }
  return {Fd(fds[0]), Fd(fds[1])};
}

bool IsOpen(int fd) { return ::fcntl(fd, F_GETFD) != -1 || errno != EBADF; }

int OpenFdCount() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  int count = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(dir);
  return count - 1;  // The directory stream's own descriptor.
}

}  // namespace epollhttp::test
