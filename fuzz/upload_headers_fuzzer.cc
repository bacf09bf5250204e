// upload_headers_fuzzer.cc: arbitrary bytes into the upload endpoint's header
// parsers, each checked by a round trip or an independent reference.
//
// The first byte picks the parser; the rest is the header value:
// - Upload-Offset / Upload-Length (ParseUploadNumber): accepted exactly
//   when the value is 1-18 ASCII digits, and then equal to the reference's
//   value (computed in unsigned __int128);
// - Upload-Metadata (ParseUploadMetadata): when accepted, re-encoding the
//   pairs gives the input back byte for byte (the grammar is canonical), keys
//   are unique and non-empty, and the value is at most 4 KiB;
// - Upload-Checksum (ParseUploadChecksum): when accepted, re-encoding gives
//   the input back and the digest has the algorithm's length;
// - Upload-Complete (ParseSfBoolean): accepted exactly when the value,
//   without the spaces around it, is "?0" or "?1", and then that boolean;
// - the IETF integers (ParseSfNonNegativeInteger): accepted exactly when
//   the value, without the spaces around it, is 1-15 ASCII digits, and then
//   equal to the reference's value;
// - Range (ParseRange) against a size from the next 8 bytes: a part lies
//   within the body, first <= last;
// - Content-Disposition (ContentDisposition): no byte of the output is a
//   control character, and the quoted filename holds no quote or backslash,
//   so no metadata can become header syntax.
// Any violation aborts.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <set>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "server/upload/checksum.h"
#include "server/upload/download_headers.h"
#include "server/upload/tus_headers.h"

namespace {

using namespace ::epollhttp::upload;  // NOLINT(build/namespaces): a harness.

[[noreturn]] void Fail(const char* what, absl::string_view input) {
  std::fprintf(stderr, "upload_headers_fuzzer: %s (input %zu bytes: \"%s\")\n", what, input.size(),
               absl::CHexEscape(input.substr(0, 200)).c_str());
  std::abort();
}

void CheckNumber(absl::string_view input) {
  bool digits = !input.empty() && input.size() <= 18;
  unsigned __int128 value = 0;
  for (const char c : input) {
    if (c < '0' || c > '9') digits = false;
    if (digits) value = value * 10 + static_cast<unsigned>(c - '0');
  }
  const std::optional<int64_t> got = ParseUploadNumber(input);
  if (got.has_value() != digits) Fail("number accepted/refused wrongly", input);
  if (got.has_value() && static_cast<unsigned __int128>(*got) != value) Fail("number value", input);
}

absl::string_view WithoutSpaces(absl::string_view input) {
  const size_t first = input.find_first_not_of(' ');
  if (first == absl::string_view::npos) return {};
  return input.substr(first, input.find_last_not_of(' ') - first + 1);
}

void CheckBoolean(absl::string_view input) {
  const absl::string_view bare = WithoutSpaces(input);
  const std::optional<bool> got = ParseSfBoolean(input);
  if (got.has_value() != (bare == "?0" || bare == "?1")) Fail("boolean accepted/refused", input);
  if (got.has_value() && *got != (bare == "?1")) Fail("boolean value", input);
}

void CheckSfInteger(absl::string_view input) {
  const absl::string_view bare = WithoutSpaces(input);
  bool digits = !bare.empty() && bare.size() <= 15;
  unsigned __int128 value = 0;
  for (const char c : bare) {
    if (c < '0' || c > '9') digits = false;
    if (digits) value = value * 10 + static_cast<unsigned>(c - '0');
  }
  const std::optional<int64_t> got = ParseSfNonNegativeInteger(input);
  if (got.has_value() != digits) Fail("integer accepted/refused wrongly", input);
  if (got.has_value() && static_cast<unsigned __int128>(*got) != value)
    Fail("integer value", input);
}

void CheckMetadata(absl::string_view input) {
  const absl::StatusOr<std::vector<MetadataPair>> pairs = ParseUploadMetadata(input);
  if (!pairs.ok()) return;
  if (input.size() > kMaxMetadataBytes) Fail("metadata over 4 KiB accepted", input);
  std::string again;
  std::set<std::string> keys;
  for (const MetadataPair& pair : *pairs) {
    if (pair.key.empty() || !keys.insert(pair.key).second) Fail("metadata key", input);
    if (!again.empty()) again += ',';
    again += pair.key;
    if (pair.has_value) absl::StrAppend(&again, " ", absl::Base64Escape(pair.value));
  }
  if (again != input) Fail("metadata does not round-trip", input);
}

void CheckChecksum(absl::string_view input) {
  const absl::StatusOr<UploadChecksum> checksum = ParseUploadChecksum(input);
  if (!checksum.ok()) return;
  const size_t want = checksum->algorithm == "sha1" ? 20 : checksum->algorithm == "sha256" ? 32 : 0;
  if (want == 0 || checksum->digest.size() != want) Fail("checksum algorithm or length", input);
  if (absl::StrCat(checksum->algorithm, " ", absl::Base64Escape(checksum->digest)) != input) {
    Fail("checksum does not round-trip", input);
  }
}

void CheckRange(absl::string_view input) {
  if (input.size() < 8) return;
  uint64_t raw = 0;
  std::memcpy(&raw, input.data(), 8);
  const int64_t size = static_cast<int64_t>(raw % (uint64_t{1} << 50));
  input.remove_prefix(8);
  const ByteRange range = ParseRange(input, size);
  if (range.kind == ByteRange::Kind::kPart &&
      !(range.first >= 0 && range.first <= range.last && range.last < size)) {
    Fail("range outside the body", input);
  }
}

void CheckDisposition(absl::string_view input) {
  const std::string header = ContentDisposition(input, "fallback");
  for (const char c : header) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) Fail("control or non-ASCII byte in Content-Disposition", input);
  }
  const size_t open = header.find("filename=\"");
  const size_t close = header.find("\"; filename*=", open + 10);
  if (open == std::string::npos || close == std::string::npos) Fail("disposition shape", input);
  const absl::string_view quoted = absl::string_view(header).substr(open + 10, close - open - 10);
  if (quoted.find_first_of("\"\\") != absl::string_view::npos) Fail("quote in filename", input);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const absl::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 7) {
    case 0: CheckNumber(input); break;
    case 1: CheckMetadata(input); break;
    case 2: CheckChecksum(input); break;
    case 3: CheckRange(input); break;
    case 4: CheckDisposition(input); break;
    case 5: CheckBoolean(input); break;
    case 6: CheckSfInteger(input); break;
  }
  return 0;
}
