// End-to-end tests of the real `//server` binary: startup and exit codes,
// real clients (curl), graceful shutdown with uploads in flight, fd
// exhaustion, and connection churn.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "testing/process_stats.h"
#include "testing/server_process.h"
#include "testing/socket_util.h"

namespace epollhttp::test {
namespace {

using std::chrono::milliseconds;

const char kGet[] = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";

std::unique_ptr<ServerProcess> StartServer(ServerProcessOptions options = {}) {
  auto server = ServerProcess::Start(options);
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? std::move(*server) : nullptr;
}

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(dir == nullptr ? "/tmp" : dir, "/", name);
}

TEST(ServerE2eTest, PrintsOneStartupLineAndExitsZeroOnSigterm) {
  auto server = StartServer({{"--threads=2"}});
  ASSERT_NE(server, nullptr);
  Fd fd = ConnectLoopback(server->port());
  ASSERT_TRUE(SendAll(fd.get(), kGet));
  std::string leftover;
  EXPECT_EQ(ReadResponse(fd.get(), &leftover).status, 200);
  EXPECT_EQ(server->Stop(), 0);
  const std::string err = server->stderr_text();
  EXPECT_EQ(err, absl::StrCat("epollhttp listening on http://127.0.0.1:", server->port(),
                              " (2 threads)\n",
                              "epollhttp: SIGTERM, shutting down (at most 10 s; a second "
                              "signal exits now)\n"));
}

TEST(ServerE2eTest, BusyPortIsOneLineAndExitCode1) {
  auto first = StartServer();
  ASSERT_NE(first, nullptr);
  auto second = ServerProcess::Start({{absl::StrCat("--port=", first->port())}});
  ASSERT_FALSE(second.ok());
  const std::string message(second.status().message());
  EXPECT_NE(message.find("server: cannot listen on 127.0.0.1:"), std::string::npos) << message;
  EXPECT_EQ(first->Stop(), 0);
}

TEST(ServerE2eTest, BadFlagValuesExit2WithOneLine) {
  for (const char* flag : {"--threads=-1", "--header_timeout=0s", "--max_connections=0",
                           "--max_header_bytes=10", "--threads=many", "--no_such_flag"}) {
    auto server = ServerProcess::Start({{flag}});
    ASSERT_FALSE(server.ok()) << flag;
  }
  int status = 0;
  const std::string out = RunCommand(RunfilePath("server/server") + " --threads=-1 2>&1", &status);
  EXPECT_EQ(status, 2);
  EXPECT_EQ(out, "server: --threads must be 0..1024, got -1\n");
  const std::string unknown = RunCommand(RunfilePath("server/server") + " --bogus 2>&1", &status);
  EXPECT_EQ(status, 2);
  EXPECT_EQ(unknown, "server: unknown flag --bogus (see --help)\n");
}

TEST(ServerE2eTest, CurlLargeUploadGets100ContinueAndExactCount) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  const std::string file = TempPath("upload.bin");
  {
    std::ofstream out(file, std::ios::binary);
    const std::string block(1 << 20, 'u');
    for (int i = 0; i < 5; ++i) out << block;
    out << "tail";
  }
  // curl sends Expect: 100-continue for a body this large; with
  // --expect100-timeout 10 a server that never answered 100 would cost 10 s.
  const auto start = std::chrono::steady_clock::now();
  int status = 0;
  const std::string out =
      RunCommand(absl::StrCat("curl -sS -v --expect100-timeout 10 --data-binary @", file,
                              " http://127.0.0.1:", server->port(), "/upload 2>&1"),
                 &status);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("< HTTP/1.1 100 Continue"), std::string::npos) << out;
  EXPECT_NE(out.find("< X-Received-Body-Bytes: 5242884"), std::string::npos) << out;
  EXPECT_NE(out.find("Hello! I am an epoll server."), std::string::npos);
  EXPECT_LT(elapsed, std::chrono::seconds(5));
  EXPECT_EQ(server->Stop(), 0);
}

TEST(ServerE2eTest, CurlChunkedUploadFromAPipe) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  int status = 0;
  const std::string out = RunCommand(absl::StrCat("head -c 1234567 /dev/zero | curl -sS -i -T - "
                                                  "http://127.0.0.1:",
                                                  server->port(), "/pipe"),
                                     &status);
  EXPECT_EQ(status, 0);
  EXPECT_NE(out.find("X-Received-Body-Bytes: 1234567\r\n"), std::string::npos) << out;
  EXPECT_EQ(server->Stop(), 0);
}

