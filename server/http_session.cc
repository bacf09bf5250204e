#include "server/http_session.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace epollhttp {
namespace {

using http::BodyChunk;
using http::ParseError;
using http::ParseStatus;

constexpr absl::string_view kHealthBody = "ok\n";
constexpr absl::string_view kNotFoundBody = "not found\n";

// Path() is the target without its query.
absl::string_view Path(absl::string_view target) {
  return target.substr(0, target.find('?'));
}

}  // namespace

HttpSession::HttpSession(const SessionOptions& options)
    : options_(options), parser_(options.parser), body_(options.body) {
  if (options_.access_log != nullptr) log_ = std::make_unique<LogState>();
}

void HttpSession::OnBodySkipped(int64_t n, std::string* output) {
  if (state_ != State::kBody || n <= 0) return;
  n = std::min(n, body_.skippable());
  if (options_.stats != nullptr) options_.stats->AddBodyBytes(n);
  if (body_.Skip(n) == ParseStatus::kComplete) Respond(output);
}

HttpSession::Phase HttpSession::phase() const {
  switch (state_) {
    case State::kHead:
      return head_started_ ? Phase::kHead : Phase::kIdle;
    case State::kBody:
      return Phase::kBody;
    case State::kClosed:
      return Phase::kClosed;
  }
  return Phase::kClosed;
}

size_t HttpSession::OnInput(absl::string_view input, std::string* output, SessionBudget budget) {
  size_t consumed = 0;
  const int64_t responses_before = responses_;
  yielded_ = false;
  while (true) {
    const absl::string_view rest = input.substr(consumed);
    if (state_ == State::kClosed) return input.size();
    if (state_ == State::kHead) {
      if (rest.empty()) return consumed;
      if (!head_started_) {
        // A new request: answer it only within budget, so queued output
        // stays bounded and one connection cannot monopolise the loop.
        if (output->size() >= budget.max_output ||
            responses_ - responses_before >= budget.max_responses) {
          yielded_ = true;
          return consumed;
        }
        head_started_ = true;
        if (log_ != nullptr) log_->started = std::chrono::steady_clock::now();
      }
      const ParseStatus status = parser_.Parse(rest);
      if (status == ParseStatus::kNeedMore) return consumed;
      if (status == ParseStatus::kError) {
        RespondError(parser_.error(), output);
        return input.size();
      }
      const http::RequestHead& head = parser_.head();
      OnHeadComplete(head);
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
    if (options_.stats != nullptr && !chunk.data.empty()) {
      options_.stats->AddBodyBytes(static_cast<int64_t>(chunk.data.size()));
    }
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

void HttpSession::OnHeadComplete(const http::RequestHead& head) {
  is_head_ = head.method == http::Method::kHead;
  keep_alive_ = head.keep_alive;
  route_ = Route::kHello;
  head_parsed_ = true;
  if (options_.admin) route_ = Route::kNotFound;
  if (head.method == http::Method::kGet || head.method == http::Method::kHead) {
    const absl::string_view path = Path(head.target);
    if (path == "/metrics" && options_.metrics != nullptr) route_ = Route::kMetrics;
    if (path == "/healthz" && (options_.health || options_.admin)) route_ = Route::kHealth;
  }
  if (log_ != nullptr) {
    log_->method.assign(http::MethodName(head.method).data(), http::MethodName(head.method).size());
    // One byte past the cap, so the log can mark the target as cut.
    const absl::string_view target = head.target.substr(0, kMaxLoggedTarget + 1);
    log_->target.assign(target.data(), target.size());
    log_->version = head.version == http::Version::kHttp11 ? "HTTP/1.1" : "HTTP/1.0";
  }
}

void HttpSession::Respond(std::string* output) {
  const bool close = !keep_alive_ || draining_;
  std::string metrics_body;
  absl::string_view status = "200 OK";
  absl::string_view content_type = "text/html";
  absl::string_view body = kHelloBody;
  if (route_ == Route::kNotFound) {
    status = "404 Not Found";
    content_type = "text/plain";
    body = kNotFoundBody;
  } else if (route_ == Route::kMetrics) {
    metrics_body = options_.metrics->Render();
    content_type = "text/plain; version=0.0.4";
    body = metrics_body;
  } else if (route_ == Route::kHealth) {
    content_type = "text/plain";
    body = kHealthBody;
  }
  absl::StrAppend(output, "HTTP/1.1 ", status, "\r\nContent-Type: ", content_type,
                  "\r\nContent-Length: ", body.size(),
                  "\r\nX-Received-Body-Bytes: ", body_.received(), "\r\n",
                  close ? "Connection: close\r\n" : (parser_.head().version == http::Version::kHttp10
                                                         ? "Connection: keep-alive\r\n"
                                                         : ""),
                  "\r\n", is_head_ ? absl::string_view() : body);
  const int code = route_ == Route::kNotFound ? 404 : 200;
  ++responses_;
  if (options_.stats != nullptr) options_.stats->OnResponse(code, /*parse_error=*/false);
  Log(code);
  parser_.Reset();
  head_started_ = false;
  head_parsed_ = false;
  if (close) {
    closing_ = true;
    state_ = State::kClosed;
  } else {
    state_ = State::kHead;
  }
}

void HttpSession::OnHeaderTimeout(std::string* output) {
  if (phase() == Phase::kHead) RespondError(ParseError::kRequestTimeout, output);
}

void HttpSession::RespondError(ParseError error, std::string* output) {
  const http::HttpStatus status = http::StatusFor(error);
  const std::string body = absl::StrCat(http::ParseErrorName(error), "\n");
  absl::StrAppend(output, "HTTP/1.1 ", status.code, " ", status.reason,
                  "\r\nContent-Type: text/plain\r\nContent-Length: ", body.size(),
                  "\r\nConnection: close\r\n\r\n", body);
  ++responses_;
  if (options_.stats != nullptr) {
    options_.stats->OnResponse(status.code, /*parse_error=*/error != ParseError::kRequestTimeout);
  }
  if (log_ != nullptr && !head_parsed_) {
    log_->method.clear();  // Logged as "-": the request line may not have parsed.
    log_->target.clear();
    log_->version = {};
  }
  Log(status.code);
  closing_ = true;
  error_response_ = true;
  state_ = State::kClosed;
}

void HttpSession::Log(int status) {
  if (log_ == nullptr) return;
  options_.access_log->Append(log_->peer.empty() ? "-" : log_->peer, log_->method, log_->target,
                              log_->version, status, body_.received(),
                              std::chrono::steady_clock::now() - log_->started);
}

}  // namespace epollhttp
