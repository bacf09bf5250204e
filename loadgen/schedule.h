// schedule.h: when each request of an open-model run is due (--rate): a
// constant rate, or stages that ramp from one rate to the next, as k6's
// ramping-arrival-rate executor does.
//
// --rate syntax:
//   R                    R requests/s for the whole run (--requests or
//                        --duration decide how long);
//   [R0,]R1:D1,R2:D2,... stages: start at R0 (default 0), move linearly to
//                        R1 over D1, then to R2 over D2, and so on; the run
//                        lasts D1 + D2 + ... A stage whose rate equals the
//                        one before holds it, and a 0s stage jumps. So
//                        `--rate 50:1m,500:5m,0:30s` ramps up to 50/s in a
//                        minute, on up to 500/s over five, and down to zero
//                        in 30 s; `--rate 200,200:5m,0:0s,0:30s` holds 200/s
//                        for five minutes, then pauses 30 s.
// Durations are absl's (30s, 1m, 1h30m). Rates are requests/s across all
// clients, 0..1e7.
//
// Request k (0-based, across all clients) is due when the planned count,
// the integral of the rate from the start, reaches k: request 0 at the
// first moment the rate is above zero. Client c sends requests c, c +
// clients, c + 2 clients, ..., so the clients interleave evenly.
//
// Thread safety: immutable after parsing; shared read-only by all threads.
#ifndef EPOLLHTTP_LOADGEN_SCHEDULE_H_
#define EPOLLHTTP_LOADGEN_SCHEDULE_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace epollhttp::loadgen {

class RateSchedule {
 public:
  // The default schedule is the closed model: no rate.
  RateSchedule() = default;

  // Parse() reads --rate's value; InvalidArgument (one line naming the bad
  // part) otherwise. "0" or "" is the closed model.
  static absl::StatusOr<RateSchedule> Parse(absl::string_view text);

  // open() is whether requests are due on a schedule at all.
  [[nodiscard]] bool open() const { return rate_ > 0 || !stages_.empty(); }
  // staged() is whether the schedule has stages (and so its own length).
  [[nodiscard]] bool staged() const { return !stages_.empty(); }
  // length() is how long a staged schedule lasts (zero otherwise).
  [[nodiscard]] std::chrono::nanoseconds length() const { return length_; }
  // planned() is how many requests a staged schedule plans in all (the
  // integral of its rate, rounded up).
  [[nodiscard]] int64_t planned() const;
  // mean_rate() is the constant rate, or a staged schedule's planned
  // requests over its length.
  [[nodiscard]] double mean_rate() const;
  // text() is the schedule as --rate would take it ("" when closed).
  [[nodiscard]] const std::string& text() const { return text_; }

  // DueAt() is when request `k` is due, from the start; nullopt if the
  // schedule ends before that (or it is closed).
  [[nodiscard]] std::optional<std::chrono::nanoseconds> DueAt(int64_t k) const;

 private:
  struct Stage {
    double from = 0;  // Requests/s at its start,
    double to = 0;    // at its end.
    double seconds = 0;
    double start = 0;   // Seconds from the run's start.
    double before = 0;  // Requests planned before it.
  };

  double rate_ = 0;  // Constant rate; 0 when staged or closed.
  std::vector<Stage> stages_;
  std::chrono::nanoseconds length_{0};
  std::string text_;
};

}  // namespace epollhttp::loadgen

#endif  // EPOLLHTTP_LOADGEN_SCHEDULE_H_
