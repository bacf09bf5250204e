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

// Buffered head bytes are completed from a new read this many bytes at a time.
constexpr size_t kHeadPiece = 2048;

// DiscardInput() drops up to `n` received bytes in the kernel without copying
// them (TCP honours MSG_TRUNC on receive). It calls the system call directly:
// sanitizer interceptors for recv() would treat the null buffer as `n` bytes
// written. Returns what recv() returns.
ssize_t DiscardInput(int fd, size_t n) {
  return ::syscall(SYS_recvfrom, fd, nullptr, n, MSG_TRUNC, nullptr, nullptr);
}

// The longest body-rate allowance computed; beyond it the rate never binds.
constexpr std::chrono::hours kLongestAllowance(24 * 365);

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
  timer_at_ = deadline;
  timer_ = loop_->RunAfter(deadline - loop_->Now(), [this] { OnTimer(); });
}

Connection::TimePoint Connection::Deadline(TimeoutKind* kind) const {
  if (!output_.empty()) {
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
    case HttpSession::Phase::kBody: {
      *kind = TimeoutKind::kBody;
      TimePoint deadline = std::max(phase_since_, last_read_) + options_.body_timeout;
      if (options_.body_min_rate > 0) {
        // After the first body_timeout, each second must have brought
        // body_min_rate bytes on average.
        const std::chrono::duration<double> allowance(
            static_cast<double>(session_.body_bytes()) /
            static_cast<double>(options_.body_min_rate));
        if (allowance < kLongestAllowance) {
          deadline = std::min(
              deadline,
              phase_since_ + options_.body_timeout +
                  std::chrono::duration_cast<net::EventLoop::Clock::duration>(allowance));
        }
      }
      return deadline;
    }
    case HttpSession::Phase::kClosed:
      break;
  }
  *kind = TimeoutKind::kIdle;
  return TimePoint::max();  // Closing: the lingering close has its own timer.
}

void Connection::OnTimer() {
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
    backlog_ = false;
    Deliver(out);
    return;
  }
  Close();
}

void Connection::Drain() {
  if (closed_) return;
  session_.StartDraining();  // The next response is the last.
  if (lingering_) return;
  const bool idle = session_.idle() && input_.empty() && output_.empty();
  // Bytes already in the socket are a request that has started: one read
  // finds them (and can answer at most that request).
  if (idle && !peer_closed_) OnReadable(/*max_reads=*/1);
  if (closed_) return;
  if (session_.idle() && input_.empty() && output_.empty()) {
    Close();
    return;
  }
  AfterIo();
}

void Connection::OnEvents(uint32_t events) {
  if (closed_) return;
  if ((events & (EPOLLHUP | EPOLLERR)) && peer_closed_) {
    Close();  // Both directions are gone; queued output can never be sent.
    return;
  }
  if (!output_.empty() && (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))) Flush();
  if (!closed_ && ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) || backlog_)) {
    OnReadable();
  }
  AfterIo();
}

void Connection::OnReadable(int max_reads) {
  resume_timer_.Cancel();
  responses_left_ = kResponsesPerEvent;
  // The backlog first: nothing new is read until it is answered.
  bool more = !backlog_ || Serve({});
  for (int round = 0; more && round < max_reads && !closed_ && !peer_closed_; ++round) {
    // Nothing is read while output is queued or the budget is spent: the
    // requests wait in the kernel.
    if (!lingering_ && !MayAnswer()) break;
    more = ReadOnce();
  }
  if (closed_) return;
  if (backlog_ && output_.empty()) {
    // Budget spent with requests left: answer them in a later round, after
    // the loop has served other connections. (With output queued, EPOLLOUT
    // resumes instead.)
    resume_timer_ = loop_->RunAfter(net::EventLoop::Clock::duration::zero(), [this] {
      OnReadable();
      AfterIo();
    });
  }
  UpdateEvents();
}

