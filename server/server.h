// server.h: `Server`, N event-loop threads each accepting on its own
// SO_REUSEPORT listener and serving its connections, and optionally an admin
// listener (on the first loop) for /metrics and /healthz.
//
// Each loop accepts at most kAcceptsPerWakeup connections per wake-up before
// it serves its other connections and timers, so a connection flood cannot
// starve established clients or a shutdown. After connections that held large
// buffers close, the loop returns freed memory to the system (malloc_trim)
// a second later, so RSS falls back after an attack.
//
// The server may own a net::WorkerPool for its handlers' slow work; it is
// destroyed after the loops have stopped and their connections (and so every
// stream's pending work) are gone, and before the loops its completions
// post to.
//
// Thread safety: Start(), BeginShutdown(), Abort(), Finished() and
// ForceStop() are called from one controlling thread (main); the loops run
// on their own.
#ifndef EPOLLHTTP_SERVER_SERVER_H_
#define EPOLLHTTP_SERVER_SERVER_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "net/worker_pool.h"
#include "server/connection.h"
#include "server/http/codec.h"
#include "server/http/router.h"
#include "server/metrics.h"

namespace epollhttp {

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 8000;  // 0: pick a free port.
  int threads = 1;
  // The application (required; not owned, must outlive the server), and with
  // an admin listener the application served there.
  const http::Router* router = nullptr;
  const http::Router* admin_router = nullptr;
  // Optional counters (not owned, must outlive the server), with at least
  // `threads` loops: loop i counts into metrics->loop(i).
  Metrics* metrics = nullptr;
  http::CodecOptions codec;
  ConnectionOptions connection;
  // At this many open connections the loops stop accepting (new clients wait
  // in the kernel's accept queue) until one closes.
  int max_connections = 10'000;
  bool access_log = false;  // One line per response on stderr.
  // Accept connections once their first bytes arrive (see net::Listener).
  bool defer_accept = true;
  // One listening socket shared by all loops, each watching it with
  // EPOLLEXCLUSIVE, instead of one SO_REUSEPORT socket per loop. Measured in
  // docs/benchmarks.md ("Listeners"): within noise, and the default shares no
  // accept queue.
  bool shared_listener = false;
  // A separate listener on the first loop, serving admin_router (for
  // /metrics and /healthz). Empty: none. admin_port 0 picks a free port.
  std::string admin_address;
  uint16_t admin_port = 0;
};

inline constexpr int kAcceptsPerWakeup = 32;
// Admin connections do not take public slots; this many at most.
inline constexpr int kMaxAdminConnections = 64;

class Server {
 public:
  Server();
  ~Server();  // ForceStop() + join.

  // Start() binds every listener (failing, with nothing running, on e.g. a
  // busy port or a missing router) and starts the loop threads. It takes
  // `workers` (may be null), the pool the routers' handlers submit to.
  absl::Status Start(const ServerOptions& options,
                     std::unique_ptr<net::WorkerPool> workers = nullptr);

  // port() is the bound port (the real one when 0 was asked for).
  [[nodiscard]] uint16_t port() const { return port_; }
  // admin_port() is the admin listener's bound port (0: no admin listener).
  [[nodiscard]] uint16_t admin_port() const { return admin_port_; }

  // BeginShutdown() stops accepting (after one more bounded batch from the
  // accept queue), closes idle connections and lets requests in flight
  // finish with Connection: close. Each loop exits when its last connection
  // is gone. Safe to call while the loops are busy: each acts on it within
  // one round.
  void BeginShutdown();
  // Abort() is the shutdown deadline: each loop closes every connection it
  // still has (a request in progress gets OnAbort(kShutdown)) and exits.
  void Abort();
  // Finished() is true once every loop has exited.
  [[nodiscard]] bool Finished() const { return running_loops_.load() == 0; }
  // ForceStop() stops every loop now (connections are dropped) and joins.
  void ForceStop();

 private:
  class LoopThread;
  // Connection slots shared by the loops (see max_connections).
  bool TakeSlot();
  void ReleaseSlot();

  std::atomic<int> open_connections_{0};
  int max_connections_ = 0;
  std::vector<std::unique_ptr<LoopThread>> loops_;
  // After loops_: destroyed first, once ForceStop() has joined the loops.
  std::unique_ptr<net::WorkerPool> workers_;
  std::vector<std::thread> threads_;
  std::atomic<int> running_loops_{0};
  uint16_t port_ = 0;
  uint16_t admin_port_ = 0;
};

}  // namespace epollhttp

#endif  // EPOLLHTTP_SERVER_SERVER_H_
