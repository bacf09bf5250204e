// body_reader.h: streams a request body out of the connection's input without
// ever holding it whole (RFC 9112 §6, §7.1).
//
// After the head parses, `Start()` the reader with its framing, then call
// `Read()` with whatever input follows. Each call consumes a prefix of the
// input and may yield one span of body data (a view into that input), so the
// caller loops until the input is used up or the body is done. Bytes after the
// end of the body are never consumed: they belong to the next (pipelined)
// request. Memory is O(1) whatever the body size.
//
// Chunked bodies are decoded strictly: hex sizes with overflow checks, CRLF
// (never a bare LF) after the size line and after each chunk's data,
// extensions checked against RFC 9112 §7.1.1 (token names; token or
// quoted-string values; an empty name or an unbalanced quote is 400) and
// bounded, trailer fields checked and counted against a byte limit, then
// discarded. Every byte is decided as it arrives.
//
// Thread safety: one reader per connection, used by one thread at a time.
#ifndef EPOLLHTTP_SERVER_HTTP_BODY_READER_H_
#define EPOLLHTTP_SERVER_HTTP_BODY_READER_H_

#include <cstddef>
#include <cstdint>
#include <limits>

#include "absl/strings/string_view.h"
#include "server/http/request_parser.h"
#include "server/http/status.h"

namespace epollhttp::http {

struct BodyReaderOptions {
  int64_t max_body_bytes = std::numeric_limits<int64_t>::max();  // 413 beyond.
  size_t max_chunk_extension_bytes = 4096;                       // Per size line; 400 beyond.
  size_t max_trailer_bytes = 32 * 1024;  // Whole trailer section; 431 beyond.
};

struct BodyChunk {
  size_t consumed = 0;     // Input bytes used (data and framing).
  absl::string_view data;  // Body bytes within the consumed prefix; may be empty.
  ParseStatus status = ParseStatus::kNeedMore;  // kComplete: body ended.
  ParseError error = ParseError::kNone;         // Set when status == kError.
};

class BodyReader {
 public:
  explicit BodyReader(BodyReaderOptions options = {}) : options_(options) {}

  // Start() begins a body framed as `kind` (`content_length` for
  // kContentLength). Returns kBodyTooLarge if a Content-Length exceeds the
  // limit (nothing has been read yet), otherwise kNone.
  [[nodiscard]] ParseError Start(BodyKind kind, int64_t content_length);

  // Read() consumes a prefix of `input` (see BodyChunk). After kComplete or
  // kError, further calls consume nothing and repeat that status.
  BodyChunk Read(absl::string_view input);

  // received() is the number of body data bytes yielded so far.
  [[nodiscard]] int64_t received() const { return received_; }

  // done() is true once the body has ended.
  [[nodiscard]] bool done() const { return state_ == State::kDone; }

  // skippable() is how many bytes of a Content-Length body are still to come
  // (0 for chunked bodies, whose framing must be read, and once done). The
  // caller may discard that many bytes unseen and report them with Skip().
  [[nodiscard]] int64_t skippable() const { return state_ == State::kLength ? remaining_ : 0; }

  // Skip() accounts for `n` (1..skippable()) body bytes the caller discarded
  // without reading them (e.g. recv with MSG_TRUNC), as Read() would have.
  // Returns kComplete when that ends the body, else kNeedMore.
  ParseStatus Skip(int64_t n);

 private:
  enum class State : uint8_t {
    kLength,     // Content-Length body; `remaining_` bytes to go.
    kSizeStart,  // Chunked: first hex digit of a size line.
    kSize,       // More hex digits, ';' / BWS before an extension, or CR.
    kSizeBws,    // BWS after the size: only more BWS or ';' may follow.
    // chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
    kExtNameStart,   // BWS after ';', then the name's first byte.
    kExtName,        // Name token bytes.
    kExtAfterName,   // BWS after the name: '=', ';' or CR.
    kExtValueStart,  // BWS after '=', then a token or '"'.
    kExtToken,       // Token value bytes.
    kExtQuoted,      // Quoted-string value bytes, up to '"'.
    kExtQuotedPair,  // The byte after '\' in a quoted-string.
    kExtAfterValue,  // BWS after a value: ';' or CR.
    kSizeLf,         // LF ending the size line.
    kData,           // `remaining_` bytes of chunk data.
    kDataCr,         // CR after chunk data.
    kDataLf,         // LF after chunk data.
    kTrailerStart,   // Start of a trailer field line, or CR of the final line.
    kTrailerName,    // Trailer field name up to ':'.
    kTrailerValue,   // Trailer field value up to CR.
    kTrailerLf,      // LF ending a trailer field line.
    kFinalLf,        // LF ending the message.
    kDone,
    kError,
  };

  BodyChunk Fail(size_t consumed, ParseError error);
  // Extension() takes one byte of a chunk extension in the current kExt*
  // state; false if no valid extension continues with it.
  bool Extension(char c);

  BodyReaderOptions options_;
  State state_ = State::kDone;
  ParseError error_ = ParseError::kNone;
  int64_t remaining_ = 0;
  int64_t chunk_size_ = 0;
  int64_t received_ = 0;
  int64_t announced_ = 0;  // Sum of chunk sizes so far.
  size_t extension_bytes_ = 0;
  size_t trailer_bytes_ = 0;
};

}  // namespace epollhttp::http

#endif  // EPOLLHTTP_SERVER_HTTP_BODY_READER_H_
