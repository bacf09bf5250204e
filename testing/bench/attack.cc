// attack.cc: the attacks of testing/attack.h as a command, for
// testing/bench/attacks.sh (which measures the server's memory and exit time
// around them). Not a test: it prints numbers.
//
// Usage:
//   attack flood PORT PATH PER_SECOND SECONDS
//       Floods PORT with new connections, each sending 64 KB of pipelined
//       `GET PATH` and closing, while 4 keep-alive clients and 1 client with a
//       new connection per request make GET /. Prints one line per client
//       kind: `keepalive requests=N failures=N p50_ms=X p99_ms=X max_ms=X`
//       (and `fresh ...`), then `flood connections=N`.
//   attack nonreaders PORT N PATH
//   attack partial PORT N
//       Opens N non-reading pipeliners (or N connections holding a partial
//       head), prints `ready N`, holds them until stdin reaches EOF.
//   attack slowbody PORT N INTERVAL_MS SECONDS
//       N uploads sending one byte per INTERVAL_MS; prints
//       `slowbody closed=N open=N last_close_s=X` after SECONDS.
// Exits 2 with one line on a usage error, 1 if the attack could not start.
#include "testing/attack.h"

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"

namespace {

using epollhttp::test::Flood;
using epollhttp::test::Probe;
using epollhttp::test::ProbeResult;

int Usage() {
  std::fprintf(stderr,
               "usage: attack flood PORT PATH PER_SECOND SECONDS | nonreaders PORT N PATH | "
               "partial PORT N | slowbody PORT N INTERVAL_MS SECONDS\n");
  return 2;
}

void PrintProbe(const char* name, const ProbeResult& r) {
  std::printf("%s requests=%lld failures=%lld p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n", name,
              static_cast<long long>(r.requests), static_cast<long long>(r.failures), r.p50_ms,
              r.p99_ms, r.max_ms);
}

// Hold() prints "ready N" and waits for stdin to close.
int Hold(size_t held, int wanted) {
  if (held < static_cast<size_t>(wanted)) {
    std::fprintf(stderr, "attack: only %zu of %d connections could be set up\n", held, wanted);
    return 1;
  }
  std::printf("ready %zu\n", held);
  std::fflush(stdout);
  char buf[256];
  while (::read(0, buf, sizeof(buf)) > 0) {
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() < 3) return Usage();
  int port = 0, n = 0;
  if (!absl::SimpleAtoi(args[1], &port) || port <= 0 || port > 65535) return Usage();
  rlimit limit{65536, 65536};
  ::setrlimit(RLIMIT_NOFILE, &limit);
  const std::string& mode = args[0];
  if (mode == "flood" && args.size() == 5) {
    int per_second = 0, seconds = 0;
    if (!absl::SimpleAtoi(args[3], &per_second) || !absl::SimpleAtoi(args[4], &seconds) ||
        per_second <= 0 || seconds <= 0) {
      return Usage();
    }
    Probe keepalive(static_cast<uint16_t>(port), 4);
    Probe fresh(static_cast<uint16_t>(port), 1, /*new_connection_each=*/true);
    Flood flood(static_cast<uint16_t>(port), epollhttp::test::PipelinedGets(args[2], 64 * 1024),
                per_second);
    std::this_thread::sleep_for(std::chrono::seconds(seconds));  // The attack's length.
    flood.Stop();
    PrintProbe("keepalive", keepalive.Stop());
    PrintProbe("fresh", fresh.Stop());
    std::printf("flood connections=%lld\n", static_cast<long long>(flood.connections()));
    return 0;
  }
  if (!absl::SimpleAtoi(args[2], &n) || n <= 0) return Usage();
  if (mode == "nonreaders" && args.size() == 4) {
    auto fds = epollhttp::test::OpenNonReaders(static_cast<uint16_t>(port), n, args[3]);
    return Hold(fds.size(), n);
  }
  if (mode == "partial" && args.size() == 3) {
    auto fds = epollhttp::test::OpenPartialHeads(static_cast<uint16_t>(port), n, 60 * 1024);
    return Hold(fds.size(), n);
  }
  if (mode == "slowbody" && args.size() == 5) {
    int interval_ms = 0, seconds = 0;
    if (!absl::SimpleAtoi(args[3], &interval_ms) || !absl::SimpleAtoi(args[4], &seconds) ||
        interval_ms <= 0 || seconds <= 0) {
      return Usage();
    }
    const auto r = epollhttp::test::SlowBodies(static_cast<uint16_t>(port), n,
                                               std::chrono::milliseconds(interval_ms),
                                               std::chrono::seconds(seconds));
    std::printf("slowbody closed=%d open=%d last_close_s=%.1f\n", r.closed_by_server, r.still_open,
                r.last_close_s);
    return 0;
  }
  return Usage();
}
