#include "loadgen/runner.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "httplib.h"
#include "loadgen/bodies.h"
#include "loadgen/fiber.h"
#include "loadgen/fiber_client.h"
#include "loadgen/tus_upload.h"
#include "loadgen/url.h"

namespace epollhttp::loadgen {
namespace {

using Clock = std::chrono::steady_clock;

// --client_upload_rate sends a body in slices this long at the rate.
constexpr double kPaceSliceSeconds = 0.01;

int64_t Micros(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
}

// NeedsEncoding() is whether `path` has a byte that cpp-httplib's
// encode_url() would percent-encode: space + CR LF ' , ; and non-ASCII.
bool NeedsEncoding(const std::string& path) {
  for (const char c : path) {
    if (static_cast<unsigned char>(c) >= 0x80 ||
        absl::string_view(" +\r\n',;").find(c) != absl::string_view::npos) {
      return true;
    }
  }
  return false;
}

std::mutex& PrintMutex() {
  static std::mutex* mutex = new std::mutex;
  return *mutex;
}

std::vector<double> Weights(const RunOptions& options) {
  std::vector<double> weights;
  for (const Body& body : options.bodies) weights.push_back(body.weight);
  if (weights.empty()) weights.push_back(1);
  return weights;
}

// One client: a cpp-httplib client sending one request at a time, as a fiber
// on its thread's scheduler. Its results go to the thread's RunStats.
class Client {
 public:
  // `start` and `unix_start` (the same instant on the wall clock) are read
  // when the client runs: they are set after all set-up.
  Client(const RunOptions& options, const std::string& host, int port, const TlsContext* tls,
         int index, const Clock::time_point* start, const double* unix_start,
         std::atomic<int64_t>* completed, RunStats* stats)
      : options_(options),
        index_(index),
        start_(*start),
        unix_start_(*unix_start),
        completed_(completed),
        stats_(*stats),
        client_(host, port, options.timeout, tls),
        sends_body_(SendsBody(options.method)),
        picker_(Weights(options)) {
    if (options.bodies.empty()) {
      bodies_.push_back(options.payload);
    } else {
      for (const Body& body : options.bodies) bodies_.push_back(body.payload);
    }
    if (!options.upload.empty()) {
      tus_ = std::make_unique<TusUploader>(
          &client_, options.upload == "ietf" ? UploadProtocol::kIetf : UploadProtocol::kTus,
          headers_, options.path, options.chunk_bytes, options.interrupt, options.verify_uploads,
          static_cast<uint64_t>(index) + 1);
    }
    client_.set_keep_alive(options.keepalive);
    // No Accept-Encoding: bodies are counted and compared as sent.
    client_.set_decompress(false);
    // cpp-httplib percent-encodes the path on every request; a path that has
    // nothing to encode is sent as it is.
    client_.set_url_encode(NeedsEncoding(options.path));
    const auto timeout = std::chrono::duration_cast<std::chrono::microseconds>(options.timeout);
    const time_t sec = static_cast<time_t>(timeout.count() / 1000000);
    const time_t usec = static_cast<time_t>(timeout.count() % 1000000);
    client_.set_connection_timeout(sec, usec);
    client_.set_read_timeout(sec, usec);
    client_.set_write_timeout(sec, usec);
    for (const auto& [name, value] : options.headers) headers_.emplace(name, value);
    // cpp-httplib names the port unless it is 80 (it leaves TLS to its own
    // SSLClient, which this is not): an https URL's default port is left out.
    if (tls != nullptr && port == 443 && headers_.find("Host") == headers_.end()) {
      headers_.emplace("Host", host);
    }
    client_.ResolveOnce();  // Before the clock starts; failures show as connect errors.
    client_.set_trace(&trace_);
    if (options.upload_bytes_per_second > 0) {
      pace_slice_ = static_cast<size_t>(
          std::max(1.0, std::floor(options.upload_bytes_per_second * kPaceSliceSeconds)));
    }
  }

