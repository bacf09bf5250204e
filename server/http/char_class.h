// char_class.h: RFC 9110 character classes as 256-entry tables, shared by the
// HTTP parsers in this package. Internal to //server/http.
//
// Thread safety: constant data.
#ifndef EPOLLHTTP_SERVER_HTTP_CHAR_CLASS_H_
#define EPOLLHTTP_SERVER_HTTP_CHAR_CLASS_H_

#include <array>
#include <cstddef>
#include <cstdint>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace epollhttp::http::internal {

enum CharClass : uint8_t {
  kTchar = 1 << 0,       // token: ALPHA DIGIT !#$%&'*+-.^_`|~ (RFC 9110 §5.6.2)
  kFieldVchar = 1 << 1,  // field-value byte: VCHAR, obs-text, SP, HTAB
  kTargetChar = 1 << 2,  // request-target byte: anything but CTL and SP
  kHexDigit = 1 << 3,
  // A target byte that stands for itself (RFC 3986): unreserved, sub-delims,
  // ":", "@", "/", "?". ("%" starts pct-encoded; "[" "]" are authority-only.)
  kUriChar = 1 << 4,
  kSchemeChar = 1 << 5,  // ALPHA DIGIT "+" "-" "." (RFC 3986 §3.1)
};

constexpr std::array<uint8_t, 256> MakeCharClassTable() {
  std::array<uint8_t, 256> table{};
  for (int c = 0; c < 256; ++c) {
    uint8_t bits = 0;
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    const bool digit = c >= '0' && c <= '9';
    bool tchar = alpha || digit;
    for (const char extra :
         {'!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~'}) {
      if (c == extra) tchar = true;
    }
    if (tchar) bits |= kTchar;
    if (c == '\t' || (c >= 0x20 && c != 0x7f)) bits |= kFieldVchar;
    if (c > 0x20 && c != 0x7f) bits |= kTargetChar;
    if (digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) bits |= kHexDigit;
    bool uri = alpha || digit;
    for (const char extra : {'-', '.', '_', '~', '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';',
                             '=', ':', '@', '/', '?'}) {
      if (c == extra) uri = true;
    }
    if (uri) bits |= kUriChar;
    if (alpha || digit || c == '+' || c == '-' || c == '.') bits |= kSchemeChar;
    table[c] = bits;
  }
  return table;
}

inline constexpr std::array<uint8_t, 256> kCharClass = MakeCharClassTable();

inline bool Is(char c, CharClass cls) { return kCharClass[static_cast<uint8_t>(c)] & cls; }

// SkipClass() returns the index of the first byte of p[i, n) that is not in
// `cls` (kFieldVchar or kTargetChar), or n. Reads only p[i, n). Sixteen bytes
// at a time with SSE2: both classes are "0x20 (0x21 for targets) and above,
// except DEL", with HTAB the one extra field-value byte, handled by the table.
template <CharClass cls>
inline size_t SkipClass(const char* p, size_t i, size_t n) {
  static_assert(cls == kFieldVchar || cls == kTargetChar);
#if defined(__SSE2__)
  const __m128i low = _mm_set1_epi8(cls == kTargetChar ? 0x21 : 0x20);
  const __m128i del = _mm_set1_epi8(0x7f);
  while (i + 16 <= n) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const __m128i at_least_low = _mm_cmpeq_epi8(_mm_max_epu8(v, low), v);
    const __m128i is_del = _mm_cmpeq_epi8(v, del);
    const unsigned ok =
        static_cast<unsigned>(_mm_movemask_epi8(_mm_andnot_si128(is_del, at_least_low)));
    if (ok == 0xffff) {
      i += 16;
      continue;
    }
    i += static_cast<size_t>(__builtin_ctz(~ok));
    // The usual stop is the CR ending the line: decide it without a table load.
    if (p[i] == '\r' || !Is(p[i], cls)) return i;
    ++i;  // HTAB in a field value.
  }
#endif
  while (i < n && Is(p[i], cls)) ++i;
  return i;
}

