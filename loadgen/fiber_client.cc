#include "loadgen/fiber_client.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/string_view.h"
#include "loadgen/fiber.h"
#include "loadgen/tls.h"

namespace epollhttp::loadgen {
namespace {

using Clock = FiberScheduler::Clock;

// WaitFor() waits until `fd` may be ready for `poll_events` or `deadline`
// passes (false): through the fiber scheduler when there is one, else in
// poll().
bool WaitFor(FiberScheduler* fibers, int fd, short poll_events, Clock::time_point deadline) {
  if (fibers != nullptr) return fibers->WaitFd(fd, deadline);
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - Clock::now() + std::chrono::microseconds(999));
    if (left.count() <= 0) return false;
    pollfd p{fd, poll_events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1 << 30)));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return true;  // The caller's next call reports it.
  }
}

// WaitForTls() waits until `fd` may do what TLS asked for (`want` is
// kWantRead or kWantWrite), or `deadline` passes (false). A read wait first
// forgets the scheduler's readiness: TLS has just drained the socket.
bool WaitForTls(FiberScheduler* fibers, int fd, TlsIo want, Clock::time_point deadline) {
  if (want == TlsIo::kWantRead && fibers != nullptr) fibers->ClearReadable(fd);
  return WaitFor(fibers, fd, want == TlsIo::kWantRead ? POLLIN : POLLOUT, deadline);
}

void AddressOf(int fd, bool peer, std::string& ip, int& port) {
  sockaddr_storage addr{};
  socklen_t size = sizeof(addr);
  const int r = peer ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &size)
                     : ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &size);
  if (r != 0) return;
  char text[INET6_ADDRSTRLEN] = "";
  if (addr.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
    port = ntohs(in->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
    port = ntohs(in6->sin6_port);
  }
  ip = text;
}

// cpp-httplib matches a status line with std::regex, whose recursion takes
// about 350 bytes of stack per character of the line: a long reason phrase
// from a broken or hostile server would overflow a fiber's stack (or, ~20 KB
// later, a thread's). Longer status lines are a read error instead.
constexpr size_t kMaxStatusLine = 1024;

// StatusLineGuard follows the bytes of a response head and reports a status
// line longer than kMaxStatusLine: the first line, and the line after each
// 1xx interim response. It stops looking once a final response's head ends.
class StatusLineGuard {
 public:
  // Consume() returns false once a status line has grown too long.
  bool Consume(const char* data, size_t size) {
    for (size_t i = 0; i < size && state_ != State::kBody; ++i) {
      const char c = data[i];
      if (state_ == State::kStatusLine) {
        if (line_ < 12) code_[line_] = c;  // "HTTP/1.1 NNN" puts the code at 9..11.
        if (c == '\n') {
          interim_ = line_ >= 10 && code_[9] == '1';
          state_ = State::kHeaders;
          line_ = 0;
          continue;
        }
        if (++line_ > kMaxStatusLine) return false;
      } else if (c == '\n') {
        if (line_ == 0) state_ = interim_ ? State::kStatusLine : State::kBody;
        line_ = 0;
      } else if (c != '\r') {
        ++line_;
      }
    }
    return true;
  }

 private:
  enum class State { kStatusLine, kHeaders, kBody };
  State state_ = State::kStatusLine;
  size_t line_ = 0;  // Bytes of the current line so far (headers: without CR).
  char code_[12] = {};
  bool interim_ = false;
};

}  // namespace

// The stream of one request: non-blocking socket (or TLS, when `tls` is
// set) calls, waiting (in the fiber scheduler or poll) only when a call would
// block. Reads are buffered, because cpp-httplib reads a response's head one
// byte at a time.
class FiberStream final : public httplib::Stream {
 public:
  FiberStream(int fd, TlsConnection* tls, FiberScheduler* fibers, std::chrono::milliseconds timeout,
              RequestTrace* trace)
      : fd_(fd), tls_(tls), fibers_(fibers), timeout_(timeout), trace_(trace) {}