TEST(ServerE2eTest, CurlHttp10ClosesAndHeadHasNoBody) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  int status = 0;
  std::string out = RunCommand(
      absl::StrCat("curl -sS -i --http1.0 http://127.0.0.1:", server->port(), "/"), &status);
  EXPECT_EQ(status, 0);
  EXPECT_NE(out.find("Connection: close\r\n"), std::string::npos) << out;
  out = RunCommand(absl::StrCat("curl -sS -I http://127.0.0.1:", server->port(), "/"), &status);
  EXPECT_EQ(status, 0);
  EXPECT_NE(out.find("Content-Length: 28\r\n"), std::string::npos) << out;
  EXPECT_EQ(out.substr(out.size() - 4), "\r\n\r\n") << out;  // Headers only.
  EXPECT_EQ(server->Stop(), 0);
}

TEST(ServerE2eTest, GracefulShutdownFinishesEveryStartedUpload) {
  auto server = StartServer({{"--threads=2"}});
  ASSERT_NE(server, nullptr);
  constexpr int kUploads = 8;
  constexpr size_t kBody = 1 << 20;
  const std::string half(kBody / 2, 'h');
  std::vector<Fd> uploads;
  for (int i = 0; i < kUploads; ++i) {
    uploads.push_back(ConnectLoopback(server->port()));
    ASSERT_TRUE(SendAll(
        uploads.back().get(),
        absl::StrCat("PUT / HTTP/1.1\r\nHost: t\r\nContent-Length: ", kBody, "\r\n\r\n", half)));
  }
  // The uploads may still sit in the accept queue or unread in their sockets:
  // the server must count them as started all the same.
  server->Signal(SIGTERM);
  for (Fd& fd : uploads) ASSERT_TRUE(SendAll(fd.get(), half));
  for (Fd& fd : uploads) {
    std::string leftover;
    const Response r = ReadResponse(fd.get(), &leftover);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(HeaderValue(r.head, "X-Received-Body-Bytes"), std::to_string(kBody));
    // The signal is asynchronous: a response finished before the server saw
    // it is an ordinary keep-alive one, one after carries Connection: close.
    // Either way the server then closes the connection cleanly.
    bool reset = true;
    EXPECT_EQ(ReadToEof(fd.get(), &reset), leftover);
    EXPECT_FALSE(reset);
  }
  EXPECT_EQ(server->Wait(), 0) << server->stderr_text();
}