  void Run() {
    const RateSchedule& schedule = options_.schedule;
    const bool open_model = schedule.open();
    const bool timed = options_.duration.count() > 0 || schedule.staged();
    const Clock::time_point end =
        start_ + (schedule.staged() ? schedule.length() : options_.duration);
    for (int64_t i = 0;; ++i) {
      if (!timed && i >= options_.requests_per_client) break;
      // Request k of the run (this client's i-th): the clients interleave.
      const int64_t k = index_ + i * options_.clients;
      Clock::time_point intended = Clock::now();
      if (open_model) {
        const std::optional<std::chrono::nanoseconds> due = schedule.DueAt(k);
        if (!due.has_value()) break;
        intended = start_ + std::chrono::duration_cast<Clock::duration>(*due);
        if (timed && intended >= end) break;
        // The scheduler runs the other clients meanwhile and wakes this one
        // on time (it spins through the last 200 us: a timed wait overshoots
        // by the timer slack, which would count as latency).
        FiberScheduler::Current()->SleepUntil(intended);
      } else if (timed && intended >= end) {
        break;
      }
      body_index_ = picker_.Pick(k);
      payload_ = bodies_[body_index_];
      const Clock::time_point sent = Clock::now();
      if (open_model && sent - intended > std::chrono::milliseconds(1)) ++stats_.late;
      httplib::Response response;
      httplib::Error error = httplib::Error::Success;
      TusOutcome outcome;
      if (tus_ != nullptr) {
        trace_.Start();
        outcome = tus_->Upload(*payload_, (*options_.body_sha256)[body_index_]);
      } else {
        error = Send(&response);
      }
      const Clock::time_point done = Clock::now();
      RecordPhases(tus_ != nullptr && !outcome.ok ? httplib::Error::Unknown : error, done);
      const int64_t latency = Micros(done - intended);
      stats_.latency.Record(latency);
      stats_.latency_uncorrected.Record(Micros(done - sent));
      const int64_t failed_before = stats_.failed;
      const int64_t sent_before = stats_.bytes_sent;
      const int64_t received_before = stats_.bytes_received;
      if (tus_ != nullptr) {
        CheckUpload(outcome);
      } else {
        Check(error, response);
      }
      if (!stats_.bodies.empty()) {
        BodyStats& body = stats_.bodies[body_index_];
        ++body.requests;
        body.failed += stats_.failed - failed_before;
        body.bytes_sent += stats_.bytes_sent - sent_before;
        body.latency.Record(latency);
      }
      const auto unix_second = static_cast<int64_t>(
          std::floor(unix_start_ + std::chrono::duration<double>(done - start_).count()));
      stats_.series.Record(unix_second, latency, stats_.failed != failed_before,
                           stats_.bytes_sent - sent_before,
                           stats_.bytes_received - received_before);
      if (completed_ != nullptr) completed_->fetch_add(1, std::memory_order_relaxed);
    }
    // A staged run lasts its schedule, a pause at the end included.
    if (schedule.staged()) FiberScheduler::Current()->SleepUntil(end);
    stats_.tls_handshakes += client_.tls_handshakes();
    stats_.tls_resumed += client_.tls_resumed();
  }

