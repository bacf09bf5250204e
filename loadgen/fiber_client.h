// fiber_client.h: a cpp-httplib client whose socket waits suspend the
// calling fiber (loadgen/fiber.h) instead of blocking its thread, so one
// thread can run many clients. Outside a fiber it blocks in poll(), like
// cpp-httplib's own client.
//
// It replaces two steps of httplib::ClientImpl: connecting (non-blocking
// connect with TCP_NODELAY; the address is resolved once and reused) and the
// stream a request is written to and its response read from (buffered
// non-blocking recv/send; waits only after EAGAIN, except that the first
// read after a request waits for the response at once when epoll has not
// reported input since the socket was last found empty). A status line
// longer than 1 KiB is a read error (cpp-httplib's std::regex would need more
// stack than a fiber has). Everything else:
// request formatting, response parsing, keep-alive, content providers, is
// cpp-httplib's.
//
// With a TlsContext it speaks TLS (loadgen/tls.h): the handshake follows the
// connect, waits suspend the fiber as for TCP, and the client keeps its
// server's last session to resume on its next connection. A failed handshake
// is Error::SSLServerVerification (the certificate) or Error::SSLConnection
// (anything else, a timeout included), with the reason in tls_error().
//
// With a RequestTrace (set_trace()), the client also times each request's
// phases (loadgen/phases.h), can hold a body back until the server's
// 100 Continue (AwaitContinue()), notices a final answer that arrives while
// the body is still being sent (an early 413 stops the upload, as curl does),
// and tells a protocol fault (cpp-httplib gave up on bytes the socket
// delivered fine, or bytes followed a response) from a transport failure.
//
// Thread safety: as httplib::ClientImpl; used by one fiber (or thread) at a
// time, on the thread of the scheduler it runs under.
#ifndef EPOLLHTTP_LOADGEN_FIBER_CLIENT_H_
#define EPOLLHTTP_LOADGEN_FIBER_CLIENT_H_

#include <sys/socket.h>

#include <chrono>
#include <functional>
#include <string>

#include "httplib.h"
#include "loadgen/fiber.h"
#include "loadgen/phases.h"
#include "loadgen/tls.h"

namespace epollhttp::loadgen {

class FiberStream;

// RequestTrace is what one request's stream records beyond cpp-httplib's
// result. The caller calls Start() before each request and reads it after.
struct RequestTrace {
  PhaseMarks marks;
  // A final status (>= 200 while waiting for 100 Continue, >= 300 while the
  // body was being sent) that arrived before the body was all sent: the
  // upload stopped there, so cpp-httplib reports a write error or a cancel.
  int early_status = 0;
  // A socket read or write failed: end of stream, an error, a timeout, or a
  // status line over 1 KiB. When cpp-httplib fails a read without this, the
  // bytes themselves were at fault: a protocol error.
  bool stream_failed = false;
  // Bytes arrived after the response ended (before the next request).
  bool bytes_after_response = false;

  void Start() {
    marks.Start();
    early_status = 0;
    stream_failed = false;
    bytes_after_response = false;
  }
};

class FiberClient : public httplib::ClientImpl {
 public:
  // `host` is a name or address (IPv6 in brackets or bare); `timeout` bounds
  // connecting, the TLS handshake and each wait for a read or write. `tls`
  // (not owned; null: plain HTTP) must outlive the client.
  FiberClient(const std::string& host, int port, std::chrono::milliseconds timeout,
              const TlsContext* tls = nullptr);
  ~FiberClient() override;

  // ResolveOnce() looks `host` up now (rather than at the first connect, in
  // the middle of a run); false if it has no address, in which case each
  // connect tries again and fails with Error::Connection.
  bool ResolveOnce() { return Resolve(); }

  // tls_error() is the reason the last TLS handshake failed, in words.
  [[nodiscard]] const std::string& tls_error() const { return tls_error_; }
  // tls_handshakes() counts completed handshakes, tls_resumed() those that
  // resumed an earlier session.
  [[nodiscard]] int64_t tls_handshakes() const { return tls_handshakes_; }
  [[nodiscard]] int64_t tls_resumed() const { return tls_resumed_; }

  // set_trace() makes every request record into `trace` (not owned; null:
  // nothing is recorded). Set it between requests.
  void set_trace(RequestTrace* trace) { trace_ = trace; }

  // AwaitContinue() is for a request sent with Expect: 100-continue, called
  // (from its content provider) before the first body byte: it waits until
  // the server's 100 Continue (true), a final answer (false, with the
  // status in the trace's early_status), the end of the connection (false)
  // or `timeout`, after which the body goes anyway (true), as curl does.
  // Interim answers other than 100 are skipped. True outside a request.
  bool AwaitContinue(std::chrono::milliseconds timeout);

 protected:
  // Connect failures are Error::Connection; an expired timeout is
  // Error::ConnectionTimeout.
  bool create_and_connect_socket(Socket& socket, httplib::Error& error) override;
  // Sends close_notify (when graceful) and drops the TLS state.
  void shutdown_ssl(Socket& socket, bool shutdown_gracefully) override;

 private:
  bool process_socket(const Socket& socket,
                      std::function<bool(httplib::Stream& strm)> callback) override;
  // Resolve() fills address_ on first use; false if the host has no address.
  bool Resolve();
  // Handshake() runs the TLS handshake on connected `fd`; false (with
  // `error` and tls_error_ set) if it fails.
  bool Handshake(int fd, FiberScheduler* fibers, httplib::Error& error);

  std::string resolve_host_;  // Without IPv6 brackets.
  int connect_port_;
  std::chrono::milliseconds timeout_;
  bool resolved_ = false;
  sockaddr_storage address_{};
  socklen_t address_size_ = 0;
  const TlsContext* tls_;
  std::unique_ptr<TlsConnection> tls_connection_;  // The open socket's.
  TlsSessionCache sessions_;
  std::string tls_error_;
  RequestTrace* trace_ = nullptr;
  FiberStream* stream_ = nullptr;  // The request in progress, during process_socket().
  int64_t tls_handshakes_ = 0;
  int64_t tls_resumed_ = 0;
};

}  // namespace epollhttp::loadgen

#endif  // EPOLLHTTP_LOADGEN_FIBER_CLIENT_H_