bool Connection::ReadOnce() {
  // The rest of a Content-Length body is discarded in the kernel
  // (MSG_TRUNC: no copy to user space), never past the body's end, so a
  // pipelined request after it is read normally.
  const int64_t skippable = !lingering_ && input_.empty() ? session_.SkippableBodyBytes() : 0;
  size_t want;
  ssize_t n;
  int error = 0;
  if (skippable > 0) {
    want = static_cast<size_t>(std::min<int64_t>(skippable, int64_t{1} << 30));
    n = DiscardInput(fd_.get(), want);
  } else {
    // Outside a body, a read is small enough that the requests it holds are
    // a bounded amount of work and backlog.
    want = session_.phase() == HttpSession::Phase::kBody
               ? scratch_.size()
               : std::min(scratch_.size(), kHeadReadBytes);
    do {
      n = ::read(fd_.get(), scratch_.data(), want);
    } while (n < 0 && errno == EINTR);
  }
  if (n < 0) error = errno;
  input_drained_ = n >= 0 && static_cast<size_t>(n) < want;
  if (n < 0) {
    if (error == EAGAIN || error == EINTR) {
      input_drained_ = error == EAGAIN;
      return false;
    }
    Close();  // ECONNRESET and friends: only this connection is affected.
    return false;
  }
  if (n == 0) {
    peer_closed_ = true;
    // A half-closed client may still read: answer and flush what is
    // pending, then close.
    if (lingering_ || (output_.empty() && !backlog_)) Close();
    return false;
  }
  if (lingering_) return true;  // Input is discarded while lingering.
  last_read_ = loop_->Now();
  if (output_.empty()) last_write_ = last_read_;  // Output may start now.
  if (skippable > 0) {
    std::string* out = OutputTarget();
    const int64_t before = session_.responses();
    session_.OnBodySkipped(n, out);
    responses_left_ -= static_cast<int>(session_.responses() - before);
    Deliver(out);
    if (closed_) return false;
  } else if (!Serve(absl::string_view(scratch_.data(), static_cast<size_t>(n)))) {
    return false;
  }
  return static_cast<size_t>(n) == want;  // A short read drained the socket.
}

bool Connection::Serve(absl::string_view fresh) {
  if (backlog_) {
    // Nothing is read while a backlog waits, so `fresh` is empty here.
    if (!MayAnswer()) return false;
    input_.Consume(RunSession(input_.readable()));
    if (closed_ || backlog_) return false;
  }
  // A buffered partial head takes `fresh` a piece at a time until every byte
  // buffered before it is consumed; the rest of `fresh` is served in place.
  size_t offset = 0;
  while (!input_.empty() && offset < fresh.size()) {
    const size_t piece = std::min(kHeadPiece, fresh.size() - offset);
    input_.Append(fresh.substr(offset, piece));
    offset += piece;
    NotePeak();
    input_.Consume(RunSession(input_.readable()));
    if (closed_) return false;
    const size_t left = input_.readable().size();
    if (left <= piece) {  // All that is left came from `fresh`.
      offset -= left;
      input_.Consume(left);
    }
    if (backlog_) break;
  }
  absl::string_view rest = fresh.substr(offset);
  if (input_.empty()) {
    // The common case: everything is in scratch and is served in place.
    while (!rest.empty()) {
      rest.remove_prefix(RunSession(rest));
      if (closed_) return false;
      // A batch sent in full may be followed by the next one.
      if (!backlog_ || !MayAnswer()) break;
    }
  }
  // Keep what is left: a partial head, or a backlog of requests.
  input_.Append(rest);
  NotePeak();
  return !backlog_ && output_.empty();
}

size_t Connection::RunSession(absl::string_view input) {
  std::string* out = OutputTarget();
  SessionBudget budget;
  // With output queued, only the request in progress may still be answered.
  budget.max_output = out == shared_output_ ? kOutputBatch : 0;
  budget.max_responses = std::max(responses_left_, 0);
  const int64_t before = session_.responses();
  const size_t consumed = session_.OnInput(input, out, budget);
  responses_left_ -= static_cast<int>(session_.responses() - before);
  backlog_ = session_.yielded();
  Deliver(out);
  return consumed;
}

std::string* Connection::OutputTarget() {
  // Nothing queued: responses go to the loop's shared buffer and are sent
  // from there, so a response costs no allocation; only bytes the socket
  // does not take at once are copied into this connection's own buffer.
  return output_.empty() ? shared_output_ : &output_;
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
      NotePeak();
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
    if (errno != EAGAIN && errno != EINTR) Close();  // The client is gone: stop at once.
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
    if (session_.closing() || (peer_closed_ && !backlog_)) {
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

bool Connection::NothingUnread() const {
  // The last read returned less than it asked for: the socket was empty then.
  return input_.empty() && input_drained_;
}

void Connection::StartLingering() {
  if (lingering_) return;
  lingering_ = true;
  ::shutdown(fd_.get(), SHUT_WR);
  timer_.Cancel();
  timer_at_ = TimePoint::max();
  resume_timer_.Cancel();
  backlog_ = false;
  input_.Release();
  linger_timer_ = loop_->RunAfter(options_.linger_time, [this] { Close(); });
  UpdateEvents();
}

uint32_t Connection::WantedEvents() const {
  if (!output_.empty()) return EPOLLOUT;  // Nothing is read while output is queued.
  return peer_closed_ ? 0 : EPOLLIN | EPOLLRDHUP;
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
  linger_timer_.Cancel();
  timer_.Cancel();
  resume_timer_.Cancel();
  if (stats_ != nullptr) stats_->OnClosed();
  if (watcher_ != nullptr) watcher_->FdClosing();  // close() below unregisters it.
  watcher_.reset();
  fd_.reset();
  on_close_(this);
}

}  // namespace epollhttp