  // Finished() is called once cpp-httplib is done with the stream; `ok` is
  // its verdict. Bytes still buffered after a good response followed it.
  void Finished(bool ok) {
    if (ok && begin_ < end_ && trace_ != nullptr) trace_->bytes_after_response = true;
  }

  // AwaitContinue(): FiberClient::AwaitContinue() for this request.
  bool AwaitContinue(std::chrono::milliseconds timeout) {
    const Clock::time_point deadline = Clock::now() + timeout;
    while (true) {
      switch (BufferedAnswer(/*final_from=*/200)) {
        case Answer::kContinue: return true;
        case Answer::kFinal: return false;
        case Answer::kNone: break;
      }
      if (end_ - begin_ == sizeof(buffer_)) return true;  // No head fits: let cpp-httplib judge.
      // Input already reported may be read at once; otherwise wait for it.
      const bool reported = fibers_ != nullptr && fibers_->ReadableSeen(fd_);
      if (!reported && !WaitFor(fibers_, fd_, POLLIN, deadline)) return true;  // Send anyway.
      if (Peek() == PeekResult::kClosed) {
        Failed();
        return false;
      }
    }
  }

  bool is_readable() const override {
    // Only used by callers that then read(); read() itself waits.
    return true;
  }
  bool is_writable() const override { return true; }  // write() itself waits.

