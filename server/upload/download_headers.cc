#include "server/upload/download_headers.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace epollhttp::upload {
namespace {

bool Digits(absl::string_view text, int64_t* out) {
  if (text.empty() || text.size() > 18) return false;
  for (const char c : text) {
    if (!absl::ascii_isdigit(c)) return false;
  }
  return absl::SimpleAtoi(text, out);
}

// RFC 8187 attr-char.
bool AttrChar(unsigned char c) {
  return absl::ascii_isalnum(c) ||
         absl::string_view("!#$&+-.^_`|~").find(static_cast<char>(c)) != absl::string_view::npos;
}

}  // namespace

ByteRange ParseRange(absl::string_view value, int64_t size) {
  ByteRange whole;
  if (!absl::ConsumePrefix(&value, "bytes=") || value.find(',') != absl::string_view::npos) {
    return whole;
  }
  const size_t dash = value.find('-');
  if (dash == absl::string_view::npos) return whole;
  const absl::string_view first_text = value.substr(0, dash);
  const absl::string_view last_text = value.substr(dash + 1);
  ByteRange range;
  range.kind = ByteRange::Kind::kPart;
  if (first_text.empty()) {  // bytes=-N: the last N bytes.
    int64_t suffix = 0;
    if (!Digits(last_text, &suffix)) return whole;
    if (suffix == 0 || size == 0) return {ByteRange::Kind::kUnsatisfiable, 0, 0};
    range.first = suffix >= size ? 0 : size - suffix;
    range.last = size - 1;
    return range;
  }
  if (!Digits(first_text, &range.first)) return whole;
  if (last_text.empty()) {
    range.last = size - 1;
  } else if (!Digits(last_text, &range.last) || range.last < range.first) {
    return whole;
  }
  if (range.first >= size) return {ByteRange::Kind::kUnsatisfiable, 0, 0};
  if (range.last >= size) range.last = size - 1;
  return range;
}

std::string ContentDisposition(absl::string_view filename, absl::string_view fallback) {
  if (filename.empty()) filename = fallback;
  std::string quoted, starred;
  for (const char ch : filename) {
    const unsigned char c = static_cast<unsigned char>(ch);
    const bool separator = c == '/' || c == '\\';
    quoted += (c >= 0x20 && c < 0x7f && c != '"' && !separator) ? ch : '_';
    if (separator) {
      starred += '_';
    } else if (AttrChar(c)) {
      starred += ch;
    } else {
      static constexpr char kHex[] = "0123456789ABCDEF";
      starred += '%';
      starred += kHex[c >> 4];
      starred += kHex[c & 15];
    }
  }
  return absl::StrCat("attachment; filename=\"", quoted, "\"; filename*=UTF-8''", starred);
}

}  // namespace epollhttp::upload
