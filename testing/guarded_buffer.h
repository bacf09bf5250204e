// guarded_buffer.h: test inputs placed flush against an unreadable page.
//
// A parser that reads even one byte past its input crashes with SIGSEGV when
// that input comes from a GuardedBuffer, with or without AddressSanitizer
// (picohttpparser's testing technique).
//
// Thread safety: a GuardedBuffer is owned by one thread at a time.
#ifndef EPOLLHTTP_TESTING_GUARDED_BUFFER_H_
#define EPOLLHTTP_TESTING_GUARDED_BUFFER_H_

#include <cstddef>

#include "absl/strings/string_view.h"

namespace epollhttp::test {

class GuardedBuffer {
 public:
  // GuardedBuffer(bytes) copies `bytes` so that its last byte is the last
  // readable byte before a PROT_NONE page (an empty input points at the guard
  // page itself). Aborts with a message if mmap/mprotect fail.
  explicit GuardedBuffer(absl::string_view bytes);
  GuardedBuffer(const GuardedBuffer&) = delete;
  GuardedBuffer& operator=(const GuardedBuffer&) = delete;
  ~GuardedBuffer();

  // view() returns the guarded copy; valid while this object lives.
  [[nodiscard]] absl::string_view view() const { return {data_, size_}; }

 private:
  char* mapping_ = nullptr;
  size_t mapping_size_ = 0;
  const char* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace epollhttp::test

#endif  // EPOLLHTTP_TESTING_GUARDED_BUFFER_H_
