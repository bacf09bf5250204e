#include "loadgen/payload.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/fd.h"

namespace epollhttp::loadgen {

absl::StatusOr<std::unique_ptr<Payload>> Payload::FromFile(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return absl::ErrnoToStatus(errno, absl::StrCat("cannot open ", path));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return absl::ErrnoToStatus(errno, absl::StrCat("stat ", path));
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is not a regular file"));
  }
  std::unique_ptr<Payload> payload(new Payload);
  if (st.st_size > 0) {
    void* mapping =
        ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd.get(), 0);
    if (mapping == MAP_FAILED) return absl::ErrnoToStatus(errno, absl::StrCat("mmap ", path));
    payload->mapping_ = mapping;
    payload->mapping_size_ = static_cast<size_t>(st.st_size);
    payload->data_ = absl::string_view(static_cast<const char*>(mapping), payload->mapping_size_);
  }
  return payload;
}

std::unique_ptr<Payload> Payload::Generated(int64_t size) {
  std::unique_ptr<Payload> payload(new Payload);
  payload->generated_.resize(static_cast<size_t>(size));
  for (size_t i = 0; i < payload->generated_.size(); ++i) {
    payload->generated_[i] = static_cast<char>('a' + i % 26);
  }
  payload->data_ = payload->generated_;
  return payload;
}

Payload::~Payload() {
  if (mapping_ != nullptr) ::munmap(mapping_, mapping_size_);
}

std::string Payload::WrapAsForm(const std::string& filename, const std::string& content_type) {
  // A boundary that cannot occur in the generated data and is vanishingly
  // unlikely in a file; RFC 2046 allows up to 70 characters.
  const std::string boundary = "----epollhttp-loadgen-7MA4YWxkTrZu0gW";
  std::string quoted;
  for (const char c : filename) {
    if (c == '"' || c == '\\' || c == '\r' || c == '\n')
      quoted += '_';
    else
      quoted += c;
  }
  prefix_ = absl::StrCat("--", boundary,
                         "\r\nContent-Disposition: form-data; name=\"file\"; "
                         "filename=\"",
                         quoted, "\"\r\nContent-Type: ", content_type, "\r\n\r\n");
  suffix_ = absl::StrCat("\r\n--", boundary, "--\r\n");
  return absl::StrCat("multipart/form-data; boundary=", boundary);
}

absl::string_view Payload::Piece(size_t offset) const {
  if (offset < prefix_.size()) return absl::string_view(prefix_).substr(offset);
  offset -= prefix_.size();
  if (offset < data_.size()) return data_.substr(offset);
  offset -= data_.size();
  return absl::string_view(suffix_).substr(std::min(offset, suffix_.size()));
}

}  // namespace epollhttp::loadgen
