#include "server/server.h"

#include <malloc.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "net/buffer.h"
#include "net/event_loop.h"
#include "net/listener.h"
#include "net/transport.h"
#include "server/access_log.h"
#include "server/connection.h"
#include "server/observers.h"

namespace epollhttp {

namespace {

// A loop returns freed memory to the system once connections that held at
// least this much buffer memory in all have closed (see ReleaseMemorySoon).
constexpr size_t kTrimAfterBytes = 1 << 20;

// ServerConnection is one accepted connection: its socket and the
// Connection over it, in one allocation, linked into its loop's list. The
// transport is a base so that it is built before the Connection that uses it.
struct TransportHolder {
  TransportHolder(net::EventLoop* loop, Fd fd) : transport(loop, std::move(fd)) {}
  net::SocketTransport transport;
};

struct ServerConnection final : TransportHolder, Connection {
  ServerConnection(net::EventLoop* loop, Fd fd, const ConnectionContext* context, bool is_admin)
      : TransportHolder(loop, std::move(fd)), Connection(context, &transport), admin(is_admin) {}
  ServerConnection* prev = nullptr;
  ServerConnection* next = nullptr;
  const bool admin;
};

}  // namespace

// One loop thread: its listener (and on the first loop the admin listener),
// its connections, its scratch buffer, its counters and access log.
class Server::LoopThread {
 public:
  LoopThread(Server* server, std::unique_ptr<net::EventLoop> loop, net::Listener listener,
             const ServerOptions& options, LoopStats* stats)
      : server_(server),
        admin_pool_(/*keep=*/4),
        loop_(std::move(loop)),
        public_(std::move(listener), /*is_admin=*/false),
        // A shared socket wakes one waiting loop per connection, not all.
        accept_events_(options.shared_listener ? EPOLLIN | EPOLLEXCLUSIVE : EPOLLIN) {
    if (stats != nullptr) stats_ = std::make_unique<StatsObserver>(stats, options.metrics);
    if (options.access_log) access_log_ = std::make_unique<AccessLog>();
    context_.loop = loop_.get();
    context_.router = options.router;
    context_.codec = options.codec;
    context_.options = options.connection;
    context_.observer = stats_.get();
    context_.access_log = access_log_.get();
    context_.scratch = absl::MakeSpan(scratch_, sizeof(scratch_));
    context_.shared_output = &output_scratch_;
    context_.pool = &pool_;
    context_.on_close = &LoopThread::OnClosedThunk;
    context_.owner = this;
    admin_context_ = context_;
    admin_context_.router = options.admin_router;
    admin_context_.pool = &admin_pool_;
  }

  // SetAdminListener() makes this loop serve the admin listener too.
  void SetAdminListener(net::Listener listener) {
    admin_ = std::make_unique<Acceptor>(std::move(listener), /*is_admin=*/true);
  }

  bool Start() {
    if (access_log_ != nullptr) ScheduleLogFlush();
    if (admin_ != nullptr && !StartAccepting(*admin_)) return false;
    return StartAccepting(public_);
  }

  void Run() {
    loop_->Run();
    while (connections_ != nullptr) delete Unlink(connections_);
    if (access_log_ != nullptr) access_log_->Flush();
    server_->running_loops_.fetch_sub(1);
  }

  // Runs on the loop thread: a connection slot may be free again.
  void ResumeAccepting() {
    if (draining_ || public_.watcher != nullptr || accept_retry_.armed()) return;
    StartAccepting(public_);
  }

  net::EventLoop* loop() { return loop_.get(); }
  const net::Listener& listener() const { return public_.listener; }

  // Runs on the loop thread.
  void BeginShutdown() {
    if (draining_) return;
    // Connections already in the accept queue have started: take one more
    // bounded batch of them.
    if (public_.watcher != nullptr) OnAcceptable(public_);
    draining_ = true;
    public_.watcher.reset();
    if (admin_ != nullptr) admin_->watcher.reset();
    accept_retry_.Cancel();
    // Drain() may close (and unlink) a connection: walk a copy.
    std::vector<Connection*> all;
    all.reserve(static_cast<size_t>(connection_count_));
    for (ServerConnection* c = connections_; c != nullptr; c = c->next) all.push_back(c);
    for (Connection* c : all) c->Drain();
    MaybeStop();
  }

  // Runs on the loop thread: the shutdown deadline.
  void Abort() {
    BeginShutdown();
    std::vector<Connection*> all;
    all.reserve(static_cast<size_t>(connection_count_));
    for (ServerConnection* c = connections_; c != nullptr; c = c->next) all.push_back(c);
    for (Connection* c : all) c->Abort();
    loop_->Stop();
  }

