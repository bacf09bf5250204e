#include "server/connection_io.h"

#include <fcntl.h>
#include <sys/epoll.h>

#include <algorithm>
#include <cerrno>

namespace epollhttp {

ssize_t ConnectionIo::Read(absl::Span<char> buffer, int* error) {
  const ssize_t n = transport_->Read(buffer, error);
  transport_empty_ = n < 0 ? *error == EAGAIN : static_cast<size_t>(n) < buffer.size();
  return n;
}

ssize_t ConnectionIo::Discard(size_t n, int* error) {
  const ssize_t got = transport_->Discard(n, error);
  transport_empty_ = got < 0 ? *error == EAGAIN : static_cast<size_t>(got) < n;
  return got;
}

net::Buffer* ConnectionIo::Queue() {
  if (output_ == nullptr) output_ = std::make_unique<Output>();
  return &output_->queue;
}

ssize_t ConnectionIo::Write(absl::string_view data, bool last, int* error) {
  if (writes_ == 1) {
    transport_->SetNoDelay();
    writes_ = 2;
  }
  // The last bytes the connection writes may wait for its FIN, which the
  // caller sends as soon as they are all written.
  const ssize_t n = transport_->Write(data, last ? net::Push::kWithFin : net::Push::kNow, error);
  if (n >= 0 && writes_ == 0) writes_ = 1;
  return n;
}

int ConnectionIo::QueuePipe(int fd, int64_t length) {
  if (!transport_->splices()) return -ENOSYS;
  if (length <= 0) return 0;
  net::Buffer* queue = Queue();
  std::unique_ptr<PipeBytes>& pipe = output_->pipe;
  if (pipe != nullptr) {
    if (fd != pipe->source || queue->size() != pipe->before) return -EBUSY;
    pipe->left += length;
    return 0;
  }
  const int own = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (own < 0) return -errno;
  pipe = std::make_unique<PipeBytes>(PipeBytes{Fd(own), fd, length, queue->size()});
  return 0;
}

ssize_t ConnectionIo::Flush(bool last, int* error) {
  ssize_t written = 0;
  while (has_queue()) {
    ssize_t n;
    std::unique_ptr<PipeBytes>& pipe = output_->pipe;
    if (pipe != nullptr && pipe->before == 0) {
      n = transport_->Splice(pipe->fd.get(),
                             static_cast<size_t>(std::min<int64_t>(pipe->left, 1 << 30)), error);
      if (n == 0) {  // The pipe ended before its bytes did.
        *error = EIO;
        return -1;
      }
      if (n > 0) {
        pipe->left -= n;
        if (pipe->left == 0) pipe.reset();
      }
    } else {
      net::Buffer& queue = output_->queue;
      absl::string_view bytes = queue.readable();
      if (pipe != nullptr) bytes = bytes.substr(0, pipe->before);
      n = Write(bytes, last && pipe == nullptr, error);
      if (n > 0) {
        queue.Consume(static_cast<size_t>(n));
        if (pipe != nullptr) pipe->before -= static_cast<size_t>(n);
      }
    }
    if (n < 0) {
      if (*error == EAGAIN || *error == EINTR) break;
      return -1;
    }
    written += n;
  }
  // The queue only ever holds what a write did not take: free it once empty.
  if (output_ != nullptr && !has_queue()) output_.reset();
  return written;
}

void ConnectionIo::StartLingering() {
  state_ = State::kLingering;
  transport_->ShutdownWrite();
  output_.reset();
}

void ConnectionIo::Close() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  output_.reset();
  transport_->Close();
}

uint32_t ConnectionIo::WantedEvents(bool want_read) const {
  switch (state_) {
    case State::kOpen:
      if (has_queue()) return EPOLLOUT;
      return want_read ? uint32_t{EPOLLIN | EPOLLRDHUP} : uint32_t{0};
    case State::kInputEnded: return has_queue() ? uint32_t{EPOLLOUT} : uint32_t{0};
    case State::kLingering: return EPOLLIN | EPOLLRDHUP;
    case State::kClosed: break;
  }
  return 0;
}

bool ConnectionIo::Watch(net::Transport::ReadyCallback callback, bool want_read) {
  events_ = WantedEvents(want_read);
  if (!transport_->Watch(events_, std::move(callback))) return false;
  watching_ = true;
  return true;
}

bool ConnectionIo::Update(bool want_read) {
  // Before Watch() there is nothing to update: Watch() registers with the
  // events wanted then.
  if (state_ == State::kClosed || !watching_) return true;
  const uint32_t events = WantedEvents(want_read);
  if (events == events_) return true;
  events_ = events;
  return transport_->SetEvents(events);
}

}  // namespace epollhttp
