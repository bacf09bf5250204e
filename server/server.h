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
#include "server/http_session.h"

namespace epollhttp {

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 8000;  // 0: pick a free port.
  int threads = 1;
  SessionOptions session;
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
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;
  std::atomic<int> running_loops_{0};
  uint16_t port_ = 0;
};

}  // namespace epollhttp

#endif  // EPOLLHTTP_SERVER_SERVER_H_
