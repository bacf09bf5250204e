// ingest.cc: what it costs to take an upload's bytes from a socket to a
// durable file, three ways, without HTTP: the receiving thread's CPU per MB
// (user + system, getrusage RUSAGE_THREAD). A sender thread writes the
// tutorial workload (FILES bodies of 3,748,935 bytes) over loopback TCP; the
// receiver stores each body in its own file in DIR, then fdatasyncs it:
//   splice: socket -> pipe -> file with splice(2) (no copy into user space;
//           the file is written through the page cache, which splice needs);
//   read:   read(2) into a buffer, pwrite(2) through the page cache;
//   direct: read(2) into an aligned buffer, pwrite(2) with O_DIRECT in
//           whole blocks (the part block padded, then the file cut back),
//           as the upload store does.
// Each file is checked by its size. Not a test: it prints numbers.
//
//   bazel run -c opt //testing/bench:ingest -- DIR [FILES] [ROUNDS]
//       (default 400 files, 3 rounds; the modes interleave within a round)
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr int64_t kBody = 3748935;
constexpr int64_t kBlock = 4096;
constexpr size_t kChunk = 1 << 20;

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "ingest: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

double ThreadCpuMicros() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  return (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e6 + usage.ru_utime.tv_usec +
         usage.ru_stime.tv_usec;
}

// Connected() is a connected loopback TCP pair: {receiver, sender}.
std::pair<int, int> Connected() {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(listener, 1) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    Die("listen");
  }
  const int sender = ::socket(AF_INET, SOCK_STREAM, 0);
  if (sender < 0 || ::connect(sender, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    Die("connect");
  }
  const int receiver = ::accept(listener, nullptr, nullptr);
  if (receiver < 0) Die("accept");
  ::close(listener);
  return {receiver, sender};
}

enum class Mode { kSplice, kRead, kDirect };
const char* Name(Mode mode) {
  return mode == Mode::kSplice ? "splice" : mode == Mode::kRead ? "read" : "direct";
}

// Store() receives `files` bodies from `socket` into DIR/NAME-i; returns
// the receiving thread's CPU in microseconds.
double Store(Mode mode, int socket, const std::string& dir, int files) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) Die("pipe");
  (void)::fcntl(pipe_fds[1], F_SETPIPE_SZ, static_cast<int>(kChunk));
  void* memory = nullptr;
  if (::posix_memalign(&memory, kBlock, kChunk + kBlock) != 0) Die("posix_memalign");
  char* buffer = static_cast<char*>(memory);
  const double start = ThreadCpuMicros();
  for (int i = 0; i < files; ++i) {
    const std::string path = dir + "/" + Name(mode) + "-" + std::to_string(i);
    const int fd = ::open(
        path.c_str(),
        O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC | (mode == Mode::kDirect ? O_DIRECT : 0), 0600);
    if (fd < 0) Die("open");
    int64_t got = 0;
    size_t held = 0;  // Direct: bytes in `buffer` not yet written.
    while (got < kBody) {
      const size_t want = static_cast<size_t>(std::min<int64_t>(kBody - got, kChunk));
      ssize_t n;
      if (mode == Mode::kSplice) {
        n = ::splice(socket, nullptr, pipe_fds[1], nullptr, want, SPLICE_F_MOVE);
        for (ssize_t left = n; left > 0;) {
          const ssize_t w =
              ::splice(pipe_fds[0], nullptr, fd, nullptr, static_cast<size_t>(left), SPLICE_F_MOVE);
          if (w <= 0) Die("splice to file");
          left -= w;
        }
      } else if (mode == Mode::kRead) {
        n = ::read(socket, buffer, want);
        if (n > 0 && ::write(fd, buffer, static_cast<size_t>(n)) != n) Die("write");
      } else {
        n = ::read(socket, buffer + held, std::min(want, kChunk - held));
        if (n > 0) {
          held += static_cast<size_t>(n);
          const size_t whole = held - held % kBlock;
          if (whole > 0) {
            const int64_t at = got + n - static_cast<int64_t>(held);
            if (::pwrite(fd, buffer, whole, at) != static_cast<ssize_t>(whole)) Die("pwrite");
            std::memmove(buffer, buffer + whole, held - whole);
            held -= whole;
          }
        }
      }
      if (n <= 0) Die("receive");
      got += n;
    }
    if (held > 0) {  // The part block, padded; then the file cut back.
      std::memset(buffer + held, 0, kBlock - held);
      if (::pwrite(fd, buffer, kBlock, kBody - static_cast<int64_t>(held)) != kBlock) {
        Die("pwrite");
      }
      if (::ftruncate(fd, kBody) != 0) Die("ftruncate");
    }
    if (::fdatasync(fd) != 0) Die("fdatasync");
    struct stat st {};
    if (::fstat(fd, &st) != 0 || st.st_size != kBody) Die("the file's size");
    ::close(fd);
  }
  const double cpu = ThreadCpuMicros() - start;
  std::free(memory);
  ::close(pipe_fds[0]);
  ::close(pipe_fds[1]);
  return cpu;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 4) {
    std::fprintf(stderr, "usage: ingest DIR [FILES] [ROUNDS]\n");
    return 2;
  }
  const std::string dir = argv[1];
  const int files = argc > 2 ? std::atoi(argv[2]) : 400;
  const int rounds = argc > 3 ? std::atoi(argv[3]) : 3;
  if (files <= 0 || rounds <= 0) {
    std::fprintf(stderr, "ingest: FILES and ROUNDS must be positive\n");
    return 2;
  }
  std::string body(static_cast<size_t>(kBody), '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>(i * 131 % 251);
  const Mode modes[] = {Mode::kSplice, Mode::kRead, Mode::kDirect};
  std::vector<double> results[3];
  for (int round = 0; round < rounds; ++round) {
    for (int m = 0; m < 3; ++m) {
      const Mode mode = modes[(m + round) % 3];
      const auto [receiver, sender] = Connected();
      std::thread send([sender = sender, files, &body] {
        for (int i = 0; i < files; ++i) {
          for (size_t at = 0; at < body.size();) {
            const ssize_t n = ::write(sender, body.data() + at, body.size() - at);
            if (n <= 0) Die("send");
            at += static_cast<size_t>(n);
          }
        }
      });
      ::sync();  // No dirty pages left for this mode to write back.
      const double cpu = Store(mode, receiver, dir, files);
      send.join();
      ::close(receiver);
      ::close(sender);
      results[static_cast<int>(mode)].push_back(cpu / (files * kBody / 1e6));
    }
  }
  std::printf("receiver CPU per MB stored durably, %d x %lld bytes, medians of %d rounds\n", files,
              static_cast<long long>(kBody), rounds);
  for (int m = 0; m < 3; ++m) {
    const auto [low, high] = std::minmax_element(results[m].begin(), results[m].end());
    std::printf("%-8s %6.0f us/MB (%.0f-%.0f)\n", Name(modes[m]), Median(results[m]), *low, *high);
  }
  return 0;
}
