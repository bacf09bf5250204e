// content_length.h: strict parsing of one Content-Length field value.
//
// RFC 9110 §8.6 defines `Content-Length = 1*DIGIT`. The tutorial server this
// project replaces matched a prefix and called a panicking integer parse;
// request smuggling lives in the gap between lenient parsers. This parser
// accepts exactly 1*DIGIT (leading zeros allowed) whose value fits in int64_t,
// and says why anything else is rejected. It never allocates, never reads
// outside `value`, and needs no wider integer type to detect overflow.
//
// The caller passes the field value with surrounding OWS already trimmed (the
// request parser does this); any whitespace left inside is an error. Lists such
// as "5, 5" are rejected rather than collapsed (nginx/llhttp/Envoy policy).
//
// Thread safety: pure functions, callable from any thread.
#ifndef EPOLLHTTP_SERVER_HTTP_CONTENT_LENGTH_H_
#define EPOLLHTTP_SERVER_HTTP_CONTENT_LENGTH_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "absl/strings/string_view.h"

namespace epollhttp::http {

// Why a Content-Length value was rejected. When several apply, the first in
// this order is reported.
enum class ContentLengthError : uint8_t {
  kNone = 0,          // Accepted.
  kEmpty,             // "" (no digits at all).
  kSign,              // Starts with '+' or '-'.
  kList,              // Contains ',' ("5, 5" or "5,6").
  kInvalidCharacter,  // Any other non-digit byte: hex, whitespace, junk.
  kOverflow,          // All digits, but the value exceeds 2^63-1.
};

struct ContentLength {
  int64_t value = 0;  // Valid only when `error == kNone`; otherwise 0.
  ContentLengthError error = ContentLengthError::kNone;

  [[nodiscard]] bool ok() const { return error == ContentLengthError::kNone; }
};

namespace internal {
// Out-of-line parts of ParseContentLength(): values that are empty or longer
// than 18 bytes, and the classification of a rejected value.
[[nodiscard]] ContentLength ParseLongContentLength(absl::string_view value);
[[nodiscard]] ContentLengthError ClassifyContentLength(absl::string_view value);
}  // namespace internal

// ParseContentLength() parses `value` as 1*DIGIT. On success returns the value
// with `error == kNone`; on failure returns `value == 0` and the reason.
//
// Inline for the request parser's hot path (4 to 8 digits: see the SWAR
// branch below). Otherwise 1 to 18 bytes cannot overflow
// int64_t, so they take a loop with no overflow checks, two digits per step
// (half the multiply-add dependency chain) and a branch-free digit check:
// (c - '0') | ('9' - c) is negative exactly when c is not a digit. Garbage
// from non-digits wraps harmlessly in unsigned arithmetic before it is
// discarded.
[[nodiscard]] inline ContentLength ParseContentLength(absl::string_view value) {
  const size_t size = value.size();
  if (size - 1 >= 18) return internal::ParseLongContentLength(value);
  const char* p = value.data();
  if (size >= 4 && size <= 8) {
    // Four to eight digits (most bodies): SWAR over one 64-bit word, read as
    // two overlapping 4-byte loads inside `value` and left-padded with '0'
    // bytes, so byte k holds digit k of the 8-digit form. The check and the
    // three multiply steps are the well-known eight-digit parse (simdjson).
    uint32_t first, last;
    std::memcpy(&first, p, 4);
    std::memcpy(&last, p + size - 4, 4);
    const unsigned pad_bits = 8 * (8 - static_cast<unsigned>(size));
    uint64_t x = (uint64_t{first} << pad_bits) | (uint64_t{last} << 32);
    x |= 0x3030303030303030ULL & ((uint64_t{1} << pad_bits) - 1);
    const bool digits =
        (((x & 0xF0F0F0F0F0F0F0F0ULL) |
          (((x + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) >> 4)) == 0x3333333333333333ULL);
    if (!digits) return {0, internal::ClassifyContentLength(value)};
    x = ((x & 0x0F0F0F0F0F0F0F0FULL) * 2561) >> 8;
    x = ((x & 0x00FF00FF00FF00FFULL) * 6553601) >> 16;
    x = ((x & 0x0000FFFF0000FFFFULL) * 42949672960001ULL) >> 32;
    return {static_cast<int64_t>(x), ContentLengthError::kNone};
  }
  uint64_t result = 0;
  int bad = 0;
  size_t i = 0;
  if (size & 1) {
    const int c = static_cast<unsigned char>(p[0]);
    bad |= (c - '0') | ('9' - c);
    result = static_cast<uint64_t>(c - '0');
    i = 1;
  }
  for (; i < size; i += 2) {
    const int tens = static_cast<unsigned char>(p[i]);
    const int ones = static_cast<unsigned char>(p[i + 1]);
    bad |= (tens - '0') | ('9' - tens) | (ones - '0') | ('9' - ones);
    result = result * 100 + static_cast<uint64_t>(tens * 10 + ones - 11 * '0');
  }
  if (bad < 0) return {0, internal::ClassifyContentLength(value)};
  return {static_cast<int64_t>(result), ContentLengthError::kNone};
}

// ContentLengthErrorName() returns a short lower-case description of `error`
// for logs and messages ("empty", "sign", "list", "invalid character",
// "overflow", or "ok" for kNone). The string is static.
[[nodiscard]] absl::string_view ContentLengthErrorName(ContentLengthError error);

}  // namespace epollhttp::http

#endif  // EPOLLHTTP_SERVER_HTTP_CONTENT_LENGTH_H_
