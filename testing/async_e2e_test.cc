// The asynchronous handler seam end to end, on the real //server binary with
// --test_routes: POST /test/digest hashes each body piece on the worker pool
// while its stream holds the read, and answers after a last worker task.
// Checks the digest, order behind it, many at once, an abort when the client
// goes away mid-body, and the abort at the shutdown deadline.
#include <signal.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "testing/server_process.h"
#include "testing/socket_util.h"

namespace epollhttp::test {
namespace {

std::unique_ptr<ServerProcess> StartServer(std::vector<std::string> flags) {
  ServerProcessOptions options;
  options.flags = std::move(flags);
  auto server = ServerProcess::Start(options);
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? std::move(*server) : nullptr;
}

// Digest() is the answer POST /test/digest gives for `body`.
std::string Digest(const std::string& body) {
  uint64_t hash = 0xcbf29ce484222325u;
  for (const char c : body) {
    hash ^= static_cast<uint8_t>(c);
    hash *= 0x100000001b3u;
  }
  return absl::StrCat("bytes=", body.size(), " fnv1a=", absl::Hex(hash, absl::kZeroPad16), "\n");
}

std::string RandomBody(size_t size, uint32_t seed) {
  std::mt19937 random(seed);
  std::string body(size, '\0');
  for (char& c : body) c = static_cast<char>(random());
  return body;
}

std::string Upload(const std::string& body) {
  return absl::StrCat("POST /test/digest HTTP/1.1\r\nHost: a\r\nContent-Length: ", body.size(),
                      "\r\n\r\n", body);
}

TEST(AsyncE2eTest, AnUploadIsDigestedOnTheWorkerPoolAndTheRequestBehindWaitsItsTurn) {
  auto server = StartServer({"--test_routes", "--worker_threads=2", "--threads=2"});
  ASSERT_NE(server, nullptr);
  const std::string body = RandomBody(3 << 20, 1);  // Many 64 KiB pieces, each a worker task.
  Fd fd = ConnectLoopback(server->port());
  // The upload and a request pipelined behind it, in one go.
  std::thread sender([&] {
    EXPECT_TRUE(SendAll(fd.get(), Upload(body) + "GET /after HTTP/1.1\r\nHost: a\r\n\r\n"));
  });
  std::string leftover;
  const Response digest = ReadResponse(fd.get(), &leftover);
  const Response after = ReadResponse(fd.get(), &leftover);
  sender.join();
  EXPECT_EQ(digest.status, 200);
  EXPECT_EQ(digest.body, Digest(body));
  EXPECT_EQ(after.status, 200);
  EXPECT_EQ(after.body, "Hello! I am an epoll server.");
  EXPECT_EQ(server->Stop(), 0);
}

TEST(AsyncE2eTest, ManyUploadsAtOnceEachGetTheirOwnDigest) {
  auto server = StartServer({"--test_routes", "--worker_threads=3", "--threads=2"});
  ASSERT_NE(server, nullptr);
  constexpr int kClients = 16;
  std::vector<std::thread> clients;
  std::vector<std::string> answers(kClients), expected(kClients);
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      const std::string body = RandomBody(200'000 + i * 1000, 100 + i);
      expected[i] = Digest(body);
      Fd fd = ConnectLoopback(server->port());
      if (!SendAll(fd.get(), Upload(body))) return;
      std::string leftover;
      answers[i] = ReadResponse(fd.get(), &leftover).body;
    });
  }
  for (std::thread& t : clients) t.join();
  for (int i = 0; i < kClients; ++i) EXPECT_EQ(answers[i], expected[i]) << "client " << i;
  EXPECT_EQ(server->Stop(), 0);
}

TEST(AsyncE2eTest, AClientGoneMidBodyAbortsItsStreamAndTheServerGoesOn) {
  auto server = StartServer({"--test_routes"});
  ASSERT_NE(server, nullptr);
  {
    Fd fd = ConnectLoopback(server->port());
    ASSERT_TRUE(SendAll(fd.get(),
                        "POST /test/digest HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n"
                        "only a few bytes"));
    ASSERT_EQ(ScrapeUntil(server->port(), "epollhttp_request_body_bytes_total", 16), 16);
  }  // Closed mid-body.
  EXPECT_EQ(
      ScrapeUntil(server->port(), "epollhttp_request_aborts_total{reason=\"end of stream\"}", 1),
      1);
  Fd fd = ConnectLoopback(server->port());
  ASSERT_TRUE(SendAll(fd.get(), Upload("abc")));
  std::string leftover;
  EXPECT_EQ(ReadResponse(fd.get(), &leftover).body, Digest("abc"));
  EXPECT_EQ(server->Stop(), 0);
}

TEST(AsyncE2eTest, TheShutdownDeadlineAbortsAnUploadInFlight) {
  auto server = StartServer({"--test_routes", "--shutdown_timeout=1", "--access_log"});
  ASSERT_NE(server, nullptr);
  Fd fd = ConnectLoopback(server->port());
  ASSERT_TRUE(
      SendAll(fd.get(), "POST /test/digest HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\nab"));
  ASSERT_EQ(ScrapeUntil(server->port(), "epollhttp_request_body_bytes_total", 2), 2);
  server->Signal(SIGTERM);
  EXPECT_EQ(server->Wait(), 1);
  // The stream heard the abort: the access log records it as nginx would.
  EXPECT_NE(server->stderr_text().find("\"POST /test/digest HTTP/1.1\" 503 2 "), std::string::npos)
      << server->stderr_text();
}

TEST(AsyncE2eTest, WithoutTestRoutesTheDigestPathIsTheHelloReply) {
  auto server = StartServer({});
  ASSERT_NE(server, nullptr);
  Fd fd = ConnectLoopback(server->port());
  ASSERT_TRUE(SendAll(fd.get(), Upload("abc")));
  std::string leftover;
  EXPECT_EQ(ReadResponse(fd.get(), &leftover).body, "Hello! I am an epoll server.");
  EXPECT_EQ(server->Stop(), 0);
}

TEST(AsyncE2eTest, ABadWorkerPoolSizeIsAUsageError) {
  int code = 0;
  RunCommand(RunfilePath("server/server") + " --worker_threads=0 2>&1", &code);
  EXPECT_EQ(code, 2);
}

}  // namespace
}  // namespace epollhttp::test
