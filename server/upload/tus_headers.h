// tus_headers.h: the request header values of the tus 1.0 resumable-upload
// protocol and of the IETF draft "Resumable Uploads for HTTP", parsed
// strictly: a value is either exactly what the protocol allows or refused
// (the handler answers 400).
//
// Thread safety: pure functions; safe from any thread.
#ifndef EPOLLHTTP_SERVER_UPLOAD_TUS_HEADERS_H_
#define EPOLLHTTP_SERVER_UPLOAD_TUS_HEADERS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace epollhttp::upload {

// The protocol version this server speaks, for Tus-Resumable and
// Tus-Version.
inline constexpr absl::string_view kTusVersion = "1.0.0";
// The media type of a PATCH body (and of a creation-with-upload body).
inline constexpr absl::string_view kOffsetOctetStream = "application/offset+octet-stream";
// Upload-Metadata may be this long at most.
inline constexpr size_t kMaxMetadataBytes = 4096;

// The IETF draft's interop versions this server speaks
// (Upload-Draft-Interop-Version): 6 is draft-04/05, which tus-js-client 4.3
// speaks as "ietf-draft-05"; 8 is draft-09 and later.
inline constexpr int kIetfInteropOld = 6;
inline constexpr int kIetfInteropNew = 8;
// The media type of an IETF append (PATCH) body.
inline constexpr absl::string_view kPartialUpload = "application/partial-upload";

// ParseSfBoolean() reads a Structured Field Boolean (RFC 9651 §3.3.6), as
// Upload-Complete carries it: "?0" or "?1", with the spaces a field may
// have around it; nullopt for anything else (parameters included), which
// the draft says makes the field as if absent.
std::optional<bool> ParseSfBoolean(absl::string_view value);

// ParseSfNonNegativeInteger() reads a Structured Field Integer that must
// not be negative (RFC 9651 §3.3.1), as Upload-Offset, Upload-Length and
// Upload-Draft-Interop-Version carry it in the IETF draft: 1 to 15 digits,
// with the spaces a field may have around it; nullopt otherwise.
std::optional<int64_t> ParseSfNonNegativeInteger(absl::string_view value);

// ParseUploadNumber() reads Upload-Offset or Upload-Length: 1 to 18 decimal
// digits (no sign, no spaces), so any value fits an int64; nullopt otherwise.
std::optional<int64_t> ParseUploadNumber(absl::string_view value);

// One Upload-Metadata pair: a key and its decoded value (empty for a key
// without one).
struct MetadataPair {
  std::string key;
  std::string value;
  bool has_value = false;
};

// ParseUploadMetadata() reads Upload-Metadata: comma-separated pairs, each
// a key (one or more visible ASCII characters but comma) and optionally one
// space and its value in standard base64 with padding; keys unique; at
// most kMaxMetadataBytes. InvalidArgument (saying what) otherwise. An empty
// header is no pairs.
absl::StatusOr<std::vector<MetadataPair>> ParseUploadMetadata(absl::string_view value);

// EqualsMediaType() is whether a Content-Type value names `type`, ignoring
// case and any parameters.
bool EqualsMediaType(absl::string_view content_type, absl::string_view type);

}  // namespace epollhttp::upload

#endif  // EPOLLHTTP_SERVER_UPLOAD_TUS_HEADERS_H_
