#include "testing/fake_transport.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace epollhttp::test {

void FakeTransport::Reset() {
  inbox_.clear();
  inbox_read_ = 0;
  written_.clear();
  read_limit_ = write_limit_ = window_ = kUnlimited;
  peer_closed_ = reset_ = closed_ = write_shut_ = held_ = nodelay_ = watching_ = false;
  events_ = 0;
  callback_ = nullptr;
  bytes_read_ = bytes_discarded_ = reads_ = writes_ = after_close_ = 0;
  writes_after_shutdown_ = fin_writes_ = held_waits_ = spliced_ = 0;
}

void FakeTransport::PeerSend(absl::string_view bytes) {
  if (inbox_read_ == inbox_.size()) {
    inbox_.clear();
    inbox_read_ = 0;
  }
  inbox_.append(bytes.data(), bytes.size());
}

std::string FakeTransport::TakeWritten() {
  std::string out;
  out.swap(written_);
  return out;
}

void FakeTransport::MoveWrittenTo(std::string* out) {
  out->append(written_);
  written_.clear();
}

uint32_t FakeTransport::ReadyEvents() const {
  if (closed_ || !watching_) return 0;
  uint32_t ready = 0;
  if (reset_) ready |= EPOLLERR | EPOLLHUP | EPOLLIN | EPOLLRDHUP;
  if (inbox_read_ < inbox_.size() || peer_closed_) ready |= EPOLLIN;
  if (peer_closed_) ready |= EPOLLRDHUP;
  if (peer_closed_ && write_shut_) ready |= EPOLLHUP;
  if (reset_ || window_ > 0) ready |= EPOLLOUT;
  // EPOLLHUP and EPOLLERR are reported whether watched or not.
  return ready & (events_ | EPOLLHUP | EPOLLERR);
}

int FakeTransport::Pump(int max_calls) {
  // The connection is back in its loop: it waits for what it watches.
  if (!closed_) NoteEvents(events_);
  int calls = 0;
  while (calls < max_calls) {
    const uint32_t ready = ReadyEvents();
    if (ready == 0) break;
    ++calls;
    callback_(ready);
  }
  return calls;
}

ssize_t FakeTransport::Take(size_t n, char* out, int* error) {
  if (closed_) ++after_close_;
  if (reset_) {
    *error = ECONNRESET;
    return -1;
  }
  const size_t take = std::min({n, read_limit_, inbox_.size() - inbox_read_});
  if (take == 0) {
    if (peer_closed_ && n > 0) return 0;
    *error = EAGAIN;
    return -1;
  }
  if (out != nullptr) std::memcpy(out, inbox_.data() + inbox_read_, take);
  inbox_read_ += take;
  return static_cast<ssize_t>(take);
}

ssize_t FakeTransport::Read(absl::Span<char> buffer, int* error) {
  ++reads_;
  const ssize_t n = Take(buffer.size(), buffer.data(), error);
  if (n > 0) bytes_read_ += n;
  return n;
}

ssize_t FakeTransport::Discard(size_t n, int* error) {
  ++reads_;
  const ssize_t got = Take(n, nullptr, error);
  if (got > 0) bytes_discarded_ += got;
  return got;
}

ssize_t FakeTransport::Write(absl::string_view data, net::Push push, int* error) {
  ++writes_;
  if (push == net::Push::kWithFin) ++fin_writes_;
  if (closed_) ++after_close_;
  if (write_shut_) ++writes_after_shutdown_;
  if (reset_) {
    *error = EPIPE;
    return -1;
  }
  const size_t take = std::min({data.size(), write_limit_, window_});
  if (take == 0 && !data.empty()) {
    *error = EAGAIN;
    return -1;
  }
  written_.append(data.data(), take);
  if (window_ != kUnlimited) window_ -= take;
  if (take > 0) held_ = push == net::Push::kWithFin;  // A kNow write pushes everything.
  return static_cast<ssize_t>(take);
}

ssize_t FakeTransport::Splice(int pipe_fd, size_t count, int* error) {
  // As splice(2) into a socket: only what the peer takes leaves the pipe.
  if (reset_) {
    *error = EPIPE;
    return -1;
  }
  std::string bytes(std::min({count, write_limit_, window_, size_t{1} << 20}), '\0');
  if (bytes.empty() && count > 0) {
    *error = EAGAIN;
    return -1;
  }
  const ssize_t got = ::read(pipe_fd, bytes.data(), bytes.size());
  if (got < 0) {
    *error = errno;
    return -1;
  }
  if (got == 0) return 0;
  ++spliced_;
  bytes.resize(static_cast<size_t>(got));
  return Write(bytes, net::Push::kNow, error);
}

void FakeTransport::ShutdownWrite() {
  if (closed_) ++after_close_;
  write_shut_ = true;
  held_ = false;  // The FIN takes the held bytes with it.
}

void FakeTransport::NoteEvents(uint32_t events) {
  if (held_ && (events & EPOLLIN) != 0) ++held_waits_;
}

bool FakeTransport::Watch(uint32_t events, ReadyCallback callback) {
  if (closed_) ++after_close_;
  watching_ = true;
  events_ = events;
  NoteEvents(events);
  callback_ = std::move(callback);
  return true;
}

bool FakeTransport::SetEvents(uint32_t events) {
  if (closed_) ++after_close_;
  events_ = events;
  NoteEvents(events);
  return true;
}

void FakeTransport::Close() {
  if (closed_) ++after_close_;
  closed_ = true;
  held_ = false;
  watching_ = false;  // The callback may be running: it is kept, never called again.
}

}  // namespace epollhttp::test
