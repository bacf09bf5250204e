#include "server/upload/tus_headers.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace epollhttp::upload {
namespace {

bool IsBase64Char(char c) { return absl::ascii_isalnum(c) || c == '+' || c == '/'; }

// StrictBase64() decodes standard base64 with its padding, and nothing else
// (no whitespace, no URL alphabet, no missing or extra padding).
bool StrictBase64(absl::string_view text, std::string* out) {
  if (text.empty() || text.size() % 4 != 0) return false;
  size_t pad = 0;
  while (pad < 2 && text[text.size() - 1 - pad] == '=') ++pad;
  for (size_t i = 0; i < text.size() - pad; ++i) {
    if (!IsBase64Char(text[i])) return false;
  }
  if (!absl::Base64Unescape(text, out)) return false;
  // Re-encoding must give the same text: no stray bits in the last symbol.
  return absl::Base64Escape(*out) == text;
}

// StripSp() drops the spaces (SP only: RFC 9651 §4.2) around a field value.
absl::string_view StripSp(absl::string_view value) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  return value;
}

}  // namespace

std::optional<bool> ParseSfBoolean(absl::string_view value) {
  value = StripSp(value);
  if (value == "?1") return true;
  if (value == "?0") return false;
  return std::nullopt;
}

std::optional<int64_t> ParseSfNonNegativeInteger(absl::string_view value) {
  value = StripSp(value);
  if (value.empty() || value.size() > 15) return std::nullopt;
  return ParseUploadNumber(value);
}

std::optional<int64_t> ParseUploadNumber(absl::string_view value) {
  if (value.empty() || value.size() > 18) return std::nullopt;
  int64_t n = 0;
  for (const char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n;
}

absl::StatusOr<std::vector<MetadataPair>> ParseUploadMetadata(absl::string_view value) {
  std::vector<MetadataPair> pairs;
  if (value.empty()) return pairs;
  if (value.size() > kMaxMetadataBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("Upload-Metadata is over ", kMaxMetadataBytes, " bytes"));
  }
  std::set<std::string, std::less<>> keys;
  for (const absl::string_view pair : absl::StrSplit(value, ',')) {
    MetadataPair out;
    const size_t space = pair.find(' ');
    const absl::string_view key = pair.substr(0, space);
    if (key.empty()) return absl::InvalidArgumentError("Upload-Metadata has an empty key");
    for (const char c : key) {
      if (c <= 0x20 || c >= 0x7f) {
        return absl::InvalidArgumentError(
            "Upload-Metadata has a key with a byte outside visible ASCII");
      }
    }
    out.key = std::string(key);
    if (space != absl::string_view::npos) {
      out.has_value = true;
      if (!StrictBase64(pair.substr(space + 1), &out.value)) {
        return absl::InvalidArgumentError(
            absl::StrCat("Upload-Metadata value of \"", key, "\" is not base64"));
      }
    }
    if (!keys.insert(out.key).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("Upload-Metadata has the key \"", key, "\" twice"));
    }
    pairs.push_back(std::move(out));
  }
  return pairs;
}

bool EqualsMediaType(absl::string_view content_type, absl::string_view type) {
  const absl::string_view media =
      absl::StripAsciiWhitespace(content_type.substr(0, content_type.find(';')));
  return absl::EqualsIgnoreCase(media, type);
}

}  // namespace epollhttp::upload
