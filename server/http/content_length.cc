#include "server/http/content_length.h"

#include <limits>

namespace epollhttp::http {
namespace {

// Classify() finds the reason `value` is not 1*DIGIT within int64_t. Cold path:
// only called once the fast loop has found something wrong.
ContentLengthError Classify(absl::string_view value) {
  if (value.empty()) return ContentLengthError::kEmpty;
  if (value.front() == '+' || value.front() == '-') return ContentLengthError::kSign;
  if (value.find(',') != absl::string_view::npos) return ContentLengthError::kList;
  for (const char c : value) {
    if (c < '0' || c > '9') return ContentLengthError::kInvalidCharacter;
  }
  return ContentLengthError::kOverflow;
}

}  // namespace

ContentLength ParseContentLength(absl::string_view value) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMaxBeforeMultiply = kMax / 10;
  constexpr int64_t kMaxLastDigit = kMax % 10;
  if (value.empty()) return {0, ContentLengthError::kEmpty};
  int64_t result = 0;
  for (const char c : value) {
    const unsigned digit = static_cast<unsigned char>(c) - unsigned{'0'};
    if (digit > 9 || result > kMaxBeforeMultiply ||
        (result == kMaxBeforeMultiply && static_cast<int64_t>(digit) > kMaxLastDigit)) {
      return {0, Classify(value)};
    }
    result = result * 10 + static_cast<int64_t>(digit);
  }
  return {result, ContentLengthError::kNone};
}

absl::string_view ContentLengthErrorName(ContentLengthError error) {
  switch (error) {
    case ContentLengthError::kNone:
      return "ok";
    case ContentLengthError::kEmpty:
      return "empty";
    case ContentLengthError::kSign:
      return "sign";
    case ContentLengthError::kList:
      return "list";
    case ContentLengthError::kInvalidCharacter:
      return "invalid character";
    case ContentLengthError::kOverflow:
      return "overflow";
  }
  return "unknown";
}

}  // namespace epollhttp::http
