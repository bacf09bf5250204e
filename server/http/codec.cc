#include "server/http/codec.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace epollhttp::http {
namespace {

constexpr absl::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

}  // namespace

ServerCodec::ServerCodec(const CodecOptions& options, const Router* router, CodecObserver* observer)
    : options_(options),
      router_(router),
      observer_(observer),
      parser_(options.parser),
      body_(options.body) {}

void ServerCodec::Reset(CodecObserver* observer) {
  observer_ = observer;
  // Between requests the parser is already reset (it sees no byte before a
  // request starts); keep-alive connections come here after every request.
  if (!idle()) parser_.Reset();
  handler_ = nullptr;
  request_.body_bytes = 0;
  request_.state.reset();
  output_ = nullptr;
  status_ = 0;
  state_ = State::kHead;
  body_mode_ = BodyMode::kDiscard;
  head_started_ = head_parsed_ = false;
  keep_alive_ = true;
  draining_ = error_response_ = yielded_ = false;
  responses_ = 0;
}

ServerCodec::Phase ServerCodec::phase() const {
  switch (state_) {
    case State::kHead: return head_started_ ? Phase::kHead : Phase::kIdle;
    case State::kBody: return Phase::kBody;
    case State::kClosed: return Phase::kClosed;
  }
  return Phase::kClosed;
}

size_t ServerCodec::OnInput(absl::string_view input, std::string* output, CodecBudget budget) {
  size_t consumed = 0;
  const int64_t responses_before = responses_;
  yielded_ = false;
  while (true) {
    if (state_ == State::kClosed) return input.size();
    const absl::string_view rest = input.substr(consumed);
    if (state_ == State::kHead) {
      if (rest.empty()) return consumed;
      if (!head_started_) {
        // A new request: answer it only within budget, so queued output
        // stays bounded and one connection cannot monopolise its loop.
        if (output->size() >= budget.max_output ||
            responses_ - responses_before >= budget.max_responses) {
          yielded_ = true;
          return consumed;
        }
        head_started_ = true;
        if (observer_ != nullptr) observer_->OnRequestStart();
      }
      const ParseStatus status = parser_.Parse(rest);
      if (status == ParseStatus::kNeedMore) return consumed;
      if (status == ParseStatus::kError) {
        RespondError(parser_.error(), output);
        return input.size();
      }
      const RequestHead& head = parser_.head();
      OnHeadComplete(head);
      consumed += parser_.consumed();
      if (const ParseError error = body_.Start(head.body_kind, head.content_length);
          error != ParseError::kNone) {
        RespondError(error, output);
        return input.size();
      }
      // The client may be waiting for this before it sends the body.
      if (head.expect_continue && !body_.done() && consumed == input.size()) {
        output->append(kContinue.data(), kContinue.size());
      }
      state_ = State::kBody;
    }
    // kBody: stream the body to the handler (or only count it).
    const BodyChunk chunk = body_.Read(input.substr(consumed));
    consumed += chunk.consumed;
    if (!chunk.data.empty()) AddBodyBytes(chunk.data, static_cast<int64_t>(chunk.data.size()));
    if (chunk.status == ParseStatus::kError) {
      RespondError(chunk.error, output);
      return input.size();
    }
    if (chunk.status == ParseStatus::kNeedMore) {
      if (consumed == input.size()) return consumed;
      continue;  // More body bytes in this input.
    }
    Complete(output);
  }
}

void ServerCodec::OnHeadComplete(const RequestHead& head) {
  head_parsed_ = true;
  keep_alive_ = head.keep_alive;
  request_.method = head.method;
  request_.version = head.version;
  request_.body_bytes = 0;
  request_.state.reset();
  if (observer_ != nullptr) observer_->OnRequestHead(head);
  handler_ = &router_->Route(head.method, head.target);
  body_mode_ = handler_->OnHead(head, request_);
}

void ServerCodec::AddBodyBytes(absl::string_view data, int64_t n) {
  request_.body_bytes += n;
  if (observer_ != nullptr) observer_->OnBodyBytes(n);
  if (body_mode_ == BodyMode::kRead) handler_->OnBody(data, request_);
}

