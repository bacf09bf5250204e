// http_session.h: the per-connection HTTP/1.1 state machine, with no I/O.
//
// The connection feeds it the bytes it has received and not yet had consumed;
// the session parses requests, streams and discards their bodies, and appends
// the responses (in request order) to an output string. Keeping it free of
// sockets lets tests and the connection fuzzer drive it over memory.
//
// Every request gets `200 OK` with the tutorial's body and
// `X-Received-Body-Bytes: N` once its whole body has been read; HEAD gets the
// headers only. Two paths are special for GET and HEAD when the server wires
// them up: `/metrics` (Prometheus text, see metrics.h) and `/healthz` (`ok`).
// A session on the admin listener serves only those two and answers 404 to
// everything else.
// A parse error gets its status (see StatusFor) with `Connection: close`,
// after which the session reads no more requests.
//
// Thread safety: one session per connection, used by one thread at a time.
#ifndef EPOLLHTTP_SERVER_HTTP_SESSION_H_
#define EPOLLHTTP_SERVER_HTTP_SESSION_H_

#include <chrono>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "server/access_log.h"
#include "server/http/body_reader.h"
#include "server/http/request_parser.h"
#include "server/metrics.h"

namespace epollhttp {

inline constexpr absl::string_view kHelloBody = "Hello! I am an epoll server.";

struct SessionOptions {
  http::RequestParserOptions parser;
  http::BodyReaderOptions body;
  // Optional, not owned, used on the session's thread: this loop's counters,
  // the registry rendered at GET /metrics (absent: /metrics is an ordinary
  // path), and this loop's access log (absent: no logging).
  WorkerStats* stats = nullptr;
  const Metrics* metrics = nullptr;
  AccessLog* access_log = nullptr;
  // Whether GET/HEAD /healthz answers `ok` (off on the public listener when
  // an admin listener serves it).
  bool health = true;
  // An admin session: /metrics and /healthz only, 404 for anything else.
  bool admin = false;
};

// Limits on the work of one HttpSession::OnInput() call. The session checks
// them before it starts each request, so queued output never grows past
// `max_output` by more than one response.
struct SessionBudget {
  size_t max_output = SIZE_MAX;  // Stop once *output holds this many bytes.
  int max_responses = INT_MAX;   // Stop after answering this many requests.
};

class HttpSession {
 public:
  explicit HttpSession(const SessionOptions& options = {});

  // OnInput() processes `input`: the bytes received and not yet consumed, in
  // order (unconsumed bytes must be offered again, followed by new ones).
  // Appends responses (and `100 Continue` when asked) to `*output`. Returns
  // how many bytes of `input` were consumed. Before starting each request it
  // checks `budget`; when that is spent it stops with the request unconsumed
  // and yielded() is true until the next call. Once closing(), consumes and
  // ignores everything.
  size_t OnInput(absl::string_view input, std::string* output, SessionBudget budget = {});

  // yielded() is true when the last OnInput() stopped because its budget was
  // spent (not because it needed more input).
  [[nodiscard]] bool yielded() const { return yielded_; }

  // body_bytes() is how many body bytes of the current request have been
  // received (read or skipped) so far.
  [[nodiscard]] int64_t body_bytes() const { return body_.received(); }

  // StartDraining() makes the next response the last one (Connection: close),
  // for graceful shutdown.
  void StartDraining() { draining_ = true; }

  // SkippableBodyBytes() is how many bytes the connection may discard unread
  // (e.g. with recv(MSG_TRUNC)) because they can only be the rest of the
  // current Content-Length body; 0 otherwise. Valid only when every byte
  // received so far has been consumed.
  [[nodiscard]] int64_t SkippableBodyBytes() const {
    return state_ == State::kBody ? body_.skippable() : 0;
  }

  // OnBodySkipped() accounts for `n` (1..SkippableBodyBytes()) discarded body
  // bytes as OnInput() would have, appending the response if the body ended.
  void OnBodySkipped(int64_t n, std::string* output);

  // error_response() is true once an error response (which closes) is queued:
  // the client may still be sending, so the connection lingers.
  [[nodiscard]] bool error_response() const { return error_response_; }

  // OnHeaderTimeout() answers 408 with Connection: close when a request head
  // is partly received (then closing() is true); otherwise does nothing.
  void OnHeaderTimeout(std::string* output);

  // set_peer() names the client ("address:port") for the access log.
  void set_peer(std::string peer) {
    if (log_ != nullptr) log_->peer = std::move(peer);
  }

  enum class Phase : uint8_t {
    kIdle,     // Between requests: no byte of the next request yet.
    kHead,     // A request head is partly received.
    kBody,     // Reading a request body.
    kClosed,   // A closing response is queued; input is ignored.
  };
  [[nodiscard]] Phase phase() const;

  // closing() is true once a response that closes the connection is queued.
  [[nodiscard]] bool closing() const { return closing_; }
  // idle() is true between requests (no request partly received).
  [[nodiscard]] bool idle() const { return state_ == State::kHead && !head_started_; }
  // requests() counts responses queued so far (errors included).
  [[nodiscard]] int64_t responses() const { return responses_; }

 private:
  enum class State : uint8_t { kHead, kBody, kClosed };
  enum class Route : uint8_t { kHello, kMetrics, kHealth, kNotFound };

  void OnHeadComplete(const http::RequestHead& head);
  void Respond(std::string* output);
  void RespondError(http::ParseError error, std::string* output);
  void Log(int status);

  SessionOptions options_;
  http::RequestParser parser_;
  http::BodyReader body_;
  State state_ = State::kHead;
  bool head_started_ = false;
  bool head_parsed_ = false;  // The current request's head is complete.
  bool is_head_ = false;
  Route route_ = Route::kHello;
  // Access log only (allocated when logging, to keep idle connections small):
  // the request line, copied (the head's views die with the input buffer),
  // and when its first byte arrived.
  struct LogState {
    std::string method;
    std::string target;
    absl::string_view version;
    std::chrono::steady_clock::time_point started;
    std::string peer;
  };
  std::unique_ptr<LogState> log_;
  bool keep_alive_ = true;
  bool draining_ = false;
  bool closing_ = false;
  bool error_response_ = false;
  bool yielded_ = false;
  int64_t responses_ = 0;
};

}  // namespace epollhttp

#endif  // EPOLLHTTP_SERVER_HTTP_SESSION_H_
