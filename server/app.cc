#include "server/app.h"

#include <charconv>
#include <string>

namespace epollhttp {

void HelloHandler::Answer(http::ResponseWriter& writer) const {
  char digits[24];
  const char* end = std::to_chars(digits, digits + sizeof(digits), writer.request().body_bytes).ptr;
  const http::ResponseField fields[] = {
      {"X-Received-Body-Bytes", absl::string_view(digits, static_cast<size_t>(end - digits))}};
  http::Response response;
  response.content_type = "text/html";
  response.fields = fields;
  response.body = "Hello! I am an epoll server.";
  writer.Respond(response);
}

void HealthHandler::Answer(http::ResponseWriter& writer) const {
  http::Response response;
  response.body = "ok\n";
  writer.Respond(response);
}

void MetricsHandler::Answer(http::ResponseWriter& writer) const {
  const std::string text = metrics_->Render();
  http::Response response;
  response.content_type = "text/plain; version=0.0.4";
  response.body = text;
  writer.Respond(response);
}

HelloApp::HelloApp(const Metrics* metrics, bool admin_listener) : metrics_(metrics) {
  router_.SetDefault(&hello_);
  http::Router& admin = admin_listener ? admin_router_ : router_;
  admin.Handle(http::Method::kGet, "/healthz", &health_);
  if (metrics != nullptr) admin.Handle(http::Method::kGet, "/metrics", &metrics_);
}

}  // namespace epollhttp
