// hello_server.h: `HelloServer`, an in-process epollhttp::Server running the
// //server application (HelloApp with its Metrics), for socket-level tests
// that need the server's options but not its binary.
//
// Test-only. Thread safety: Start() and the destructor from the test's thread;
// the server's loops run on their own threads.
#ifndef EPOLLHTTP_TESTING_HELLO_SERVER_H_
#define EPOLLHTTP_TESTING_HELLO_SERVER_H_

#include <cstdint>

#include "absl/status/status.h"
#include "server/app.h"
#include "server/metrics.h"
#include "server/server.h"

namespace epollhttp::test {

class HelloServer {
 public:
  // `threads` sizes the metrics; Start() must not ask for more loops.
  explicit HelloServer(int threads = 2, bool admin_listener = false)
      : metrics_(threads), app_(&metrics_, admin_listener) {}
  ~HelloServer() { server_.ForceStop(); }  // The loops use app_ and metrics_.
  HelloServer(const HelloServer&) = delete;
  HelloServer& operator=(const HelloServer&) = delete;

  // Start() starts the server with `options`, its application and metrics
  // filled in.
  absl::Status Start(ServerOptions options) {
    options.router = &app_.router();
    options.admin_router = &app_.admin_router();
    options.metrics = &metrics_;
    return server_.Start(options);
  }

  [[nodiscard]] uint16_t port() const { return server_.port(); }
  Server& server() { return server_; }

 private:
  Metrics metrics_;
  HelloApp app_;
  Server server_;
};

}  // namespace epollhttp::test

#endif  // EPOLLHTTP_TESTING_HELLO_SERVER_H_
