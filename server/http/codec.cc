#include "server/http/codec.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "base/check.h"

namespace epollhttp::http {
namespace {

constexpr absl::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// The stream of a handler that returned none: answers 500.
class NoStream final : public RequestStream {
 public:
  void OnEnd(ResponseWriter& writer) override {
    Response response;
    response.status = 500;
    response.body = "the handler started no stream\n";
    writer.Respond(response);
  }
};

// Digits() formats `value` in `base` into `buffer`.
absl::string_view Digits(uint64_t value, int base, char (&buffer)[24]) {
  const std::to_chars_result end = std::to_chars(buffer, buffer + sizeof(buffer), value, base);
  return absl::string_view(buffer, static_cast<size_t>(end.ptr - buffer));
}

// CallScope marks a codec entry point, during which writer calls need no
// wake-up (the connection looks at the output when the entry point returns).
class CallScope {
 public:
  explicit CallScope(bool* in_call) : in_call_(in_call), outer_(*in_call) { *in_call = true; }
  ~CallScope() { *in_call_ = outer_; }
  CallScope(const CallScope&) = delete;
  CallScope& operator=(const CallScope&) = delete;

 private:
  bool* in_call_;
  bool outer_;
};

}  // namespace

ServerCodec::ServerCodec(const CodecOptions& options, const Router* router, CodecObserver* observer)
    : options_(options),
      router_(router),
      observer_(observer),
      parser_(options.parser),
      body_(options.body) {}

ServerCodec::~ServerCodec() = default;

void ServerCodec::Reset(CodecObserver* observer) {
  EPOLLHTTP_DCHECK(stream_ == nullptr);
  stream_.reset();
  observer_ = observer;
  // Between requests the parser is already reset (it sees no byte before a
  // request starts); keep-alive connections come here after every request.
  if (!idle()) parser_.Reset();
  request_ = Request();
  reply_left_ = 0;
  responses_ = 0;
  status_ = 0;
  state_ = State::kHead;
  reply_ = Reply::kNone;
  framing_ = Framing::kLength;
  body_mode_ = BodyMode::kDiscard;
  head_started_ = head_parsed_ = false;
  keep_alive_ = true;
  draining_ = error_response_ = paused_ = reply_closes_ = reply_no_body_ = aborted_ = false;
  active_ = false;
  in_call_ = wants_writable_ = false;
}

ServerCodec::Phase ServerCodec::phase() const {
  switch (state_) {
    case State::kHead: return head_started_ ? Phase::kHead : Phase::kIdle;
    case State::kBody: return paused_ ? Phase::kHeld : Phase::kBody;
    case State::kAwait: return Phase::kHeld;
    case State::kClosed: return Phase::kClosed;
  }
  return Phase::kClosed;
}

int64_t ServerCodec::SkippableBodyBytes() const {
  return state_ == State::kBody && !paused_ && body_mode_ == BodyMode::kDiscard ? body_.skippable()
                                                                                : 0;
}

InputResult ServerCodec::Report(int64_t responses_before) const {
  InputResult result;
  result.responses = static_cast<int>(responses_ - responses_before);
  result.held = state_ == State::kAwait || (state_ == State::kBody && paused_);
  result.closing = state_ == State::kClosed;
  return result;
}

InputResult ServerCodec::OnInput(absl::string_view input, CodecBudget budget) {
  EPOLLHTTP_DCHECK(sink_ != nullptr);
  CallScope scope(&in_call_);
  const int64_t before = responses_;
  size_t consumed = 0;
  bool yielded = false;
  while (true) {
    if (state_ == State::kClosed) {
      consumed = input.size();
      break;
    }
    if (state_ == State::kAwait || paused_) break;  // The server holds the read.
    const absl::string_view rest = input.substr(consumed);
    if (state_ == State::kHead) {
      if (rest.empty()) break;
      if (!head_started_) {
        // A new request: start it only within budget, so output stays
        // bounded and one connection cannot monopolise its loop.
        if (sink_->Output()->size() >= budget.max_output ||
            responses_ - before >= budget.max_responses) {
          yielded = true;
          break;
        }
        head_started_ = true;
        if (observer_ != nullptr) observer_->OnRequestStart();
      }
      const ParseStatus status = parser_.Parse(rest);
      if (status == ParseStatus::kNeedMore) break;
      if (status == ParseStatus::kError) {
        RespondError(parser_.error());
        continue;
      }
      const RequestHead& head = parser_.head();
      consumed += parser_.consumed();
      const bool expect_continue = head.expect_continue;
      if (!StartRequest(head)) continue;
      // The client may be waiting for this before it sends the body, unless
      // the stream has answered already.
      if (expect_continue && state_ == State::kBody && reply_ == Reply::kNone &&
          consumed == input.size()) {
        sink_->Output()->Append(kContinue);
      }
      continue;
    }
    // kBody: stream the body to the stream (or only count it).
    const BodyChunk chunk = body_.Read(rest);
    consumed += chunk.consumed;
    if (!chunk.data.empty()) {
      AddBodyBytes(chunk.data, static_cast<int64_t>(chunk.data.size()));
      if (state_ != State::kBody) continue;  // The response ended the request early.
    }
    if (chunk.status == ParseStatus::kError) {
      RespondError(chunk.error);
      continue;
    }
    if (chunk.status == ParseStatus::kComplete) {
      // After a pause the end waits for ResumeBody(), like every callback.
      if (paused_) break;
      BodyEnded();
      continue;
    }
    if (consumed == input.size()) break;
  }
  InputResult result = Report(before);
  result.consumed = consumed;
  result.yielded = yielded;
  return result;
}

bool ServerCodec::StartRequest(const RequestHead& head) {
  head_parsed_ = true;
  keep_alive_ = head.keep_alive;
  request_.method = head.method;
  request_.version = head.version;
  request_.body_bytes = 0;
  if (observer_ != nullptr) observer_->OnRequestHead(head);
  if (const ParseError error = body_.Start(head.body_kind, head.content_length);
      error != ParseError::kNone) {
    RespondError(error);
    return false;
  }
  state_ = State::kBody;
  paused_ = false;
  active_ = true;  // The writer serves from here on, Start() included.
  const Router::Match match = router_->Find(head.method, head.target);
  if (observer_ != nullptr) observer_->OnRouted(match.route);
  StreamStart start = match.handler->Start(head, *this);
  body_mode_ = start.body;
  stream_ = std::move(start.stream);
  if (stream_ == nullptr) {
    static NoStream* const no_stream = new NoStream;
    stream_ = Shared(no_stream);
    body_mode_ = BodyMode::kDiscard;
  }
  if (Settle()) return true;  // Answered from Start().
  if (body_.done()) BodyEnded();
  return true;
}

void ServerCodec::AddBodyBytes(absl::string_view data, int64_t n) {
  request_.body_bytes += n;
  if (observer_ != nullptr) observer_->OnBodyBytes(n);
  if (body_mode_ != BodyMode::kRead || data.empty() || stream_ == nullptr) return;
  if (stream_->OnBody(data, *this) == BodyAction::kPause) paused_ = true;
  Settle();
}

void ServerCodec::BodyEnded() {
  state_ = State::kAwait;
  stream_->OnEnd(*this);
  Settle();
}

InputResult ServerCodec::OnBodySkipped(int64_t n) {
  CallScope scope(&in_call_);
  const int64_t before = responses_;
  n = std::min(n, SkippableBodyBytes());
  if (n > 0) {
    AddBodyBytes({}, n);
    if (body_.Skip(n) == ParseStatus::kComplete) BodyEnded();
  }
  return Report(before);
}

absl::Span<char> ServerCodec::DirectBodyBuffer() {
  if (state_ != State::kBody || paused_ || body_mode_ != BodyMode::kRead || stream_ == nullptr) {
    return {};
  }
  const int64_t left = body_.skippable();
  if (left <= 0) return {};
  absl::Span<char> span =
      stream_->BodyBuffer(static_cast<size_t>(std::min<int64_t>(left, int64_t{1} << 30)));
  if (static_cast<int64_t>(span.size()) > left) span = span.subspan(0, static_cast<size_t>(left));
  return span;
}

InputResult ServerCodec::OnDirectBodyRead(int64_t n) {
  CallScope scope(&in_call_);
  const int64_t before = responses_;
  n = std::min(n, body_.skippable());
  if (n > 0 && state_ == State::kBody && stream_ != nullptr) {
    // As OnInput() with the bytes read: the framing first, then the stream;
    // after a pause the end waits for ResumeBody().
    const ParseStatus status = body_.Skip(n);
    request_.body_bytes += n;
    if (observer_ != nullptr) observer_->OnBodyBytes(n);
    if (stream_->OnBodyRead(static_cast<size_t>(n), *this) == BodyAction::kPause) paused_ = true;
    Settle();
    if (state_ == State::kBody && status == ParseStatus::kComplete && !paused_) BodyEnded();
  }
  return Report(before);
}

InputResult ServerCodec::Poll() {
  CallScope scope(&in_call_);
  const int64_t before = responses_;
  // A resumed stream whose body had ended before its pause was lifted.
  if (stream_ != nullptr && !Settle() && state_ == State::kBody && !paused_ && body_.done()) {
    BodyEnded();
  }
  return Report(before);
}

InputResult ServerCodec::OnOutputDrained() {
  CallScope scope(&in_call_);
  const int64_t before = responses_;
  if (wants_writable_ && stream_ != nullptr) {
    wants_writable_ = false;
    stream_->OnWritable(*this);
    Settle();
  }
  return Report(before);
}

bool ServerCodec::Settle() {
  if (!active_ || (reply_ != Reply::kDone && reply_ != Reply::kCancelled)) return false;
  // A response finished before the body arrived whole: the client may still
  // be sending it, and its head said Connection: close.
  const bool early = !body_.done();
  EndRequest();
  if (early) {
    state_ = State::kClosed;
    error_response_ = true;
  }
  return true;
}

void ServerCodec::EndRequest() {
  const bool close = !keep_alive_ || draining_ || reply_closes_ || reply_ == Reply::kCancelled;
  ++responses_;
  if (observer_ != nullptr) {
    observer_->OnResponse(status_, /*parse_error=*/false, request_.body_bytes);
  }
  active_ = false;
  stream_.reset();  // Outside any callback of its own.
  parser_.Reset();
  head_started_ = head_parsed_ = false;
  paused_ = wants_writable_ = false;
  reply_ = Reply::kNone;
  status_ = 0;
  state_ = close ? State::kClosed : State::kHead;
}

void ServerCodec::Abort(AbortReason reason) {
  CallScope scope(&in_call_);
  if (stream_ != nullptr) {
    aborted_ = true;
    if (observer_ != nullptr) observer_->OnAbort(reason);
    stream_->OnAbort(reason);
    active_ = false;
    stream_.reset();
    aborted_ = false;
  }
  paused_ = wants_writable_ = false;
  state_ = State::kClosed;
}

int ServerCodec::Refuse() const {
  // Writers are called on the stream's loop thread only (handler.h).
  EPOLLHTTP_DCHECK(loop() == nullptr || loop()->InLoopThread());
  if (aborted_ || !active_) return -ECANCELED;
  if (reply_ == Reply::kDone || reply_ == Reply::kCancelled) return -EALREADY;
  return 0;
}

void ServerCodec::AfterWrite() {
  if (!writable()) wants_writable_ = true;
  if (!in_call_ && sink_ != nullptr) sink_->Wake();
}

bool ServerCodec::writable() const {
  return sink_ == nullptr || sink_->QueuedOutput() <= options_.write_high_water;
}

int ServerCodec::Respond(const Response& response) {
  if (const int error = Refuse(); error != 0) return error;
  if (reply_ != Reply::kNone || response.status < 200 || response.status > 999) return -EINVAL;
  WriteHeadBytes(response.status, response.content_type, response.fields,
                 static_cast<int64_t>(response.body.size()), response.body);
  reply_ = Reply::kDone;
  // A finished response writes nothing more: writability does not matter.
  if (!in_call_) sink_->Wake();
  return 0;
}

int ServerCodec::WriteInterim(int status, absl::Span<const ResponseField> fields) {
  if (const int error = Refuse(); error != 0) return error;
  if (reply_ != Reply::kNone || status < 100 || status > 199 || status == 101) return -EINVAL;
  // An HTTP/1.0 client gets no 1xx (RFC 9110 §15.2): nothing to do.
  if (request_.version == Version::kHttp10) return 0;
  const absl::string_view status_line = StatusLine(status);
  size_t size = status_line.size() + 2;
  for (const ResponseField& field : fields) size += field.name.size() + field.value.size() + 4;
  char* p = sink_->Output()->Extend(size);
  const auto put = [&p](absl::string_view piece) {
    if (piece.empty()) return;
    std::memcpy(p, piece.data(), piece.size());
    p += piece.size();
  };
  put(status_line);
  for (const ResponseField& field : fields) {
    put(field.name);
    put(": ");
    put(field.value);
    put("\r\n");
  }
  put("\r\n");
  AfterWrite();
  return 0;
}

int ServerCodec::WriteHead(const ResponseHead& head) {
  if (const int error = Refuse(); error != 0) return error;
  if (reply_ != Reply::kNone || head.status < 200 || head.status > 999) return -EINVAL;
  WriteHeadBytes(head.status, head.content_type, head.fields, head.content_length, {});
  reply_ = Reply::kHead;
  reply_left_ = head.content_length;
  AfterWrite();
  return 0;
}

int ServerCodec::WriteBody(absl::string_view data) {
  if (const int error = Refuse(); error != 0) return error;
  if (reply_ != Reply::kHead) return -EINVAL;
  if (data.empty()) return 0;
  net::Buffer* out = sink_->Output();
  switch (framing_) {
    case Framing::kNone: return -EMSGSIZE;  // 204 and 304 have no body.
    case Framing::kLength:
      if (static_cast<int64_t>(data.size()) > reply_left_) return -EMSGSIZE;
      reply_left_ -= static_cast<int64_t>(data.size());
      if (!reply_no_body_) out->Append(data);
      break;
    case Framing::kChunked:
      if (!reply_no_body_) {
        char digits[24];
        const absl::string_view size = Digits(data.size(), 16, digits);
        char* p = out->Extend(size.size() + 2 + data.size() + 2);
        std::memcpy(p, size.data(), size.size());
        p += size.size();
        std::memcpy(p, "\r\n", 2);
        std::memcpy(p + 2, data.data(), data.size());
        std::memcpy(p + 2 + data.size(), "\r\n", 2);
      }
      break;
    case Framing::kClose:
      if (!reply_no_body_) out->Append(data);
      break;
  }
  AfterWrite();
  return 0;
}

int ServerCodec::WritePipe(int pipe_fd, int64_t length) {
  if (const int error = Refuse(); error != 0) return error;
  if (reply_ != Reply::kHead) return -EINVAL;
  if (framing_ != Framing::kLength) return framing_ == Framing::kNone ? -EMSGSIZE : -ENOSYS;
  if (length > reply_left_) return -EMSGSIZE;
  if (!reply_no_body_) {
    if (const int r = sink_->QueuePipe(pipe_fd, length); r < 0) return r;
  }
  if (length <= 0) return 0;
  reply_left_ -= length;
  AfterWrite();
  return 0;
}

int ServerCodec::Finish() {
  if (const int error = Refuse(); error != 0) return error;
  if (reply_ != Reply::kHead) return -EINVAL;
  // A HEAD answer's Content-Length describes the body a GET would get; no
  // byte of it is owed.
  if (framing_ == Framing::kLength && reply_left_ > 0 && !reply_no_body_) {
    reply_ = Reply::kCancelled;  // The promised length cannot be kept.
    AfterWrite();
    return -EMSGSIZE;
  }
  if (framing_ == Framing::kChunked && !reply_no_body_) sink_->Output()->Append("0\r\n\r\n");
  reply_ = Reply::kDone;
  AfterWrite();
  return 0;
}

void ServerCodec::Cancel() {
  if (Refuse() != 0) return;
  if (reply_ == Reply::kNone) {
    // Nothing was said yet: the client gets a proper 500 and the close.
    constexpr absl::string_view kBody = "the response was cancelled\n";
    draining_ = true;
    WriteHeadBytes(500, "text/plain", {}, static_cast<int64_t>(kBody.size()), kBody);
  }
  reply_ = Reply::kCancelled;
  AfterWrite();
}

void ServerCodec::ResumeBody() {
  EPOLLHTTP_DCHECK(loop() == nullptr || loop()->InLoopThread());
  if (aborted_ || !paused_) return;
  paused_ = false;
  if (!in_call_ && sink_ != nullptr) sink_->Wake();
}

void ServerCodec::WriteHeadBytes(int status, absl::string_view content_type,
                                 absl::Span<const ResponseField> fields, int64_t content_length,
                                 absl::string_view body) {
  status_ = status;
  const bool bodiless_status = status == 204 || status == 304;
  reply_no_body_ = request_.method == Method::kHead || bodiless_status;
  // A response before the body has all arrived closes: the client may not
  // stop sending it.
  bool close = !keep_alive_ || draining_ || !body_.done();
  if (bodiless_status) {
    framing_ = Framing::kNone;
  } else if (content_length >= 0) {
    framing_ = Framing::kLength;
  } else if (request_.version == Version::kHttp11) {
    framing_ = Framing::kChunked;
  } else {
    framing_ = Framing::kClose;
    close = true;
  }
  reply_closes_ = close;
  // Every response passes here: the pieces are sized first and copied into
  // one extension of the output.
  char digits[24];
  absl::string_view length_line;
  absl::string_view length_digits;
  if (framing_ == Framing::kLength) {
    length_line = "Content-Length: ";
    length_digits = Digits(static_cast<uint64_t>(content_length), 10, digits);
  } else if (framing_ == Framing::kChunked) {
    length_line = "Transfer-Encoding: chunked";
  }
  if (bodiless_status) content_type = {};
  const absl::string_view connection =
      close ? "Connection: close\r\n\r\n"
            : (request_.version == Version::kHttp10 ? "Connection: keep-alive\r\n\r\n" : "\r\n");
  if (reply_no_body_) body = {};
  const absl::string_view status_line = StatusLine(status);
  constexpr absl::string_view kType = "Content-Type: ";
  size_t size = status_line.size() + connection.size() + body.size();
  if (!content_type.empty()) size += kType.size() + content_type.size() + 2;
  if (!length_line.empty()) size += length_line.size() + length_digits.size() + 2;
  for (const ResponseField& field : fields) size += field.name.size() + field.value.size() + 4;
  char* p = sink_->Output()->Extend(size);
  const auto put = [&p](absl::string_view piece) {
    if (piece.empty()) return;  // An empty view's data() may be null.
    std::memcpy(p, piece.data(), piece.size());
    p += piece.size();
  };
  put(status_line);
  if (!content_type.empty()) {
    put(kType);
    put(content_type);
    put("\r\n");
  }
  if (!length_line.empty()) {
    put(length_line);
    put(length_digits);
    put("\r\n");
  }
  for (const ResponseField& field : fields) {
    put(field.name);
    put(": ");
    put(field.value);
    put("\r\n");
  }
  put(connection);
  put(body);
}

void ServerCodec::OnHeaderTimeout() {
  CallScope scope(&in_call_);
  if (phase() == Phase::kHead) RespondError(ParseError::kRequestTimeout);
}

void ServerCodec::RespondError(ParseError error) {
  // A final head already written cannot be followed by an error response:
  // the connection just closes.
  const bool answered = reply_ != Reply::kNone;
  if (stream_ != nullptr) {
    aborted_ = true;
    if (observer_ != nullptr) observer_->OnAbort(AbortReason::kBadRequest);
    stream_->OnAbort(AbortReason::kBadRequest);
    active_ = false;
    stream_.reset();
    aborted_ = false;
  }
  paused_ = wants_writable_ = false;
  error_response_ = true;
  state_ = State::kClosed;
  if (answered) return;
  const HttpStatus status = StatusFor(error);
  const absl::string_view name = ParseErrorName(error);
  net::Buffer* out = sink_->Output();
  out->Append(absl::StrCat("HTTP/1.1 ", status.code, " ", status.reason,
                           "\r\nContent-Type: text/plain\r\nContent-Length: ", name.size() + 1,
                           "\r\nConnection: close\r\n\r\n"));
  // A HEAD answer carries no content (RFC 9110 §9.3.2), errors included. A
  // request whose head did not parse has no method to go by: it gets the body.
  if (!(head_parsed_ && request_.method == Method::kHead)) {
    out->Append(name);
    out->Append("\n");
  }
  ++responses_;
  if (observer_ != nullptr) {
    // A request whose head never parsed has no request line to report.
    observer_->OnResponse(status.code, /*parse_error=*/error != ParseError::kRequestTimeout,
                          head_parsed_ ? request_.body_bytes : 0);
  }
}

}  // namespace epollhttp::http