 private:
  // Send() makes one request. The response body is not kept: it is counted
  // and only its first bytes are kept for --expect_body and
  // --print_responses, so a server that streams an endless body costs no
  // memory.
  httplib::Error Send(httplib::Response* response) {
    httplib::Request request;
    request.method = options_.method;
    request.path = options_.path;
    request.headers = headers_;
    trace_.Start();
    body_written_ = 0;
    if (sends_body_) {
      const Payload& payload = *payload_;
      request.headers.emplace("Content-Type", options_.content_type);
      if (options_.expect_continue) request.headers.emplace("Expect", "100-continue");
      if (options_.chunked) {
        request.headers.emplace("Transfer-Encoding", "chunked");
        request.is_chunked_content_provider_ = true;
        const size_t chunk = static_cast<size_t>(options_.chunk_bytes);
        request.content_provider_ = [this, &payload, chunk](size_t offset, size_t,
                                                            httplib::DataSink& sink) {
          if (offset >= payload.size()) {
            sink.done();
            return true;
          }
          return Provide(payload, offset, chunk, sink);
        };
      } else {
        request.content_length_ = payload.size();
        request.content_provider_ = [this, &payload](size_t offset, size_t length,
                                                     httplib::DataSink& sink) {
          return Provide(payload, offset, length, sink);
        };
      }
    }
    body_bytes_ = 0;
    body_start_.clear();
    request.content_receiver = [this](const char* data, size_t size, uint64_t, uint64_t) {
      body_bytes_ += static_cast<int64_t>(size);
      if (body_start_.size() < kept_body_bytes_) {
        body_start_.append(data, std::min(size, kept_body_bytes_ - body_start_.size()));
      }
      return true;
    };
    httplib::Error error = httplib::Error::Success;
    if (!client_.send(request, *response, error) && error == httplib::Error::Success) {
      error = httplib::Error::Unknown;
    }
    return error;
  }

  // Provide() writes the next at most `limit` body bytes from `offset`:
  // after the server's 100 Continue when asked to wait for it, and no sooner
  // than --client_upload_rate allows. False stops the upload.
  bool Provide(const Payload& payload, size_t offset, size_t limit, httplib::DataSink& sink) {
    if (offset == 0) {
      if (options_.expect_continue && !client_.AwaitContinue(options_.continue_timeout)) {
        return false;
      }
      pace_start_ = Clock::now();
    }
    const absl::string_view piece = payload.Piece(offset);
    size_t n = std::min(piece.size(), limit);
    if (pace_slice_ > 0) {
      // A slice goes when its last byte is due: the connection never runs
      // ahead of the rate.
      n = std::min(n, pace_slice_);
      FiberScheduler::Current()->SleepUntil(
          pace_start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                            static_cast<double>(offset + n) / options_.upload_bytes_per_second)));
    }
    if (!sink.write(piece.data(), n)) return false;
    body_written_ += static_cast<int64_t>(n);
    return true;
  }

  // RecordPhases() files the request's phase times (and its upload rate):
  // a new connection's connect and handshake whatever followed, the rest
  // only for a request that got its whole response.
  void RecordPhases(httplib::Error error, Clock::time_point done) {
    const std::array<int64_t, kPhases> d = trace_.marks.Durations(done);
    const bool answered = error == httplib::Error::Success && trace_.early_status == 0;
    for (int p = 0; p < kPhases; ++p) {
      const bool connection_phase =
          p == static_cast<int>(Phase::kConnect) || p == static_cast<int>(Phase::kTls);
      if (d[p] >= 0 && (answered || connection_phase)) stats_.phases[p].Record(d[p]);
    }
    const int64_t send = d[static_cast<int>(Phase::kSend)];
    if (answered && sends_body_ && send >= 0) {
      // Bytes per microsecond are MB/s; the histogram holds kB/s.
      stats_.upload_rate.Record(static_cast<int64_t>(payload_->size()) * 1000 /
                                std::max<int64_t>(send, 1));
    }
  }

  // CheckUpload() counts a whole tus upload.
  void CheckUpload(const TusOutcome& outcome) {
    stats_.bytes_sent += outcome.bytes_sent;
    stats_.upload_interruptions += outcome.interruptions;
    if (outcome.status != 0) ++stats_.status_codes[outcome.status];
    if (outcome.verified) ++stats_.uploads_verified;
    if (!outcome.ok) return Fail(outcome.kind);
    ++stats_.succeeded;
  }