  ssize_t read(char* ptr, size_t size) override {
    if (!interim_dropped_) {
      interim_dropped_ = true;
      DropInterimHeads();
    }
    const ssize_t n = ReadSome(ptr, size);
    if (n > 0 && !guard_.Consume(ptr, static_cast<size_t>(n))) return Failed();
    if (n <= 0) Failed();
    return n;
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (trace_ != nullptr && !trace_->marks.sending()) trace_->marks.SendStarted(Clock::now());
    const ssize_t n = tls_ != nullptr ? WriteTls(ptr, size) : WriteTcp(ptr, size);
    if (n < 0) {
      // A server that answers early may close at once: its answer is read
      // before the error counts.
      if (trace_ != nullptr && Peek() != PeekResult::kClosed) (void)BufferedAnswer(300);
      return Failed();
    }
    if (trace_ != nullptr) trace_->marks.Wrote(Clock::now());
    return n;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    AddressOf(fd_, /*peer=*/true, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    AddressOf(fd_, /*peer=*/false, ip, port);
  }
  socket_t socket() const override { return fd_; }

 private:
  enum class Answer { kNone, kContinue, kFinal };
  enum class PeekResult { kData, kNothing, kClosed };

  // Failed() notes a failed socket read or write; returns -1.
  ssize_t Failed() {
    if (trace_ != nullptr) trace_->stream_failed = true;
    return -1;
  }

  ssize_t WriteTcp(const char* ptr, size_t size) {
    Clock::time_point deadline;  // Set when a wait is first needed.
    while (true) {
      const ssize_t n = ::send(fd_, ptr, size, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n >= 0) return n;
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
      if (deadline == Clock::time_point()) deadline = Clock::now() + timeout_;
      if (!WaitFor(fibers_, fd_, POLLOUT, deadline)) return -1;
      // While the server is not reading, look for an answer it sent early.
      if (trace_ != nullptr && fibers_ != nullptr && fibers_->ReadableSeen(fd_) &&
          Peek() != PeekResult::kClosed && BufferedAnswer(300) == Answer::kFinal) {
        return -1;
      }
    }
  }

  // Peek() reads what the socket holds, without waiting, onto the end of
  // the buffer (while it has room).
  PeekResult Peek() {
    if (begin_ > 0 && end_ == sizeof(buffer_)) {
      std::memmove(buffer_, buffer_ + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    const size_t room = sizeof(buffer_) - end_;
    if (room == 0) return PeekResult::kNothing;
    size_t n = 0;
    if (tls_ != nullptr) {
      switch (tls_->Read(buffer_ + end_, room, &n)) {
        case TlsIo::kDone: break;
        case TlsIo::kWantRead:
          if (fibers_ != nullptr) fibers_->ClearReadable(fd_);
          return PeekResult::kNothing;
        case TlsIo::kWantWrite: return PeekResult::kNothing;
        case TlsIo::kClosed:
        case TlsIo::kError: return PeekResult::kClosed;
      }
    } else {
      const ssize_t got = ::recv(fd_, buffer_ + end_, room, MSG_DONTWAIT);
      if (got == 0) return PeekResult::kClosed;
      if (got < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
          if (fibers_ != nullptr && errno != EINTR) fibers_->ClearReadable(fd_);
          return PeekResult::kNothing;
        }
        return PeekResult::kClosed;
      }
      n = static_cast<size_t>(got);
      if (fibers_ != nullptr && n < room) fibers_->ClearReadable(fd_);
    }
    end_ += n;
    if (trace_ != nullptr) trace_->marks.Read(Clock::now());
    return PeekResult::kData;
  }

  // DropInterimHeads() drops the 1xx interim responses at the front of the
  // response before cpp-httplib reads it: cpp-httplib knows only a
  // 100 Continue without fields, while a resumable-upload server sends 104s
  // with fields. It reads until a head's status code shows; a final answer,
  // bytes that are not a response, a head too long for the buffer, an error
  // or the end are left for cpp-httplib (and the status-line guard) to judge.
  void DropInterimHeads() {
    while (true) {
      const absl::string_view pending(buffer_ + begin_, end_ - begin_);
      if (pending.size() >= 10) {
        if (pending.substr(0, 7) != "HTTP/1." || pending[9] != '1') return;
        const size_t head_end = pending.find("\r\n\r\n");
        if (head_end != absl::string_view::npos) {
          begin_ += head_end + 4;
          continue;
        }
      }
      if (begin_ > 0) {
        std::memmove(buffer_, buffer_ + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
      }
      if (end_ == sizeof(buffer_)) return;
      const ssize_t n = Receive(buffer_ + end_, sizeof(buffer_) - end_);
      if (n <= 0) return;
      end_ += static_cast<size_t>(n);
    }
  }

  // BufferedAnswer() looks at the complete response heads at the front of
  // the buffer: a 100 Continue (or other interim answer) is consumed; a
  // final status of at least `final_from` is noted as the trace's
  // early_status (and left for cpp-httplib to read).
  Answer BufferedAnswer(int final_from) {
    while (true) {
      const absl::string_view pending(buffer_ + begin_, end_ - begin_);
      const size_t head_end = pending.find("\r\n\r\n");
      // "HTTP/1.x NNN": the status code is at 9..11.
      if (head_end == absl::string_view::npos || head_end < 12 ||
          pending.substr(0, 7) != "HTTP/1." || pending[8] != ' ') {
        return Answer::kNone;
      }
      int code = 0;
      for (size_t i = 9; i < 12; ++i) {
        if (pending[i] < '0' || pending[i] > '9') return Answer::kNone;
        code = code * 10 + (pending[i] - '0');
      }
      if (code >= 200) {
        if (code < final_from) return Answer::kNone;
        if (trace_ != nullptr) trace_->early_status = code;
        return Answer::kFinal;
      }
      begin_ += head_end + 4;  // An interim answer: cpp-httplib need not see it.
      if (code == 100) return Answer::kContinue;
    }
  }

  ssize_t ReadSome(char* ptr, size_t size) {
    if (begin_ < end_) {
      if (size == 1) {  // cpp-httplib reads a response head byte by byte.
        *ptr = buffer_[begin_++];
        return 1;
      }
      return TakeBuffered(ptr, size);
    }
    if (size >= sizeof(buffer_)) return Receive(ptr, size);
    const ssize_t n = Receive(buffer_, sizeof(buffer_));
    if (n <= 0) return n;
    begin_ = 0;
    end_ = static_cast<size_t>(n);
    return TakeBuffered(ptr, size);
  }

  ssize_t TakeBuffered(char* ptr, size_t size) {
    const size_t n = std::min(size, end_ - begin_);
    std::memcpy(ptr, buffer_ + begin_, n);
    begin_ += n;
    return static_cast<ssize_t>(n);
  }

  // Receive() is one recv() of up to `size` bytes, waiting as needed: 0 at
  // end of stream, -1 on error or timeout.
  ssize_t Receive(char* into, size_t size) {
    // The timeout runs from the call: a response must start (or continue)
    // within it.
    const Clock::time_point deadline = Clock::now() + timeout_;
    if (tls_ != nullptr) return ReceiveTls(into, size, deadline);
    // Wait before the first recv() unless epoll has reported input that may
    // still be unread: a response is rarely there the moment after its
    // request was written, and an unreported arrival keeps its edge pending.
    bool try_first = fibers_ == nullptr || fibers_->ReadableSeen(fd_);
    while (true) {
      if (!try_first && !WaitFor(fibers_, fd_, POLLIN, deadline)) return -1;
      try_first = false;
      const ssize_t n = ::recv(fd_, into, size, MSG_DONTWAIT);
      if (n >= 0) {
        // A short read emptied the socket: later input reports a new edge.
        if (fibers_ != nullptr && static_cast<size_t>(n) < size) fibers_->ClearReadable(fd_);
        if (n > 0) MarkRead();
        return n;
      }
      if (errno == EINTR) {
        try_first = true;
        continue;
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
      if (fibers_ != nullptr) fibers_->ClearReadable(fd_);
    }
  }

  // ReceiveTls() is Receive() through TLS: the record layer decides when
  // the socket is read, so it reads first and waits on "would block".
  ssize_t ReceiveTls(char* into, size_t size, Clock::time_point deadline) {
    while (true) {
      size_t n = 0;
      switch (const TlsIo io = tls_->Read(into, size, &n)) {
        case TlsIo::kDone:
          if (n > 0) MarkRead();
          return static_cast<ssize_t>(n);
        case TlsIo::kClosed: return 0;
        case TlsIo::kWantRead:
        case TlsIo::kWantWrite:  // A write: a key update or renegotiation.
          if (!WaitForTls(fibers_, fd_, io, deadline)) return -1;
          break;
        case TlsIo::kError: return -1;
      }
    }
  }

  ssize_t WriteTls(const char* ptr, size_t size) {
    const Clock::time_point deadline = Clock::now() + timeout_;
    while (true) {
      size_t n = 0;
      switch (const TlsIo io = tls_->Write(ptr, size, &n)) {
        case TlsIo::kDone: return static_cast<ssize_t>(n);
        case TlsIo::kWantWrite:
        case TlsIo::kWantRead:
          if (!WaitForTls(fibers_, fd_, io, deadline)) return -1;
          break;
        case TlsIo::kClosed:
        case TlsIo::kError: return -1;
      }
    }
  }

  void MarkRead() {
    if (trace_ != nullptr && trace_->marks.needs_first_byte()) trace_->marks.Read(Clock::now());
  }

  const int fd_;
  TlsConnection* const tls_;  // Null: plain TCP.
  FiberScheduler* const fibers_;
  const std::chrono::milliseconds timeout_;
  RequestTrace* const trace_;  // Null: not traced.
  StatusLineGuard guard_;
  bool interim_dropped_ = false;  // DropInterimHeads() ran.
  char buffer_[16 * 1024];
  size_t begin_ = 0;
  size_t end_ = 0;
};

FiberClient::FiberClient(const std::string& host, int port, std::chrono::milliseconds timeout,
                         const TlsContext* tls)
    : httplib::ClientImpl(host, port), connect_port_(port), timeout_(timeout), tls_(tls) {
  resolve_host_ = host;
  if (resolve_host_.size() >= 2 && resolve_host_.front() == '[' && resolve_host_.back() == ']') {
    resolve_host_ = resolve_host_.substr(1, resolve_host_.size() - 2);
  }
}

bool FiberClient::Resolve() {
  if (resolved_) return true;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* result = nullptr;
  const std::string service = std::to_string(connect_port_);
  if (::getaddrinfo(resolve_host_.c_str(), service.c_str(), &hints, &result) != 0 ||
      result == nullptr) {
    return false;
  }
  std::memcpy(&address_, result->ai_addr, result->ai_addrlen);
  address_size_ = result->ai_addrlen;
  ::freeaddrinfo(result);
  resolved_ = true;
  return true;
}

FiberClient::~FiberClient() = default;

bool FiberClient::create_and_connect_socket(Socket& socket, httplib::Error& error) {
  tls_connection_.reset();  // Its socket is closed already.
  if (trace_ != nullptr) trace_->marks.ConnectStarted(Clock::now());
  if (!Resolve()) {
    error = httplib::Error::Connection;
    return false;
  }
  const int fd = ::socket(address_.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = httplib::Error::Connection;
    return false;
  }
  FiberScheduler* fibers = FiberScheduler::Current();
  if (fibers != nullptr) fibers->NewFd(fd);
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address_), address_size_) != 0) {
    if (errno != EINPROGRESS) {
      ::close(fd);
      error = httplib::Error::Connection;
      return false;
    }
    if (!WaitFor(fibers, fd, POLLOUT, Clock::now() + timeout_)) {
      ::close(fd);
      error = httplib::Error::ConnectionTimeout;
      return false;
    }
    int so_error = 0;
    socklen_t size = sizeof(so_error);
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &size) != 0 || so_error != 0) {
      ::close(fd);
      error = httplib::Error::Connection;
      return false;
    }
  }
  if (trace_ != nullptr) trace_->marks.ConnectDone(Clock::now());
  if (tls_ != nullptr) {
    if (trace_ != nullptr) trace_->marks.TlsStarted(Clock::now());
    if (!Handshake(fd, fibers, error)) {
      tls_connection_.reset();
      ::close(fd);
      return false;
    }
    if (trace_ != nullptr) trace_->marks.TlsDone(Clock::now());
  }
  socket.sock = fd;
  return true;
}

