#include "server/http_session.h"

#include "absl/strings/str_cat.h"

namespace epollhttp {

using http::BodyChunk;
using http::ParseError;
using http::ParseStatus;

HttpSession::HttpSession(const SessionOptions& options)
    : options_(options), parser_(options.parser), body_(options.body) {}

size_t HttpSession::OnInput(absl::string_view input, std::string* output) {
  size_t consumed = 0;
  while (true) {
    const absl::string_view rest = input.substr(consumed);
    if (state_ == State::kClosed) return input.size();
    if (state_ == State::kHead) {
      if (rest.empty()) return consumed;
      head_started_ = true;
      const ParseStatus status = parser_.Parse(rest);
      if (status == ParseStatus::kNeedMore) return consumed;
      if (status == ParseStatus::kError) {
        RespondError(parser_.error(), output);
        return input.size();
      }
      const http::RequestHead& head = parser_.head();
      is_head_ = head.method == http::Method::kHead;
      keep_alive_ = head.keep_alive;
      consumed += parser_.consumed();
      if (const ParseError error = body_.Start(head.body_kind, head.content_length);
          error != ParseError::kNone) {
        RespondError(error, output);
        return input.size();
      }
      if (head.expect_continue && !body_.done() && consumed == input.size()) {
        output->append("HTTP/1.1 100 Continue\r\n\r\n");
      }
      state_ = State::kBody;
    }
    // kBody: stream the body through, keeping nothing.
    const BodyChunk chunk = body_.Read(input.substr(consumed));
    consumed += chunk.consumed;
    if (chunk.status == ParseStatus::kError) {
      RespondError(chunk.error, output);
      return input.size();
    }
    if (chunk.status == ParseStatus::kNeedMore) {
      if (consumed == input.size()) return consumed;
      continue;  // More body bytes in this input.
    }
    Respond(output);
    if (state_ == State::kClosed) return input.size();
  }
}

void HttpSession::Respond(std::string* output) {
  const bool close = !keep_alive_ || draining_;
  absl::StrAppend(output,
                  "HTTP/1.1 200 OK\r\n"
                  "Content-Type: text/html\r\n"
                  "Content-Length: 28\r\n"
                  "X-Received-Body-Bytes: ",
                  body_.received(), "\r\n",
                  close ? "Connection: close\r\n" : (parser_.head().version == http::Version::kHttp10
                                                         ? "Connection: keep-alive\r\n"
                                                         : ""),
                  "\r\n", is_head_ ? "" : kHelloBody);
  ++responses_;
  parser_.Reset();
  head_started_ = false;
  if (close) {
    closing_ = true;
    state_ = State::kClosed;
  } else {
    state_ = State::kHead;
  }
}

void HttpSession::RespondError(ParseError error, std::string* output) {
  const http::HttpStatus status = http::StatusFor(error);
  const std::string body = absl::StrCat(http::ParseErrorName(error), "\n");
  absl::StrAppend(output, "HTTP/1.1 ", status.code, " ", status.reason,
                  "\r\nContent-Type: text/plain\r\nContent-Length: ", body.size(),
                  "\r\nConnection: close\r\n\r\n", body);
  ++responses_;
  closing_ = true;
  state_ = State::kClosed;
}

}  // namespace epollhttp
