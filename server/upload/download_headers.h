// download_headers.h: the header values of serving a stored upload back: one
// byte range (RFC 9110 §14), and a Content-Disposition built from the
// client's filename with RFC 8187 encoding, so no metadata byte can end up
// as header syntax.
//
// Thread safety: pure functions; safe from any thread.
#ifndef EPOLLHTTP_SERVER_UPLOAD_DOWNLOAD_HEADERS_H_
#define EPOLLHTTP_SERVER_UPLOAD_DOWNLOAD_HEADERS_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace epollhttp::upload {

struct ByteRange {
  enum class Kind {
    kWhole,          // No Range, or one to ignore (invalid syntax, several ranges).
    kPart,           // Bytes [first, last] of the representation.
    kUnsatisfiable,  // 416: no byte of the range exists.
  };
  Kind kind = Kind::kWhole;
  int64_t first = 0;
  int64_t last = 0;  // Inclusive.
};

// ParseRange() reads a Range header value (empty: none) against a body of
// `size` bytes: "bytes=F-L", "bytes=F-" or "bytes=-N". A last position past
// the end is cut to it. Several ranges, another unit or bad syntax are
// ignored (kWhole), as RFC 9110 allows.
ByteRange ParseRange(absl::string_view value, int64_t size);

// ContentDisposition() is `attachment; filename="..."; filename*=UTF-8''...`
// for `filename` (any bytes): the quoted form keeps only characters safe in
// a quoted string (others become '_'), the starred one percent-encodes every
// byte but RFC 8187's attr-chars. Path separators become '_' in both. An
// empty name gives `fallback`.
std::string ContentDisposition(absl::string_view filename, absl::string_view fallback);

}  // namespace epollhttp::upload

#endif  // EPOLLHTTP_SERVER_UPLOAD_DOWNLOAD_HEADERS_H_
