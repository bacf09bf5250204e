#include "server/connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>

namespace epollhttp {
namespace {

constexpr int kReadsPerEvent = 16;                  // Fairness between connections.
constexpr size_t kMaxQueuedOutput = 256 * 1024;     // Stop reading beyond this.

// DiscardInput() drops up to `n` received bytes in the kernel without copying
// them (TCP honours MSG_TRUNC on receive). It calls the system call directly:
// sanitizer interceptors for recv() would treat the null buffer as `n` bytes
// written. Returns what recv() returns.
ssize_t DiscardInput(int fd, size_t n) {
  return ::syscall(SYS_recvfrom, fd, nullptr, n, MSG_TRUNC, nullptr, nullptr);
}

}  // namespace

Connection::Connection(net::EventLoop* loop, net::Fd fd, const SessionOptions& session,
                       const ConnectionOptions& options, absl::Span<char> scratch,
                       std::string* shared_output,
                       absl::AnyInvocable<void(Connection*)> on_close)
    : loop_(loop),
      fd_(std::move(fd)),
      options_(options),
      stats_(session.stats),
      session_(session),
      scratch_(scratch),
      shared_output_(shared_output),
      on_close_(std::move(on_close)) {
  if (stats_ != nullptr) stats_->OnAccepted();
  if (session.access_log != nullptr) {
    sockaddr_storage addr{};
    socklen_t size = sizeof(addr);
    char host[INET6_ADDRSTRLEN] = "?";
    uint16_t port = 0;
    if (::getpeername(fd_.get(), reinterpret_cast<sockaddr*>(&addr), &size) == 0 &&
        addr.ss_family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
      ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
      port = ntohs(in->sin_port);
    }
    session_.set_peer(std::string(host) + ":" + std::to_string(port));
  }
}

bool Connection::Start() {
  phase_since_ = last_read_ = last_write_ = loop_->Now();
  // Read before registering with epoll: a client usually sends its request
  // right after connecting, so it is often here already. A request answered
  // with Connection: close then costs no epoll_ctl() and no timer at all.
  OnReadable();
  if (closed_) return true;
  watcher_ = loop_->Watch(fd_.get(), WantedEvents(),
                          [this](uint32_t events) { OnEvents(events); });
  if (watcher_ == nullptr) {
    Close();
    return false;
  }
  AfterIo();
  return true;
}

void Connection::AfterIo() {
  if (closed_ || lingering_) return;
  const HttpSession::Phase phase = session_.phase();
  if (phase != phase_ || session_.responses() != phase_responses_) {
    phase_ = phase;
    phase_responses_ = session_.responses();
    phase_since_ = loop_->Now();
  }
  TimeoutKind kind;
  const TimePoint deadline = Deadline(&kind);
  if (deadline >= timer_at_) return;  // The timer fires in time and re-checks.
  loop_->Cancel(timer_);
  timer_at_ = deadline;
  timer_ = loop_->RunAfter(std::max(deadline - loop_->Now(), net::EventLoop::Clock::duration(0)),
                           [this] { OnTimer(); });
}

Connection::TimePoint Connection::Deadline(TimeoutKind* kind) const {
  if (output_offset_ < output_.size()) {
    *kind = TimeoutKind::kWrite;
    return last_write_ + options_.write_timeout;
  }
  switch (phase_) {
    case HttpSession::Phase::kIdle:
      if (phase_responses_ == 0) {
        *kind = TimeoutKind::kHeader;  // A new connection must start a request.
        return phase_since_ + options_.header_timeout;
      }
      *kind = TimeoutKind::kIdle;
      return phase_since_ + options_.idle_timeout;
    case HttpSession::Phase::kHead:
      *kind = TimeoutKind::kHeader;
      return phase_since_ + options_.header_timeout;
    case HttpSession::Phase::kBody:
      *kind = TimeoutKind::kBody;
      return std::max(phase_since_, last_read_) + options_.body_timeout;
    case HttpSession::Phase::kClosed:
      break;
  }
  *kind = TimeoutKind::kIdle;
  return TimePoint::max();  // Closing: the lingering close has its own timer.
}

void Connection::OnTimer() {
  timer_ = {};
  timer_at_ = TimePoint::max();
  if (closed_ || lingering_) return;
  TimeoutKind kind;
  if (Deadline(&kind) > loop_->Now()) {
    AfterIo();  // Progress moved the deadline: wait for the new one.
    return;
  }
  if (stats_ != nullptr) stats_->OnTimeout(kind);
  if (kind == TimeoutKind::kHeader && session_.phase() == HttpSession::Phase::kHead) {
    std::string* out = OutputTarget();
    session_.OnHeaderTimeout(out);  // 408, then the lingering close.
    input_.Release();
    Deliver(out);
    return;
  }
  Close();
}

void Connection::Drain() {
  if (closed_) return;
  // Bytes already in the socket are a request that has started: read them
  // before deciding that this connection is idle.
  if (!lingering_ && !peer_closed_) OnReadable();
  if (closed_) return;
  if (session_.idle() && input_.empty() && output_offset_ == output_.size()) {
    Close();
  } else {
    session_.StartDraining();
    AfterIo();
  }
}

void Connection::OnEvents(uint32_t events) {
  if (closed_) return;
  if ((events & (EPOLLHUP | EPOLLERR)) && peer_closed_) {
    Close();  // Both directions are gone; queued output can never be sent.
    return;
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) OnReadable();
  if (!closed_ && (events & EPOLLOUT)) Flush();
  AfterIo();
}

void Connection::OnReadable() {
  for (int round = 0; round < kReadsPerEvent && !closed_; ++round) {
    // The rest of a Content-Length body is discarded in the kernel
    // (MSG_TRUNC: no copy to user space), never past the body's end, so a
    // pipelined request after it is read normally.
    const int64_t skippable =
        !lingering_ && input_.empty() ? session_.SkippableBodyBytes() : 0;
    size_t want;
    ssize_t n;
    int error = 0;
    absl::string_view spilled;
    if (skippable > 0) {
      want = static_cast<size_t>(std::min<int64_t>(skippable, int64_t{1} << 30));
      n = DiscardInput(fd_.get(), want);
      if (n < 0) error = errno;
    } else {
      // One readv: into the partial head's free space (if any), then the
      // loop's scratch buffer, where the session consumes bytes in place.
      const net::Buffer::ReadResult r = input_.ReadFrom(fd_.get(), scratch_);
      want = r.requested;
      n = r.bytes;
      error = r.error;
      spilled = r.spilled;
    }
    input_drained_ = n >= 0 && static_cast<size_t>(n) < want;
    if (n < 0) {
      if (error == EAGAIN || error == EINTR) {
        input_drained_ = error == EAGAIN;
        break;
      }
      Close();  // ECONNRESET and friends: only this connection is affected.
      return;
    }
    if (n == 0) {
      peer_closed_ = true;
      // A half-closed client may still read: flush what is queued, then close.
      if (lingering_ || output_offset_ == output_.size()) {
        Close();
      } else {
        UpdateEvents();
      }
      return;
    }
    if (lingering_) {  // Discard input while lingering.
      input_.Release();
      continue;
    }
    last_read_ = loop_->Now();
    if (output_offset_ == output_.size()) last_write_ = last_read_;  // Output may start now.
    std::string* out = OutputTarget();
    if (skippable > 0) {
      session_.OnBodySkipped(n, out);
    } else if (input_.empty()) {
      // The common case: everything is in scratch; keep only what the
      // session left unconsumed (an incomplete head).
      input_.Append(spilled.substr(session_.OnInput(spilled, out)));
    } else {
      input_.Append(spilled);
      input_.Consume(session_.OnInput(input_.readable(), out));
    }
    Deliver(out);
    if (closed_) return;
    if (output_.size() - output_offset_ > kMaxQueuedOutput) break;  // Backpressure.
    if (static_cast<size_t>(n) < want) break;  // Drained the socket.
  }
}

std::string* Connection::OutputTarget() {
  // Nothing queued: responses go to the loop's shared buffer and are sent
  // from there, so a response costs no allocation; only bytes the socket
  // does not take at once are copied into this connection's own buffer.
  return output_offset_ == output_.size() ? shared_output_ : &output_;
}

void Connection::Deliver(std::string* target) {
  if (target == shared_output_ && !shared_output_->empty()) {
    size_t sent = 0;
    while (sent < shared_output_->size()) {
      const ssize_t n = Send(shared_output_->data() + sent, shared_output_->size() - sent);
      if (n < 0) break;
      sent += static_cast<size_t>(n);
    }
    if (!closed_ && sent < shared_output_->size()) {
      output_.assign(shared_output_->data() + sent, shared_output_->size() - sent);
      output_offset_ = 0;
    }
    shared_output_->clear();
    if (shared_output_->capacity() > (1u << 20)) std::string().swap(*shared_output_);
  }
  if (!closed_) Flush();
}

ssize_t Connection::Send(const char* data, size_t size) {
  if (sent_before_ && !nodelay_) {
    // TCP_NODELAY from the second write on: Nagle could hold a small write
    // while earlier data is unacknowledged, but the first write has none
    // before it, so a connection-per-request client never pays the
    // setsockopt().
    const int one = 1;
    ::setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    nodelay_ = true;
  }
  const ssize_t n = ::send(fd_.get(), data, size, MSG_NOSIGNAL);
  if (n < 0) {
    if (errno != EAGAIN && errno != EINTR) Close();
    return -1;
  }
  sent_before_ = true;
  last_write_ = loop_->Now();
  if (stats_ != nullptr) stats_->AddBytesWritten(n);
  return n;
}

void Connection::Flush() {
  while (output_offset_ < output_.size()) {
    const ssize_t n = Send(output_.data() + output_offset_, output_.size() - output_offset_);
    if (closed_) return;
    if (n < 0) break;
    output_offset_ += static_cast<size_t>(n);
  }
  if (output_offset_ == output_.size()) {
    // Release the buffer: it only ever holds what a send did not take.
    std::string().swap(output_);
    output_offset_ = 0;
    if (session_.closing() || peer_closed_) {
      if (peer_closed_ || (!session_.error_response() && NothingUnread())) {
        Close();  // A complete request and nothing more sent: no need to linger.
      } else {
        StartLingering();
      }
      return;
    }
  }
  UpdateEvents();
}

bool Connection::NothingUnread() {
  // The last read returned less than it asked for: the socket was empty then.
  return input_.empty() && input_drained_;
}

void Connection::StartLingering() {
  if (lingering_) return;
  lingering_ = true;
  ::shutdown(fd_.get(), SHUT_WR);
  loop_->Cancel(timer_);
  timer_at_ = TimePoint::max();
  linger_timer_ = loop_->RunAfter(options_.linger_time, [this] {
    linger_timer_ = {};
    Close();
  });
  UpdateEvents();
}

uint32_t Connection::WantedEvents() const {
  uint32_t events = 0;
  if (output_offset_ < output_.size()) events |= EPOLLOUT;
  if (!peer_closed_ && output_.size() - output_offset_ <= kMaxQueuedOutput) {
    events |= EPOLLIN | EPOLLRDHUP;
  }
  return events;
}

void Connection::UpdateEvents() {
  // Before Start() has registered, there is nothing to update: Start()
  // registers with WantedEvents().
  if (closed_ || watcher_ == nullptr) return;
  if (!watcher_->SetEvents(WantedEvents())) Close();
}

void Connection::Close() {
  if (closed_) return;
  closed_ = true;
  loop_->Cancel(linger_timer_);
  loop_->Cancel(timer_);
  if (stats_ != nullptr) stats_->OnClosed();
  if (watcher_ != nullptr) watcher_->FdClosing();  // close() below unregisters it.
  watcher_.reset();
  fd_.reset();
  on_close_(this);
}

}  // namespace epollhttp