// SkipTchars() returns the index of the first byte of p[i, n) that is not a
// token character (kTchar), or n. Reads only p[i, n). With SSE2 it tests
// sixteen bytes at a time for the common token bytes (ALPHA, DIGIT, '-') and
// defers to the table for the rest.
inline size_t SkipTchars(const char* p, size_t i, size_t n) {
#if defined(__SSE2__)
  const __m128i case_bit = _mm_set1_epi8(0x20);
  const __m128i before_a = _mm_set1_epi8('a' - 1);
  const __m128i after_z = _mm_set1_epi8('z' + 1);
  const __m128i before_0 = _mm_set1_epi8('0' - 1);
  const __m128i after_9 = _mm_set1_epi8('9' + 1);
  const __m128i dash = _mm_set1_epi8('-');
  while (i + 16 <= n) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    // Signed compares: bytes >= 0x80 are negative, so never in these ranges.
    const __m128i lower = _mm_or_si128(v, case_bit);
    const __m128i alpha =
        _mm_and_si128(_mm_cmpgt_epi8(lower, before_a), _mm_cmplt_epi8(lower, after_z));
    const __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, before_0), _mm_cmplt_epi8(v, after_9));
    const __m128i common = _mm_or_si128(_mm_or_si128(alpha, digit), _mm_cmpeq_epi8(v, dash));
    const unsigned ok = static_cast<unsigned>(_mm_movemask_epi8(common));
    if (ok == 0xffff) {
      i += 16;
      continue;
    }
    i += static_cast<size_t>(__builtin_ctz(~ok));
    // The usual stop is the ':' ending a field name: decide it without a
    // table load.
    if (p[i] == ':' || !Is(p[i], kTchar)) return i;
    ++i;  // A less common token byte such as '_' or '!'.
  }
#endif
  while (i < n && Is(p[i], kTchar)) ++i;
  return i;
}

// SkipUriChars() returns the index of the first byte of p[i, n) that is not
// in kUriChar, or n. Reads only p[i, n). With SSE2 it tests sixteen bytes at
// a time: printable ASCII (0x21-0x7e) less the twelve bytes RFC 3986 keeps
// out of targets (" # < > [ \ ] ^ ` { | }) and "%", which the caller decodes.
inline size_t SkipUriChars(const char* p, size_t i, size_t n) {
#if defined(__SSE2__)
  const auto in = [](__m128i v, char lo, char hi) {  // lo <= v <= hi, signed.
    return _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(static_cast<char>(lo - 1))),
                         _mm_cmplt_epi8(v, _mm_set1_epi8(static_cast<char>(hi + 1))));
  };
  while (i + 16 <= n) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    // Bytes >= 0x80 are negative as signed bytes, so outside every range.
    const __m128i printable = in(v, 0x21, 0x7e);
    __m128i excluded = in(v, '"', '#');
    excluded = _mm_or_si128(excluded, _mm_cmpeq_epi8(v, _mm_set1_epi8('%')));
    excluded = _mm_or_si128(excluded, _mm_cmpeq_epi8(v, _mm_set1_epi8('<')));
    excluded = _mm_or_si128(excluded, _mm_cmpeq_epi8(v, _mm_set1_epi8('>')));
    excluded = _mm_or_si128(excluded, in(v, '[', '^'));
    excluded = _mm_or_si128(excluded, _mm_cmpeq_epi8(v, _mm_set1_epi8('`')));
    excluded = _mm_or_si128(excluded, in(v, '{', '}'));
    const unsigned ok =
        static_cast<unsigned>(_mm_movemask_epi8(_mm_andnot_si128(excluded, printable)));
    if (ok == 0xffff) {
      i += 16;
      continue;
    }
    return i + static_cast<size_t>(__builtin_ctz(~ok));
  }
#endif
  while (i < n && Is(p[i], kUriChar)) ++i;
  return i;
}

// HexValue() returns 0-15 for a hex digit; the caller has checked kHexDigit.
inline int HexValue(char c) {
  if (c <= '9') return c - '0';
  return (c | 0x20) - 'a' + 10;
}

}  // namespace epollhttp::http::internal

#endif  // EPOLLHTTP_SERVER_HTTP_CHAR_CLASS_H_