 private:
  struct Acceptor {
    Acceptor(net::Listener l, bool is_admin) : listener(std::move(l)), admin(is_admin) {}
    net::Listener listener;
    std::unique_ptr<net::EventLoop::Watcher> watcher;
    const bool admin;
  };

  bool StartAccepting(Acceptor& acceptor) {
    acceptor.watcher = loop_->Watch(acceptor.listener.fd(), accept_events_,
                                    [this, &acceptor](uint32_t) { OnAcceptable(acceptor); });
    return acceptor.watcher != nullptr;
  }

  void OnAcceptable(Acceptor& acceptor) {
    // At most kAcceptsPerWakeup per wake-up: the listener stays readable
    // (level-triggered) and is seen again next round, after this loop's
    // other connections and timers have had their turn. At max_connections,
    // stop watching the listener until a connection closes
    // (ResumeAccepting). On fd exhaustion, stop watching for 100 ms rather
    // than spin on a listener that stays readable; the connections already
    // open keep being served.
    for (int i = 0; i < kAcceptsPerWakeup; ++i) {
      const bool admin = acceptor.admin;
      if (admin ? admin_connections_ >= kMaxAdminConnections : !server_->TakeSlot()) {
        acceptor.watcher.reset();
        return;
      }
      int error = 0;
      Fd fd = acceptor.listener.Accept(&error);
      if (!fd) {
        if (!admin) server_->ReleaseSlot();
        if (error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM) {
          PauseAfterExhaustion();
        }
        return;  // EAGAIN, or a per-connection error such as ECONNABORTED.
      }
      if (admin) ++admin_connections_;
      auto* connection = new ServerConnection(loop_.get(), std::move(fd),
                                              admin ? &admin_context_ : &context_, admin);
      Link(connection);  // Before Start(), which may close it.
      connection->Start();
    }
  }

  void PauseAfterExhaustion() {
    public_.watcher.reset();
    if (admin_ != nullptr) admin_->watcher.reset();
    accept_retry_.ArmAfter(std::chrono::milliseconds(100));
  }

  void RetryAccepting() {
    if (draining_) return;
    if (public_.watcher == nullptr) StartAccepting(public_);
    if (admin_ != nullptr && admin_->watcher == nullptr) StartAccepting(*admin_);
  }

  void ScheduleLogFlush() { log_flush_.ArmAfter(std::chrono::seconds(1)); }

  void FlushLog() {
    access_log_->Flush();
    ScheduleLogFlush();
  }

  // ReleaseMemorySoon() returns freed heap memory to the system a second
  // after connections that held large buffers closed: an attack's buffers
  // would otherwise stay resident in the allocator's arenas.
  void ReleaseMemorySoon(size_t bytes) {
    released_bytes_ += bytes;
    if (released_bytes_ < kTrimAfterBytes || trim_.armed()) return;
    trim_.ArmAfter(std::chrono::seconds(1));
  }

  void Trim() {
    released_bytes_ = 0;
    ::malloc_trim(0);
  }

  void Link(ServerConnection* c) {
    c->next = connections_;
    if (connections_ != nullptr) connections_->prev = c;
    connections_ = c;
    ++connection_count_;
  }

  ServerConnection* Unlink(ServerConnection* c) {
    (c->prev != nullptr ? c->prev->next : connections_) = c->next;
    if (c->next != nullptr) c->next->prev = c->prev;
    c->prev = c->next = nullptr;
    --connection_count_;
    return c;
  }

  static void OnClosedThunk(void* self, Connection* c) {
    static_cast<LoopThread*>(self)->OnClosed(static_cast<ServerConnection*>(c));
  }

  void OnClosed(ServerConnection* c) {
    const bool admin = c->admin;
    if (c->peak_buffer_bytes() > 0) ReleaseMemorySoon(c->peak_buffer_bytes());
    // Not freed here: the call comes from inside the connection.
    loop_->DeleteSoon(std::unique_ptr<ServerConnection>(Unlink(c)));
    if (admin) {
      if (--admin_connections_ < kMaxAdminConnections && !draining_ && admin_->watcher == nullptr &&
          !accept_retry_.armed()) {
        StartAccepting(*admin_);
      }
    } else {
      server_->ReleaseSlot();
    }
    MaybeStop();
  }

  void MaybeStop() {
    if (draining_ && connections_ == nullptr) loop_->Stop();
  }

