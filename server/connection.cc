#include "server/connection.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace epollhttp {
namespace {

constexpr int kReadsPerEvent = 16;                  // Fairness between connections.
constexpr size_t kMaxQueuedOutput = 256 * 1024;     // Stop reading beyond this.
constexpr auto kLingerTime = std::chrono::seconds(2);

}  // namespace

Connection::Connection(net::EventLoop* loop, net::Fd fd, const SessionOptions& options,
                       absl::Span<char> scratch, absl::AnyInvocable<void(Connection*)> on_close)
    : loop_(loop),
      fd_(std::move(fd)),
      session_(options),
      scratch_(scratch),
      on_close_(std::move(on_close)) {}

bool Connection::Start() {
  watcher_ = loop_->Watch(fd_.get(), EPOLLIN | EPOLLRDHUP,
                          [this](uint32_t events) { OnEvents(events); });
  if (watcher_ == nullptr) {
    Close();
    return false;
  }
  return true;
}

void Connection::Drain() {
  if (closed_) return;
  // Bytes already in the socket are a request that has started: read them
  // before deciding that this connection is idle.
  if (!lingering_ && !peer_closed_) OnReadable();
  if (closed_) return;
  if (session_.idle() && pending_.empty() && output_offset_ == output_.size()) {
    Close();
  } else {
    session_.StartDraining();
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
}

void Connection::OnReadable() {
  for (int round = 0; round < kReadsPerEvent && !closed_; ++round) {
    const ssize_t n = ::read(fd_.get(), scratch_.data(), scratch_.size());
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) break;
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
    if (lingering_) continue;  // Discard input while lingering.
    const absl::string_view received(scratch_.data(), static_cast<size_t>(n));
    if (pending_.empty()) {
      const size_t used = session_.OnInput(received, &output_);
      pending_.assign(received.substr(used).data(), received.size() - used);
    } else {
      pending_.append(received.data(), received.size());
      pending_.erase(0, session_.OnInput(pending_, &output_));
    }
    if (pending_.empty() && pending_.capacity() > 4096) std::string().swap(pending_);
    Flush();
    if (output_.size() - output_offset_ > kMaxQueuedOutput) break;  // Backpressure.
    if (static_cast<size_t>(n) < scratch_.size()) break;  // Drained the socket.
  }
}

void Connection::Flush() {
  while (output_offset_ < output_.size()) {
    const ssize_t n = ::send(fd_.get(), output_.data() + output_offset_,
                             output_.size() - output_offset_, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) break;
      Close();
      return;
    }
    output_offset_ += static_cast<size_t>(n);
  }
  if (output_offset_ == output_.size()) {
    output_.clear();
    output_offset_ = 0;
    if (output_.capacity() > 4096) std::string().swap(output_);
    if (session_.closing() || peer_closed_) {
      if (peer_closed_) {
        Close();
      } else {
        StartLingering();
      }
      return;
    }
  }
  UpdateEvents();
}

void Connection::StartLingering() {
  if (lingering_) return;
  lingering_ = true;
  ::shutdown(fd_.get(), SHUT_WR);
  linger_timer_ = loop_->RunAfter(kLingerTime, [this] {
    linger_timer_ = {};
    Close();
  });
  UpdateEvents();
}

void Connection::UpdateEvents() {
  if (closed_) return;
  uint32_t events = 0;
  const bool output_pending = output_offset_ < output_.size();
  if (output_pending) events |= EPOLLOUT;
  if (!peer_closed_ && output_.size() - output_offset_ <= kMaxQueuedOutput) {
    events |= EPOLLIN | EPOLLRDHUP;
  }
  if (!watcher_->SetEvents(events)) Close();
}

void Connection::Close() {
  if (closed_) return;
  closed_ = true;
  loop_->Cancel(linger_timer_);
  watcher_.reset();
  fd_.reset();
  on_close_(this);
}

}  // namespace epollhttp
