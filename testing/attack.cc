#include "testing/attack.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/str_cat.h"
#include "testing/socket_util.h"

namespace epollhttp::test {
namespace {

using Clock = std::chrono::steady_clock;

constexpr char kGet[] = "GET / HTTP/1.1\r\nHost: probe\r\n\r\n";

void SetNonBlocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t index = static_cast<size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(index, sorted.size() - 1)];
}

}  // namespace

std::string PipelinedGets(absl::string_view path, size_t bytes) {
  const std::string one = absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: a\r\n\r\n");
  std::string all = one;
  while (all.size() + one.size() <= bytes) all += one;
  return all;
}

Flood::Flood(uint16_t port, std::string payload, int per_second, int threads, int64_t limit)
    : port_(port), payload_(std::move(payload)), limit_(limit) {
  running_ = threads;
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this, i, threads, per_second] { Run(i, threads, per_second); });
  }
}

void Flood::Stop() {
  stop_.store(true);
  Wait();
}

void Flood::Wait() {
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

int64_t Flood::WaitForConnections(int64_t n) {
  std::unique_lock<std::mutex> lock(mutex_);
  opened_.wait(lock, [&] { return connections_.load() >= n || running_ == 0; });
  return connections_.load();
}

void Flood::Run(int index, int threads, int per_second) {
  // Each thread opens every `threads`-th connection of a fixed schedule
  // (pacing the attack, not synchronising with the server).
  const auto period = std::chrono::nanoseconds(1'000'000'000LL * threads / std::max(1, per_second));
  auto next = Clock::now() + period * index / threads;
  while (!stop_.load() && (limit_ == 0 || attempts_.fetch_add(1) < limit_)) {
    std::this_thread::sleep_until(next);
    next += period;
    Fd fd = ConnectLoopback(port_);
    if (!fd) continue;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      connections_.fetch_add(1);
      opened_.notify_all();
    }
    // The whole payload, unless the server stops taking it for a second.
    timeval timeout{1, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    (void)SendAll(fd.get(), payload_);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  --running_;
  opened_.notify_all();
}

Probe::Probe(uint16_t port, int clients, bool new_connection_each)
    : port_(port), new_connection_each_(new_connection_each) {
  for (int i = 0; i < clients; ++i) threads_.emplace_back([this] { Run(); });
}

ProbeResult Probe::Stop() {
  if (threads_.empty()) return result_;
  stop_.store(true);
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  std::lock_guard<std::mutex> lock(mutex_);
  std::sort(latencies_ms_.begin(), latencies_ms_.end());
  result_.requests = static_cast<int64_t>(latencies_ms_.size());
  result_.failures = failures_;
  result_.p50_ms = Percentile(latencies_ms_, 0.50);
  result_.p99_ms = Percentile(latencies_ms_, 0.99);
  result_.max_ms = latencies_ms_.empty() ? 0 : latencies_ms_.back();
  return result_;
}

void Probe::Run() {
  Fd fd;
  std::vector<double> latencies;
  int64_t failures = 0;
  while (!stop_.load()) {
    const Clock::time_point start = Clock::now();
    if (!fd) fd = ConnectLoopback(port_);  // 10 s receive timeout.
    std::string leftover;
    const bool ok =
        fd && SendAll(fd.get(), kGet) && ReadResponse(fd.get(), &leftover).status == 200;
    if (ok) {
      latencies.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    } else {
      ++failures;
      fd.reset();
    }
    if (new_connection_each_) fd.reset();
  }
  std::lock_guard<std::mutex> lock(mutex_);
  latencies_ms_.insert(latencies_ms_.end(), latencies.begin(), latencies.end());
  failures_ += failures;
}

std::vector<Fd> OpenNonReaders(uint16_t port, int n, absl::string_view path,
                               std::chrono::milliseconds stall) {
  const std::string batch = PipelinedGets(path, 16 * 1024);
  std::vector<Fd> fds;
  std::vector<size_t> offsets;
  for (int i = 0; i < n; ++i) {
    // Small buffers: the server's responses back up after a few KB, and the
    // client holds little of its own requests.
    Fd fd = ConnectLoopback(port, 4096, 32 * 1024);
    if (!fd) continue;
    SetNonBlocking(fd.get());
    fds.push_back(std::move(fd));
    offsets.push_back(0);
  }
  // Fill every socket until it blocks, then wait for any to take more; done
  // when none has for `stall`.
  while (true) {
    for (size_t i = 0; i < fds.size(); ++i) {
      while (true) {
        const ssize_t sent = ::send(fds[i].get(), batch.data() + offsets[i],
                                    batch.size() - offsets[i], MSG_NOSIGNAL);
        if (sent <= 0) break;
        offsets[i] = (offsets[i] + static_cast<size_t>(sent)) % batch.size();
      }
    }
    std::vector<pollfd> polls;
    for (const Fd& fd : fds) polls.push_back({fd.get(), POLLOUT, 0});
    const int ready = ::poll(polls.data(), polls.size(), static_cast<int>(stall.count()));
    if (ready <= 0) break;
    bool writable = false;
    for (const pollfd& p : polls) writable |= (p.revents & POLLOUT) != 0;
    if (!writable) break;  // Only errors or hang-ups: the server closed some.
  }
  return fds;
}

std::vector<Fd> OpenPartialHeads(uint16_t port, int n, size_t batch, int rounds) {
  const std::string requests = PipelinedGets("/", batch);
  const size_t per_batch = requests.size() / PipelinedGets("/", 1).size();
  const std::string partial = "GET / HTTP/1.1\r\nHo";
  const std::string rest = "st: a\r\n\r\n";
  std::vector<Fd> fds;
  for (int i = 0; i < n; ++i) {
    Fd fd = ConnectLoopback(port);
    if (!fd) return {};
    std::string leftover;
    for (int round = 0; round < rounds; ++round) {
      // From the second round on, the first request completes the partial
      // head left by the round before.
      const std::string prefix = round == 0 ? "" : rest;
      if (!SendAll(fd.get(), absl::StrCat(prefix, requests, partial))) return {};
      const size_t expected = per_batch + (round == 0 ? 0 : 1);
      for (size_t r = 0; r < expected; ++r) {
        if (ReadResponse(fd.get(), &leftover).status != 200) return {};
      }
    }
    fds.push_back(std::move(fd));
  }
  return fds;
}

SlowBodyResult SlowBodies(uint16_t port, int n, std::chrono::milliseconds interval,
                          std::chrono::milliseconds duration) {
  SlowBodyResult result;
  std::vector<Fd> fds;
  const std::string head = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100000000\r\n\r\n";
  for (int i = 0; i < n; ++i) {
    Fd fd = ConnectLoopback(port);
    if (!fd || !SendAll(fd.get(), head)) {
      ++result.closed_by_server;
      continue;
    }
    SetNonBlocking(fd.get());
    fds.push_back(std::move(fd));
  }
  const Clock::time_point start = Clock::now();
  const Clock::time_point end = start + duration;
  Clock::time_point next = start;
  while (Clock::now() < end && !fds.empty()) {
    next += interval;
    std::this_thread::sleep_until(std::min(next, end));  // The slow client's pace.
    for (size_t i = 0; i < fds.size();) {
      char c;
      const ssize_t got = ::recv(fds[i].get(), &c, 1, 0);
      const bool closed = got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK) ||
                          ::send(fds[i].get(), "x", 1, MSG_NOSIGNAL) < 0;
      if (closed || got > 0) {  // A response (e.g. 408) also ends the upload.
        ++result.closed_by_server;
        result.last_close_s = std::chrono::duration<double>(Clock::now() - start).count();
        fds.erase(fds.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        ++i;
      }
    }
  }
  result.still_open = static_cast<int>(fds.size());
  return result;
}

}  // namespace epollhttp::test
