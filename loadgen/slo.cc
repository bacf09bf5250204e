#include "loadgen/slo.h"

#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"

namespace epollhttp::loadgen {
namespace {

absl::Status Bad(absl::string_view term, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("--slo term \"", term, "\": ", why));
}

absl::StatusOr<SloTerm> ParseTerm(absl::string_view text) {
  SloTerm term;
  term.text = std::string(text);
  const size_t less = text.find('<');
  if (less == absl::string_view::npos) {
    return Bad(text, "must be NAME<LIMIT (p99<2s, errors<0.1%, errors<5)");
  }
  const absl::string_view name = absl::StripAsciiWhitespace(text.substr(0, less));
  absl::string_view limit = absl::StripAsciiWhitespace(text.substr(less + 1));
  if (limit.empty()) return Bad(text, "no limit");
  if (name == "errors") {
    const bool percent = absl::ConsumeSuffix(&limit, "%");
    double value = 0;
    if (!absl::SimpleAtod(limit, &value) || !std::isfinite(value) || value < 0 ||
        (percent && value > 100)) {
      return Bad(text, percent ? "the limit must be 0..100%" : "the limit must be a count >= 0");
    }
    term.kind = percent ? SloTerm::Kind::kErrorPercent : SloTerm::Kind::kErrorCount;
    term.limit = value;
    return term;
  }
  absl::string_view percentile = name;
  if (!absl::ConsumePrefix(&percentile, "p")) {
    return Bad(text, absl::StrCat("unknown name \"", name, "\" (p<N> or errors)"));
  }
  if (const size_t underscore = percentile.find('_'); underscore != absl::string_view::npos) {
    const absl::string_view phase = percentile.substr(underscore + 1);
    percentile = percentile.substr(0, underscore);
    for (int p = 0; p < kPhases; ++p) {
      if (phase == kPhaseKeys[p]) term.phase = p;
    }
    if (term.phase < 0) {
      return Bad(text, absl::StrCat("unknown phase \"", phase,
                                    "\" (connect, tls, send, wait or receive)"));
    }
  }
  if (!absl::SimpleAtod(percentile, &term.percentile) || !(term.percentile > 0) ||
      term.percentile > 100) {
    return Bad(text, "the percentile must be 0 < N <= 100");
  }
  absl::Duration duration;
  if (!absl::ParseDuration(limit, &duration) || duration <= absl::ZeroDuration() ||
      duration == absl::InfiniteDuration()) {
    return Bad(text, "the limit must be a positive duration (2s, 50ms, 250us)");
  }
  term.kind = SloTerm::Kind::kLatency;
  term.limit = absl::ToDoubleMicroseconds(duration);
  return term;
}

}  // namespace

absl::StatusOr<std::vector<SloTerm>> ParseSlo(absl::string_view expression) {
  std::vector<SloTerm> terms;
  if (absl::StripAsciiWhitespace(expression).empty()) return terms;
  for (const absl::string_view piece : absl::StrSplit(expression, ',')) {
    const absl::string_view text = absl::StripAsciiWhitespace(piece);
    if (text.empty()) return absl::InvalidArgumentError("--slo has an empty term");
    absl::StatusOr<SloTerm> term = ParseTerm(text);
    if (!term.ok()) return term.status();
    terms.push_back(std::move(*term));
  }
  return terms;
}

std::vector<std::string> SloBreaches(const std::vector<SloTerm>& terms, const RunStats& stats) {
  std::vector<std::string> breaches;
  const int64_t total = stats.succeeded + stats.failed;
  for (const SloTerm& term : terms) {
    switch (term.kind) {
      case SloTerm::Kind::kLatency: {
        const Histogram& h = term.phase < 0 ? stats.latency : stats.phases[term.phase];
        if (h.count() == 0) {
          breaches.push_back(absl::StrCat(
              term.text, ": no ",
              term.phase < 0 ? "latency" : absl::StrCat(kPhaseKeys[term.phase], " time"),
              " was measured"));
          break;
        }
        const int64_t us = h.ValueAtPercentile(term.percentile);
        if (static_cast<double>(us) >= term.limit) {
          breaches.push_back(absl::StrFormat("%s: %.3f ms", term.text, us / 1000.0));
        }
        break;
      }
      case SloTerm::Kind::kErrorPercent: {
        const double percent =
            total == 0 ? 100.0 : 100.0 * static_cast<double>(stats.failed) / total;
        if (percent >= term.limit) {
          breaches.push_back(
              absl::StrFormat("%s: %.3f%% (%d of %d)", term.text, percent, stats.failed, total));
        }
        break;
      }
      case SloTerm::Kind::kErrorCount:
        if (static_cast<double>(stats.failed) >= term.limit) {
          breaches.push_back(absl::StrFormat("%s: %d failed", term.text, stats.failed));
        }
        break;
    }
  }
  return breaches;
}

}  // namespace epollhttp::loadgen
