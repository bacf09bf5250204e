#include "loadgen/phases.h"

namespace epollhttp::loadgen {
namespace {

// Span() is `to - from` in microseconds, or -1 unless both are set and in
// order.
int64_t Span(PhaseMarks::Time from, PhaseMarks::Time to) {
  if (from == PhaseMarks::Time() || to == PhaseMarks::Time() || to < from) return -1;
  return std::chrono::duration_cast<std::chrono::microseconds>(to - from).count();
}

}  // namespace

std::array<int64_t, kPhases> PhaseMarks::Durations(Time end) const {
  std::array<int64_t, kPhases> out;
  out[static_cast<int>(Phase::kConnect)] = Span(connect_start_, connect_end_);
  out[static_cast<int>(Phase::kTls)] = Span(tls_start_, tls_end_);
  out[static_cast<int>(Phase::kSend)] = Span(send_start_, send_end_);
  out[static_cast<int>(Phase::kWait)] = Span(send_end_, first_byte_);
  out[static_cast<int>(Phase::kReceive)] = Span(first_byte_, end);
  return out;
}

}  // namespace epollhttp::loadgen
