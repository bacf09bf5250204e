// request_parser.h: an incremental HTTP/1.1 request-head parser with message
// framing (RFC 9112 §2-§3, §5, §6.3; RFC 9110 §5, §9.1, §10.1.1).
//
// The caller buffers the bytes of one request head as they arrive and calls
// `Parse()` with everything buffered so far (from the first byte of this
// request; the buffer may move between calls, but bytes already passed must
// not change). The parser remembers how far it got, so each byte is examined a
// bounded number of times however the input is split: a slowloris client costs
// O(n), not O(n^2). The result never depends on how the bytes were split.
//
// Policy where the RFCs allow a choice (nginx's choices):
// - Line endings: CRLF or a bare LF end a line in the head (RFC 9112 §2.2 MAY);
//   a CR not followed by LF is 400.
// - Empty lines before the request line are skipped; the request-line limit
//   (414) counts from the first byte, skipped lines included.
// - More than one Content-Length field, or a list, is 400; Content-Length with
//   Transfer-Encoding is 400 (and the connection must close).
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
};

enum class ParseStatus : uint8_t { kNeedMore, kComplete, kError };

class RequestParser {
 public:
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
  struct FieldOffsets {
    uint32_t name_begin, name_size, value_begin, value_size;
  };

  ParseStatus Fail(ParseError error);
  // TryFieldLine() parses the field line at line_begin_ in one pass if it is
  // complete and well formed: returns 1 when done, -1 after Fail(), and 0 to
  // leave the line to the general path (which gives the same verdict).
  int TryFieldLine(absl::string_view input);
  ParseError ParseRequestLine(absl::string_view input, size_t begin, size_t end);
  ParseError ParseHeaderLine(absl::string_view input, size_t begin, size_t end);
  ParseError OnField(absl::string_view name, absl::string_view value);
  ParseError Finish(absl::string_view input);

  RequestParserOptions options_;
  State state_ = State::kRequestLine;
  ParseError error_ = ParseError::kNone;
  size_t line_begin_ = 0;  // Start of the line being parsed.
  size_t scanned_ = 0;     // Bytes before this index hold no unprocessed LF.
  size_t consumed_ = 0;
  uint32_t target_begin_ = 0;
  uint32_t target_size_ = 0;
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
  bool other_coding_ = false;  // A coding other than chunked.
  bool connection_close_ = false;
  bool connection_keep_alive_ = false;
  bool bad_expectation_ = false;
};

}  // namespace epollhttp::http

#endif  // EPOLLHTTP_SERVER_HTTP_REQUEST_PARSER_H_