void ServerCodec::OnBodySkipped(int64_t n, std::string* output) {
  if (state_ != State::kBody || n <= 0) return;
  n = std::min(n, SkippableBodyBytes());
  if (n <= 0) return;
  AddBodyBytes({}, n);
  if (body_.Skip(n) == ParseStatus::kComplete) Complete(output);
}

void ServerCodec::Complete(std::string* output) {
  output_ = output;
  status_ = 0;
  handler_->OnComplete(request_, writer_);
  if (status_ == 0) {  // The handler wrote nothing: that is a server error.
    Response error;
    error.status = 500;
    error.body = "handler wrote no response\n";
    WriteResponse(error);
  }
  output_ = nullptr;
  ++responses_;
  if (observer_ != nullptr)
    observer_->OnResponse(status_, /*parse_error=*/false, request_.body_bytes);
  request_.state.reset();
  parser_.Reset();
  head_started_ = false;
  head_parsed_ = false;
  state_ = !keep_alive_ || draining_ ? State::kClosed : State::kHead;
}

void ServerCodec::WriteResponse(const Response& response) {
  if (output_ == nullptr || status_ != 0) return;  // Outside OnComplete(), or a second one.
  status_ = response.status;
  const bool close = !keep_alive_ || draining_;
  // Every response passes here: the pieces are sized first and copied into
  // one resize of the output (a multi-piece absl::StrAppend() per part would
  // resize, zero-fill and copy once per call).
  char length[absl::numbers_internal::kFastToBufferSize];
  const absl::string_view length_digits(
      length, static_cast<size_t>(
                  absl::numbers_internal::FastIntToBuffer(response.body.size(), length) - length));
  const absl::string_view connection =
      close ? "\r\nConnection: close\r\n\r\n"
            : (request_.version == Version::kHttp10 ? "\r\nConnection: keep-alive\r\n\r\n"
                                                    : "\r\n\r\n");
  const absl::string_view body =
      request_.method == Method::kHead ? absl::string_view() : response.body;
  const absl::string_view status_line = StatusLine(response.status);
  constexpr absl::string_view kType = "Content-Type: ";
  constexpr absl::string_view kLength = "\r\nContent-Length: ";
  size_t size = status_line.size() + kType.size() + response.content_type.size() + kLength.size() +
                length_digits.size() + connection.size() + body.size();
  for (const ResponseField& field : response.fields) {
    size += field.name.size() + field.value.size() + 4;
  }
  const size_t old = output_->size();
  output_->resize(old + size);
  char* p = &(*output_)[old];
  const auto put = [&p](absl::string_view piece) {
    if (piece.empty()) return;  // An empty view's data() may be null.
    std::memcpy(p, piece.data(), piece.size());
    p += piece.size();
  };
  put(status_line);
  put(kType);
  put(response.content_type);
  put(kLength);
  put(length_digits);
  for (const ResponseField& field : response.fields) {
    put("\r\n");
    put(field.name);
    put(": ");
    put(field.value);
  }
  put(connection);
  put(body);
}

void ServerCodec::OnHeaderTimeout(std::string* output) {
  if (phase() == Phase::kHead) RespondError(ParseError::kRequestTimeout, output);
}

void ServerCodec::RespondError(ParseError error, std::string* output) {
  const HttpStatus status = StatusFor(error);
  const absl::string_view name = ParseErrorName(error);
  absl::StrAppend(output, "HTTP/1.1 ", status.code, " ", status.reason,
                  "\r\nContent-Type: text/plain\r\nContent-Length: ", name.size() + 1,
                  "\r\nConnection: close\r\n\r\n");
  // A HEAD answer carries no content (RFC 9110 §9.3.2), errors included. A
  // request whose head did not parse has no method to go by: it gets the body.
  if (!(head_parsed_ && request_.method == Method::kHead)) absl::StrAppend(output, name, "\n");
  ++responses_;
  if (observer_ != nullptr) {
    // A request whose head never parsed has no request line to report.
    observer_->OnResponse(status.code, /*parse_error=*/error != ParseError::kRequestTimeout,
                          head_parsed_ ? request_.body_bytes : 0);
  }
  error_response_ = true;
  state_ = State::kClosed;
}

}  // namespace epollhttp::http
