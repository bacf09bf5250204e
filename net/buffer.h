// buffer.h: `Buffer`, a byte queue for either direction of a connection:
// received bytes that could not be consumed in place (a partial request
// head, requests waiting their turn), or response bytes the peer has not
// taken yet.
//
// Reads land in the event loop's shared scratch buffer and are consumed
// there, and responses are written to the loop's shared output Buffer and
// sent from there; a connection's own Buffers hold only what is left over.
// So an idle connection's Buffers hold no memory, and a Buffer's memory
// follows what it holds: it shrinks when most of it has been consumed and is
// freed when emptied (beyond a small reusable size), so a long-lived
// connection that once held a large backlog does not keep its peak.
//
// Thread safety: one Buffer per connection, used on its loop's thread.
#ifndef EPOLLHTTP_NET_BUFFER_H_
#define EPOLLHTTP_NET_BUFFER_H_

#include <cstddef>
#include <memory>

#include "absl/strings/string_view.h"

namespace epollhttp::net {

class Buffer {
 public:
  static constexpr size_t kKeepBytes = 4096;

  // `keep_bytes` is the capacity an emptied buffer keeps for reuse (a loop's
  // shared output keeps more than a connection's queue).
  explicit Buffer(size_t keep_bytes = kKeepBytes) : keep_bytes_(keep_bytes) {}
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  // readable() is the queued bytes, valid until the next non-const call.
  [[nodiscard]] absl::string_view readable() const {
    return absl::string_view(data_.get() + read_, write_ - read_);
  }
  [[nodiscard]] bool empty() const { return read_ == write_; }
  [[nodiscard]] size_t size() const { return write_ - read_; }
  [[nodiscard]] size_t capacity() const { return capacity_; }

  // Consume() drops the first `n` (<= readable().size()) bytes. An emptied
  // buffer releases its memory if it has grown beyond `keep_bytes`; one
  // beyond that size left at most a quarter full shrinks to what it holds.
  void Consume(size_t n);

  // Append() queues `bytes`, growing (or compacting) as needed.
  void Append(absl::string_view bytes);
  // Extend() queues `n` bytes that the caller fills through the returned
  // pointer before the next call (one allocation for many pieces).
  char* Extend(size_t n);

  // Release() drops all bytes and frees the memory.
  void Release();

 private:
  void Reserve(size_t extra);
  // Reallocate() moves the readable bytes to a new block of `capacity`.
  void Reallocate(size_t capacity);

  std::unique_ptr<char[]> data_;
  size_t keep_bytes_;
  size_t capacity_ = 0;
  size_t read_ = 0;
  size_t write_ = 0;
};

}  // namespace epollhttp::net

#endif  // EPOLLHTTP_NET_BUFFER_H_
