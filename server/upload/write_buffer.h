// write_buffer.h: a piece of an upload's body gathered in memory aligned for
// a direct (O_DIRECT) write: the request's bytes start as far into the
// buffer as they fall into their 4 KiB block of the file, so the store can
// put the bytes before them in that block in front and write whole blocks
// from the buffer as it stands, with no second copy.
//
// Thread safety: one thread at a time (the request's loop fills it, a
// worker writes it).
#ifndef EPOLLHTTP_SERVER_UPLOAD_WRITE_BUFFER_H_
#define EPOLLHTTP_SERVER_UPLOAD_WRITE_BUFFER_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <utility>

#include "absl/strings/string_view.h"

namespace epollhttp::upload {

class WriteBuffer {
 public:
  // Memory is aligned to, and the room in front is within, this block.
  static constexpr size_t kAlign = 4096;

  WriteBuffer() = default;
  // Moving leaves the source empty, with no memory.
  WriteBuffer(WriteBuffer&& other) noexcept { *this = std::move(other); }
  WriteBuffer& operator=(WriteBuffer&& other) noexcept {
    data_ = std::move(other.data_);
    capacity_ = std::exchange(other.capacity_, 0);
    room_ = std::exchange(other.room_, 0);
    size_ = std::exchange(other.size_, 0);
    return *this;
  }

  // Reset() empties the buffer for bytes that go at file offset `offset`:
  // they will start offset % kAlign bytes in.
  void Reset(int64_t offset) {
    room_ = static_cast<size_t>(offset % static_cast<int64_t>(kAlign));
    size_ = 0;
  }

  // Reserve() makes room for `size` bytes after the room in front; false if
  // memory ran out (the bytes so far are kept).
  bool Reserve(size_t size) {
    const size_t need = room_ + size;
    if (need <= capacity_) return true;
    if (size > (size_t{1} << 40)) return false;  // No body piece is this large.
    const size_t capacity = (need + kAlign - 1) / kAlign * kAlign;
    void* p = nullptr;
    if (::posix_memalign(&p, kAlign, capacity) != 0) return false;
    std::unique_ptr<char, Free> grown(static_cast<char*>(p));
    if (size_ > 0) std::memcpy(grown.get() + room_, data_.get() + room_, size_);
    data_ = std::move(grown);
    capacity_ = capacity;
    return true;
  }

  // Append() adds `data` after the bytes so far, growing the buffer (at
  // least doubling, so appends cost amortised constant time); false if
  // memory ran out.
  bool Append(absl::string_view data) {
    if (room_ + size_ + data.size() > capacity_ &&
        !Reserve(std::max(size_ + data.size(), 2 * size_))) {
      return false;
    }
    std::memcpy(data_.get() + room_ + size_, data.data(), data.size());
    size_ += data.size();
    return true;
  }

  // Space() is room for up to `want` more bytes after those so far (grown
  // to at least `want`, or to what memory allows: possibly less, even
  // none), to be filled by the caller and reported with Appended().
  char* Space(size_t want, size_t* got) {
    *got = 0;
    if (!Reserve(size_ + want) && !Reserve(size_ + 1)) return nullptr;
    *got = std::min(want, capacity_ - room_ - size_);
    return data_.get() + room_ + size_;
  }
  // free() is how many bytes fit after those so far without growing.
  [[nodiscard]] size_t free() const { return capacity_ - room_ - size_; }
  // Appended() takes `n` bytes (at most what Space() gave) written there.
  void Appended(size_t n) { size_ += n; }

  // view() is the bytes appended since Reset().
  [[nodiscard]] absl::string_view view() const {
    return data_ == nullptr ? absl::string_view() : absl::string_view(data_.get() + room_, size_);
  }
  [[nodiscard]] size_t size() const { return size_; }
  [[nodiscard]] bool empty() const { return size_ == 0; }
  // room() is how many bytes come before the piece in its first block;
  // block() is where that block starts (aligned; null before any Reserve()).
  [[nodiscard]] size_t room() const { return room_; }
  [[nodiscard]] char* block() { return data_.get(); }

 private:
  struct Free {
    void operator()(char* p) const { std::free(p); }
  };
  std::unique_ptr<char, Free> data_;
  size_t capacity_ = 0;
  size_t room_ = 0;
  size_t size_ = 0;
};

}  // namespace epollhttp::upload

#endif  // EPOLLHTTP_SERVER_UPLOAD_WRITE_BUFFER_H_
