#include "server/server.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/container/flat_hash_map.h"
#include "server/access_log.h"
#include "server/connection.h"
#include "server/net/event_loop.h"
#include "server/net/listener.h"

namespace epollhttp {

// One loop thread: its listener, its connections, its scratch buffer, its
// counters and access log.
class Server::Worker {
 public:
  Worker(Server* server, std::unique_ptr<net::EventLoop> loop, net::Listener listener,
         const ServerOptions& options, WorkerStats* stats)
      : server_(server),
        loop_(std::move(loop)),
        listener_(std::move(listener)),
        session_options_(options.session),
        connection_options_(options.connection),
        // A shared socket wakes one waiting loop per connection, not all.
        accept_events_(options.shared_listener ? EPOLLIN | EPOLLEXCLUSIVE : EPOLLIN) {
    session_options_.stats = stats;
    session_options_.metrics = server->metrics_.get();
    if (options.access_log) {
      access_log_ = std::make_unique<AccessLog>();
      session_options_.access_log = access_log_.get();
    }
  }

  bool Start() {
    if (access_log_ != nullptr) ScheduleLogFlush();
    return StartAccepting();
  }

  void Run() {
    loop_->Run();
    connections_.clear();
    if (access_log_ != nullptr) access_log_->Flush();
    server_->running_loops_.fetch_sub(1);
  }

  // Runs on the loop thread: a connection slot may be free again.
  void ResumeAccepting() {
    if (draining_ || accept_watcher_ != nullptr || accept_retry_pending_) return;
    StartAccepting();
  }

  net::EventLoop* loop() { return loop_.get(); }
  const net::Listener& listener() const { return listener_; }

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
  bool StartAccepting() {
    accept_watcher_ =
        loop_->Watch(listener_.fd(), accept_events_, [this](uint32_t) { OnAcceptable(); });
    return accept_watcher_ != nullptr;
  }

  void OnAcceptable() {
    // Accept until EAGAIN. At max_connections, stop watching the listener
    // until a connection closes (ResumeAccepting). On fd exhaustion, stop
    // watching for 100 ms rather than spin on a listener that stays readable;
    // the connections already open keep being served.
    while (true) {
      if (!server_->TakeSlot()) {
        accept_watcher_.reset();
        return;
      }
      int error = 0;
      net::Fd fd = listener_.Accept(&error);
      if (!fd) {
        server_->ReleaseSlot();
        if (error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM) {
          PauseAfterExhaustion();
        }
        return;  // EAGAIN, or a per-connection error such as ECONNABORTED.
      }
      auto connection = std::make_unique<Connection>(
          loop_.get(), std::move(fd), session_options_, connection_options_,
          absl::MakeSpan(scratch_, sizeof(scratch_)), &output_scratch_,
          [this](Connection* c) { OnClosed(c); });
      Connection* raw = connection.get();
      connections_.emplace(raw, std::move(connection));
      raw->Start();
    }
  }

  void PauseAfterExhaustion() {
    accept_watcher_.reset();
    accept_retry_pending_ = true;
    loop_->RunAfter(std::chrono::milliseconds(100), [this] {
      accept_retry_pending_ = false;
      if (!draining_ && accept_watcher_ == nullptr) StartAccepting();
    });
  }

  void ScheduleLogFlush() {
    loop_->RunAfter(std::chrono::seconds(1), [this] {
      access_log_->Flush();
      ScheduleLogFlush();
    });
  }

  void OnClosed(Connection* c) {
    auto it = connections_.find(c);
    if (it == connections_.end()) return;
    loop_->DeleteSoon(std::move(it->second));
    connections_.erase(it);
    server_->ReleaseSlot();
    MaybeStop();
  }

  void MaybeStop() {
    if (draining_ && connections_.empty()) loop_->Stop();
  }

  Server* server_;
  std::unique_ptr<net::EventLoop> loop_;
  net::Listener listener_;
  SessionOptions session_options_;
  ConnectionOptions connection_options_;
  const uint32_t accept_events_;
  std::unique_ptr<AccessLog> access_log_;
  std::unique_ptr<net::EventLoop::Watcher> accept_watcher_;
  absl::flat_hash_map<Connection*, std::unique_ptr<Connection>> connections_;
  bool draining_ = false;
  bool accept_retry_pending_ = false;
  char scratch_[64 * 1024];
  std::string output_scratch_;  // Responses on their way out (see Connection).
};

Server::Server() = default;

Server::~Server() { ForceStop(); }

bool Server::TakeSlot() {
  if (open_connections_.fetch_add(1) < max_connections_) return true;
  ReleaseSlot();
  return false;
}

void Server::ReleaseSlot() {
  // Whoever takes the count from the limit to below it wakes every loop, so a
  // loop that stopped accepting at the limit always hears of a free slot.
  if (open_connections_.fetch_sub(1) == max_connections_) {
    for (auto& worker : workers_) {
      worker->loop()->Post([w = worker.get()] { w->ResumeAccepting(); });
    }
  }
}

absl::Status Server::Start(const ServerOptions& options) {
  if (options.threads < 1) return absl::InvalidArgumentError("threads must be at least 1");
  if (options.max_connections < 1) {
    return absl::InvalidArgumentError("max_connections must be at least 1");
  }
  max_connections_ = options.max_connections;
  metrics_ = std::make_unique<Metrics>(options.threads);
  uint16_t port = options.port;
  if (port != 0) {
    if (absl::Status free = net::Listener::CheckPortFree(options.address, port); !free.ok()) {
      return free;
    }
  }
  for (int i = 0; i < options.threads; ++i) {
    // Later listeners join the first one's SO_REUSEPORT group, or share its
    // socket.
    absl::StatusOr<net::Listener> listener =
        options.shared_listener && i > 0
            ? workers_.front()->listener().Dup()
            : net::Listener::Bind(options.address, port, options.defer_accept);
    if (!listener.ok()) return listener.status();
    port = listener->port();
    absl::StatusOr<std::unique_ptr<net::EventLoop>> loop = net::EventLoop::Create();
    if (!loop.ok()) return loop.status();
    auto worker = std::make_unique<Worker>(this, std::move(*loop), std::move(*listener), options,
                                           metrics_->worker(i));
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
