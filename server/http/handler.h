// handler.h: the seam between the HTTP/1.1 server codec (codec.h) and the
// application: a Handler answers each request with a RequestStream, which
// lives as long as the request and may pause the body, answer later and
// hears when the request dies. Also the observer interface through which
// counters and logs watch the codec.
//
// A stream's life (docs/architecture.md has the picture):
// 1. The head parses; the codec asks its Router for a Handler and calls
//    Handler::Start(), which returns the stream and whether it reads the
//    body. A stream that does not read it lets the codec drop the bytes
//    unread (in the kernel, with the socket transport).
// 2. OnBody() gets the body's bytes in order, in pieces (chunk framing
//    removed). It answers kContinue, or kPause: then nothing more is read
//    from the connection (bytes stay in the kernel and TCP pushes back)
//    until the stream calls ResponseWriter::ResumeBody(). No piece is lost
//    or repeated across a pause.
// 3. OnEnd() once the whole body has arrived.
// 4. The stream answers through its ResponseWriter whenever it likes, during
//    any callback or later (from a timer, or a WorkerPool completion on the
//    loop's thread): Respond() in one call, or WriteHead(), WriteBody() in
//    pieces and Finish(). Requests pipelined behind it wait, in order.
// 5. The request ends when the response is finished and the body has been
//    read. The codec then destroys the stream (no callback). If the
//    connection dies first (reset, a timeout, shutdown, a malformed body),
//    OnAbort() runs exactly once and nothing after it; the stream is then
//    destroyed. A response finished before the body has all arrived ends
//    the request too: its head says Connection: close, and the rest of the
//    body is dropped.
//
// Ownership: the codec owns the stream (StreamPtr); a stateless stream may
// be shared by every request instead, and is then never deleted. The
// ResponseWriter is the codec's, valid until the stream is destroyed.
//
// Thread safety: Handlers are shared by every loop thread, so Start() is
// const and may run on several threads at once. A stream and its writer
// belong to one loop's thread: every callback runs there, and every writer
// call must be made there (post work back with EventLoop::Post(), or use a
// net::WorkerPool, whose completions arrive on the loop's thread).
#ifndef EPOLLHTTP_SERVER_HTTP_HANDLER_H_
#define EPOLLHTTP_SERVER_HTTP_HANDLER_H_

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "net/event_loop.h"
#include "server/http/request_parser.h"

