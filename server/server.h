// server.h: `Server`, N event-loop threads each accepting on its own
// SO_REUSEPORT listener and serving its connections.
//
// Thread safety: Start(), BeginShutdown(), WaitFor() and ForceStop() are
// called from one controlling thread (main); the loops run on their own.
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
#include "server/connection.h"
#include "server/http_session.h"
#include "server/metrics.h"

namespace epollhttp {

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 8000;  // 0: pick a free port.
  int threads = 1;
  SessionOptions session;  // Its stats/metrics/access_log pointers are set per loop.
  ConnectionOptions connection;
  // At this many open connections the loops stop accepting (new clients wait
  // in the kernel's accept queue) until one closes.
  int max_connections = 10'000;
  bool access_log = false;  // One line per response on stderr.
  // Accept connections once their first bytes arrive (see net::Listener).
  bool defer_accept = true;
  // One listening socket shared by all loops, each watching it with
  // EPOLLEXCLUSIVE, instead of one SO_REUSEPORT socket per loop. Measured in
  // README.md; the default won.
  bool shared_listener = false;
};

class Server {
 public:
  Server();
  ~Server();  // ForceStop() + join.

  // Start() binds every listener (failing, with nothing running, on e.g. a
  // busy port) and starts the loop threads.
  absl::Status Start(const ServerOptions& options);

  // port() is the bound port (the real one when 0 was asked for).
  [[nodiscard]] uint16_t port() const { return port_; }

  // BeginShutdown() stops accepting, closes idle connections and lets
  // requests in flight finish with Connection: close. Each loop exits when its
  // last connection is gone.
  void BeginShutdown();
  // Finished() is true once every loop has exited.
  [[nodiscard]] bool Finished() const { return running_loops_.load() == 0; }
  // ForceStop() stops every loop now (connections are dropped) and joins.
  void ForceStop();

 private:
  class Worker;
  // Connection slots shared by the loops (see max_connections).
  bool TakeSlot();
  void ReleaseSlot();

  std::unique_ptr<Metrics> metrics_;
  std::atomic<int> open_connections_{0};
  int max_connections_ = 0;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;
  std::atomic<int> running_loops_{0};
  uint16_t port_ = 0;
};

}  // namespace epollhttp

#endif  // EPOLLHTTP_SERVER_SERVER_H_
