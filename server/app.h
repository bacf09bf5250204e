// app.h: the application //server serves, as handlers behind the codec's
// Handler seam, and `HelloApp`, which registers them with the routers.
//
// - HelloHandler answers every request, once its whole body has arrived
//   (bytes dropped unread where possible), with `200 OK`, the tutorial's
//   text and `X-Received-Body-Bytes: N`.
// - HealthHandler answers `ok`; MetricsHandler the Prometheus text of a
//   Metrics registry.
// - DigestHandler (POST /test/digest, only with --test_routes) is the
//   asynchronous seam end to end: each body piece is hashed on the worker
//   pool while the stream holds the read, and the answer is written after a
//   last worker task. It exists for the end-to-end tests and as a worked
//   example (docs/architecture.md).
// - HelloApp routes GET (and so HEAD) /healthz and /metrics, and everything
//   else to the hello reply; with an admin listener, /healthz and /metrics are
//   routed only on the admin router, where anything else is 404.
//
// Thread safety: handlers and routers are immutable once built and shared by
// every loop thread.
#ifndef EPOLLHTTP_SERVER_APP_H_
#define EPOLLHTTP_SERVER_APP_H_

#include "net/worker_pool.h"
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

// Answers `bytes=N fnv1a=H\n`: the body's length and its 64-bit FNV-1a
// hash (hex), computed on `workers`, a piece at a time, in order.
class DigestHandler final : public http::Handler {
 public:
  // `workers` must outlive every request (the server that owns it does).
  explicit DigestHandler(net::WorkerPool* workers) : workers_(workers) {}
  http::StreamStart Start(const http::RequestHead& head,
                          http::ResponseWriter& writer) const override;

 private:
  net::WorkerPool* workers_;
};

class HelloApp {
 public:
  // `metrics` (may be null: /metrics is then an ordinary path) must outlive
  // the app. With `admin_listener`, /healthz and /metrics are served only
  // through admin_router(). With `test_workers` (may be null), the test
  // routes are served too, on that pool.
  // The app names its routes in `metrics` (for the duration histogram).
  // With `uploads` (may be null; not owned, it must outlive the app), every
  // request under `upload_prefix` goes to it (--upload_dir).
  HelloApp(Metrics* metrics, bool admin_listener, net::WorkerPool* test_workers = nullptr,
           const http::Handler* uploads = nullptr, absl::string_view upload_prefix = "/files/");
  HelloApp(const HelloApp&) = delete;
  HelloApp& operator=(const HelloApp&) = delete;

  [[nodiscard]] const http::Router& router() const { return router_; }
  [[nodiscard]] const http::Router& admin_router() const { return admin_router_; }

 private:
  HelloHandler hello_;
  HealthHandler health_;
  MetricsHandler metrics_;
  DigestHandler digest_;
  http::Router router_;
  http::Router admin_router_;
};

}  // namespace epollhttp

#endif  // EPOLLHTTP_SERVER_APP_H_
