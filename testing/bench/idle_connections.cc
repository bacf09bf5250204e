// idle_connections.cc: opens N keep-alive connections to 127.0.0.1:PORT,
// makes one GET on each (so the server has fully set each one up), then holds
// them idle until stdin reaches EOF. Used by testing/bench/run.sh to measure a
// server's memory per idle connection.
//
// Usage: idle_connections PORT N [SOURCES]
// Connection i binds to source address 127.0.0.(1 + i % SOURCES) (default 1)
// with IP_BIND_ADDRESS_NO_PORT, so the ephemeral ports of each source address
// are reused and more connections than ports fit. Raises its own descriptor
// limit to N + 64. Prints "ready N" on stdout once every connection has had
// its response; exits 1 with one line on stderr if a connection or response
// fails.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

// Complete() is whether `response` holds a whole head and the body its
// Content-Length announces.
bool Complete(const std::string& response) {
  const size_t head_end = response.find("\r\n\r\n");
  if (head_end == std::string::npos) return false;
  const size_t field = response.find("Content-Length: ");
  if (field == std::string::npos || field > head_end) return true;
  const size_t length = std::strtoul(response.c_str() + field + 16, nullptr, 10);
  return response.size() >= head_end + 4 + length;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::fprintf(stderr, "usage: idle_connections PORT N [SOURCES]\n");
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const int count = std::atoi(argv[2]);
  const int sources = argc == 4 ? std::atoi(argv[3]) : 1;
  if (port <= 0 || port > 65535 || count <= 0 || sources < 1 || sources > 250) {
    std::fprintf(stderr, "idle_connections: bad PORT, N or SOURCES\n");
    return 2;
  }
  rlimit limit{static_cast<rlim_t>(count + 64), static_cast<rlim_t>(count + 64)};
  if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    std::fprintf(stderr, "idle_connections: cannot raise the descriptor limit to %d: %s\n",
                 count + 64, std::strerror(errno));
    return 1;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const std::string request = "GET / HTTP/1.1\r\nHost: bench\r\n\r\n";
  std::vector<int> fds;
  fds.reserve(static_cast<size_t>(count));
  char buf[4096];
  for (int i = 0; i < count; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd >= 0 && sources > 1) {
      const int one = 1;
      ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
      sockaddr_in source{};
      source.sin_family = AF_INET;
      source.sin_addr.s_addr = htonl(INADDR_LOOPBACK + static_cast<uint32_t>(i % sources));
      if (::bind(fd, reinterpret_cast<sockaddr*>(&source), sizeof(source)) != 0) {
        std::fprintf(stderr, "idle_connections: bind %d: %s\n", i, std::strerror(errno));
        return 1;
      }
    }
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      std::fprintf(stderr, "idle_connections: connection %d: %s\n", i, std::strerror(errno));
      return 1;
    }
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
      std::fprintf(stderr, "idle_connections: send %d failed\n", i);
      return 1;
    }
    // One small response (head and Content-Length body); it arrives in one
    // segment on loopback.
    std::string response;
    while (!Complete(response)) {
      const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) {
        std::fprintf(stderr, "idle_connections: no response on connection %d\n", i);
        return 1;
      }
      response.append(buf, static_cast<size_t>(n));
    }
    fds.push_back(fd);
  }
  std::printf("ready %d\n", count);
  std::fflush(stdout);
  while (::read(0, buf, sizeof(buf)) > 0) {
  }
  for (const int fd : fds) ::close(fd);
  return 0;
}
