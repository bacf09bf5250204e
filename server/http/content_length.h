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

#include <cstdint>

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

// ParseContentLength() parses `value` as 1*DIGIT. On success returns the value
// with `error == kNone`; on failure returns `value == 0` and the reason.
[[nodiscard]] ContentLength ParseContentLength(absl::string_view value);

// ContentLengthErrorName() returns a short lower-case description of `error`
// for logs and messages ("empty", "sign", "list", "invalid character",
// "overflow", or "ok" for kNone). The string is static.
[[nodiscard]] absl::string_view ContentLengthErrorName(ContentLengthError error);

}  // namespace epollhttp::http

#endif  // EPOLLHTTP_SERVER_HTTP_CONTENT_LENGTH_H_