namespace epollhttp::http {

// One response header field a handler adds.
struct ResponseField {
  absl::string_view name;
  absl::string_view value;
};

// A whole response, for ResponseWriter::Respond().
struct Response {
  int status = 200;  // 200..999; the reason phrase is the codec's.
  absl::string_view content_type = "text/plain";
  absl::Span<const ResponseField> fields;
  absl::string_view body;
};

// The head of a response whose body is written in pieces.
struct ResponseHead {
  int status = 200;  // 200..999.
  absl::string_view content_type = "text/plain";
  absl::Span<const ResponseField> fields;
  // The body's length, or -1 when unknown: the body is then chunked (to an
  // HTTP/1.0 client: delimited by closing the connection).
  int64_t content_length = -1;
};

// The request being served, as far as it is known.
struct Request {
  Method method = Method::kGet;
  Version version = Version::kHttp11;
  int64_t body_bytes = 0;  // Body bytes received so far (read or dropped).
};

enum class BodyMode : uint8_t {
  kDiscard,  // The stream does not need the bytes (only their count).
  kRead,     // OnBody() gets every body byte, in order.
};

enum class BodyAction : uint8_t {
  kContinue,  // Go on reading.
  kPause,     // Read nothing more until ResponseWriter::ResumeBody().
};

// Why a request died before it ended.
enum class AbortReason : uint8_t {
  kReset,        // The connection was reset, or a write to it failed.
  kEndOfStream,  // The client ended its stream before the body was complete.
  kTimeout,      // A body or write timeout (the deadline that applied).
  kShutdown,     // The server's shutdown deadline passed.
  kBadRequest,   // The body was malformed or too large (the codec answers 4xx).
};

// AbortReasonName() is a short lower-case name, e.g. "reset".
absl::string_view AbortReasonName(AbortReason reason);

// How a stream answers, and controls its request. Results are errno-style:
// 0, or a negative errno value, in which case nothing was written:
// - -ECANCELED: the request was aborted (a no-op, never a crash);
// - -EALREADY: the response is already finished;
// - -EINVAL: out of order (a body before the head, a second head, an
//   interim after the head) or a status out of range;
// - -EMSGSIZE: more body than the head's content_length.
class ResponseWriter {
 public:
  // Respond() writes a whole response: its head with Content-Length, and
  // its body (left out for HEAD), then finishes it.
  virtual int Respond(const Response& response) = 0;
  // WriteInterim() writes a 1xx interim response (100..199 except 101)
  // before the final head.
  virtual int WriteInterim(int status, absl::Span<const ResponseField> fields) = 0;
  // WriteHead() writes the final response's head (see ResponseHead).
  virtual int WriteHead(const ResponseHead& head) = 0;
  // WriteBody() writes a piece of the body (dropped for HEAD, counted).
  virtual int WriteBody(absl::string_view data) = 0;
  // WritePipe() sends the next `length` bytes of a body framed by its
  // Content-Length from pipe `pipe_fd` (its read end), where the caller has
  // put them (e.g. spliced from a file on a worker thread): the connection
  // moves them to the client with splice(2), with no copy through user
  // space. It keeps its own descriptor, so the caller may close `pipe_fd`
  // at once, and may add more bytes to the pipe and call again. Dropped for
  // HEAD, counted. -ENOSYS where the connection cannot (the default;
  // `length` 0 asks only that: the caller writes the bytes itself), -EBUSY
  // while another pipe's bytes wait, otherwise as WriteBody().
  virtual int WritePipe(int pipe_fd, int64_t length) {
    (void)pipe_fd;
    (void)length;
    return -ENOSYS;
  }
  // Finish() ends the response. With a content_length the body must have
  // reached it (unless the request is HEAD, whose answer states the length
  // and sends no body): otherwise -EMSGSIZE, and as with Cancel() the
  // connection closes after what was written.
  virtual int Finish() = 0;
  // Cancel() gives the response up: what was written is sent, then the
  // connection closes (a client sees a truncated response, or none). The
  // request ends without OnAbort(). A no-op once finished or aborted.
  virtual void Cancel() = 0;
  // ResumeBody() reads the body again after OnBody() answered kPause. A
  // no-op when not paused.
  virtual void ResumeBody() = 0;

  // writable() is false while the response bytes queued for the client
  // exceed the codec's high-water mark (kHighWater unless configured); a
  // stream that writes a large body waits for OnWritable() then.
  [[nodiscard]] virtual bool writable() const = 0;
  [[nodiscard]] virtual bool aborted() const = 0;
  [[nodiscard]] virtual const Request& request() const = 0;
  // loop() is the event loop whose thread the stream lives on (for timers,
  // Post() and WorkerPool::Submit()); null where no loop runs the codec
  // (codec unit tests).
  [[nodiscard]] virtual net::EventLoop* loop() const = 0;

  // Queued response bytes beyond which writable() is false, by default.
  static constexpr size_t kHighWater = 256 * 1024;

