#include "loadgen/units.h"

#include <cmath>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace epollhttp::loadgen {
namespace {

// SplitNumber() splits "3.7M" into 3.7 and "M"; false without a number.
bool SplitNumber(absl::string_view text, double* number, std::string* unit) {
  size_t end = 0;
  while (end < text.size() && (absl::ascii_isdigit(text[end]) || text[end] == '.')) ++end;
  if (end == 0 || !absl::SimpleAtod(text.substr(0, end), number) || !std::isfinite(*number)) {
    return false;
  }
  *unit = absl::AsciiStrToLower(absl::StripAsciiWhitespace(text.substr(end)));
  return true;
}

// Multiplier() is a prefix's factor ("" 1, k 1e3, ki 1024, ...); 0 if unknown.
double Multiplier(absl::string_view prefix) {
  if (prefix.empty()) return 1;
  if (prefix == "k") return 1e3;
  if (prefix == "m") return 1e6;
  if (prefix == "g") return 1e9;
  if (prefix == "ki") return 1024;
  if (prefix == "mi") return 1024.0 * 1024;
  if (prefix == "gi") return 1024.0 * 1024 * 1024;
  return 0;
}

}  // namespace

absl::StatusOr<int64_t> ParseSize(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  double number = 0;
  std::string unit;
  const bool ok = SplitNumber(text, &number, &unit);
  absl::string_view prefix = unit;
  absl::ConsumeSuffix(&prefix, "b");
  const double factor = Multiplier(prefix);
  if (!ok || factor == 0 || !(number * factor <= 1e15) || number < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\" is not a size (bytes, or with k, M, G, Ki, Mi, Gi)"));
  }
  return static_cast<int64_t>(std::llround(number * factor));
}

absl::StatusOr<double> ParseByteRate(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  double number = 0;
  std::string unit;
  bool ok = SplitNumber(text, &number, &unit);
  absl::string_view rest = unit;
  absl::ConsumeSuffix(&rest, "/s");
  double bytes_per_unit = 0;
  if (ok && absl::ConsumeSuffix(&rest, "bit")) {
    bytes_per_unit = 1.0 / 8;
  } else if (ok && absl::ConsumeSuffix(&rest, "b")) {
    bytes_per_unit = 1;
  }
  // Rates are decimal: a binary prefix is refused rather than misread.
  const double factor = rest.size() == 1 || rest.empty() ? Multiplier(rest) : 0;
  const double rate = number * factor * bytes_per_unit;
  if (!ok || bytes_per_unit == 0 || factor == 0 || !(rate > 0) || rate > 1e12) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text,
                     "\" is not a rate (e.g. 2Mbit, 500kbit, 1MB: bit, kbit, Mbit, Gbit or B, kB, "
                     "MB, GB per second)"));
  }
  return rate;
}

}  // namespace epollhttp::loadgen
