// http_session.h: the per-connection HTTP/1.1 state machine, with no I/O.
//
// The connection feeds it the bytes it has received and not yet had consumed;
// the session parses requests, streams and discards their bodies, and appends
// the responses (in request order) to an output string. Keeping it free of
// sockets lets tests and the connection fuzzer drive it over memory.
//
// Every request gets `200 OK` with the tutorial's body and
// `X-Received-Body-Bytes: N` once its whole body has been read; HEAD gets the
// headers only. A parse error gets its status (see StatusFor) with
// `Connection: close`, after which the session reads no more requests.
//
// Thread safety: one session per connection, used by one thread at a time.
#ifndef EPOLLHTTP_SERVER_HTTP_SESSION_H_
#define EPOLLHTTP_SERVER_HTTP_SESSION_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "server/http/body_reader.h"
#include "server/http/request_parser.h"

namespace epollhttp {

inline constexpr absl::string_view kHelloBody = "Hello! I am an epoll server.";

struct SessionOptions {
  http::RequestParserOptions parser;
  http::BodyReaderOptions body;
};

class HttpSession {
 public:
  explicit HttpSession(const SessionOptions& options = {});

  // OnInput() processes `input`: the bytes received and not yet consumed, in
  // order (unconsumed bytes must be offered again, followed by new ones).
  // Appends responses (and `100 Continue` when asked) to `*output`. Returns
  // how many bytes of `input` were consumed. Once closing(), consumes and
  // ignores everything.
  size_t OnInput(absl::string_view input, std::string* output);

  // StartDraining() makes the next response the last one (Connection: close),
  // for graceful shutdown.
  void StartDraining() { draining_ = true; }

  // closing() is true once a response that closes the connection is queued.
  [[nodiscard]] bool closing() const { return closing_; }
  // idle() is true between requests (no request partly received).
  [[nodiscard]] bool idle() const { return state_ == State::kHead && !head_started_; }
  // requests() counts responses queued so far (errors included).
  [[nodiscard]] int64_t responses() const { return responses_; }

 private:
  enum class State : uint8_t { kHead, kBody, kClosed };

  void Respond(std::string* output);
  void RespondError(http::ParseError error, std::string* output);

  SessionOptions options_;
  http::RequestParser parser_;
  http::BodyReader body_;
  State state_ = State::kHead;
  bool head_started_ = false;
  bool is_head_ = false;
  bool keep_alive_ = true;
  bool draining_ = false;
  bool closing_ = false;
  int64_t responses_ = 0;
};

}  // namespace epollhttp

#endif  // EPOLLHTTP_SERVER_HTTP_SESSION_H_
