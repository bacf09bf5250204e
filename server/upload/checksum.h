// checksum.h: the tus `checksum` extension's Upload-Checksum header
// ("sha1 BASE64" or "sha256 BASE64") and the digest computed as a request's
// bytes stream in, with OpenSSL's libcrypto.
//
// Thread safety: ParseUploadChecksum() is a pure function. A Digest is used
// by one thread at a time (it may move between threads between calls).
#ifndef EPOLLHTTP_SERVER_UPLOAD_CHECKSUM_H_
#define EPOLLHTTP_SERVER_UPLOAD_CHECKSUM_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace epollhttp::upload {

// The algorithms served, for Tus-Checksum-Algorithm (sha1 is the one tus
// requires).
inline constexpr absl::string_view kChecksumAlgorithms = "sha1,sha256";

struct UploadChecksum {
  std::string algorithm;  // "sha1" or "sha256".
  std::string digest;     // The raw digest bytes the client expects.
};

// ParseUploadChecksum() reads an Upload-Checksum value: an algorithm this
// server knows, one space, and the digest in padded base64 of exactly that
// algorithm's length. InvalidArgument (saying what) otherwise.
absl::StatusOr<UploadChecksum> ParseUploadChecksum(absl::string_view value);

// A running digest of one algorithm.
class Digest {
 public:
  // Create() starts a digest of `algorithm` ("sha1" or "sha256"); null for
  // any other.
  static std::unique_ptr<Digest> Create(absl::string_view algorithm);
  ~Digest();
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;

  void Update(absl::string_view data);
  // Final() is the digest of everything given (call once).
  std::string Final();

 private:
  explicit Digest(void* context) : context_(context) {}
  void* context_;  // An EVP_MD_CTX.
};

}  // namespace epollhttp::upload

#endif  // EPOLLHTTP_SERVER_UPLOAD_CHECKSUM_H_
