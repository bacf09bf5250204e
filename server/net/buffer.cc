#include "server/net/buffer.h"

#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace epollhttp::net {

void Buffer::Consume(size_t n) {
  read_ += std::min(n, write_ - read_);
  if (read_ == write_) {
    read_ = write_ = 0;
    if (capacity_ > kKeepBytes) Release();
  }
}

void Buffer::Release() {
  data_.reset();
  capacity_ = read_ = write_ = 0;
}

void Buffer::Reserve(size_t extra) {
  if (capacity_ - write_ >= extra) return;
  const size_t size = write_ - read_;
  if (capacity_ >= size + extra) {  // Enough room once the consumed prefix goes.
    std::memmove(data_.get(), data_.get() + read_, size);
  } else {
    const size_t capacity = std::max({size + extra, capacity_ * 2, size_t{256}});
    std::unique_ptr<char[]> grown(new char[capacity]);
    if (size != 0) std::memcpy(grown.get(), data_.get() + read_, size);
    data_ = std::move(grown);
    capacity_ = capacity;
  }
  read_ = 0;
  write_ = size;
}

void Buffer::Append(absl::string_view bytes) {
  if (bytes.empty()) return;
  Reserve(bytes.size());
  std::memcpy(data_.get() + write_, bytes.data(), bytes.size());
  write_ += bytes.size();
}

Buffer::ReadResult Buffer::ReadFrom(int fd, absl::Span<char> spill) {
  iovec iov[2];
  int count = 0;
  const size_t free_space = empty() ? 0 : capacity_ - write_;
  if (free_space > 0) iov[count++] = {data_.get() + write_, free_space};
  iov[count++] = {spill.data(), spill.size()};
  ReadResult result;
  result.requested = free_space + spill.size();
  do {
    // A plain read() when there is one destination: readv() costs the kernel
    // an iovec import per call.
    result.bytes = count == 1 ? ::read(fd, spill.data(), spill.size()) : ::readv(fd, iov, count);
  } while (result.bytes < 0 && errno == EINTR);
  if (result.bytes < 0) {
    result.error = errno;
    return result;
  }
  const size_t n = static_cast<size_t>(result.bytes);
  const size_t queued = std::min(n, free_space);
  write_ += queued;
  result.spilled = absl::string_view(spill.data(), n - queued);
  return result;
}

}  // namespace epollhttp::net
