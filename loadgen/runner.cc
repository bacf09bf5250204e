#include "loadgen/runner.h"

#include <cstdio>
#include <mutex>
#include <thread>

#include "absl/strings/numbers.h"
#include "httplib.h"

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
    case httplib::Error::BindIPAddress:
      return ErrorKind::kConnect;
    case httplib::Error::Write:
    // Our content provider returns false only when the socket write failed,
    // which cpp-httplib reports as Canceled.
    case httplib::Error::Canceled:
      return ErrorKind::kWrite;
    default:
      return ErrorKind::kRead;
  }
}

std::mutex& PrintMutex() {
  static std::mutex* mutex = new std::mutex;
  return *mutex;
}

class Worker {
 public:
  Worker(const RunOptions& options, int index, Clock::time_point start,
         std::atomic<int64_t>* completed)
      : options_(options), index_(index), start_(start), completed_(completed),
        client_(options.origin), sends_body_(SendsBody(options.method)) {
    client_.set_keep_alive(options.keepalive);
    client_.set_tcp_nodelay(true);  // Latency is measured: no Nagle delay between writes.
    const auto timeout = std::chrono::duration_cast<std::chrono::microseconds>(options.timeout);
    const time_t sec = static_cast<time_t>(timeout.count() / 1000000);
    const time_t usec = static_cast<time_t>(timeout.count() % 1000000);
    client_.set_connection_timeout(sec, usec);
    client_.set_read_timeout(sec, usec);
    client_.set_write_timeout(sec, usec);
    for (const auto& [name, value] : options.headers) headers_.emplace(name, value);
  }

  void Run() {
    const bool open_model = options_.rate > 0;
    // Each thread sends every threads/rate seconds, offset by index/rate so the
    // threads interleave evenly.
    const auto interval = open_model ? std::chrono::duration<double>(options_.threads / options_.rate)
                                     : std::chrono::duration<double>(0);
    const auto offset = open_model ? std::chrono::duration<double>(index_ / options_.rate)
                                   : std::chrono::duration<double>(0);
    const bool timed = options_.duration.count() > 0;
    const Clock::time_point end = start_ + options_.duration;
    for (int64_t i = 0;; ++i) {
      if (!timed && i >= options_.requests_per_thread) break;
      Clock::time_point intended = Clock::now();
      if (open_model) {
        intended = start_ + std::chrono::duration_cast<Clock::duration>(offset + i * interval);
        if (timed && intended >= end) break;
        // Sleep to just before the due time, then yield until it: a plain
        // sleep overshoots by the timer slack (~50-100 us), which would be
        // counted as latency.
        const auto spin = std::chrono::microseconds(200);
        if (intended - spin > Clock::now()) std::this_thread::sleep_until(intended - spin);
        while (Clock::now() < intended) std::this_thread::yield();
      } else if (timed && intended >= end) {
        break;
      }
      const Clock::time_point sent = Clock::now();
      if (open_model && sent - intended > std::chrono::milliseconds(1)) ++stats_.late;
      httplib::Result result = Send();
      const Clock::time_point done = Clock::now();
      stats_.latency.Record(Micros(done - intended));
      stats_.latency_uncorrected.Record(Micros(done - sent));
      Check(result);
      if (completed_ != nullptr) completed_->fetch_add(1, std::memory_order_relaxed);
    }
  }

  const RunStats& stats() const { return stats_; }

 private:
  httplib::Result Send() {
    const std::string& m = options_.method;
    const std::string& path = options_.path;
    if (!sends_body_) {
      if (m == "HEAD") return client_.Head(path, headers_);
      if (m == "DELETE") return client_.Delete(path, headers_);
      if (m == "OPTIONS") return client_.Options(path, headers_);
      return client_.Get(path, headers_);
    }
    const Payload& payload = *options_.payload;
    auto provider = [&payload](size_t offset, size_t length, httplib::DataSink& sink) {
      const absl::string_view piece = payload.Piece(offset);
      return sink.write(piece.data(), std::min(piece.size(), length));
    };
    if (m == "PUT") {
      return client_.Put(path, headers_, payload.size(), provider, options_.content_type);
    }
    if (m == "PATCH") {
      return client_.Patch(path, headers_, payload.size(), provider, options_.content_type);
    }
    return client_.Post(path, headers_, payload.size(), provider, options_.content_type);
  }

  void Check(const httplib::Result& result) {
    if (!result) {
      const ErrorKind kind = KindOf(result.error());
      // A request that was written but not answered still sent its body.
      if (kind == ErrorKind::kRead && sends_body_) {
        stats_.bytes_sent += static_cast<int64_t>(options_.payload->size());
      }
      Fail(kind);
      if (options_.print_responses) Print("error: " + httplib::to_string(result.error()));
      return;
    }
    const httplib::Response& response = *result;
    const int64_t sent = sends_body_ ? static_cast<int64_t>(options_.payload->size()) : 0;
    stats_.bytes_sent += sent;
    stats_.bytes_received += static_cast<int64_t>(response.body.size());
    ++stats_.status_codes[response.status];
    if (options_.print_responses) Print(std::to_string(response.status) + " " + response.body);
    if (response.status != options_.expect_status) return Fail(ErrorKind::kStatus);
    if (!options_.expect_body.empty() && options_.method != "HEAD" &&
        response.body != options_.expect_body) {
      return Fail(ErrorKind::kBody);
    }
    if (response.has_header("X-Received-Body-Bytes")) {
      int64_t received = -1;
      if (!absl::SimpleAtoi(response.get_header_value("X-Received-Body-Bytes"), &received) ||
          received != sent) {
        stats_.lost_body_bytes += received < 0 ? sent : (sent > received ? sent - received
                                                                          : received - sent);
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
  const Clock::time_point start_;
  std::atomic<int64_t>* completed_;
  httplib::Client client_;
  httplib::Headers headers_;
  const bool sends_body_;
  RunStats stats_;
};

}  // namespace

bool SendsBody(const std::string& method) {
  return method == "POST" || method == "PUT" || method == "PATCH";
}

RunStats Run(const RunOptions& options, std::atomic<int64_t>* completed, double* seconds) {
  const Clock::time_point start = Clock::now();
  std::vector<std::unique_ptr<Worker>> workers;
  for (int t = 0; t < options.threads; ++t) {
    workers.push_back(std::make_unique<Worker>(options, t, start, completed));
  }
  std::vector<std::thread> threads;
  for (auto& worker : workers) threads.emplace_back([w = worker.get()] { w->Run(); });
  for (std::thread& thread : threads) thread.join();
  *seconds = std::chrono::duration<double>(Clock::now() - start).count();
  RunStats total;
  for (const auto& worker : workers) total.Merge(worker->stats());
  return total;
}

}  // namespace epollhttp::loadgen
