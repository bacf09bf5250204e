// floor.cc: the system-call floor for testing/bench/run.sh. An epoll
// responder that counts request ends ("\r\n\r\n") and writes the canned
// hello response for each, with no parsing, limits, timers or bodies: what
// any server must at least spend on accept, read, write and close. The bench
// divides epollhttp's CPU per request by this one's.
//
// Usage: floor [--close] THREADS
// Listens on 127.0.0.1 (a free port, printed on stderr as "floor listening
// on http://127.0.0.1:PORT/"), one SO_REUSEPORT listener and epoll per
// thread, with TCP_DEFER_ACCEPT; a new connection is read before it is
// registered, as epollhttp does. --close closes each connection after its
// first response (and answers with Connection: close), which it writes with
// MSG_MORE so that it leaves with the FIN. Runs until killed.
// Only for GET requests without bodies; anything else is miscounted.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr char kBody[] = "Hello! I am an epoll server.";

struct Options {
  bool close = false;
  int threads = 1;
};

std::string Response(bool close) {
  std::string r = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: ";
  r += std::to_string(sizeof(kBody) - 1);
  r += close ? "\r\nConnection: close\r\n\r\n" : "\r\n\r\n";
  return r + kBody;
}

int Listen(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  const int defer = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer, sizeof(defer));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(fd, 4096) != 0) {
    std::fprintf(stderr, "floor: cannot listen: %s\n", std::strerror(errno));
    std::exit(1);
  }
  return fd;
}

// Per-connection state: the last three bytes read, so a request end split
// across reads is still counted. Indexed by fd.
struct Tail {
  char bytes[3] = {0, 0, 0};
};

class Loop {
 public:
  Loop(int listener, const Options& options)
      : listener_(listener), options_(options), response_(Response(options.close)) {}

  void Run() {
    epoll_ = ::epoll_create1(0);
    epoll_event ev{EPOLLIN, {.fd = listener_}};
    ::epoll_ctl(epoll_, EPOLL_CTL_ADD, listener_, &ev);
    epoll_event events[256];
    while (true) {
      const int n = ::epoll_wait(epoll_, events, 256, -1);
      for (int i = 0; i < n; ++i) {
        const int fd = events[i].data.fd;
        if (fd == listener_) {
          Accept();
        } else {
          OnReadable(fd);
        }
      }
    }
  }

 private:
  void Accept() {
    while (true) {
      const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK);
      if (fd < 0) return;
      if (static_cast<size_t>(fd) >= tails_.size()) tails_.resize(static_cast<size_t>(fd) * 2 + 1);
      tails_[static_cast<size_t>(fd)] = Tail{};
      if (!OnReadable(fd)) continue;  // Closed already.
      epoll_event ev{EPOLLIN | EPOLLRDHUP, {.fd = fd}};
      ::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev);
    }
  }

  // OnReadable() reads once and answers every request end it saw. Returns
  // false if it closed the connection.
  bool OnReadable(int fd) {
    const ssize_t n = ::read(fd, buffer_, sizeof(buffer_));
    if (n == 0 || (n < 0 && errno != EAGAIN)) {
      ::close(fd);
      return false;
    }
    if (n < 0) return true;
    Tail& tail = tails_[static_cast<size_t>(fd)];
    // Scan the tail followed by the new bytes for "\r\n\r\n".
    char joined[3 + sizeof(buffer_)];
    std::memcpy(joined, tail.bytes, 3);
    std::memcpy(joined + 3, buffer_, static_cast<size_t>(n));
    const size_t size = 3 + static_cast<size_t>(n);
    int ends = 0;
    for (const char* p = joined; (p = static_cast<const char*>(std::memchr(
                                      p, '\r', size - static_cast<size_t>(p - joined)))) != nullptr;
         ++p) {
      if (static_cast<size_t>(p - joined) + 4 <= size && std::memcmp(p, "\r\n\r\n", 4) == 0) ++ends;
    }
    std::memcpy(tail.bytes, joined + size - 3, 3);
    if (ends == 0) return true;
    out_.clear();
    for (int i = 0; i < ends; ++i) out_ += response_;
    // Closing: MSG_MORE lets the reply leave with the FIN, as epollhttp's
    // last answer does.
    (void)::send(fd, out_.data(), out_.size(), MSG_NOSIGNAL | (options_.close ? MSG_MORE : 0));
    if (options_.close) {
      ::close(fd);
      return false;
    }
    return true;
  }

  const int listener_;
  const Options options_;
  const std::string response_;
  int epoll_ = -1;
  std::vector<Tail> tails_;
  std::string out_;
  char buffer_[64 * 1024];
};

}  // namespace

int main(int argc, char** argv) {
  Options options;
  int arg = 1;
  if (arg < argc && std::strcmp(argv[arg], "--close") == 0) {
    options.close = true;
    ++arg;
  }
  if (arg + 1 != argc || (options.threads = std::atoi(argv[arg])) < 1) {
    std::fprintf(stderr, "usage: floor [--close] THREADS\n");
    return 2;
  }
  std::vector<int> listeners{Listen(0)};
  sockaddr_in addr{};
  socklen_t len = sizeof(addr);
  ::getsockname(listeners[0], reinterpret_cast<sockaddr*>(&addr), &len);
  const uint16_t port = ntohs(addr.sin_port);
  for (int i = 1; i < options.threads; ++i) listeners.push_back(Listen(port));
  std::fprintf(stderr, "floor listening on http://127.0.0.1:%u/\n", port);
  std::vector<std::thread> threads;
  for (int listener : listeners) {
    threads.emplace_back([listener, &options] {
      auto* loop = new Loop(listener, options);  // Runs until the process is killed.
      loop->Run();
    });
  }
  for (std::thread& t : threads) t.join();
  return 0;
}
