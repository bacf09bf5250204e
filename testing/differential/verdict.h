// verdict.h: what a parser makes of a byte string sent by a client, in terms
// three independent parsers can be compared on: whether the bytes hold
// complete requests, an unfinished one or an error; how many requests
// completed; and how the first request's body is framed.
//
// OursVerdict() runs //server/http's RequestParser and BodyReader the way the
// server's codec does (requests one after another, nothing after one that
// closes the connection). LlhttpVerdict() runs llhttp 8.1 (Node.js's parser)
// in its default, strict mode. h11 (Python) is run by h11_verdict.py, which
// prints the same fields.
//
// Test-only. Thread safety: stateless functions.
#ifndef EPOLLHTTP_TESTING_DIFFERENTIAL_VERDICT_H_
#define EPOLLHTTP_TESTING_DIFFERENTIAL_VERDICT_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "server/http/request_parser.h"

namespace epollhttp::test {

enum class Outcome : uint8_t {
  kComplete,    // Every byte belongs to complete requests (or follows one that closes).
  kIncomplete,  // A request is still open when the bytes end.
  kRejected,    // A parse error.
};

enum class Framing : uint8_t { kUnknown, kNone, kContentLength, kChunked };

struct Verdict {
  Outcome outcome = Outcome::kIncomplete;
  int messages = 0;                     // Requests completed (before an error).
  Framing framing = Framing::kUnknown;  // The first request's; kUnknown: no head.
  int64_t length = -1;                  // Its Content-Length, for kContentLength.
  std::string reason;                   // The parser's own words, for reports.
  // Where the rejected (or unfinished) request starts in the input; set by
  // OursVerdict() only.
  size_t error_at = 0;

  // Same() is whether two parsers agree: on the outcome and the requests
  // completed, and for accepted bytes on the first request's framing. (Two
  // rejections need not agree on why.)
  [[nodiscard]] bool Same(const Verdict& other) const {
    if (outcome != other.outcome || messages != other.messages) return false;
    return outcome == Outcome::kRejected || (framing == other.framing && length == other.length);
  }
  // ToString() is e.g. "complete 2 cl:5" or "rejected 0 - (bad request line)".
  [[nodiscard]] std::string ToString() const;
};

Verdict OursVerdict(absl::string_view bytes, const http::RequestParserOptions& options = {});
Verdict LlhttpVerdict(absl::string_view bytes);

// ParseVerdict() reads a ToString()-style line, as h11_verdict.py prints it;
// false if the line does not have that shape.
bool ParseVerdict(absl::string_view line, Verdict* verdict);

// Escape() shows bytes as C string literal text, for reports.
std::string Escape(absl::string_view bytes);

}  // namespace epollhttp::test

#endif  // EPOLLHTTP_TESTING_DIFFERENTIAL_VERDICT_H_
