#include "server/upload/checksum.h"

#include <openssl/evp.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace epollhttp::upload {
namespace {

const EVP_MD* Algorithm(absl::string_view name) {
  if (name == "sha1") return EVP_sha1();
  if (name == "sha256") return EVP_sha256();
  return nullptr;
}

}  // namespace

absl::StatusOr<UploadChecksum> ParseUploadChecksum(absl::string_view value) {
  const size_t space = value.find(' ');
  if (space == absl::string_view::npos) {
    return absl::InvalidArgumentError("Upload-Checksum must be ALGORITHM BASE64");
  }
  UploadChecksum out;
  out.algorithm = std::string(value.substr(0, space));
  const EVP_MD* md = Algorithm(out.algorithm);
  if (md == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("Upload-Checksum algorithm \"", out.algorithm,
                                                   "\" is not one of ", kChecksumAlgorithms));
  }
  const absl::string_view encoded = value.substr(space + 1);
  if (!absl::Base64Unescape(encoded, &out.digest) || absl::Base64Escape(out.digest) != encoded ||
      out.digest.size() != static_cast<size_t>(EVP_MD_get_size(md))) {
    return absl::InvalidArgumentError(
        absl::StrCat("Upload-Checksum digest is not a padded base64 ", out.algorithm, " digest"));
  }
  return out;
}

std::unique_ptr<Digest> Digest::Create(absl::string_view algorithm) {
  const EVP_MD* md = Algorithm(algorithm);
  if (md == nullptr) return nullptr;
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  if (context == nullptr || EVP_DigestInit_ex(context, md, nullptr) != 1) {
    EVP_MD_CTX_free(context);
    return nullptr;
  }
  return std::unique_ptr<Digest>(new Digest(context));
}

Digest::~Digest() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(context_)); }

void Digest::Update(absl::string_view data) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(context_), data.data(), data.size());
}

std::string Digest::Final() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(context_), out, &size);
  return std::string(reinterpret_cast<const char*>(out), size);
}

}  // namespace epollhttp::upload
