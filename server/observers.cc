#include "server/observers.h"

namespace epollhttp {

void StatsObserver::OnRequestDone(absl::string_view route, int status,
                                  std::chrono::nanoseconds duration) {
  if (route.data() != last_route_) {
    last_route_ = route.data();
    last_index_ = metrics_ == nullptr ? 0 : metrics_->Route(route);
  }
  stats_->ObserveRequest(last_index_, status, duration);
}

void RequestTimer::OnResponse(int status, bool parse_error, int64_t body_bytes) {
  if (!route_.empty() && stats_ != nullptr) {
    stats_->OnRequestDone(route_, status, std::chrono::steady_clock::now() - started_);
  }
  route_ = {};
  if (next_ != nullptr) next_->OnResponse(status, parse_error, body_bytes);
}

void AccessLogObserver::OnRequestStart() {
  started_ = std::chrono::steady_clock::now();
  method_.clear();
  target_.clear();
  version_ = {};
  if (next_ != nullptr) next_->OnRequestStart();
}

void AccessLogObserver::OnRequestHead(const http::RequestHead& head) {
  const absl::string_view method = http::MethodName(head.method);
  method_.assign(method.data(), method.size());
  // One byte past the cap, so the log can mark the target as cut.
  const absl::string_view target = head.target.substr(0, kMaxLoggedTarget + 1);
  target_.assign(target.data(), target.size());
  version_ = head.version == http::Version::kHttp11 ? "HTTP/1.1" : "HTTP/1.0";
  body_bytes_ = 0;
  if (next_ != nullptr) next_->OnRequestHead(head);
}

void AccessLogObserver::OnResponse(int status, bool parse_error, int64_t body_bytes) {
  log_->Append(peer_.empty() ? "-" : peer_, method_, target_, version_, status, body_bytes,
               std::chrono::steady_clock::now() - started_);
  if (next_ != nullptr) next_->OnResponse(status, parse_error, body_bytes);
}

void AccessLogObserver::OnAbort(http::AbortReason reason) {
  int status = 0;
  switch (reason) {
    case http::AbortReason::kReset:
    case http::AbortReason::kEndOfStream: status = 499; break;
    case http::AbortReason::kTimeout: status = 408; break;
    case http::AbortReason::kShutdown: status = 503; break;
    case http::AbortReason::kBadRequest: break;
  }
  if (status != 0) {
    log_->Append(peer_.empty() ? "-" : peer_, method_, target_, version_, status, body_bytes_,
                 std::chrono::steady_clock::now() - started_);
  }
  if (next_ != nullptr) next_->OnAbort(reason);
}

}  // namespace epollhttp
