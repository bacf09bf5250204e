// content_length_fuzzer.cc: arbitrary bytes into ParseContentLength, checked
// against an independent reference.
//
// Oracle: the parser accepts exactly when the input is 1*DIGIT with a value
// <= 2^63-1, and then returns that value (computed here in unsigned __int128,
// a different method from the parser's overflow-checked loop). Each rejection
// reason must be the right one for the input. Any mismatch aborts.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "absl/strings/string_view.h"
#include "server/http/content_length.h"

namespace {

using ::epollhttp::http::ContentLength;
using ::epollhttp::http::ContentLengthError;
using ::epollhttp::http::ContentLengthErrorName;
using ::epollhttp::http::ParseContentLength;

[[noreturn]] void Fail(const char* what, absl::string_view input, const ContentLength& got) {
  std::fprintf(stderr, "content_length_fuzzer: %s (size %zu, got error=%s value=%lld)\n", what,
               input.size(), std::string(ContentLengthErrorName(got.error)).c_str(),
               static_cast<long long>(got.value));
  std::abort();
}

// The expected reason, derived from the input's character classes.
ContentLengthError ExpectedError(absl::string_view input) {
  if (input.empty()) return ContentLengthError::kEmpty;
  if (input[0] == '+' || input[0] == '-') return ContentLengthError::kSign;
  bool comma = false;
  bool other = false;
  unsigned __int128 value = 0;
  for (const char c : input) {
    if (c == ',') {
      comma = true;
    } else if (c < '0' || c > '9') {
      other = true;
    } else if (value <= std::numeric_limits<int64_t>::max()) {
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
  }
  if (comma) return ContentLengthError::kList;
  if (other) return ContentLengthError::kInvalidCharacter;
  if (value > std::numeric_limits<int64_t>::max()) return ContentLengthError::kOverflow;
  return ContentLengthError::kNone;
}

int64_t ReferenceValue(absl::string_view digits) {
  unsigned __int128 value = 0;
  for (const char c : digits) value = value * 10 + static_cast<unsigned>(c - '0');
  return static_cast<int64_t>(value);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  const ContentLength got = ParseContentLength(input);
  const ContentLengthError expected = ExpectedError(input);
  if (got.error != expected) Fail("wrong verdict", input, got);
  if (got.ok() != (expected == ContentLengthError::kNone)) Fail("ok() disagrees", input, got);
  // Every verdict has its own name for logs.
  if (ContentLengthErrorName(got.error) == "unknown") Fail("verdict without a name", input, got);
  if (got.ok()) {
    if (got.value != ReferenceValue(input)) Fail("wrong value", input, got);
  } else if (got.value != 0) {
    Fail("rejected input with a non-zero value", input, got);
  }
  return 0;
}
