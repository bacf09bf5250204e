#include "loadgen/time_series.h"

#include <utility>

#include "loadgen/hdr_codec.h"

namespace epollhttp::loadgen {

void TimeSeries::Record(int64_t unix_second, int64_t latency_us, bool failed, int64_t bytes_sent,
                        int64_t bytes_received) {
  if (unix_second != current_) {
    Close();
    current_ = unix_second;
  }
  ++pending_.requests;
  if (failed) ++pending_.errors;
  pending_.bytes_sent += bytes_sent;
  pending_.bytes_received += bytes_received;
  histogram_.Record(latency_us);
}

void TimeSeries::Finish() { Close(); }

void TimeSeries::Close() {
  if (current_ < 0 || pending_.requests == 0) return;
  pending_.histogram = EncodeHdr(histogram_.ToHdr());
  // Recording is in time order, so a closed second is new.
  (void)Add(current_, pending_);
  pending_ = Second();
  histogram_.Reset();
}

absl::Status SecondHistogram(const Second& second, Histogram* out) {
  out->Reset();
  if (second.histogram.empty()) return absl::OkStatus();
  absl::StatusOr<HdrCounts> counts = DecodeHdr(second.histogram);
  if (!counts.ok()) return counts.status();
  return out->AddHdr(*counts);
}

absl::Status TimeSeries::Add(int64_t unix_second, const Second& second) {
  auto [it, inserted] = seconds_.emplace(unix_second, second);
  if (inserted) return absl::OkStatus();
  Second& into = it->second;
  into.requests += second.requests;
  into.errors += second.errors;
  into.bytes_sent += second.bytes_sent;
  into.bytes_received += second.bytes_received;
  Histogram sum;
  if (absl::Status s = SecondHistogram(into, &sum); !s.ok()) return s;
  if (!second.histogram.empty()) {
    absl::StatusOr<HdrCounts> counts = DecodeHdr(second.histogram);
    if (!counts.ok()) return counts.status();
    if (absl::Status s = sum.AddHdr(*counts); !s.ok()) return s;
  }
  into.histogram = EncodeHdr(sum.ToHdr());
  return absl::OkStatus();
}

absl::Status TimeSeries::Merge(const TimeSeries& other) {
  for (const auto& [t, second] : other.seconds_) {
    if (absl::Status s = Add(t, second); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace epollhttp::loadgen
