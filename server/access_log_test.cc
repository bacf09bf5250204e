#include "server/access_log.h"

#include <unistd.h>

#include <chrono>
#include <string>

#include "gtest/gtest.h"
#include "testing/fd_util.h"

namespace epollhttp {
namespace {

std::string ReadAvailable(int fd) {
  char buf[4096];
  const ssize_t n = ::read(fd, buf, sizeof(buf));
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

TEST(AccessLogTest, BuffersUntilFlushThenWritesWholeLines) {
  auto [read_end, write_end] = test::MakePipe();
  AccessLog log(write_end.get());
  log.Append("127.0.0.1:5000", "POST", "/upload?x=1", "HTTP/1.1", 200, 3748935,
             std::chrono::microseconds(1500));
  log.Append("127.0.0.1:5001", "", "", "", 400, 0, std::chrono::microseconds(20));
  log.Flush();
  const std::string text = ReadAvailable(read_end.get());
  const size_t newline = text.find('\n');
  ASSERT_NE(newline, std::string::npos);
  const std::string first = text.substr(0, newline);
  // 2026-11-27T07:11:56.123Z is 24 characters.
  EXPECT_EQ(first.size() > 24 && first[10] == 'T' && first[23] == 'Z', true) << first;
  EXPECT_EQ(first.substr(24), " 127.0.0.1:5000 \"POST /upload?x=1 HTTP/1.1\" 200 3748935 1.500ms");
  EXPECT_EQ(text.substr(newline + 1 + 24), " 127.0.0.1:5001 \"-\" 400 0 0.020ms\n");
}

TEST(AccessLogTest, EscapesControlBytesAndQuotesInTheTarget) {
  auto [read_end, write_end] = test::MakePipe();
  AccessLog log(write_end.get());
  log.Append("p", "GET", "/a\"b\\c\x7f\xff", "HTTP/1.0", 200, 0, std::chrono::nanoseconds(0));
  log.Flush();
  const std::string text = ReadAvailable(read_end.get());
  EXPECT_NE(text.find("\"GET /a\\x22b\\x5Cc\\x7F\\xFF HTTP/1.0\""), std::string::npos) << text;
}

TEST(AccessLogTest, CutsALongTargetAfterTheCap) {
  auto [read_end, write_end] = test::MakePipe();
  AccessLog log(write_end.get());
  const std::string target = "/" + std::string(kMaxLoggedTarget + 500, '\x01');
  log.Append("p", "GET", target, "HTTP/1.1", 200, 0, std::chrono::nanoseconds(0));
  log.Flush();
  char buf[16384];
  const ssize_t n = ::read(read_end.get(), buf, sizeof(buf));
  ASSERT_GT(n, 0);
  const std::string text(buf, static_cast<size_t>(n));
  std::string expected = "\"GET /";
  for (size_t i = 1; i < kMaxLoggedTarget; ++i) expected += "\\x01";
  expected += "... HTTP/1.1\"";
  EXPECT_NE(text.find(expected), std::string::npos) << text.size();
}

}  // namespace
}  // namespace epollhttp
