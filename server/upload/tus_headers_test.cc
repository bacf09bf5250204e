#include "server/upload/tus_headers.h"

#include <string>

#include "gtest/gtest.h"

namespace epollhttp::upload {
namespace {

TEST(TusHeadersTest, Numbers) {
  EXPECT_EQ(ParseUploadNumber("0"), 0);
  EXPECT_EQ(ParseUploadNumber("3748935"), 3748935);
  EXPECT_EQ(ParseUploadNumber("999999999999999999"), 999999999999999999);
  for (const char* bad :
       {"", "-1", "+1", " 1", "1 ", "1e3", "0x10", "9999999999999999999", "1.0"}) {
    EXPECT_EQ(ParseUploadNumber(bad), std::nullopt) << bad;
  }
}

TEST(TusHeadersTest, StructuredBooleans) {
  EXPECT_EQ(ParseSfBoolean("?1"), true);
  EXPECT_EQ(ParseSfBoolean("?0"), false);
  EXPECT_EQ(ParseSfBoolean("  ?1 "), true);
  for (const char* bad : {"", "?", "1", "0", "?2", "?1;a", "?1,?0", "true", "\t?1", "?01"}) {
    EXPECT_EQ(ParseSfBoolean(bad), std::nullopt) << bad;
  }
}

TEST(TusHeadersTest, StructuredIntegers) {
  EXPECT_EQ(ParseSfNonNegativeInteger("0"), 0);
  EXPECT_EQ(ParseSfNonNegativeInteger(" 8 "), 8);
  EXPECT_EQ(ParseSfNonNegativeInteger("007"), 7);  // RFC 9651 allows leading zeros.
  EXPECT_EQ(ParseSfNonNegativeInteger("999999999999999"), 999999999999999);
  for (const char* bad : {"", " ", "-1", "1000000000000000", "1.5", "8;v=1", "0x8", "\t8"}) {
    EXPECT_EQ(ParseSfNonNegativeInteger(bad), std::nullopt) << bad;
  }
}

TEST(TusHeadersTest, MetadataAsTusJsClientSendsIt) {
  const auto pairs =
      ParseUploadMetadata("filename aW1hZ2UuanBn,filetype aW1hZ2UvanBlZw==,is_confidential")
          .value();
  ASSERT_EQ(pairs.size(), 3u);
  EXPECT_EQ(pairs[0].key, "filename");
  EXPECT_EQ(pairs[0].value, "image.jpg");
  EXPECT_EQ(pairs[1].value, "image/jpeg");
  EXPECT_EQ(pairs[2].key, "is_confidential");
  EXPECT_FALSE(pairs[2].has_value);
  EXPECT_TRUE(ParseUploadMetadata("").value().empty());
}

TEST(TusHeadersTest, MetadataThatIsNotExactlyRightIsRefused) {
  for (const char* bad : {",", "a Zm9v,", " a Zm9v", "a  Zm9v", "a Zm9v,a YmFy", "a Zm9", "a Zm9v=",
                          "a Zm-v", "a Zm9v\n", "a Zh==", "k\x7f Zm9v", "a ", "a Zm9v, b YmFy"}) {
    EXPECT_FALSE(ParseUploadMetadata(bad).ok()) << bad;
  }
  std::string big = "k " + std::string(4096, 'A');
  EXPECT_FALSE(ParseUploadMetadata(big).ok());
}

TEST(TusHeadersTest, MediaTypes) {
  EXPECT_TRUE(EqualsMediaType("application/offset+octet-stream", kOffsetOctetStream));
  EXPECT_TRUE(EqualsMediaType("Application/Offset+Octet-Stream; charset=x", kOffsetOctetStream));
  EXPECT_FALSE(EqualsMediaType("application/octet-stream", kOffsetOctetStream));
  EXPECT_FALSE(EqualsMediaType("", kOffsetOctetStream));
}

}  // namespace
}  // namespace epollhttp::upload