  void Check(httplib::Error error, const httplib::Response& response) {
    if (error != httplib::Error::Success && trace_.early_status != 0) {
      // The server answered before the body was all sent, and the upload
      // stopped: that answer is the result.
      stats_.bytes_sent += body_written_;
      ++stats_.status_codes[trace_.early_status];
      if (options_.print_responses) Print(std::to_string(trace_.early_status) + " (early)");
      if (trace_.early_status != options_.expect_status) return Fail(ErrorKind::kStatus);
      ++stats_.succeeded;
      return;
    }
    if (error != httplib::Error::Success) {
      ErrorKind kind = ErrorKindOf(error);
      // cpp-httplib gave up on bytes the socket delivered fine: a bad
      // status line, header or framing.
      if (kind == ErrorKind::kRead && !trace_.stream_failed) kind = ErrorKind::kProtocol;
      if (kind == ErrorKind::kTls && stats_.tls_error.empty())
        stats_.tls_error = client_.tls_error();
      // A request that was written but not answered still sent its body.
      if ((kind == ErrorKind::kRead || kind == ErrorKind::kProtocol) && sends_body_) {
        stats_.bytes_sent += static_cast<int64_t>(payload_->size());
      }
      Fail(kind);
      if (options_.print_responses) Print("error: " + httplib::to_string(error));
      return;
    }
    const int64_t sent = sends_body_ ? static_cast<int64_t>(payload_->size()) : 0;
    stats_.bytes_sent += sent;
    stats_.bytes_received += body_bytes_;
    ++stats_.status_codes[response.status];
    if (options_.print_responses) {
      Print(std::to_string(response.status) + " " + body_start_ +
            (body_bytes_ > static_cast<int64_t>(body_start_.size()) ? "..." : ""));
    }
    if (trace_.bytes_after_response) return Fail(ErrorKind::kProtocol);
    if (response.status != options_.expect_status) return Fail(ErrorKind::kStatus);
    if (!options_.expect_body.empty() && options_.method != "HEAD" &&
        (body_bytes_ != static_cast<int64_t>(options_.expect_body.size()) ||
         body_start_ != options_.expect_body)) {
      return Fail(ErrorKind::kBody);
    }
    if (const auto it = response.headers.find("X-Received-Body-Bytes");
        it != response.headers.end()) {
      int64_t received = -1;
      if (!absl::SimpleAtoi(it->second, &received) || received != sent) {
        stats_.lost_body_bytes +=
            received < 0 ? sent : (sent > received ? sent - received : received - sent);
        return Fail(ErrorKind::kLostBytes);
      }
    }
    ++stats_.succeeded;
  }

  void Fail(ErrorKind kind) {
    stats_.Count(kind);
    ++stats_.failed;
  }

  void Print(const std::string& line) {
    std::lock_guard<std::mutex> lock(PrintMutex());
    std::printf("%s\n", line.c_str());
  }

  const RunOptions& options_;
  const int index_;
  const Clock::time_point& start_;
  const double& unix_start_;
  std::atomic<int64_t>* completed_;
  RunStats& stats_;
  FiberClient client_;
  RequestTrace trace_;                // The request in progress.
  std::unique_ptr<TusUploader> tus_;  // --upload tus.
  httplib::Headers headers_;
  const bool sends_body_;
  std::vector<const Payload*> bodies_;  // Indexed as options_.bodies (or just the payload).
  const BodyPicker picker_;
  size_t body_index_ = 0;             // This request's body,
  const Payload* payload_ = nullptr;  // which is this.
  int64_t body_written_ = 0;          // Body bytes of this request written so far.
  size_t pace_slice_ = 0;             // --client_upload_rate: bytes per slice; 0: unpaced.
  Clock::time_point pace_start_;      // When this request's body started.
  // The response body being received: its size and its first bytes (enough
  // to compare with --expect_body, or 4 KiB to print).
  const size_t kept_body_bytes_ =
      std::max(options_.expect_body.size() + 1, options_.print_responses ? size_t{4096} : 0);
  int64_t body_bytes_ = 0;
  std::string body_start_;
};

}  // namespace

