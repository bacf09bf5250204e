// char_class.h: RFC 9110 character classes as 256-entry tables, shared by the
// HTTP parsers in this package. Internal to //server/http.
//
// Thread safety: constant data.
#ifndef EPOLLHTTP_SERVER_HTTP_CHAR_CLASS_H_
#define EPOLLHTTP_SERVER_HTTP_CHAR_CLASS_H_

#include <array>
#include <cstdint>

namespace epollhttp::http::internal {

enum CharClass : uint8_t {
  kTchar = 1 << 0,       // token: ALPHA DIGIT !#$%&'*+-.^_`|~ (RFC 9110 §5.6.2)
  kFieldVchar = 1 << 1,  // field-value byte: VCHAR, obs-text, SP, HTAB
  kTargetChar = 1 << 2,  // request-target byte: anything but CTL and SP
  kHexDigit = 1 << 3,
};

constexpr std::array<uint8_t, 256> MakeCharClassTable() {
  std::array<uint8_t, 256> table{};
  for (int c = 0; c < 256; ++c) {
    uint8_t bits = 0;
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    const bool digit = c >= '0' && c <= '9';
    bool tchar = alpha || digit;
    for (const char extra : {'!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`',
                             '|', '~'}) {
      if (c == extra) tchar = true;
    }
    if (tchar) bits |= kTchar;
    if (c == '\t' || (c >= 0x20 && c != 0x7f)) bits |= kFieldVchar;
    if (c > 0x20 && c != 0x7f) bits |= kTargetChar;
    if (digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) bits |= kHexDigit;
    table[c] = bits;
  }
  return table;
}

inline constexpr std::array<uint8_t, 256> kCharClass = MakeCharClassTable();

inline bool Is(char c, CharClass cls) { return kCharClass[static_cast<uint8_t>(c)] & cls; }

// HexValue() returns 0-15 for a hex digit; the caller has checked kHexDigit.
inline int HexValue(char c) {
  if (c <= '9') return c - '0';
  return (c | 0x20) - 'a' + 10;
}

}  // namespace epollhttp::http::internal

#endif  // EPOLLHTTP_SERVER_HTTP_CHAR_CLASS_H_
