// request_parser.h: an incremental HTTP/1.1 request-head parser with message
// framing (RFC 9112 §2-§3, §5, §6.3; RFC 9110 §5, §9.1, §10.1.1).
//
// The caller buffers the bytes of one request head as they arrive and calls
// `Parse()` with everything buffered so far (from the first byte of this
// request; the buffer may move between calls, but bytes already passed must
// not change). The parser checks every byte once, in order, and remembers
// where it stopped, so a slowloris client costs O(n), not O(n^2). It rejects
// at the first byte that no valid head could continue with (a TLS
// ClientHello's first byte, a NUL, a bare CR, a byte outside the URI grammar
// in the target, a limit crossed), without waiting for a line end; errors that
// depend on a whole line or head (an unknown method, a bad Content-Length) are
// decided when it ends. So the verdict never depends on how the bytes were
// split.
//
// Policy where the RFCs allow a choice (strict, for an origin server behind
// proxies):
// - Line endings: CRLF only. A bare LF is 400 unless `allow_bare_lf`
//   (RFC 9112 §2.2 MAY), which lets a front end that reads lines differently
//   smuggle a request through a field line; a CR not followed by LF is 400.
// - Request targets (RFC 9112 §3.2): origin-form, absolute-form,
//   authority-form for CONNECT only, asterisk-form for OPTIONS only, each
//   over the URI grammar (RFC 3986: unreserved, sub-delims, ":", "@", "/",
//   "?", "%" HEXDIG HEXDIG; "[" "]" in authorities); anything else is 400.
//   An absolute-form target names an authority ("scheme://host..."), as the
//   http and https schemes require, without userinfo ("user@"), which a
//   recipient should treat as an error (RFC 9110 §4.2, §4.2.4).
// - Empty lines (CRLF) before the request line are skipped; the request-line
//   limit (414) counts from the first byte, skipped lines included.
// - More than one Content-Length field, or a list, is 400; Content-Length with
//   Transfer-Encoding is 400 (and the connection must close); chunked with a
//   parameter is 400 (chunked defines none, RFC 9112 §7).
// - Host: exactly one in HTTP/1.1, at most one in HTTP/1.0.
// - Expect: "100-continue" is reported; anything else is 417 (HTTP/1.0
//   expectations are ignored, RFC 9110 §10.1.1).
//
// The parser never allocates per request once its header table has grown to
// the largest header count seen, and never reads outside its input.
//
// Thread safety: a RequestParser belongs to one connection and is used by one
// thread at a time.
#ifndef EPOLLHTTP_SERVER_HTTP_REQUEST_PARSER_H_
#define EPOLLHTTP_SERVER_HTTP_REQUEST_PARSER_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "server/http/status.h"

namespace epollhttp::http {

enum class Method : uint8_t { kGet, kHead, kPost, kPut, kDelete, kOptions, kPatch };
enum class Version : uint8_t { kHttp10, kHttp11 };

// MethodName() returns "GET", "HEAD", ... for `method`.
[[nodiscard]] absl::string_view MethodName(Method method);

struct Header {
  absl::string_view name;   // As sent (case preserved); a token.
  absl::string_view value;  // Leading/trailing SP and HTAB trimmed.
};

// How the body of a request is delimited (RFC 9112 §6.3).
enum class BodyKind : uint8_t {
  kNone,           // Neither Content-Length nor Transfer-Encoding: empty body.
  kContentLength,  // Exactly `content_length` bytes follow.
  kChunked,        // Transfer-Encoding: chunked.
};

struct RequestHead {
  Method method = Method::kGet;
  Version version = Version::kHttp11;
  absl::string_view target;          // Request-target, as sent.
  absl::Span<const Header> headers;  // In order of arrival.
  BodyKind body_kind = BodyKind::kNone;
  int64_t content_length = 0;    // Valid for kContentLength.
  bool keep_alive = true;        // Connection tokens + version default.
  bool expect_continue = false;  // Expect: 100-continue (HTTP/1.1).
};

struct RequestParserOptions {
  size_t max_request_line = 8 * 1024;  // 414 beyond; clamped to max_head_bytes.
  size_t max_head_bytes = 32 * 1024;   // 431 beyond (request line + fields).
  size_t max_headers = 100;            // 431 beyond.
  // Accept a bare LF as a line end in the head (RFC 9112 §2.2 MAY). Off: a
  // bare LF is 400. See the policy above for the risk.
  bool allow_bare_lf = false;
};

enum class ParseStatus : uint8_t { kNeedMore, kComplete, kError };

class RequestParser {
 public:
  struct FieldOffsets {
    uint32_t name_begin, name_size, value_begin, value_size;
  };

  explicit RequestParser(RequestParserOptions options = {});

