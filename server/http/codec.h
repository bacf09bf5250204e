// codec.h: `ServerCodec`, the server side of HTTP/1.1 for one connection,
// over bytes: no sockets, no clock, no application.
//
// The connection feeds it the bytes it has received and not yet had consumed;
// the codec parses requests (RFC 9112 §2-§3), frames and streams their bodies
// (§6.3, §7.1), routes each to a Handler (handler.h) and queues the
// responses, in request order, in an output string:
// - keep-alive by version and Connection tokens; HTTP/1.0 keep-alive is
//   echoed; a response that ends the connection carries Connection: close;
// - `100 Continue` before a body the client waits to send (Expect:
//   100-continue with no body bytes yet);
// - a parse error gets its status (StatusFor) with Connection: close, after
//   which nothing more is read (error_response() tells the connection to
//   linger rather than close);
// - HEAD gets the handler's head fields and Content-Length, no body;
// - StartDraining() makes the next response the last.
// Work per call is bounded by a CodecBudget, checked before each request
// starts, so output and time per call stay bounded however many requests the
// input holds.
//
// Thread safety: one codec per connection, used by one thread at a time.
#ifndef EPOLLHTTP_SERVER_HTTP_CODEC_H_
#define EPOLLHTTP_SERVER_HTTP_CODEC_H_

#include <climits>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "server/http/body_reader.h"
#include "server/http/handler.h"
#include "server/http/request_parser.h"
#include "server/http/router.h"
#include "server/http/status.h"

namespace epollhttp::http {

struct CodecOptions {
  RequestParserOptions parser;
  BodyReaderOptions body;
};

// Limits on the work of one ServerCodec::OnInput() call, checked before each
// request starts: queued output exceeds `max_output` by at most one response.
struct CodecBudget {
  size_t max_output = SIZE_MAX;  // Stop once *output holds this many bytes.
  int max_responses = INT_MAX;   // Stop after answering this many requests.
};

class ServerCodec {
 public:
  // `router` must outlive the codec. `observer` (may be null, not owned) is
  // told about requests and responses.
  ServerCodec(const CodecOptions& options, const Router* router, CodecObserver* observer = nullptr);
  ServerCodec(const ServerCodec&) = delete;
  ServerCodec& operator=(const ServerCodec&) = delete;

  void set_observer(CodecObserver* observer) { observer_ = observer; }

  // Reset() makes the codec as new (for another connection), keeping its
  // buffers' capacity; `observer` as in the constructor.
  void Reset(CodecObserver* observer);

  // OnInput() processes `input`: the bytes received and not yet consumed, in
  // order (unconsumed bytes must be offered again, followed by new ones).
  // Appends responses (and `100 Continue` when asked) to `*output`. Returns
  // how many bytes of `input` were consumed. Before starting each request it
  // checks `budget`; when that is spent it stops with the request unconsumed
  // and yielded() is true until the next call. Once closing(), consumes and
  // ignores everything.
  size_t OnInput(absl::string_view input, std::string* output, CodecBudget budget = {});

  // yielded() is true when the last OnInput() stopped because its budget was
  // spent (not because it needed more input).
  [[nodiscard]] bool yielded() const { return yielded_; }

  // StartDraining() makes the next response the last one (Connection: close),
  // for graceful shutdown.
  void StartDraining() { draining_ = true; }

  // SkippableBodyBytes() is how many bytes the connection may drop unread
  // (e.g. with recv(MSG_TRUNC)) because they can only be the rest of the
  // current Content-Length body and its handler does not read bodies; 0
  // otherwise. Valid only when every byte received so far has been consumed.
  [[nodiscard]] int64_t SkippableBodyBytes() const {
    return state_ == State::kBody && body_mode_ == BodyMode::kDiscard ? body_.skippable() : 0;
  }

  // OnBodySkipped() accounts for `n` (1..SkippableBodyBytes()) dropped body
  // bytes as OnInput() would have, appending the response if the body ended.
  void OnBodySkipped(int64_t n, std::string* output);

  // OnHeaderTimeout() answers 408 with Connection: close when a request head
  // is partly received (then closing() is true); otherwise does nothing.
  void OnHeaderTimeout(std::string* output);

  enum class Phase : uint8_t {
    kIdle,    // Between requests: no byte of the next request yet.
    kHead,    // A request head is partly received.
    kBody,    // Reading a request body.
    kClosed,  // A closing response is queued; input is ignored.
  };
  [[nodiscard]] Phase phase() const;

  // closing() is true once a response that closes the connection is queued.
  [[nodiscard]] bool closing() const { return state_ == State::kClosed; }
  // error_response() is true once an error response (which closes) is queued:
  // the client may still be sending, so the connection should linger.
  [[nodiscard]] bool error_response() const { return error_response_; }
  // idle() is true between requests (no request partly received).
  [[nodiscard]] bool idle() const { return state_ == State::kHead && !head_started_; }
  // responses() counts responses queued so far (errors included).
  [[nodiscard]] int64_t responses() const { return responses_; }
  // body_bytes() is the current request's body bytes received so far.
  [[nodiscard]] int64_t body_bytes() const { return request_.body_bytes; }

 private:
  enum class State : uint8_t { kHead, kBody, kClosed };

  // Writer hands a handler's response to WriteResponse().
  class Writer final : public ResponseWriter {
   public:
    explicit Writer(ServerCodec* codec) : codec_(codec) {}
    void Write(const Response& response) override { codec_->WriteResponse(response); }

   private:
    ServerCodec* codec_;
  };

  void OnHeadComplete(const RequestHead& head);
  void AddBodyBytes(absl::string_view data, int64_t n);
  // Complete() asks the handler for its response and finishes the request.
  void Complete(std::string* output);
  void WriteResponse(const Response& response);
  void RespondError(ParseError error, std::string* output);

  CodecOptions options_;
  const Router* router_;
  CodecObserver* observer_;
  RequestParser parser_;
  BodyReader body_;
  Writer writer_{this};
  const Handler* handler_ = nullptr;
  Request request_;
  std::string* output_ = nullptr;  // Where WriteResponse() appends, during Complete().
  int status_ = 0;                 // Status written for the current request; 0: none.
  State state_ = State::kHead;
  BodyMode body_mode_ = BodyMode::kDiscard;
  bool head_started_ = false;
  bool head_parsed_ = false;  // The current request's head is complete.
  bool keep_alive_ = true;
  bool draining_ = false;
  bool error_response_ = false;
  bool yielded_ = false;
  int64_t responses_ = 0;
};

}  // namespace epollhttp::http

#endif  // EPOLLHTTP_SERVER_HTTP_CODEC_H_