TEST(ServerE2eTest, FdExhaustionKeepsServingAndRecovers) {
  auto server = StartServer({{"--threads=1"}, /*max_open_files=*/48});
  ASSERT_NE(server, nullptr);
  {
    // One whole connection first, while descriptors are plentiful: the
    // sanitizer builds check an object's dynamic type the first time a
    // call site runs, and that check needs a spare descriptor (a pipe), so
    // the first connection freed under exhaustion would otherwise be
    // reported as a bad object.
    Fd first = ConnectLoopback(server->port());
    ASSERT_TRUE(SendAll(first.get(), "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
    bool reset = true;
    EXPECT_NE(ReadToEof(first.get(), &reset).find("HTTP/1.1 200 OK"), std::string::npos);
  }
  constexpr int kClients = 80;
  std::vector<Fd> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(ConnectLoopback(server->port()));
    ASSERT_TRUE(clients.back());
    ASSERT_TRUE(SendAll(clients.back().get(), kGet));
  }
  // Those the server could accept are answered; the rest wait in the queue.
  std::vector<bool> served(kClients, false);
  int served_count = 0;
  while (true) {
    std::vector<pollfd> fds;
    for (int i = 0; i < kClients; ++i) {
      if (!served[i]) fds.push_back({clients[i].get(), POLLIN, 0});
    }
    // No answer for 500 ms means the server holds all it can.
    if (::poll(fds.data(), fds.size(), 500) <= 0) break;
    for (int i = 0; i < kClients; ++i) {
      if (served[i]) continue;
      pollfd p{clients[i].get(), POLLIN, 0};
      if (::poll(&p, 1, 0) == 1) {
        std::string leftover;
        ASSERT_EQ(ReadResponse(clients[i].get(), &leftover).status, 200);
        served[i] = true;
        ++served_count;
      }
    }
  }
  EXPECT_GT(served_count, 20);
  EXPECT_LT(served_count, kClients);
  // Exhausted, it must not spin: at most 10% of a CPU over one second.
  const double cpu_before = CpuSeconds(server->pid());
  std::this_thread::sleep_for(std::chrono::seconds(1));  // The measurement window.
  const double cpu_after = CpuSeconds(server->pid());
  EXPECT_LT(cpu_after - cpu_before, 0.1);
  // The connections it holds still work.
  for (int i = 0; i < kClients; ++i) {
    if (!served[i]) continue;
    ASSERT_TRUE(SendAll(clients[i].get(), kGet));
    std::string leftover;
    EXPECT_EQ(ReadResponse(clients[i].get(), &leftover).status, 200);
  }
  // Freeing descriptors lets it accept and answer everyone else.
  for (int i = 0; i < kClients; ++i) {
    if (served[i]) clients[i].reset();
  }
  for (int i = 0; i < kClients; ++i) {
    if (served[i]) continue;
    std::string leftover;
    EXPECT_EQ(ReadResponse(clients[i].get(), &leftover).status, 200) << "client " << i;
  }
  EXPECT_EQ(server->Stop(), 0) << server->stderr_text();
}

// Churn() opens `count` connections that each do something and disconnect
// abruptly (FIN or RST) at a random point: mid-head, mid-body, or
// mid-response (many pipelined requests, none of the answers read).
void Churn(uint16_t port, int count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string pipelined;
  for (int i = 0; i < 2000; ++i) pipelined += kGet;
  for (int i = 0; i < count; ++i) {
    Fd fd = ConnectLoopback(port);
    ASSERT_TRUE(fd);
    switch (rng() % 4) {
      case 0: SendAll(fd.get(), "GET / HTTP/1.1\r\nHos"); break;
      case 1:
        SendAll(fd.get(), "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\nabc");
        break;
      case 2: SendAll(fd.get(), pipelined); break;
      default: {
        SendAll(fd.get(), kGet);
        std::string leftover;
        ReadResponse(fd.get(), &leftover);
        break;
      }
    }
    if (rng() % 2 == 0) {
      linger reset_on_close{1, 0};
      ::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &reset_on_close, sizeof(reset_on_close));
    }
  }
}

TEST(ServerE2eTest, ChurnLeavesNoDescriptorsOrMemoryBehind) {
  auto server = StartServer({{"--threads=2"}});
  ASSERT_NE(server, nullptr);
  const uint16_t port = server->port();
  const pid_t pid = server->pid();
  // Before any connection: stdio, and per loop an epoll, an eventfd and a
  // listener.
  const int baseline_fds = OpenFdCountOf(pid);
  auto churn = [port](int per_thread) {
    std::vector<std::thread> threads;
    for (uint32_t t = 0; t < 4; ++t) threads.emplace_back(Churn, port, per_thread, t);
    for (std::thread& thread : threads) thread.join();
  };
  churn(250);  // Warm-up: allocator caches and tables reach their working size.
  ASSERT_EQ(WaitForFdCount(pid, baseline_fds), baseline_fds);
  const int64_t rss_before = ResidentBytes(pid);
  churn(2500);  // 10,000 connections.
  // Connections reset while still in the accept queue are accepted (and
  // closed) a little later, so wait until a scrape finds only itself open.
  std::string metrics;
  int scrapes = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  do {
    metrics = ScrapeMetrics(port);
    ++scrapes;
  } while (MetricValue(metrics, "epollhttp_connections_active") != 1 &&
           std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(WaitForFdCount(pid, baseline_fds), baseline_fds);
  const int64_t rss_after = ResidentBytes(pid);
  // (Not under a sanitizer allocator: it keeps freed memory resident; ASan's
  // leak checker covers that build instead.)
  if (!kSanitizerAllocator) {
    EXPECT_LT(rss_after - rss_before, 4 << 20) << rss_before << " -> " << rss_after;
  }
  const int64_t accepted = MetricValue(metrics, "epollhttp_connections_accepted_total");
  const int64_t closed = MetricValue(metrics, "epollhttp_connections_closed_total");
  // Every churn connection and the scrapes so far, less any the kernel
  // dropped from the accept queue when its client reset it before the server
  // got to it.
  EXPECT_LE(accepted, 11000 + scrapes);
  EXPECT_GE(accepted, 10000);
  EXPECT_EQ(closed + MetricValue(metrics, "epollhttp_connections_active"), accepted);
  EXPECT_EQ(MetricValue(metrics, "epollhttp_connections_active"), 1);  // The scrape.
  EXPECT_EQ(server->Stop(), 0);
}

}  // namespace
}  // namespace epollhttp::test
