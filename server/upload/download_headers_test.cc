#include "server/upload/download_headers.h"

#include "gtest/gtest.h"

namespace epollhttp::upload {
namespace {

using Kind = ByteRange::Kind;

TEST(DownloadHeadersTest, OneRangeInEachForm) {
  ByteRange r = ParseRange("bytes=0-99", 1000);
  EXPECT_EQ(r.kind, Kind::kPart);
  EXPECT_EQ(r.first, 0);
  EXPECT_EQ(r.last, 99);
  r = ParseRange("bytes=900-", 1000);
  EXPECT_EQ(r.first, 900);
  EXPECT_EQ(r.last, 999);
  r = ParseRange("bytes=-10", 1000);
  EXPECT_EQ(r.first, 990);
  EXPECT_EQ(r.last, 999);
  r = ParseRange("bytes=-5000", 1000);  // More than there is: all of it.
  EXPECT_EQ(r.first, 0);
  r = ParseRange("bytes=500-99999", 1000);  // Cut to the end.
  EXPECT_EQ(r.last, 999);
}

TEST(DownloadHeadersTest, UnsatisfiableAndIgnoredRanges) {
  EXPECT_EQ(ParseRange("bytes=1000-", 1000).kind, Kind::kUnsatisfiable);
  EXPECT_EQ(ParseRange("bytes=-0", 1000).kind, Kind::kUnsatisfiable);
  EXPECT_EQ(ParseRange("bytes=0-", 0).kind, Kind::kUnsatisfiable);
  for (const char* ignored : {"", "bytes=0-1,5-6", "items=0-1", "bytes=5-1", "bytes=a-b",
                              "bytes= 0-1", "bytes=-", "bytes=0", "bytes=+1-2"}) {
    EXPECT_EQ(ParseRange(ignored, 1000).kind, Kind::kWhole) << ignored;
  }
}

TEST(DownloadHeadersTest, ContentDispositionCannotInjectAHeader) {
  EXPECT_EQ(ContentDisposition("photo.jpg", "x"),
            "attachment; filename=\"photo.jpg\"; filename*=UTF-8''photo.jpg");
  EXPECT_EQ(ContentDisposition("a\"b\r\nSet-Cookie: x=1", "x"),
            "attachment; filename=\"a_b__Set-Cookie: x=1\"; "
            "filename*=UTF-8''a%22b%0D%0ASet-Cookie%3A%20x%3D1");
  EXPECT_EQ(ContentDisposition("../../etc/passwd", "x"),
            "attachment; filename=\".._.._etc_passwd\"; filename*=UTF-8''.._.._etc_passwd");
  EXPECT_EQ(ContentDisposition("\xC3\xA9t\xC3\xA9.txt", "x"),
            "attachment; filename=\"__t__.txt\"; filename*=UTF-8''%C3%A9t%C3%A9.txt");
  EXPECT_EQ(ContentDisposition("", "0123abcd"),
            "attachment; filename=\"0123abcd\"; filename*=UTF-8''0123abcd");
}

}  // namespace
}  // namespace epollhttp::upload