bool SendsBody(const std::string& method) {
  return method == "POST" || method == "PUT" || method == "PATCH";
}

absl::StatusOr<RunStats> Run(const RunOptions& options, std::atomic<int64_t>* completed,
                             double* seconds, double* start_unix_seconds) {
  // Client c runs as a fiber on thread c % threads, so the clients of a
  // thread share one epoll_wait.
  absl::StatusOr<Url> target = ParseUrl(options.origin);
  if (!target.ok())
    return absl::InvalidArgumentError(absl::StrCat("origin ", target.status().message()));
  const std::string& host = target->host;
  const int port = target->port;
  const bool https = target->tls;
  std::unique_ptr<TlsContext> tls;
  if (https) {
    absl::StatusOr<std::unique_ptr<TlsContext>> context = TlsContext::Create(options.tls);
    if (!context.ok()) return context.status();
    tls = std::move(*context);
  }
  const int threads = options.threads;
  if (threads < 1 || options.clients < threads) {
    return absl::InvalidArgumentError("need at least one thread and a client per thread");
  }
  std::vector<std::unique_ptr<FiberScheduler>> schedulers;
  // --upload checks each stored body by its digest, computed once.
  std::vector<std::string> digests;
  RunOptions with_digests = options;
  if (!options.upload.empty()) {
    if (options.bodies.empty()) {
      digests.push_back(Sha256(*options.payload));
    } else {
      for (const Body& body : options.bodies) digests.push_back(Sha256(*body.payload));
    }
    with_digests.body_sha256 = &digests;
  }
  const RunOptions& run = with_digests;
  std::vector<RunStats> stats(static_cast<size_t>(threads));
  if (options.bodies.size() > 1) {
    for (RunStats& s : stats) {
      for (const Body& body : options.bodies) {
        s.bodies.emplace_back();
        s.bodies.back().name = body.name;
        s.bodies.back().body_bytes = static_cast<int64_t>(body.payload->size());
      }
    }
  }
  for (int t = 0; t < threads; ++t) {
    absl::StatusOr<std::unique_ptr<FiberScheduler>> scheduler = FiberScheduler::Create();
    if (!scheduler.ok()) return scheduler.status();
    schedulers.push_back(std::move(*scheduler));
  }
  Clock::time_point start;
  double unix_start = 0;
  std::vector<std::unique_ptr<Client>> clients;
  for (int c = 0; c < options.clients; ++c) {
    clients.push_back(std::make_unique<Client>(run, host, port, tls.get(), c, &start, &unix_start,
                                               completed, &stats[c % threads]));
    Client* client = clients.back().get();
    if (absl::Status spawned = schedulers[c % threads]->Spawn([client] { client->Run(); });
        !spawned.ok()) {
      return spawned;
    }
  }
  // The clock starts once everything is set up, so the first requests of an
  // open-model schedule are not late by the set-up time. (Starting a thread
  // orders this write before everything the thread does.)
  if (options.start_at.has_value()) std::this_thread::sleep_until(*options.start_at);
  start = Clock::now();
  unix_start =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  *start_unix_seconds = unix_start;
  std::vector<std::thread> os_threads;
  std::vector<absl::Status> results(schedulers.size());
  for (size_t t = 0; t < schedulers.size(); ++t) {
    os_threads.emplace_back(
        [s = schedulers[t].get(), result = &results[t]] { *result = s->Run(); });
  }
  for (std::thread& thread : os_threads) thread.join();
  *seconds = std::chrono::duration<double>(Clock::now() - start).count();
  for (const absl::Status& result : results) {
    if (!result.ok()) return result;
  }
  RunStats total;
  for (RunStats& s : stats) {
    s.series.Finish();
    total.Merge(s);
  }
  return total;
}

}  // namespace epollhttp::loadgen
