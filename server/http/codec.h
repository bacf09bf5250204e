// codec.h: `ServerCodec`, the server side of HTTP/1.1 for one connection,
// over bytes: no sockets, no clock, no application.
//
// The connection feeds it the bytes it has received and not yet had consumed;
// the codec parses requests (RFC 9112 §2-§3), frames and streams their bodies
// (§6.3, §7.1), starts a RequestStream for each (handler.h) and frames the
// responses the streams write, in request order, into the output Buffer its
// CodecSink names:
// - keep-alive by version and Connection tokens; HTTP/1.0 keep-alive is
//   echoed; a response that ends the connection carries Connection: close;
// - `100 Continue` before a body the client waits to send (Expect:
//   100-continue with no body bytes yet), unless the stream already answered;
// - a parse error gets its status (StatusFor) with Connection: close, after
//   which nothing more is read (error_response() tells the connection to
//   linger rather than close); after a head, the stream is aborted first;
// - HEAD gets the handler's head fields and Content-Length, no body; 204 and
//   304 get no Content-Length and no body; a body of unknown length is
//   chunked (to HTTP/1.0: delimited by the close);
// - StartDraining() makes the next response the last.
//
// Streams are asynchronous: one may pause its body (the codec stops
// consuming input, and OnInput() reports `held`) or finish its response
// long after its callbacks returned; requests behind it wait. The codec never
// ends a request or destroys a stream inside a ResponseWriter call: a
// write, finish or resume made outside the codec's own entry points asks the
// connection to Wake() it, and the connection calls Poll() in a later round.
// So a stream may touch itself after any writer call.
//
// Work per OnInput() is bounded by a CodecBudget, checked before each
// request starts, so output and time per call stay bounded however many
// requests the input holds.
//
// Thread safety: one codec per connection, used on its loop's thread only.
#ifndef EPOLLHTTP_SERVER_HTTP_CODEC_H_
#define EPOLLHTTP_SERVER_HTTP_CODEC_H_

#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "net/buffer.h"
#include "net/event_loop.h"
#include "server/http/body_reader.h"
#include "server/http/handler.h"
#include "server/http/request_parser.h"
#include "server/http/router.h"
#include "server/http/status.h"

namespace epollhttp::http {

struct CodecOptions {
  RequestParserOptions parser;
  BodyReaderOptions body;
  // Queued response bytes beyond which a writer is not writable() (tests and
  // the connection fuzzer use a small one to reach the wait for room).
  size_t write_high_water = ResponseWriter::kHighWater;
};

// Limits on the work of one ServerCodec::OnInput() call, checked before each
// request starts: the output exceeds `max_output` by at most one response.
struct CodecBudget {
  size_t max_output = SIZE_MAX;  // Stop once the output holds this many bytes.
  int max_responses = INT_MAX;   // Stop after this many requests have ended.
};

// What one call into the codec did.
struct InputResult {
  size_t consumed = 0;   // Input bytes consumed (OnInput() only).
  int responses = 0;     // Requests that ended with their response in this call.
  bool yielded = false;  // Stopped with a request not started: the budget was spent.
  bool held = false;     // The server holds the read: a stream paused its body or
                         // has yet to finish its response. Feed nothing until Poll()
                         // says otherwise.
  bool closing = false;  // The last response is written (or the codec gave up):
                         // input is ignored from now on.
};

// How the codec reaches the connection above it. Thread safety: the codec's.
class CodecSink {
 public:
  // Output() is where response bytes go now.
  virtual net::Buffer* Output() = 0;
  // QueuedOutput() is the response bytes written and not yet taken by the
  // client (the Output() not yet sent included).
  [[nodiscard]] virtual size_t QueuedOutput() const = 0;
  // Wake() asks for Poll() in a later call: outside the codec's entry
  // points, a stream wrote, finished, cancelled or resumed its body. It must
  // not call back into the codec.
  virtual void Wake() = 0;
  // loop() is the event loop the connection runs on (may be null).
  [[nodiscard]] virtual net::EventLoop* loop() const = 0;
  // QueuePipe() queues the next `length` bytes waiting in pipe `fd` after
  // the output so far, to be moved to the client with splice(2); the
  // connection keeps its own descriptor. -ENOSYS (the default) where it
  // cannot (`length` 0 asks only that); -EBUSY while another pipe's bytes
  // wait.
  virtual int QueuePipe(int fd, int64_t length) {
    (void)fd;
    (void)length;
    return -ENOSYS;
  }

