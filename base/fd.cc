#include "base/fd.h"

#include <unistd.h>

namespace epollhttp {

void Fd::reset(int fd) noexcept {
  const int old = std::exchange(fd_, fd);
  if (old >= 0) ::close(old);
}

}  // namespace epollhttp
