#include "server/http/content_length.h"

#include <cstddef>
#include <cstdint>
#include <limits>

namespace epollhttp::http::internal {

ContentLengthError ClassifyContentLength(absl::string_view value) {
  if (value.empty()) return ContentLengthError::kEmpty;
  if (value.front() == '+' || value.front() == '-') return ContentLengthError::kSign;
  if (value.find(',') != absl::string_view::npos) return ContentLengthError::kList;
  for (const char c : value) {
    if (c < '0' || c > '9') return ContentLengthError::kInvalidCharacter;
  }
  return ContentLengthError::kOverflow;
}

ContentLength ParseLongContentLength(absl::string_view value) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMaxBeforeMultiply = kMax / 10;
  constexpr int64_t kMaxLastDigit = kMax % 10;
  int64_t result = 0;
  for (const char c : value) {
    const unsigned digit = static_cast<unsigned char>(c) - unsigned{'0'};
    if (digit > 9 || result > kMaxBeforeMultiply ||
        (result == kMaxBeforeMultiply && static_cast<int64_t>(digit) > kMaxLastDigit)) {
      return {0, ClassifyContentLength(value)};
    }
    result = result * 10 + static_cast<int64_t>(digit);
  }
  if (value.empty()) return {0, ContentLengthError::kEmpty};
  return {result, ContentLengthError::kNone};
}

}  // namespace epollhttp::http::internal

namespace epollhttp::http {

absl::string_view ContentLengthErrorName(ContentLengthError error) {
  switch (error) {
    case ContentLengthError::kNone: return "ok";
    case ContentLengthError::kEmpty: return "empty";
    case ContentLengthError::kSign: return "sign";
    case ContentLengthError::kList: return "list";
    case ContentLengthError::kInvalidCharacter: return "invalid character";
    case ContentLengthError::kOverflow: return "overflow";
  }
  return "unknown";
}

}  // namespace epollhttp::http
