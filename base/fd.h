// fd.h: `Fd`, the single owner of a POSIX file descriptor.
//
// Every descriptor the binaries open (sockets, epoll, eventfd, timerfd) lives in
// an `Fd`, so it is closed exactly once, when its owner goes away, and can be
// handed on only by moving. An `Fd` is a plain value: it does no I/O itself.
//
// Thread safety: like an int. Distinct `Fd`s may be used from different
// threads; one `Fd` must not be moved, reset or destroyed while another thread
// uses it.
#ifndef EPOLLHTTP_BASE_FD_H_
#define EPOLLHTTP_BASE_FD_H_

#include <utility>

namespace epollhttp {

class Fd {
 public:
  // Fd() holds no descriptor (`get() == -1`).
  Fd() noexcept = default;

  // Fd(fd) takes ownership of `fd`, which must be -1 or an open descriptor
  // that nothing else will close.
  explicit Fd(int fd) noexcept : fd_(fd) {}

  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  // ~Fd() closes the descriptor if one is held.
  ~Fd() { reset(); }

  // get() returns the descriptor, or -1; ownership stays here.
  [[nodiscard]] int get() const noexcept { return fd_; }

  // valid() returns whether a descriptor is held.
  [[nodiscard]] bool valid() const noexcept { return fd_ >= 0; }
  explicit operator bool() const noexcept { return valid(); }

  // release() gives up ownership without closing and returns the descriptor
  // (or -1); the caller must close it.
  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }

  // reset(fd) closes the held descriptor (if any) and takes `fd`. close(2) is
  // called once and never retried: on Linux the descriptor is released even
  // when close reports EINTR or EIO, and retrying could close a reused number.
  void reset(int fd = -1) noexcept;

 private:
  int fd_ = -1;
};

}  // namespace epollhttp

#endif  // EPOLLHTTP_BASE_FD_H_
