// bodies.h: several request bodies in one run (--file given more than once,
// or --body_sizes 1k:50%,3.7M:45%,100M:5%) and which one each request sends.
//
// Request k (0-based, across all clients) sends body Pick(k): the bodies
// take turns by weight along the fractional parts of k times the golden
// ratio, so any run of requests holds each body in its share, evenly spread
// and the same on every run.
//
// Thread safety: immutable after construction; shared read-only by all
// threads.
#ifndef EPOLLHTTP_LOADGEN_BODIES_H_
#define EPOLLHTTP_LOADGEN_BODIES_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace epollhttp::loadgen {

struct BodySize {
  std::string text;  // The size as written ("3.7M"), to name it in reports.
  int64_t bytes = 0;
  double percent = 0;  // Of all requests.
};

// ParseBodySizes() reads --body_sizes: comma-separated SIZE:PERCENT% terms
// (sizes as loadgen/units.h reads them), each size once, percentages above
// zero adding up to 100. InvalidArgument (one line) otherwise.
absl::StatusOr<std::vector<BodySize>> ParseBodySizes(absl::string_view text);

class BodyPicker {
 public:
  // `weights` are the bodies' shares (any positive scale), at least one.
  explicit BodyPicker(std::vector<double> weights);

  // Pick() is the index of request `k`'s body.
  [[nodiscard]] size_t Pick(int64_t k) const;

 private:
  std::vector<double> cumulative_;  // Running shares, the last 1.
};

}  // namespace epollhttp::loadgen

#endif  // EPOLLHTTP_LOADGEN_BODIES_H_
