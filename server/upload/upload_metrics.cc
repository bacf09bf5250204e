#include "server/upload/upload_metrics.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace epollhttp::upload {
namespace {

int64_t Load(const std::atomic<int64_t>& v) { return v.load(std::memory_order_relaxed); }

void Metric(std::string* out, absl::string_view name, absl::string_view type,
            absl::string_view help, int64_t value) {
  absl::StrAppend(out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n", name, " ",
                  value, "\n");
}

}  // namespace

std::string RenderUploadMetrics(const StoreCounters& store, const UploadCounters& counters) {
  std::string out;
  Metric(&out, "epollhttp_uploads_created_total", "counter", "Uploads created.",
         Load(store.created));
  Metric(&out, "epollhttp_uploads_completed_total", "counter",
         "Uploads that reached their length, durably.", Load(store.completed));
  Metric(&out, "epollhttp_uploads_terminated_total", "counter", "Uploads removed by DELETE.",
         Load(counters.terminated));
  Metric(&out, "epollhttp_uploads_expired_total", "counter",
         "Incomplete uploads removed after they expired.", Load(counters.expired));
  Metric(&out, "epollhttp_uploads_failed_total", "counter",
         "Uploads failed for good by a failed fsync or fdatasync.", Load(store.sync_failures));
  Metric(&out, "epollhttp_upload_bytes_stored_total", "counter",
         "Upload bytes made durable (committed).", Load(store.bytes_committed));
  Metric(&out, "epollhttp_upload_bytes_in_flight", "gauge",
         "Upload bytes written and not yet durable.", Load(store.bytes_uncommitted));
  Metric(&out, "epollhttp_upload_insufficient_storage_total", "counter",
         "507 answers: the disk full, a quota reached or a file too large.",
         Load(counters.insufficient_storage));
  Metric(&out, "epollhttp_upload_checksum_mismatches_total", "counter",
         "460 answers: bytes that did not match Upload-Checksum.",
         Load(counters.checksum_mismatches));
  absl::StrAppend(&out,
                  "# HELP epollhttp_upload_sync_duration_seconds fsync and fdatasync calls of "
                  "the upload store.\n# TYPE epollhttp_upload_sync_duration_seconds histogram\n");
  int64_t cumulative = 0;
  for (int i = 0; i <= StoreCounters::kSyncBuckets; ++i) {
    cumulative += Load(store.sync_buckets[static_cast<size_t>(i)]);
    const std::string le =
        i == StoreCounters::kSyncBuckets
            ? "+Inf"
            : absl::StrFormat("%g", static_cast<double>(StoreCounters::kSyncBoundsNs[i]) / 1e9);
    absl::StrAppend(&out, "epollhttp_upload_sync_duration_seconds_bucket{le=\"", le, "\"} ",
                    cumulative, "\n");
  }
  absl::StrAppend(&out, "epollhttp_upload_sync_duration_seconds_sum ",
                  absl::StrFormat("%.9f", static_cast<double>(Load(store.sync_ns)) / 1e9),
                  "\nepollhttp_upload_sync_duration_seconds_count ", Load(store.sync_count), "\n");
  return out;
}

}  // namespace epollhttp::upload
