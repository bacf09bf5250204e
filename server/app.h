// app.h: the application //server serves, as handlers behind the codec's
// Handler seam, and `HelloApp`, which registers them with the routers.
//
// - HelloHandler answers every request, once its whole body has arrived
//   (bytes dropped unread where possible), with `200 OK`, the tutorial's
//   text and `X-Received-Body-Bytes: N`.
// - HealthHandler answers `ok`; MetricsHandler the Prometheus text of a
//   Metrics registry.
// - HelloApp routes GET (and so HEAD) /healthz and /metrics, and everything
//   else to the hello reply; with an admin listener, /healthz and /metrics are
//   routed only on the admin router, where anything else is 404.
//
// Thread safety: handlers and routers are immutable once built and shared by
// every loop thread.
#ifndef EPOLLHTTP_SERVER_APP_H_
#define EPOLLHTTP_SERVER_APP_H_

#include "server/http/handler.h"
#include "server/http/router.h"
#include "server/metrics.h"

namespace epollhttp {

class HelloHandler final : public http::SimpleHandler {
 public:
  void Answer(http::ResponseWriter& writer) const override;
};

class HealthHandler final : public http::SimpleHandler {
 public:
  void Answer(http::ResponseWriter& writer) const override;
};

class MetricsHandler final : public http::SimpleHandler {
 public:
  // `metrics` must outlive the handler.
  explicit MetricsHandler(const Metrics* metrics) : metrics_(metrics) {}
  void Answer(http::ResponseWriter& writer) const override;

 private:
  const Metrics* metrics_;
};

class HelloApp {
 public:
  // `metrics` (may be null: /metrics is then an ordinary path) must outlive
  // the app. With `admin_listener`, /healthz and /metrics are served only
  // through admin_router().
  HelloApp(const Metrics* metrics, bool admin_listener);
  HelloApp(const HelloApp&) = delete;
  HelloApp& operator=(const HelloApp&) = delete;

  [[nodiscard]] const http::Router& router() const { return router_; }
  [[nodiscard]] const http::Router& admin_router() const { return admin_router_; }

 private:
  HelloHandler hello_;
  HealthHandler health_;
  MetricsHandler metrics_;
  http::Router router_;
  http::Router admin_router_;
};

}  // namespace epollhttp

#endif  // EPOLLHTTP_SERVER_APP_H_
