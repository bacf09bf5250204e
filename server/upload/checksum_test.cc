#include "server/upload/checksum.h"

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace epollhttp::upload {
namespace {

TEST(ChecksumTest, KnownDigestsInPieces) {
  auto sha1 = Digest::Create("sha1");
  sha1->Update("hello ");
  sha1->Update("world");
  EXPECT_EQ(absl::BytesToHexString(sha1->Final()), "2aae6c35c94fcfb415dbe95f408b9ce91ee846ed");
  auto sha256 = Digest::Create("sha256");
  sha256->Update("hello world");
  EXPECT_EQ(absl::BytesToHexString(sha256->Final()),
            "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");
  EXPECT_EQ(Digest::Create("md5"), nullptr);
}

TEST(ChecksumTest, HeaderValues) {
  const UploadChecksum c = ParseUploadChecksum("sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=").value();
  EXPECT_EQ(c.algorithm, "sha1");
  EXPECT_EQ(absl::BytesToHexString(c.digest), "2aae6c35c94fcfb415dbe95f408b9ce91ee846ed");
  for (const char* bad :
       {"", "sha1", "md5 1B2M2Y8AsgTpgAmY7PhCfg==", "sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0",
        "sha256 Kq5sNclPz7QV2+lfQIuc6R7oRu0=", "sha1  Kq5sNclPz7QV2+lfQIuc6R7oRu0=",
        "SHA1 Kq5sNclPz7QV2+lfQIuc6R7oRu0="}) {
    EXPECT_FALSE(ParseUploadChecksum(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace epollhttp::upload