 protected:
  ~CodecSink() = default;
};

class ServerCodec final : private ResponseWriter {
 public:
  // `router` must outlive the codec. `observer` (may be null, not owned) is
  // told about requests and responses.
  ServerCodec(const CodecOptions& options, const Router* router, CodecObserver* observer = nullptr);
  ServerCodec(const ServerCodec&) = delete;
  ServerCodec& operator=(const ServerCodec&) = delete;
  // A stream still active is destroyed without a callback: abort it first.
  ~ServerCodec();

  // set_sink() names the connection above (not owned; required before
  // OnInput()). set_observer(): as in the constructor.
  void set_sink(CodecSink* sink) { sink_ = sink; }
  void set_observer(CodecObserver* observer) { observer_ = observer; }

  // Reset() makes the codec as new (for another connection), keeping its
  // buffers' capacity; `observer` as in the constructor. No stream may be
  // active.
  void Reset(CodecObserver* observer);

  // OnInput() processes `input`: the bytes received and not yet consumed, in
  // order (unconsumed bytes must be offered again, followed by new ones).
  // Before starting each request it checks `budget`; when that is spent it
  // stops with the request unconsumed (`yielded`). It stops too while the
  // server holds the read (`held`). Once closing, consumes and ignores
  // everything.
  InputResult OnInput(absl::string_view input, CodecBudget budget = {});

  // SkippableBodyBytes() is how many bytes the connection may drop unread
  // (e.g. with recv(MSG_TRUNC)) because they can only be the rest of the
  // current Content-Length body and its stream does not read bodies; 0
  // otherwise. Valid only when every byte received so far has been consumed.
  [[nodiscard]] int64_t SkippableBodyBytes() const;

  // OnBodySkipped() accounts for `n` (1..SkippableBodyBytes()) dropped body
  // bytes as OnInput() would have.
  InputResult OnBodySkipped(int64_t n);

  // DirectBodyBuffer() is memory the current stream offers for the rest of
  // its Content-Length body (RequestStream::BodyBuffer()), at most the bytes
  // still to come, so a read into it never takes a byte past the body;
  // empty when there is none (a paused or discarding stream, a chunked
  // body, a stream that offers nothing). Valid only when every byte received
  // so far has been consumed.
  absl::Span<char> DirectBodyBuffer();

  // OnDirectBodyRead() accounts for `n` (1..the buffer's size) body bytes
  // read into the last DirectBodyBuffer(), as OnInput() would have.
  InputResult OnDirectBodyRead(int64_t n);

  // Poll() runs after the codec asked to be woken: ends the request whose
  // stream finished its response (or cancelled it), and reports what
  // changed (`consumed` is 0). Harmless when nothing did.
  InputResult Poll();

  // OnOutputDrained() tells the codec that the queued output fell to half
  // of its write_high_water or less: a stream waiting for that gets
  // OnWritable().
  InputResult OnOutputDrained();
  // wants_writable() is true while a stream waits for OnWritable().
  [[nodiscard]] bool wants_writable() const { return wants_writable_; }
  // write_high_water() is CodecOptions::write_high_water.
  [[nodiscard]] size_t write_high_water() const { return options_.write_high_water; }

  // Abort() ends the request in progress because the connection died: its
  // stream (if its head parsed) gets OnAbort(`reason`) once and is
  // destroyed; the codec then ignores input. Nothing is written.
  void Abort(AbortReason reason);

  // OnHeaderTimeout() answers 408 with Connection: close when a request head
  // is partly received (then closing() is true); otherwise does nothing.
  void OnHeaderTimeout();

  // StartDraining() makes the next response the last one (Connection: close),
  // for graceful shutdown.
  void StartDraining() { draining_ = true; }

  enum class Phase : uint8_t {
    kIdle,    // Between requests: no byte of the next request yet.
    kHead,    // A request head is partly received.
    kBody,    // Reading a request body.
    kHeld,    // The server holds the read: a paused body, or a response to come.
    kClosed,  // A closing response is queued; input is ignored.
  };
  [[nodiscard]] Phase phase() const;

