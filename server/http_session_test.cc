#include "server/http_session.h"

#include <string>

#include "gtest/gtest.h"

namespace epollhttp {
namespace {

TEST(HttpSessionTest, HeadGetsHeadersOnly) {
  HttpSession session;
  std::string out;
  const std::string in = "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n";
  EXPECT_EQ(session.OnInput(in, &out), in.size());
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 28\r\n"
            "X-Received-Body-Bytes: 0\r\n\r\n");
}

TEST(HttpSessionTest, ExpectContinueIsAnsweredBeforeTheBody) {
  HttpSession session;
  std::string out;
  const std::string head =
      "PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
  EXPECT_EQ(session.OnInput(head, &out), head.size());
  EXPECT_EQ(out, "HTTP/1.1 100 Continue\r\n\r\n");
  out.clear();
  EXPECT_EQ(session.OnInput("ok", &out), 2u);
  EXPECT_NE(out.find("X-Received-Body-Bytes: 2\r\n"), std::string::npos);
}

TEST(HttpSessionTest, SkippedBodyBytesCountLikeReadOnes) {
  HttpSession session;
  std::string out;
  const std::string head = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nxy";
  EXPECT_EQ(session.OnInput(head, &out), head.size());
  EXPECT_EQ(session.SkippableBodyBytes(), 98);
  session.OnBodySkipped(90, &out);
  EXPECT_TRUE(out.empty());
  session.OnBodySkipped(8, &out);
  EXPECT_NE(out.find("X-Received-Body-Bytes: 100\r\n"), std::string::npos) << out;
  EXPECT_EQ(session.SkippableBodyBytes(), 0);
  EXPECT_TRUE(session.idle());
}

TEST(HttpSessionTest, IncompleteHeadIsLeftUnconsumed) {
  HttpSession session;
  std::string out;
  EXPECT_EQ(session.OnInput("GET / HTTP/1.1\r\nHo", &out), 0u);
  EXPECT_FALSE(session.idle());
  EXPECT_EQ(session.OnInput("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET", &out), 27u);
  EXPECT_EQ(session.responses(), 1);
}

TEST(HttpSessionTest, ErrorClosesAndIgnoresTheRest) {
  HttpSession session;
  std::string out;
  const std::string in = "GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
  EXPECT_EQ(session.OnInput(in, &out), in.size());
  EXPECT_TRUE(session.closing());
  EXPECT_EQ(session.responses(), 1);
  EXPECT_EQ(out.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u);
}

TEST(HttpSessionTest, OversizedBodyIs413BeforeReadingIt) {
  SessionOptions options;
  options.body.max_body_bytes = 10;
  HttpSession session(options);
  std::string out;
  session.OnInput("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n", &out);
  EXPECT_EQ(out.rfind("HTTP/1.1 413 Content Too Large\r\n", 0), 0u);
}

TEST(HttpSessionTest, DrainingMakesTheNextResponseClose) {
  HttpSession session;
  std::string out;
  session.StartDraining();
  session.OnInput("GET / HTTP/1.1\r\nHost: a\r\n\r\n", &out);
  EXPECT_NE(out.find("Connection: close\r\n"), std::string::npos);
  EXPECT_TRUE(session.closing());
}

}  // namespace
}  // namespace epollhttp
