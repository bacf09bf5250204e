// buffer.h: `Buffer`, a connection's byte queue, filled from a socket with
// one readv() into its own free space plus a caller-provided spill area.
//
// The spill area is the event loop's shared scratch buffer: an idle
// connection's Buffer holds no memory at all, a read of any size takes one
// system call, and the caller can consume spilled bytes in place (bodies are
// never copied) and Append() only what must be kept, such as a partial
// request head. This is muduo's Buffer::readFd idea without its
// prepend area.
//
// Thread safety: one Buffer per connection, used on its loop's thread.
#ifndef EPOLLHTTP_SERVER_NET_BUFFER_H_
#define EPOLLHTTP_SERVER_NET_BUFFER_H_

#include <sys/types.h>

#include <cstddef>
#include <memory>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace epollhttp::net {

class Buffer {
 public:
  Buffer() = default;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  // readable() is the queued bytes, valid until the next non-const call.
  [[nodiscard]] absl::string_view readable() const {
    return absl::string_view(data_.get() + read_, write_ - read_);
  }
  [[nodiscard]] bool empty() const { return read_ == write_; }
  [[nodiscard]] size_t capacity() const { return capacity_; }

  // Consume() drops the first `n` (<= readable().size()) bytes. An emptied
  // buffer releases its memory if it has grown beyond `kKeepBytes`.
  void Consume(size_t n);

  // Append() queues `bytes`, growing (or compacting) as needed.
  void Append(absl::string_view bytes);

  // Release() drops all bytes and frees the memory.
  void Release();

  struct ReadResult {
    ssize_t bytes = 0;              // As read(2): > 0 bytes, 0 EOF, -1 error (see error).
    int error = 0;                  // errno when bytes < 0.
    size_t requested = 0;           // Bytes asked for: fewer read means the fd is drained.
    absl::string_view spilled;      // Bytes that landed in the spill area, not yet queued.
  };

  // ReadFrom() reads once from `fd` with readv() into this buffer's free space
  // and then `spill`. Bytes that fit are queued (readable() grew); the rest
  // are returned in `spilled` (a view into `spill`) for the caller to consume
  // in place or Append(). When the buffer is empty its free space is not used,
  // so all bytes spill and nothing is copied.
  ReadResult ReadFrom(int fd, absl::Span<char> spill);

 private:
  static constexpr size_t kKeepBytes = 4096;
  void Reserve(size_t extra);

  std::unique_ptr<char[]> data_;
  size_t capacity_ = 0;
  size_t read_ = 0;
  size_t write_ = 0;
};

}  // namespace epollhttp::net

#endif  // EPOLLHTTP_SERVER_NET_BUFFER_H_
