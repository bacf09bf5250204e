// End-to-end: 100 rounds of SIGKILL during a PATCH. Each round starts the
// server on the same --upload_dir, asks HEAD where the upload stands, sends
// a PATCH from there with part of its body, and kills the server: at once,
// or once the server has committed some of that PATCH's bytes (it commits
// every 16 KiB). The offset a restarted server reports is never below what
// was acknowledged before, never above what was sent, and the bytes below it
// are exactly those sent. Finally the upload completes and GET returns it.
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <random>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "testing/server_process.h"
#include "testing/socket_util.h"

namespace epollhttp::test {
namespace {

constexpr int64_t kLength = 64 << 20;  // Not reached in 100 rounds.

char ByteAt(int64_t offset) { return static_cast<char>(offset * 31 % 251); }

std::string Bytes(int64_t from, int64_t n) {
  std::string out(static_cast<size_t>(n), '\0');
  for (int64_t i = 0; i < n; ++i) out[static_cast<size_t>(i)] = ByteAt(from + i);
  return out;
}

Response Send(uint16_t port, const std::string& request) {
  Fd fd = ConnectLoopback(port);
  if (!SendAll(fd.get(), request)) return Response();
  std::string leftover;
  return ReadResponse(fd.get(), &leftover);
}

int64_t HeadOffset(uint16_t port, const std::string& path) {
  const Response r = Send(
      port, absl::StrCat("HEAD ", path, " HTTP/1.1\r\nHost: t\r\nTus-Resumable: 1.0.0\r\n\r\n"));
  int64_t n = -1;
  return absl::SimpleAtoi(HeaderValue(r.head, "Upload-Offset"), &n) ? n : -1;
}

std::string PatchHead(const std::string& path, int64_t offset, int64_t length) {
  return absl::StrCat(
      "PATCH ", path, " HTTP/1.1\r\nHost: t\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: ", offset,
      "\r\nContent-Type: application/offset+octet-stream\r\nContent-Length: ", length, "\r\n\r\n");
}

TEST(UploadSigkillTest, HundredKillsMidPatchLoseNoAcknowledgedByte) {
  const std::string dir = absl::StrCat(std::getenv("TEST_TMPDIR"), "/uploads");
  int status = 0;
  RunCommand(absl::StrCat("rm -rf ", dir, " && mkdir -p ", dir), &status);
  const ServerProcessOptions options{{"--upload_dir=" + dir, "--upload_commit_bytes=16384"}};
  std::string path;
  {
    auto server = ServerProcess::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    const Response r =
        Send((*server)->port(), absl::StrCat("POST /files/ HTTP/1.1\r\nHost: t\r\nTus-Resumable: "
                                             "1.0.0\r\nUpload-Length: ",
                                             kLength, "\r\nContent-Length: 0\r\n\r\n"));
    ASSERT_EQ(r.status, 201);
    path = HeaderValue(r.head, "Location");
    EXPECT_EQ((*server)->Stop(), 0);
  }
  std::mt19937 random(20261206);
  int64_t acknowledged = 0;
  int64_t sent_end = 0;  // Bytes ever sent end here (the data is a function of offset).
  int moved = 0;
  int rounds = 0;
  for (int round = 0; round < 100; ++round, ++rounds) {
    auto server = ServerProcess::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    const uint16_t port = (*server)->port();
    const int64_t offset = HeadOffset(port, path);
    ASSERT_GE(offset, acknowledged) << "round " << round;
    ASSERT_LE(offset, std::max(sent_end, acknowledged)) << "round " << round;
    if (offset > acknowledged) ++moved;
    acknowledged = offset;  // HEAD is an acknowledgment too.
    const int64_t n = std::min<int64_t>(kLength - offset, 50000 + random() % 350000);
    if (n == 0) break;
    Fd fd = ConnectLoopback(port);
    ASSERT_TRUE(SendAll(fd.get(), PatchHead(path, offset, kLength - offset) + Bytes(offset, n)));
    sent_end = std::max(sent_end, offset + n);
    if (random() % 2 == 0) {
      // Let some of this PATCH's bytes be committed first.
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (MetricValue(ScrapeMetrics(port), "epollhttp_upload_bytes_stored_total") < n / 2 &&
             std::chrono::steady_clock::now() < deadline) {
      }
    }
    (*server)->Signal(SIGKILL);
    (*server)->Wait();
  }
  EXPECT_EQ(rounds, 100);
  // Committed bytes moved forward across the rounds.
  EXPECT_GT(moved, 10);
  auto server = ServerProcess::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  const uint16_t port = (*server)->port();
  const int64_t offset = HeadOffset(port, path);
  ASSERT_GE(offset, acknowledged);
  const Response r =
      Send(port, PatchHead(path, offset, kLength - offset) + Bytes(offset, kLength - offset));
  EXPECT_EQ(r.status, 204);
  const Response got = Send(port, absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: t\r\n\r\n"));
  EXPECT_EQ(got.status, 200);
  EXPECT_TRUE(got.body == Bytes(0, kLength)) << got.body.size();
  EXPECT_EQ((*server)->Stop(), 0);
}

}  // namespace
}  // namespace epollhttp::test
