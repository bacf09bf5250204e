#include "server/app.h"

#include <string>

#include "absl/strings/numbers.h"

namespace epollhttp {

void HelloHandler::OnComplete(http::Request& request, http::ResponseWriter& writer) const {
  char digits[absl::numbers_internal::kFastToBufferSize];
  const char* end = absl::numbers_internal::FastIntToBuffer(request.body_bytes, digits);
  const http::ResponseField fields[] = {
      {"X-Received-Body-Bytes", absl::string_view(digits, static_cast<size_t>(end - digits))}};
  http::Response response;
  response.content_type = "text/html";
  response.fields = fields;
  response.body = "Hello! I am an epoll server.";
  writer.Write(response);
}

void HealthHandler::OnComplete(http::Request& request, http::ResponseWriter& writer) const {
  (void)request;
  http::Response response;
  response.body = "ok\n";
  writer.Write(response);
}

void MetricsHandler::OnComplete(http::Request& request, http::ResponseWriter& writer) const {
  (void)request;
  const std::string text = metrics_->Render();
  http::Response response;
  response.content_type = "text/plain; version=0.0.4";
  response.body = text;
  writer.Write(response);
}

HelloApp::HelloApp(const Metrics* metrics, bool admin_listener) : metrics_(metrics) {
  router_.SetDefault(&hello_);
  http::Router& admin = admin_listener ? admin_router_ : router_;
  admin.Handle(http::Method::kGet, "/healthz", &health_);
  if (metrics != nullptr) admin.Handle(http::Method::kGet, "/metrics", &metrics_);
}

}  // namespace epollhttp
