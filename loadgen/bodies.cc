#include "loadgen/bodies.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "loadgen/units.h"

namespace epollhttp::loadgen {
namespace {

absl::Status Bad(absl::string_view term, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("--body_sizes \"", term, "\": ", why));
}

}  // namespace

absl::StatusOr<std::vector<BodySize>> ParseBodySizes(absl::string_view text) {
  std::vector<BodySize> sizes;
  std::set<int64_t> seen;
  double total = 0;
  for (const absl::string_view raw : absl::StrSplit(text, ',')) {
    const absl::string_view term = absl::StripAsciiWhitespace(raw);
    const size_t colon = term.rfind(':');
    if (colon == absl::string_view::npos) return Bad(term, "must be SIZE:PERCENT% (3.7M:45%)");
    BodySize size;
    absl::StatusOr<int64_t> bytes = ParseSize(term.substr(0, colon));
    if (!bytes.ok()) return Bad(term, bytes.status().message());
    size.bytes = *bytes;
    size.text = std::string(absl::StripAsciiWhitespace(term.substr(0, colon)));
    absl::string_view percent = absl::StripAsciiWhitespace(term.substr(colon + 1));
    if (!absl::ConsumeSuffix(&percent, "%") || !absl::SimpleAtod(percent, &size.percent) ||
        !(size.percent > 0) || size.percent > 100) {
      return Bad(term, "the share must be a percentage above 0, up to 100%");
    }
    if (!seen.insert(size.bytes).second) return Bad(term, "the size is given twice");
    total += size.percent;
    sizes.push_back(size);
  }
  if (std::fabs(total - 100) > 1e-6) {
    return Bad(text, absl::StrCat("the shares add up to ", total, "%, not 100%"));
  }
  return sizes;
}

BodyPicker::BodyPicker(std::vector<double> weights) {
  double sum = 0;
  for (const double w : weights) sum += w;
  double running = 0;
  for (const double w : weights) {
    running += w;
    cumulative_.push_back(running / sum);
  }
  if (!cumulative_.empty()) cumulative_.back() = 1;
}

size_t BodyPicker::Pick(int64_t k) const {
  if (cumulative_.size() <= 1) return 0;
  // Fractional parts of k * (golden ratio - 1): a low-discrepancy sequence,
  // so every prefix of the requests is close to the weights.
  constexpr double kPhi = 0.6180339887498949;
  double position = std::fmod(static_cast<double>(k) * kPhi, 1.0);
  if (position < 0) position += 1;
  const auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), position);
  return std::min(static_cast<size_t>(it - cumulative_.begin()), cumulative_.size() - 1);
}

}  // namespace epollhttp::loadgen
