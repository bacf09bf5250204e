// known_differences.h: every way epollhttp's parser is allowed to disagree
// with llhttp or h11, each with the RFC clause behind epollhttp's choice.
//
// The differential test and the differential fuzzer call Explain() for each
// disagreement; one it cannot explain fails them. A rule is a predicate over
// the input and both verdicts, so it names a class of inputs, not a list of
// cases. docs/http.md presents the same table.
//
// Test-only. Thread safety: constant data and stateless functions.
#ifndef EPOLLHTTP_TESTING_DIFFERENTIAL_KNOWN_DIFFERENCES_H_
#define EPOLLHTTP_TESTING_DIFFERENTIAL_KNOWN_DIFFERENCES_H_

#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"
#include "testing/differential/verdict.h"

namespace epollhttp::test {

enum class Peer : uint8_t { kLlhttp, kH11 };

struct KnownDifference {
  const char* id;      // Short name, printed with the counts.
  uint8_t peers;       // Bit (1 << Peer) for each peer it applies to.
  const char* clause;  // The RFC text behind epollhttp's verdict.
  const char* what;    // The class of inputs, and epollhttp's verdict, in words.
  // Applies() is true when this rule explains `ours` != `theirs` on `input`.
  bool (*applies)(absl::string_view input, const Verdict& ours, const Verdict& theirs);
};

// KnownDifferences() is the table, in the order rules are tried.
const std::vector<KnownDifference>& KnownDifferences();

// Explain() is the first rule for `peer` that explains the disagreement, or
// null.
const KnownDifference* Explain(Peer peer, absl::string_view input, const Verdict& ours,
                               const Verdict& theirs);

}  // namespace epollhttp::test

#endif  // EPOLLHTTP_TESTING_DIFFERENTIAL_KNOWN_DIFFERENCES_H_
