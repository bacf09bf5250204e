// slo.h: service-level gates for CI runs (`--slo 'p99<2s,errors<0.1%'`): a
// parser for the expression and the check of a run's (or a merge's) results
// against it.
//
// Terms, comma-separated, all of which must hold:
//   p<P><<duration>   latency percentile P (0 < P <= 100), from the intended
//                      send time, below the duration (absl: 2s, 50ms, 250us);
//   errors<<N>%       failed requests below N percent of all;
//   errors<<N>        fewer than N failed requests.
//   p<P>_<phase><<duration>  the same for one phase's time (connect, tls,
//                      send, wait, receive; loadgen/phases.h), e.g. p50_wait<50ms.
//
// Thread safety: pure functions; safe from any thread.
#ifndef EPOLLHTTP_LOADGEN_SLO_H_
#define EPOLLHTTP_LOADGEN_SLO_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "loadgen/report.h"

namespace epollhttp::loadgen {

struct SloTerm {
  enum class Kind { kLatency, kErrorPercent, kErrorCount };
  Kind kind = Kind::kLatency;
  double percentile = 0;  // kLatency.
  int phase = -1;         // kLatency: a Phase, or -1 for the whole request.
  double limit = 0;       // Microseconds (kLatency), percent or a count.
  std::string text;       // As written, for messages.
};

// ParseSlo() parses `expression`; InvalidArgument naming the bad term
// otherwise. An empty expression is no terms.
absl::StatusOr<std::vector<SloTerm>> ParseSlo(absl::string_view expression);

// SloBreaches() is one line per term `stats` breaks, naming the term and what
// was measured ("p99<2s: 2.310 s"); empty when every term holds. A latency
// term with no latency samples is a breach.
std::vector<std::string> SloBreaches(const std::vector<SloTerm>& terms, const RunStats& stats);

}  // namespace epollhttp::loadgen

#endif  // EPOLLHTTP_LOADGEN_SLO_H_
