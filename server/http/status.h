// status.h: every way an HTTP/1.1 request can be refused, and the one function
// that maps each to the status line the server sends.
//
// Parsers report errors from untrusted bytes as `ParseError` values (never
// exceptions, never logs); `StatusFor()` is the only place that decides which
// HTTP status a given error earns.
//
// Thread safety: pure functions, callable from any thread.
#ifndef EPOLLHTTP_SERVER_HTTP_STATUS_H_
#define EPOLLHTTP_SERVER_HTTP_STATUS_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace epollhttp::http {

enum class ParseError : uint8_t {
  kNone = 0,
  // Request line.
  kBadRequestLine,        // 400: malformed method, target, version or spacing.
  kMethodNotImplemented,  // 501: a well-formed method we do not serve.
  kVersionNotSupported,   // 505: a well-formed version other than 1.0 / 1.1.
  kRequestLineTooLong,    // 414
  // Header section.
  kBadHeader,          // 400: bad name, space before ':', obs-fold, CTL in value.
  kBadLineEnding,      // 400: CR not followed by LF, or a bare LF (strict).
  kHeadTooLarge,       // 431: head (or trailer section) over its byte limit.
  kTooManyHeaders,     // 431
  kMissingHost,        // 400: HTTP/1.1 without Host.
  kDuplicateHost,      // 400
  kExpectationFailed,  // 417: an Expect other than 100-continue.
  // Message framing (RFC 9112 §6.3).
  kBadContentLength,                  // 400: not 1*DIGIT, or a list.
  kDuplicateContentLength,            // 400: more than one Content-Length field.
  kContentLengthAndTransferEncoding,  // 400: both present (smuggling shape).
  kBadTransferEncoding,               // 400: final coding not chunked, chunked twice, HTTP/1.0.
  kTransferCodingNotImplemented,      // 501: e.g. "gzip, chunked".
  kBodyTooLarge,                      // 413
  // Chunked body.
  kBadChunkSize,       // 400: no hex digits, junk, or overflow.
  kBadChunkExtension,  // 400: not chunk-ext grammar (RFC 9112 §7.1.1), or too long.
  kBadChunkData,       // 400: chunk data not followed by CRLF.
  kBadTrailer,         // 400

  // Not a parse error: the connection's header timeout ran out mid-head.
  kRequestTimeout,  // 408
};

struct HttpStatus {
  int code;
  absl::string_view reason;  // Static string, e.g. "Bad Request".
};

// StatusFor() returns the status line the server answers `error` with.
// `kNone` maps to {200, "OK"}.
[[nodiscard]] HttpStatus StatusFor(ParseError error);

// ReasonPhrase() is the reason phrase for status `code` (RFC 9110 §15), or
// "Unknown" for a code it does not name.
[[nodiscard]] absl::string_view ReasonPhrase(int code);

// StatusLine() is "HTTP/1.1 <code> <reason>\r\n" for `code` (100..999; other
// codes give the line for 500), as a static string.
[[nodiscard]] absl::string_view StatusLine(int code);

// ParseErrorName() returns a short static description of `error` for logs and
// test messages, e.g. "duplicate Content-Length".
[[nodiscard]] absl::string_view ParseErrorName(ParseError error);

}  // namespace epollhttp::http

#endif  // EPOLLHTTP_SERVER_HTTP_STATUS_H_
