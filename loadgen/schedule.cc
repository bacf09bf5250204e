#include "loadgen/schedule.h"

#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"

namespace epollhttp::loadgen {
namespace {

constexpr double kMaxRate = 1e7;

absl::Status Bad(absl::string_view part, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("--rate \"", part, "\": ", why));
}

bool ParseRate(absl::string_view text, double* rate) {
  return absl::SimpleAtod(text, rate) && std::isfinite(*rate) && *rate >= 0 && *rate <= kMaxRate;
}

}  // namespace

absl::StatusOr<RateSchedule> RateSchedule::Parse(absl::string_view text) {
  RateSchedule schedule;
  text = absl::StripAsciiWhitespace(text);
  if (text.empty()) return schedule;
  const std::vector<absl::string_view> parts = absl::StrSplit(text, ',');
  if (parts.size() == 1 && parts[0].find(':') == absl::string_view::npos) {
    if (!ParseRate(parts[0], &schedule.rate_))
      return Bad(text, "the rate must be 0..1e7 per second");
    if (schedule.rate_ > 0) schedule.text_ = std::string(text);
    return schedule;
  }
  double rate = 0;
  double start = 0;
  double before = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    const absl::string_view part = absl::StripAsciiWhitespace(parts[i]);
    const size_t colon = part.find(':');
    if (colon == absl::string_view::npos) {
      if (i != 0)
        return Bad(part, "a stage must be RATE:DURATION (only the first may be a bare start rate)");
      if (!ParseRate(part, &rate)) return Bad(part, "the start rate must be 0..1e7 per second");
      continue;
    }
    Stage stage;
    stage.from = rate;
    if (!ParseRate(part.substr(0, colon), &stage.to)) {
      return Bad(part, "the rate must be 0..1e7 per second");
    }
    absl::Duration duration;
    if (!absl::ParseDuration(part.substr(colon + 1), &duration) ||
        duration < absl::ZeroDuration() || duration > absl::Hours(24 * 365)) {
      return Bad(part, "the duration must be 0s or more (30s, 1m, 1h30m)");
    }
    stage.seconds = absl::ToDoubleSeconds(duration);
    stage.start = start;
    stage.before = before;
    start += stage.seconds;
    before += (stage.from + stage.to) / 2 * stage.seconds;
    rate = stage.to;
    schedule.stages_.push_back(stage);
  }
  if (schedule.stages_.empty()) return Bad(text, "no stages");
  if (before <= 0) return Bad(text, "the stages plan no requests");
  schedule.length_ = std::chrono::nanoseconds(static_cast<int64_t>(std::llround(start * 1e9)));
  schedule.text_ = std::string(text);
  return schedule;
}

int64_t RateSchedule::planned() const {
  if (stages_.empty()) return 0;
  const Stage& last = stages_.back();
  const double total = last.before + (last.from + last.to) / 2 * last.seconds;
  // Request k is due once the count reaches k: k = 0 .. ceil(total) - 1.
  return static_cast<int64_t>(std::ceil(total - 1e-9));
}

double RateSchedule::mean_rate() const {
  if (stages_.empty()) return rate_;
  const double seconds = std::chrono::duration<double>(length_).count();
  return seconds > 0 ? static_cast<double>(planned()) / seconds : 0;
}

std::optional<std::chrono::nanoseconds> RateSchedule::DueAt(int64_t k) const {
  if (k < 0) return std::nullopt;
  double seconds = 0;
  if (stages_.empty()) {
    if (rate_ <= 0) return std::nullopt;
    seconds = static_cast<double>(k) / rate_;
  } else {
    const double target = static_cast<double>(k);
    const Stage* stage = nullptr;
    for (const Stage& s : stages_) {
      const double in_stage = (s.from + s.to) / 2 * s.seconds;
      // The first stage whose count passes k (a stage that adds nothing
      // cannot hold it; the count at k = 0 is reached where the rate starts).
      if (in_stage > 0 && s.before + in_stage - target > 1e-9) {
        stage = &s;
        break;
      }
    }
    if (stage == nullptr) return std::nullopt;
    const double m = std::max(0.0, target - stage->before);  // Requests into the stage.
    const double a = stage->from;
    const double slope = (stage->to - stage->from) / stage->seconds;
    // Solve a u + slope u^2 / 2 = m for u >= 0, in the form that stays
    // accurate when slope is near zero or negative.
    const double root = std::sqrt(std::max(0.0, a * a + 2 * slope * m));
    const double u = m == 0 ? 0 : 2 * m / (a + root);
    seconds = stage->start + std::min(u, stage->seconds);
  }
  return std::chrono::nanoseconds(static_cast<int64_t>(std::llround(seconds * 1e9)));
}

}  // namespace epollhttp::loadgen
