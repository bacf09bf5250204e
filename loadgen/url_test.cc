#include "loadgen/url.h"

#include "gtest/gtest.h"

namespace epollhttp::loadgen {
namespace {

TEST(UrlTest, ParsesSchemeHostPortAndPath) {
  absl::StatusOr<Url> url = ParseUrl("http://127.0.0.1:8000/upload?x=1");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_FALSE(url->tls);
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, 8000);
  EXPECT_EQ(url->path, "/upload?x=1");
  EXPECT_EQ(url->Origin(), "http://127.0.0.1:8000");
  EXPECT_EQ(url->HostHeader(), "127.0.0.1:8000");
}

TEST(UrlTest, DefaultsThePortAndPathByScheme) {
  absl::StatusOr<Url> url = ParseUrl("https://example.com");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_TRUE(url->tls);
  EXPECT_EQ(url->port, 443);
  EXPECT_EQ(url->path, "/");
  EXPECT_EQ(url->HostHeader(), "example.com");
  EXPECT_EQ(ParseUrl("http://a/")->port, 80);
  EXPECT_EQ(ParseUrl("http://a:443/")->HostHeader(), "a:443");
}

TEST(UrlTest, KeepsIpv6LiteralsInBrackets) {
  absl::StatusOr<Url> url = ParseUrl("http://[::1]:8080/x");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->host, "[::1]");
  EXPECT_EQ(url->port, 8080);
  EXPECT_EQ(url->Origin(), "http://[::1]:8080");
  url = ParseUrl("https://[2001:db8::1]/");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->host, "[2001:db8::1]");
  EXPECT_EQ(url->port, 443);
}

TEST(UrlTest, RejectsWhatIsNotAnHttpUrl) {
  for (const char* bad :
       {"ftp://a/", "a:80", "http://", "http:///x", "http://a:/", "http://a:0/", "http://a:65536/",
        "http://a:8x/", "http://u@a/", "http://a b/", "http://a/#frag", "http://[::1/",
        "http://[]/", "http://[::1]x/", "http://[::1]:/", "http://:80/"}) {
    absl::StatusOr<Url> url = ParseUrl(bad);
    EXPECT_FALSE(url.ok()) << bad;
    if (!url.ok()) {
      EXPECT_NE(url.status().message().find(bad), std::string::npos) << bad;
    }
  }
}

}  // namespace
}  // namespace epollhttp::loadgen
