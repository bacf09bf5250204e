#include "server/server.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/container/flat_hash_map.h"
#include "server/connection.h"
#include "server/net/event_loop.h"
#include "server/net/listener.h"

namespace epollhttp {

// One loop thread: its listener, its connections, its scratch buffer.
class Server::Worker {
 public:
  Worker(std::unique_ptr<net::EventLoop> loop, net::Listener listener, const SessionOptions& options,
         std::atomic<int>* running)
      : loop_(std::move(loop)), listener_(std::move(listener)), options_(options),
        running_(running) {}

  bool Start() {
    accept_watcher_ =
        loop_->Watch(listener_.fd(), EPOLLIN, [this](uint32_t) { OnAcceptable(); });
    return accept_watcher_ != nullptr;
  }

  void Run() {
    loop_->Run();
    connections_.clear();
    running_->fetch_sub(1);
  }

  net::EventLoop* loop() { return loop_.get(); }

  // Runs on the loop thread.
  void BeginShutdown() {
    // Connections already in the accept queue have started: take them first.
    if (accept_watcher_ != nullptr) OnAcceptable();
    draining_ = true;
    accept_watcher_.reset();
    std::vector<Connection*> all;
    all.reserve(connections_.size());
    for (auto& [raw, owned] : connections_) all.push_back(raw);
    for (Connection* c : all) c->Drain();
    MaybeStop();
  }

 private:
  void OnAcceptable() {
    // Accept until EAGAIN; on fd exhaustion pause accepting briefly rather than
    // spin on a listener that stays readable.
    while (true) {
      int error = 0;
      net::Fd fd = listener_.Accept(&error);
      if (!fd) {
        if (error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM) {
          PauseAccepting();
        }
        return;  // EAGAIN, or a per-connection error such as ECONNABORTED.
      }
      auto connection = std::make_unique<Connection>(
          loop_.get(), std::move(fd), options_, absl::MakeSpan(scratch_, sizeof(scratch_)),
          [this](Connection* c) { OnClosed(c); });
      Connection* raw = connection.get();
      connections_.emplace(raw, std::move(connection));
      raw->Start();
    }
  }

  void PauseAccepting() {
    accept_watcher_.reset();
    loop_->RunAfter(std::chrono::milliseconds(100), [this] {
      if (!draining_) Start();
    });
  }

  void OnClosed(Connection* c) {
    auto it = connections_.find(c);
    if (it == connections_.end()) return;
    loop_->DeleteSoon(std::move(it->second));
    connections_.erase(it);
    MaybeStop();
  }

  void MaybeStop() {
    if (draining_ && connections_.empty()) loop_->Stop();
  }

  std::unique_ptr<net::EventLoop> loop_;
  net::Listener listener_;
  SessionOptions options_;
  std::atomic<int>* running_;
  std::unique_ptr<net::EventLoop::Watcher> accept_watcher_;
  absl::flat_hash_map<Connection*, std::unique_ptr<Connection>> connections_;
  bool draining_ = false;
  char scratch_[64 * 1024];
};

Server::Server() = default;

Server::~Server() { ForceStop(); }

absl::Status Server::Start(const ServerOptions& options) {
  uint16_t port = options.port;
  for (int i = 0; i < options.threads; ++i) {
    absl::StatusOr<net::Listener> listener = net::Listener::Bind(options.address, port);
    if (!listener.ok()) return listener.status();
    port = listener->port();  // Later listeners join the first one's port.
    absl::StatusOr<std::unique_ptr<net::EventLoop>> loop = net::EventLoop::Create();
    if (!loop.ok()) return loop.status();
    auto worker = std::make_unique<Worker>(std::move(*loop), std::move(*listener),
                                           options.session, &running_loops_);
    if (!worker->Start()) return absl::InternalError("cannot watch the listening socket");
    workers_.push_back(std::move(worker));
  }
  port_ = port;
  running_loops_.store(static_cast<int>(workers_.size()));
  for (auto& worker : workers_) threads_.emplace_back([w = worker.get()] { w->Run(); });
  return absl::OkStatus();
}

void Server::BeginShutdown() {
  for (auto& worker : workers_) {
    worker->loop()->Post([w = worker.get()] { w->BeginShutdown(); });
  }
}

void Server::ForceStop() {
  for (auto& worker : workers_) worker->loop()->Stop();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

}  // namespace epollhttp
