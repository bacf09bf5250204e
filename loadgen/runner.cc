#include "loadgen/runner.h"

#include <algorithm>
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
#include "loadgen/fiber.h"
#include "loadgen/fiber_client.h"
#include "loadgen/url.h"

namespace epollhttp::loadgen {
namespace {

using Clock = std::chrono::steady_clock;

int64_t Micros(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
}

ErrorKind KindOf(httplib::Error error) {
  switch (error) {
    case httplib::Error::Connection:
    case httplib::Error::ConnectionTimeout:
    case httplib::Error::BindIPAddress: return ErrorKind::kConnect;
    case httplib::Error::Write:
    // Our content provider returns false only when the socket write failed,
    // which cpp-httplib reports as Canceled.
    case httplib::Error::Canceled: return ErrorKind::kWrite;
    case httplib::Error::SSLConnection:
    case httplib::Error::SSLServerVerification: return ErrorKind::kTls;
    default: return ErrorKind::kRead;
  }
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
        sends_body_(SendsBody(options.method)) {
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
  }

  void Run() {
    const bool open_model = options_.rate > 0;
    // Each client sends every clients/rate seconds, offset by index/rate so
    // the clients interleave evenly.
    const auto interval = open_model
                              ? std::chrono::duration<double>(options_.clients / options_.rate)
                              : std::chrono::duration<double>(0);
    const auto offset = open_model ? std::chrono::duration<double>(index_ / options_.rate)
                                   : std::chrono::duration<double>(0);
    const bool timed = options_.duration.count() > 0;
    const Clock::time_point end = start_ + options_.duration;
    for (int64_t i = 0;; ++i) {
      if (!timed && i >= options_.requests_per_client) break;
      Clock::time_point intended = Clock::now();
      if (open_model) {
        intended = start_ + std::chrono::duration_cast<Clock::duration>(offset + i * interval);
        if (timed && intended >= end) break;
        // The scheduler runs the other clients meanwhile and wakes this one
        // on time (it spins through the last 200 us: a timed wait overshoots
        // by the timer slack, which would count as latency).
        FiberScheduler::Current()->SleepUntil(intended);
      } else if (timed && intended >= end) {
        break;
      }
      const Clock::time_point sent = Clock::now();
      if (open_model && sent - intended > std::chrono::milliseconds(1)) ++stats_.late;
      httplib::Response response;
      const httplib::Error error = Send(&response);
      const Clock::time_point done = Clock::now();
      const int64_t latency = Micros(done - intended);
      stats_.latency.Record(latency);
      stats_.latency_uncorrected.Record(Micros(done - sent));
      const int64_t failed_before = stats_.failed;
      const int64_t sent_before = stats_.bytes_sent;
      const int64_t received_before = stats_.bytes_received;
      Check(error, response);
      const auto unix_second = static_cast<int64_t>(
          std::floor(unix_start_ + std::chrono::duration<double>(done - start_).count()));
      stats_.series.Record(unix_second, latency, stats_.failed != failed_before,
                           stats_.bytes_sent - sent_before,
                           stats_.bytes_received - received_before);
      if (completed_ != nullptr) completed_->fetch_add(1, std::memory_order_relaxed);
    }
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
    if (sends_body_) {
      const Payload& payload = *options_.payload;
      request.headers.emplace("Content-Type", options_.content_type);
      request.content_length_ = payload.size();
      request.content_provider_ = [&payload](size_t offset, size_t length,
                                             httplib::DataSink& sink) {
        const absl::string_view piece = payload.Piece(offset);
        return sink.write(piece.data(), std::min(piece.size(), length));
      };
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

  void Check(httplib::Error error, const httplib::Response& response) {
    if (error != httplib::Error::Success) {
      const ErrorKind kind = KindOf(error);
      if (kind == ErrorKind::kTls && stats_.tls_error.empty())
        stats_.tls_error = client_.tls_error();
      // A request that was written but not answered still sent its body.
      if (kind == ErrorKind::kRead && sends_body_) {
        stats_.bytes_sent += static_cast<int64_t>(options_.payload->size());
      }
      Fail(kind);
      if (options_.print_responses) Print("error: " + httplib::to_string(error));
      return;
    }
    const int64_t sent = sends_body_ ? static_cast<int64_t>(options_.payload->size()) : 0;
    stats_.bytes_sent += sent;
    stats_.bytes_received += body_bytes_;
    ++stats_.status_codes[response.status];
    if (options_.print_responses) {
      Print(std::to_string(response.status) + " " + body_start_ +
            (body_bytes_ > static_cast<int64_t>(body_start_.size()) ? "..." : ""));
    }
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
  httplib::Headers headers_;
  const bool sends_body_;
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

namespace {}  // namespace

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
  std::vector<RunStats> stats(static_cast<size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    absl::StatusOr<std::unique_ptr<FiberScheduler>> scheduler = FiberScheduler::Create();
    if (!scheduler.ok()) return scheduler.status();
    schedulers.push_back(std::move(*scheduler));
  }
  Clock::time_point start;
  double unix_start = 0;
  std::vector<std::unique_ptr<Client>> clients;
  for (int c = 0; c < options.clients; ++c) {
    clients.push_back(std::make_unique<Client>(options, host, port, tls.get(), c, &start,
                                               &unix_start, completed, &stats[c % threads]));
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
