// upload_metrics.h: the upload endpoint's counters beyond the store's, and
// the Prometheus text of both (appended to GET /metrics).
//
// Thread safety: counters are relaxed atomics, updated from any thread;
// RenderUploadMetrics() may run on any thread.
#ifndef EPOLLHTTP_SERVER_UPLOAD_UPLOAD_METRICS_H_
#define EPOLLHTTP_SERVER_UPLOAD_UPLOAD_METRICS_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "server/upload/store.h"

namespace epollhttp::upload {

struct UploadCounters {
  std::atomic<int64_t> terminated{0};            // DELETEs that removed an upload.
  std::atomic<int64_t> expired{0};               // Removed by the sweeper.
  std::atomic<int64_t> insufficient_storage{0};  // 507 answers.
  std::atomic<int64_t> checksum_mismatches{0};   // 460 answers.
};

// RenderUploadMetrics() is the Prometheus text (0.0.4) of the upload
// metrics: uploads created, completed, terminated and expired; bytes
// stored; bytes written and not yet durable; uploads failed by a sync;
// 507 and 460 answers; and the fsync/fdatasync latency histogram.
std::string RenderUploadMetrics(const StoreCounters& store, const UploadCounters& counters);

}  // namespace epollhttp::upload

#endif  // EPOLLHTTP_SERVER_UPLOAD_UPLOAD_METRICS_H_