  // closing() is true once a response that closes the connection is queued.
  [[nodiscard]] bool closing() const { return state_ == State::kClosed; }
  // error_response() is true once the codec closed while the client may
  // still be sending (an error response, or a response before the body
  // ended): the connection should linger.
  [[nodiscard]] bool error_response() const { return error_response_; }
  // idle() is true between requests (no request partly received).
  [[nodiscard]] bool idle() const { return state_ == State::kHead && !head_started_; }
  // responses() counts requests ended with a response so far (errors included).
  [[nodiscard]] int64_t responses() const { return responses_; }
  // body_bytes() is the current request's body bytes received so far.
  [[nodiscard]] int64_t body_bytes() const { return request_.body_bytes; }
  // stream_active() is true from a stream's start until its request ends.
  [[nodiscard]] bool stream_active() const { return active_; }

 private:
  enum class State : uint8_t {
    kHead,   // Parsing a head (or idle).
    kBody,   // Reading the body (paused_ says whether the stream holds it).
    kAwait,  // The body is complete; the stream's response is not finished.
    kClosed,
  };
  enum class Reply : uint8_t {
    kNone,       // Nothing but interim responses written.
    kHead,       // The head is written; the body goes on.
    kDone,       // Finished.
    kCancelled,  // Given up (Cancel(), or a short Finish()).
  };

  // --- ResponseWriter (what the active stream calls).
  int Respond(const Response& response) override;
  int WriteInterim(int status, absl::Span<const ResponseField> fields) override;
  int WriteHead(const ResponseHead& head) override;
  int WriteBody(absl::string_view data) override;
  int WritePipe(int pipe_fd, int64_t length) override;
  int Finish() override;
  void Cancel() override;
  void ResumeBody() override;
  [[nodiscard]] bool writable() const override;
  [[nodiscard]] bool aborted() const override { return aborted_; }
  [[nodiscard]] const Request& request() const override { return request_; }
  [[nodiscard]] net::EventLoop* loop() const override {
    return sink_ != nullptr ? sink_->loop() : nullptr;
  }
  // Refuse() is the error for a writer call that cannot be served now (0:
  // none).
  [[nodiscard]] int Refuse() const;
  // AfterWrite() notes writability and asks to be woken outside entry points.
  void AfterWrite();

  // StartRequest() starts the stream for a parsed head. False if the codec
  // answered an error instead.
  bool StartRequest(const RequestHead& head);
  void AddBodyBytes(absl::string_view data, int64_t n);
  // BodyEnded() tells the stream the body is complete.
  void BodyEnded();
  // Settle() ends the request if its response is finished or given up;
  // true if it did.
  bool Settle();
  void EndRequest();
  // WriteHeadBytes() formats a final head. `body` (may be empty) follows it
  // in the same allocation.
  void WriteHeadBytes(int status, absl::string_view content_type,
                      absl::Span<const ResponseField> fields, int64_t content_length,
                      absl::string_view body);
  void RespondError(ParseError error);
  // BodyComplete() is true once the request's body has all arrived.
  [[nodiscard]] bool BodyComplete() const { return state_ != State::kBody; }
  // Report() fills the flags of an InputResult after an entry point.
  InputResult Report(int64_t responses_before) const;

  CodecOptions options_;
  const Router* router_;
  CodecObserver* observer_;
  CodecSink* sink_ = nullptr;
  RequestParser parser_;
  BodyReader body_;
  StreamPtr stream_;
  Request request_;
  int64_t reply_left_ = 0;  // Content-Length bytes still to write (kLength framing).
  int64_t responses_ = 0;
  int status_ = 0;  // The final status written for the current request; 0: none.
  State state_ = State::kHead;
  Reply reply_ = Reply::kNone;
  enum class Framing : uint8_t { kLength, kChunked, kClose, kNone } framing_ = Framing::kLength;
  BodyMode body_mode_ = BodyMode::kDiscard;
  bool head_started_ = false;
  bool head_parsed_ = false;  // The current request's head is complete.
  bool keep_alive_ = true;
  bool draining_ = false;
  bool error_response_ = false;
  bool paused_ = false;          // The stream paused its body.
  bool reply_closes_ = false;    // The response's head said Connection: close.
  bool reply_no_body_ = false;   // HEAD, 204 or 304: body bytes are dropped.
  bool active_ = false;          // A request's stream started and has not ended.
  bool aborted_ = false;         // The current stream was aborted.
  bool in_call_ = false;         // Inside an entry point: writes need no Wake().
  bool wants_writable_ = false;  // The stream waits for OnWritable().
};

}  // namespace epollhttp::http

#endif  // EPOLLHTTP_SERVER_HTTP_CODEC_H_
