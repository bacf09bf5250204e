// handler.h: the seam between the HTTP/1.1 server codec (codec.h) and the
// application, and the observer interface through which counters and logs
// watch the codec.
//
// For each request the codec asks its Router for a Handler, then calls
// OnHead() once the head has parsed, OnBody() as body bytes arrive (only if
// OnHead() asked for them), and OnComplete() once the whole body has arrived.
// OnComplete() answers through a ResponseWriter, which takes the status,
// content type, extra fields and body; the codec adds the framing
// (Content-Length, Connection) and leaves out the body for HEAD. A handler
// that does not need the body says so, and the codec may then drop those
// bytes unread (in the kernel, with the socket transport).
//
// Handlers are shared by every connection on every loop, so their methods are
// const; per-request state, if a handler needs any, lives in
// `Request::state`, which the codec frees after the response.
//
// Thread safety: handler methods may run on several loop threads at once
// (each call for one request); observers are called on the thread that owns
// the codec.
#ifndef EPOLLHTTP_SERVER_HTTP_HANDLER_H_
#define EPOLLHTTP_SERVER_HTTP_HANDLER_H_

#include <cstdint>
#include <memory>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "server/http/request_parser.h"

namespace epollhttp::http {

// One response header field a handler adds (after Content-Length).
struct ResponseField {
  absl::string_view name;
  absl::string_view value;
};

struct Response {
  int status = 200;  // 100..999; the reason phrase is the codec's.
  absl::string_view content_type = "text/plain";
  absl::Span<const ResponseField> fields;
  absl::string_view body;
};

// ResponseWriter is how a handler answers: exactly one Write() per request.
class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;
  // Write() queues `response` (its views are copied before it returns).
  virtual void Write(const Response& response) = 0;
};

// Per-request state a handler may attach to a request.
class RequestState {
 public:
  virtual ~RequestState() = default;
};

// The request being served, as far as it is known.
struct Request {
  Method method = Method::kGet;
  Version version = Version::kHttp11;
  int64_t body_bytes = 0;               // Body bytes received so far (read or dropped).
  std::unique_ptr<RequestState> state;  // The handler's; null unless it sets one.
};

enum class BodyMode : uint8_t {
  kDiscard,  // The handler does not need the bytes (only their count).
  kRead,     // OnBody() gets every body byte, in order.
};

class Handler {
 public:
  virtual ~Handler() = default;
  // OnHead() sees the parsed head (its views are valid during the call only)
  // and says whether the body's bytes are needed.
  virtual BodyMode OnHead(const RequestHead& /*head*/, Request& /*request*/) const {
    return BodyMode::kDiscard;
  }
  // OnBody() gets body bytes as they arrive (kRead only; chunk framing
  // removed).
  virtual void OnBody(absl::string_view /*data*/, Request& /*request*/) const {}
  // OnComplete() runs once the whole body has arrived; it must Write()
  // exactly one response (the codec answers 500 if it writes none).
  virtual void OnComplete(Request& request, ResponseWriter& writer) const = 0;
};

// CodecObserver watches one codec's traffic; every method has an empty
// default. Thread safety: called on the codec's thread.
class CodecObserver {
 public:
  virtual ~CodecObserver() = default;
  // OnRequestStart(): the first byte of a request head arrived.
  virtual void OnRequestStart() {}
  // OnRequestHead(): a head parsed; its views are valid during the call only.
  virtual void OnRequestHead(const RequestHead& /*head*/) {}
  // OnBodyBytes(): `n` more body bytes arrived (read or dropped unread).
  virtual void OnBodyBytes(int64_t /*n*/) {}
  // OnResponse(): a response was queued. `parse_error` is true when it
  // refuses a request that did not parse (or timed out mid-head: 408, with
  // `parse_error` false); `body_bytes` is that request's body so far.
  virtual void OnResponse(int /*status*/, bool /*parse_error*/, int64_t /*body_bytes*/) {}
};

}  // namespace epollhttp::http

#endif  // EPOLLHTTP_SERVER_HTTP_HANDLER_H_