bool FiberClient::Handshake(int fd, FiberScheduler* fibers, httplib::Error& error) {
  tls_connection_ = std::make_unique<TlsConnection>(*tls_, fd, resolve_host_, &sessions_);
  const Clock::time_point deadline = Clock::now() + timeout_;
  while (true) {
    const TlsIo io = tls_connection_->Handshake();
    if (io == TlsIo::kDone) {
      ++tls_handshakes_;
      if (tls_connection_->resumed()) ++tls_resumed_;
      return true;
    }
    if (io == TlsIo::kWantRead || io == TlsIo::kWantWrite) {
      if (!WaitForTls(fibers, fd, io, deadline)) {
        error = httplib::Error::SSLConnection;
        tls_error_ = "the TLS handshake timed out";
        return false;
      }
      continue;
    }
    error = tls_connection_->verify_failed() ? httplib::Error::SSLServerVerification
                                             : httplib::Error::SSLConnection;
    tls_error_ = tls_connection_->error();
    return false;
  }
}

void FiberClient::shutdown_ssl(Socket& socket, bool shutdown_gracefully) {
  (void)socket;
  if (tls_connection_ == nullptr) return;
  if (shutdown_gracefully) tls_connection_->Shutdown();
  tls_connection_.reset();
}

bool FiberClient::process_socket(const Socket& socket,
                                 std::function<bool(httplib::Stream& strm)> callback) {
  FiberStream stream(socket.sock, tls_connection_.get(), FiberScheduler::Current(), timeout_,
                     trace_);
  stream_ = &stream;
  const bool ok = callback(stream);
  stream_ = nullptr;
  stream.Finished(ok);
  return ok;
}

bool FiberClient::AwaitContinue(std::chrono::milliseconds timeout) {
  return stream_ == nullptr || stream_->AwaitContinue(timeout);
}

}  // namespace epollhttp::loadgen
