#include "net/buffer.h"

#include <algorithm>
#include <cstring>

namespace epollhttp::net {

void Buffer::Consume(size_t n) {
  read_ += std::min(n, write_ - read_);
  const size_t size = write_ - read_;
  if (size == 0) {
    read_ = write_ = 0;
    if (capacity_ > keep_bytes_) Release();
  } else if (capacity_ > keep_bytes_ && size <= capacity_ / 4) {
    Reallocate(std::max(size, size_t{256}));
  }
}

void Buffer::Release() {
  data_.reset();
  capacity_ = read_ = write_ = 0;
}

void Buffer::Reallocate(size_t capacity) {
  const size_t size = write_ - read_;
  std::unique_ptr<char[]> moved(new char[capacity]);
  if (size != 0) std::memcpy(moved.get(), data_.get() + read_, size);
  data_ = std::move(moved);
  capacity_ = capacity;
  read_ = 0;
  write_ = size;
}

void Buffer::Reserve(size_t extra) {
  if (capacity_ - write_ >= extra) return;
  const size_t size = write_ - read_;
  if (capacity_ >= size + extra) {  // Enough room once the consumed prefix goes.
    std::memmove(data_.get(), data_.get() + read_, size);
    read_ = 0;
    write_ = size;
  } else {
    Reallocate(std::max({size + extra, capacity_ * 2, size_t{256}}));
  }
}

char* Buffer::Extend(size_t n) {
  Reserve(n);
  char* at = data_.get() + write_;
  write_ += n;
  return at;
}

void Buffer::Append(absl::string_view bytes) {
  if (bytes.empty()) return;
  Reserve(bytes.size());
  std::memcpy(data_.get() + write_, bytes.data(), bytes.size());
  write_ += bytes.size();
}

}  // namespace epollhttp::net
