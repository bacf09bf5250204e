#include "server/app.h"

#include <charconv>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"

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

namespace {

// FNV-1a, 64-bit: a digest the tests can recompute.
uint64_t Fnv1a(uint64_t hash, absl::string_view data) {
  for (const char c : data) {
    hash ^= static_cast<uint8_t>(c);
    hash *= 0x100000001b3u;
  }
  return hash;
}

// One body piece on its way through the pool: the work hashes it, `done`
// (which owns it) takes the result. The work may point at it: `done`, and so
// the job, is destroyed only after the work has returned.
struct DigestJob {
  std::string piece;
  uint64_t hash = 0;
};

class DigestStream final : public http::RequestStream {
 public:
  DigestStream(net::WorkerPool* workers, http::ResponseWriter& writer)
      : workers_(workers), writer_(&writer) {}

  http::BodyAction OnBody(absl::string_view data, http::ResponseWriter& writer) override {
    (void)writer;
    auto job = std::make_unique<DigestJob>();
    job->piece.assign(data.data(), data.size());  // `data` dies with this call.
    job->hash = hash_;
    DigestJob* raw = job.get();
    work_ = workers_->Submit(
        writer_->loop(), [raw] { raw->hash = Fnv1a(raw->hash, raw->piece); },
        [this, job = std::move(job)] {
          hash_ = job->hash;
          bytes_ += static_cast<int64_t>(job->piece.size());
          writer_->ResumeBody();
        });
    return http::BodyAction::kPause;  // Until the piece is hashed.
  }

  void OnEnd(http::ResponseWriter& writer) override {
    (void)writer;
    // The answer is formatted off the loop too, and written when it is back.
    auto text = std::make_unique<std::string>();
    std::string* raw = text.get();
    work_ = workers_->Submit(
        writer_->loop(),
        [raw, bytes = bytes_, hash = hash_] {
          *raw = absl::StrCat("bytes=", bytes, " fnv1a=", absl::Hex(hash, absl::kZeroPad16), "\n");
        },
        [this, text = std::move(text)] {
          http::Response response;
          response.body = *text;
          writer_->Respond(response);
        });
  }

  // OnAbort(): nothing to do: destroying work_ cancels what is in flight.

 private:
  net::WorkerPool* workers_;
  http::ResponseWriter* writer_;
  net::Work work_;
  uint64_t hash_ = 0xcbf29ce484222325u;
  int64_t bytes_ = 0;
};

}  // namespace

http::StreamStart DigestHandler::Start(const http::RequestHead& head,
                                       http::ResponseWriter& writer) const {
  (void)head;
  return {http::Owned(std::make_unique<DigestStream>(workers_, writer)), http::BodyMode::kRead};
}

HelloApp::HelloApp(Metrics* metrics, bool admin_listener, net::WorkerPool* test_workers,
                   const http::Handler* uploads, absl::string_view upload_prefix)
    : metrics_(metrics), digest_(test_workers) {
  router_.SetDefault(&hello_);
  if (uploads != nullptr) {
    router_.HandlePrefix(upload_prefix, uploads);
    if (metrics != nullptr) metrics->AddRoute(upload_prefix);
  }
  if (test_workers != nullptr) router_.Handle(http::Method::kPost, "/test/digest", &digest_);
  http::Router& admin = admin_listener ? admin_router_ : router_;
  admin.Handle(http::Method::kGet, "/healthz", &health_);
  if (metrics != nullptr) {
    admin.Handle(http::Method::kGet, "/metrics", &metrics_);
    // The duration histogram's routes (anything else is "other").
    for (const char* route : {"/healthz", "/metrics", "/test/digest"}) metrics->AddRoute(route);
  }
}

}  // namespace epollhttp