 protected:
  ~ResponseWriter() = default;
};

// One request's stream. Every method has a default; a stream overrides what
// it needs. Thread safety: the loop's thread (see the top of this file).
class RequestStream {
 public:
  virtual ~RequestStream() = default;
  // OnBody() gets the next body bytes (BodyMode::kRead only). `data` is
  // valid during the call only.
  virtual BodyAction OnBody(absl::string_view data, ResponseWriter& writer) {
    (void)data;
    (void)writer;
    return BodyAction::kContinue;
  }
  // BodyBuffer() may offer memory for the next body bytes (BodyMode::kRead,
  // Content-Length bodies): the connection then reads up to `max` (>= 1)
  // bytes from the client straight into it, with no copy, and reports them
  // with OnBodyRead() instead of OnBody(). Empty (the default): the bytes
  // come by OnBody(). The memory must stay valid until OnBodyRead() or the
  // stream's end, and is not read from by the stream in between.
  virtual absl::Span<char> BodyBuffer(size_t max) {
    (void)max;
    return {};
  }
  // OnBodyRead() says that the first `n` bytes of the last BodyBuffer() now
  // hold the next body bytes; answers as OnBody().
  virtual BodyAction OnBodyRead(size_t n, ResponseWriter& writer) {
    (void)n;
    (void)writer;
    return BodyAction::kContinue;
  }
  // OnEnd() runs once the whole body has arrived (right after Start() when
  // there is none).
  virtual void OnEnd(ResponseWriter& writer) { (void)writer; }
  // OnWritable() runs when the queued response bytes fall to half of the
  // high-water mark after writable() had become false.
  virtual void OnWritable(ResponseWriter& writer) { (void)writer; }
  // OnAbort() runs once if the request dies before it ends; the writer
  // refuses everything from then on. The stream is destroyed right after.
  virtual void OnAbort(AbortReason reason) { (void)reason; }
};

// StreamPtr owns a stream, or (Shared()) points at a stateless one that is
// never deleted.
struct StreamDeleter {
  bool owned = true;
  void operator()(RequestStream* stream) const {
    if (owned) delete stream;
  }
};
using StreamPtr = std::unique_ptr<RequestStream, StreamDeleter>;

inline StreamPtr Owned(std::unique_ptr<RequestStream> stream) {
  return StreamPtr(stream.release(), StreamDeleter{true});
}
inline StreamPtr Shared(RequestStream* stream) { return StreamPtr(stream, StreamDeleter{false}); }

// What a Handler answers a request with.
struct StreamStart {
  StreamPtr stream;  // Required.
  BodyMode body = BodyMode::kDiscard;
};

class Handler {
 public:
  virtual ~Handler() = default;
  // Start() sees the parsed head (its views are valid during the call only)
  // and returns the request's stream. It may already answer through
  // `writer` (valid until the stream is destroyed).
  virtual StreamStart Start(const RequestHead& head, ResponseWriter& writer) const = 0;
};

// SimpleHandler is a Handler that answers from OnEnd() alone and keeps no
// state: one shared stream serves every request, so a request costs no
// allocation. Thread safety: Answer() may run on several threads at once.
class SimpleHandler : public Handler, private RequestStream {
 public:
  StreamStart Start(const RequestHead& head, ResponseWriter& writer) const override;
  // Answer() must Respond() (or write a head, body and finish).
  virtual void Answer(ResponseWriter& writer) const = 0;

 private:
  void OnEnd(ResponseWriter& writer) override { Answer(writer); }
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
  // OnRouted(): the request went to the route labelled `route` (the
  // router's label, e.g. "/healthz" or "other"; valid as long as the router).
  virtual void OnRouted(absl::string_view /*route*/) {}
  // OnBodyBytes(): `n` more body bytes arrived (read or dropped unread).
  virtual void OnBodyBytes(int64_t /*n*/) {}
  // OnResponse(): a request ended with a response (its head queued, its body
  // finished). `parse_error` is true when it refuses a request that did not
  // parse (or timed out mid-head: 408, with `parse_error` false);
  // `body_bytes` is that request's body so far.
  virtual void OnResponse(int /*status*/, bool /*parse_error*/, int64_t /*body_bytes*/) {}
  // OnAbort(): a request whose head parsed died without a finished response.
  virtual void OnAbort(AbortReason /*reason*/) {}
};

}  // namespace epollhttp::http

#endif  // EPOLLHTTP_SERVER_HTTP_HANDLER_H_