  // Parse() continues parsing the request head at the start of `input`, which
  // holds every byte of this request received so far. Returns:
  // - kNeedMore: the head is incomplete and within limits; call again with the
  //   same bytes plus more.
  // - kComplete: `consumed()` bytes form the head; `head()` is valid, its views
  //   point into `input`, until `input` changes or Reset(). Bytes after
  //   `consumed()` are the body and/or the next request.
  // - kError: `error()` says why; the connection must answer
  //   StatusFor(error()) and close. Further calls return kError.
  // After kComplete, further calls return kComplete without looking at input.
  ParseStatus Parse(absl::string_view input);

  // Reset() prepares for the next request on the same connection, keeping the
  // header table's capacity.
  void Reset();

  [[nodiscard]] size_t consumed() const { return consumed_; }
  [[nodiscard]] const RequestHead& head() const { return head_; }
  [[nodiscard]] ParseError error() const { return error_; }

 private:
  enum class State : uint8_t { kRequestLine, kHeaders, kComplete, kError };
  // Where in the current line the next byte goes.
  enum class Step : uint8_t {
    kLineStart,    // The request line's first byte (or an empty line's CR).
    kEmptyLf,      // An empty line before the request line: LF must follow.
    kMethod,       // Method token, up to SP.
    kTargetStart,  // The target's first byte decides its form.
    kOrigin,       // origin-form: path and query.
    kAsterisk,     // "*" (OPTIONS): SP must follow.
    kScheme,       // absolute-form: scheme, up to ":".
    kSchemeSlash,  // absolute-form: the "//" after "scheme:".
    kHost,         // absolute-form: the authority after "scheme://" (no userinfo).
    kAuthority,    // authority-form (CONNECT): host ":" port.
    kVersion,      // "HTTP/" DIGIT "." DIGIT, then CR.
    kLineLf,       // A CR ended the line: LF must follow.
    kFieldStart,   // A field line's first byte, or the blank line's CR.
    kName,         // Field name, up to ":".
    kValueStart,   // OWS before the value.
    kValue,        // Field value, up to CR.
    kBlankLf,      // The blank line's CR: LF must follow.
  };
  enum class Scan : uint8_t { kMore, kLineDone, kHeadDone, kError };

  ParseStatus Fail(ParseError error);
  // ScanLine() checks bytes from scanned_ up to `end` (exclusive) in the
  // current step, finishing field lines as they end, and stops at the end of
  // the request line (kLineDone) or of the head (kHeadDone), at the first bad
  // byte (kError, with *error set) or at `end` (kMore). `p` is the input.
  Scan ScanLine(const char* p, size_t end, ParseError* error);
  // FieldDone() records the field line just ended and checks its meaning.
  ParseError FieldDone(const char* p);
  // TargetByte() decides one byte of a target outside SIMD-skippable runs.
  ParseError TargetByte(char c, size_t i);
  ParseError FinishRequestLine(absl::string_view input);
  ParseError OnField(absl::string_view name, absl::string_view value);
  ParseError Finish(absl::string_view input);

  RequestParserOptions options_;
  State state_ = State::kRequestLine;
  Step step_ = Step::kLineStart;
  ParseError error_ = ParseError::kNone;
  size_t line_begin_ = 0;  // Start of the line being parsed.
  size_t scanned_ = 0;     // Every byte before this index has been checked.
  size_t consumed_ = 0;
  // Offsets of the request line's parts and of the current field line.
  uint32_t method_end_ = 0;
  uint32_t target_begin_ = 0;
  uint32_t target_size_ = 0;
  uint32_t version_begin_ = 0;
  uint32_t authority_colon_ = 0;  // Last ':' of an authority-form target (0: none).
  bool authority_port_ = false;   // Only digits since that ':'.
  uint32_t name_end_ = 0;
  uint32_t value_begin_ = 0;
  uint32_t value_end_ = 0;
  uint8_t pct_left_ = 0;         // Hex digits still due after '%' in a target;
                                 // in kSchemeSlash, the '/' still due.
  bool connect_ = false;         // The method is CONNECT: authority-form.
  bool options_method_ = false;  // The method is OPTIONS: "*" allowed.
  RequestHead head_;
  std::vector<FieldOffsets> fields_;
  std::vector<Header> headers_;
  // Framing facts gathered while fields arrive.
  uint8_t host_count_ = 0;
  bool has_content_length_ = false;
  bool has_transfer_encoding_ = false;
  bool chunked_final_ = false;  // The last coding seen is "chunked".
  bool chunked_seen_ = false;
  bool chunked_twice_ = false;
  bool chunked_parameter_ = false;  // "chunked" with a parameter.
  bool other_coding_ = false;       // A coding other than chunked.
  bool connection_close_ = false;
  bool connection_keep_alive_ = false;
  bool bad_expectation_ = false;
};

}  // namespace epollhttp::http

#endif  // EPOLLHTTP_SERVER_HTTP_REQUEST_PARSER_H_