  Server* server_;
  // Before loop_: connections it frees late (DeleteSoon) give work back.
  ConnectionWorkPool pool_;
  ConnectionWorkPool admin_pool_;
  std::unique_ptr<net::EventLoop> loop_;
  Acceptor public_;
  const uint32_t accept_events_;
  std::unique_ptr<StatsObserver> stats_;
  ConnectionContext context_;
  ConnectionContext admin_context_;
  std::unique_ptr<Acceptor> admin_;  // Only on the loop that serves it.
  int admin_connections_ = 0;
  std::unique_ptr<AccessLog> access_log_;
  ServerConnection* connections_ = nullptr;  // Open connections (an intrusive list).
  int64_t connection_count_ = 0;
  bool draining_ = false;
  size_t released_bytes_ = 0;
  net::Timer accept_retry_{loop_.get(), [this] { RetryAccepting(); }};
  net::Timer log_flush_{loop_.get(), [this] { FlushLog(); }};
  net::Timer trim_{loop_.get(), [this] { Trim(); }};
  char scratch_[64 * 1024];
  // Responses on their way out (see Connection); keeps up to 1 MiB between uses.
  net::Buffer output_scratch_{1 << 20};
};

Server::Server() = default;

Server::~Server() {
  ForceStop();
  workers_.reset();  // Before the loops its completions post to.
}

bool Server::TakeSlot() {
  if (open_connections_.fetch_add(1) < max_connections_) return true;
  ReleaseSlot();
  return false;
}

void Server::ReleaseSlot() {
  // Whoever takes the count from the limit to below it wakes every loop, so a
  // loop that stopped accepting at the limit always hears of a free slot.
  if (open_connections_.fetch_sub(1) == max_connections_) {
    for (auto& thread : loops_) {
      thread->loop()->Post([t = thread.get()] { t->ResumeAccepting(); });
    }
  }
}

absl::Status Server::Start(const ServerOptions& options, std::unique_ptr<net::WorkerPool> workers) {
  workers_ = std::move(workers);
  if (options.threads < 1) return absl::InvalidArgumentError("threads must be at least 1");
  if (options.max_connections < 1) {
    return absl::InvalidArgumentError("max_connections must be at least 1");
  }
  if (options.router == nullptr) return absl::InvalidArgumentError("no router");
  if (!options.admin_address.empty() && options.admin_router == nullptr) {
    return absl::InvalidArgumentError("an admin listener needs an admin router");
  }
  if (options.metrics != nullptr && options.metrics->loops() < options.threads) {
    return absl::InvalidArgumentError("metrics has fewer loops than threads");
  }
  max_connections_ = options.max_connections;
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
            ? loops_.front()->listener().Dup()
            : net::Listener::Bind(options.address, port, options.defer_accept);
    if (!listener.ok()) return listener.status();
    port = listener->port();
    absl::StatusOr<std::unique_ptr<net::EventLoop>> loop = net::EventLoop::Create();
    if (!loop.ok()) return loop.status();
    auto thread = std::make_unique<LoopThread>(
        this, std::move(*loop), std::move(*listener), options,
        options.metrics != nullptr ? options.metrics->loop(i) : nullptr);
    if (i == 0 && !options.admin_address.empty()) {
      if (options.admin_port != 0) {
        if (absl::Status free =
                net::Listener::CheckPortFree(options.admin_address, options.admin_port);
            !free.ok()) {
          return absl::Status(free.code(), absl::StrCat("admin listener: ", free.message()));
        }
      }
      absl::StatusOr<net::Listener> admin =
          net::Listener::Bind(options.admin_address, options.admin_port);
      if (!admin.ok()) {
        return absl::Status(admin.status().code(),
                            absl::StrCat("admin listener: ", admin.status().message()));
      }
      admin_port_ = admin->port();
      thread->SetAdminListener(std::move(*admin));
    }
    if (!thread->Start()) return absl::InternalError("cannot watch the listening socket");
    loops_.push_back(std::move(thread));
  }
  port_ = port;
  running_loops_.store(static_cast<int>(loops_.size()));
  for (auto& thread : loops_) threads_.emplace_back([t = thread.get()] { t->Run(); });
  return absl::OkStatus();
}

void Server::BeginShutdown() {
  for (auto& thread : loops_) {
    thread->loop()->Post([t = thread.get()] { t->BeginShutdown(); });
  }
}

void Server::Abort() {
  for (auto& thread : loops_) {
    thread->loop()->Post([t = thread.get()] { t->Abort(); });
  }
}

void Server::ForceStop() {
  for (auto& thread : loops_) thread->loop()->Stop();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

}  // namespace epollhttp
