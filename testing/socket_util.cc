#include "testing/socket_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"

namespace epollhttp::test {

Fd ConnectLoopback(uint16_t port, int receive_buffer, int send_buffer) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return fd;
  if (receive_buffer > 0) {
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof(receive_buffer));
  }
  if (send_buffer > 0) {
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &send_buffer, sizeof(send_buffer));
  }
  timeval timeout{10, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return Fd();
  return fd;
}

bool SendAll(int fd, absl::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

Response ReadResponse(int fd, std::string* leftover, size_t read_size) {
  std::string data = std::move(*leftover);
  leftover->clear();
  char storage[4096];
  const absl::Span<char> buf(storage, std::min(read_size, sizeof(storage)));
  size_t head_end;
  while ((head_end = data.find("\r\n\r\n")) == std::string::npos) {
    const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n <= 0) return {};
    data.append(buf.data(), static_cast<size_t>(n));
  }
  Response response;
  response.head = data.substr(0, head_end + 4);
  if (!absl::StartsWith(response.head, "HTTP/1.1 ") ||
      !absl::SimpleAtoi(response.head.substr(9, 3), &response.status)) {
    return {};
  }
  size_t length = 0;
  const std::string cl = HeaderValue(response.head, "Content-Length");
  if (!cl.empty() && !absl::SimpleAtoi(cl, &length)) return {};
  if (response.status == 100) length = 0;
  while (data.size() < head_end + 4 + length) {
    const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n <= 0) return {};
    data.append(buf.data(), static_cast<size_t>(n));
  }
  response.body = data.substr(head_end + 4, length);
  *leftover = data.substr(head_end + 4 + length);
  return response;
}

std::string HeaderValue(const std::string& head, absl::string_view name) {
  const std::string key = absl::StrCat("\r\n", name, ": ");
  const size_t at = head.find(key);
  if (at == std::string::npos) return "";
  const size_t begin = at + key.size();
  return head.substr(begin, head.find("\r\n", begin) - begin);
}

std::string ReadToEof(int fd, bool* reset) {
  std::string data;
  char buf[4096];
  *reset = false;
  while (true) {
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n == 0) return data;
    if (n < 0) {
      if (errno == EINTR) continue;
      *reset = true;
      return data;
    }
    data.append(buf, static_cast<size_t>(n));
  }
}

std::string ScrapeMetrics(uint16_t port) {
  Fd fd = ConnectLoopback(port);
  if (!fd || !SendAll(fd.get(), "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n")) return "";
  std::string leftover;
  return ReadResponse(fd.get(), &leftover).body;
}

int64_t MetricValue(const std::string& body, absl::string_view name) {
  const std::string text = absl::StrCat("\n", body);
  const std::string key = absl::StrCat("\n", name, " ");
  const size_t at = text.find(key);
  if (at == std::string::npos) return -1;
  const size_t begin = at + key.size();
  int64_t value = -1;
  if (!absl::SimpleAtoi(text.substr(begin, text.find('\n', begin) - begin), &value)) return -1;
  return value;
}

int64_t ScrapeUntil(uint16_t port, absl::string_view name, int64_t value) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  int64_t seen = MetricValue(ScrapeMetrics(port), name);
  while (seen != value && std::chrono::steady_clock::now() < deadline) {
    seen = MetricValue(ScrapeMetrics(port), name);
  }
  return seen;
}

}  // namespace epollhttp::test
