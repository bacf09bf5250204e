#include "testing/guarded_buffer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace epollhttp::test {

GuardedBuffer::GuardedBuffer(absl::string_view bytes) : size_(bytes.size()) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t data_pages = (bytes.size() + page - 1) / page;
  mapping_size_ = (data_pages + 1) * page;
  void* mapping =
      ::mmap(nullptr, mapping_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapping == MAP_FAILED) {
    std::perror("GuardedBuffer: mmap");
    std::abort();
  }
  mapping_ = static_cast<char*>(mapping);
  char* guard = mapping_ + data_pages * page;
  if (::mprotect(guard, page, PROT_NONE) != 0) {
    std::perror("GuardedBuffer: mprotect");
    std::abort();
  }
  char* data = guard - bytes.size();
  if (!bytes.empty()) std::memcpy(data, bytes.data(), bytes.size());
  data_ = data;
}

GuardedBuffer::~GuardedBuffer() { ::munmap(mapping_, mapping_size_); }

}  // namespace epollhttp::test
