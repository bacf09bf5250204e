// payload.h: the request body every loadgen thread sends, loaded or generated
// once and streamed from that one copy by every request.
//
// A payload is up to three pieces sent back to back: a prefix and suffix
// (the multipart/form-data framing with --form, else empty) around the data
// (a read-only mmap of --file, or a generated deterministic buffer).
//
// Thread safety: immutable after creation; shared read-only by all threads.
#ifndef EPOLLHTTP_LOADGEN_PAYLOAD_H_
#define EPOLLHTTP_LOADGEN_PAYLOAD_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace epollhttp::loadgen {

class Payload {
 public:
  // FromFile() maps `path` read-only. NotFound / PermissionDenied /
  // InvalidArgument (a directory) with the path in the message.
  static absl::StatusOr<std::unique_ptr<Payload>> FromFile(const std::string& path);

  // Generated() is `size` deterministic bytes ('a'..'z' repeating).
  static std::unique_ptr<Payload> Generated(int64_t size);

  ~Payload();
  Payload(const Payload&) = delete;
  Payload& operator=(const Payload&) = delete;

  // WrapAsForm() turns the payload into a multipart/form-data body with one
  // file field named "file" (filename `filename`, type `content_type`), as a
  // browser upload sends it, and returns the request's Content-Type.
  std::string WrapAsForm(const std::string& filename, const std::string& content_type);

  [[nodiscard]] size_t size() const { return prefix_.size() + data_.size() + suffix_.size(); }

  // Piece() returns the contiguous bytes starting at `offset` (< size()),
  // up to the end of the piece that holds it.
  [[nodiscard]] absl::string_view Piece(size_t offset) const;

 private:
  Payload() = default;

  std::string prefix_;
  absl::string_view data_;
  std::string suffix_;
  std::string generated_;    // Backs data_ for Generated().
  void* mapping_ = nullptr;  // Backs data_ for FromFile().
  size_t mapping_size_ = 0;
};

}  // namespace epollhttp::loadgen

#endif  // EPOLLHTTP_LOADGEN_PAYLOAD_H_
