#include "testing/differential/known_differences.h"

#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace epollhttp::test {
namespace {

// --- Independent readings of the input. They do not use //server/http: a
// rule must name a property of the bytes, not restate the parser.

// FromError() is the input from the request ours rejected (or left open),
// after the empty lines that may precede it.
absl::string_view FromError(absl::string_view input, const Verdict& ours) {
  absl::string_view rest = input.substr(std::min(ours.error_at, input.size()));
  while (absl::StartsWith(rest, "\r\n")) rest.remove_prefix(2);
  return rest;
}

// HeadOf() is `s` up to its first empty line (CRLF CRLF or LF LF), or all of it.
absl::string_view HeadOf(absl::string_view s) {
  size_t end = s.size();
  for (const char* blank : {"\r\n\r\n", "\n\n", "\n\r\n"}) {
    const size_t at = s.find(blank);
    if (at != absl::string_view::npos) end = std::min(end, at + std::strlen(blank));
  }
  return s.substr(0, end);
}

// BodyOf() is what follows HeadOf().
absl::string_view BodyOf(absl::string_view s) { return s.substr(HeadOf(s).size()); }

// RequestLine() is `s`'s first line after any leading CR/LF, without its end.
absl::string_view RequestLine(absl::string_view s) {
  const size_t start = s.find_first_not_of("\r\n");
  if (start == absl::string_view::npos) return {};
  s.remove_prefix(start);
  return s.substr(0, s.find_first_of("\r\n"));
}

bool HasBareLf(absl::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) return true;
  }
  return false;
}

bool HasBareCr(absl::string_view s) {
  for (size_t i = 0; i + 1 < s.size(); ++i) {
    if (s[i] == '\r' && s[i + 1] != '\n') return true;
  }
  return false;
}

bool HasObsFold(absl::string_view head) {
  const size_t first_line = head.find('\n');
  if (first_line == absl::string_view::npos) return false;
  for (size_t i = first_line; i + 1 < head.size(); ++i) {
    if (head[i] == '\n' && (head[i + 1] == ' ' || head[i + 1] == '\t')) return true;
  }
  return false;
}

bool IsTchar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         (c != '\0' && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr);
}

// Uri() is whether `c` may stand for itself in a target (RFC 3986 §2:
// unreserved, sub-delims, ":", "@", "/", "?").
bool Uri(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         (c != '\0' && std::strchr("-._~!$&'()*+,;=:@/?", c) != nullptr);
}

// UriChars() is whether every byte of `s` is Uri() or a valid "%" HEXDIG
// HEXDIG, allowing "[" and "]" when `brackets`.
bool UriChars(absl::string_view s, bool brackets) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size() || !absl::ascii_isxdigit(static_cast<unsigned char>(s[i + 1])) ||
          !absl::ascii_isxdigit(static_cast<unsigned char>(s[i + 2]))) {
        return false;
      }
      i += 2;
    } else if (!(Uri(s[i]) || (brackets && (s[i] == '[' || s[i] == ']')))) {
      return false;
    }
  }
  return true;
}

// ValidTarget() checks a target against RFC 9112 §3.2's four forms.
bool ValidTarget(absl::string_view method, absl::string_view target) {
  if (target.empty()) return false;
  if (method == "CONNECT") {  // authority-form: host ":" port.
    const size_t colon = target.rfind(':');
    const size_t bracket = target.rfind(']');
    if (colon == absl::string_view::npos ||
        (bracket != absl::string_view::npos && bracket > colon)) {
      return false;
    }
    for (const char c : target.substr(colon + 1)) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
    }
    return UriChars(target.substr(0, colon), true) &&
           target.find_first_of("/?@") == absl::string_view::npos;
  }
  if (target == "*") return method == "OPTIONS";
  if (target[0] == '/') return UriChars(target, false);
  // absolute-form: scheme "://" ...
  size_t i = 0;
  if (!absl::ascii_isalpha(static_cast<unsigned char>(target[0]))) return false;
  while (i < target.size() && (absl::ascii_isalnum(static_cast<unsigned char>(target[i])) ||
                               target[i] == '+' || target[i] == '-' || target[i] == '.')) {
    ++i;
  }
  if (!absl::StartsWith(target.substr(i), "://")) return false;
  const absl::string_view rest = target.substr(i + 3);
  const size_t path = std::min(rest.find_first_of("/?"), rest.size());
  // No userinfo in the authority (RFC 9110 §4.2.4); brackets only there.
  return rest.substr(0, path).find('@') == absl::string_view::npos &&
         UriChars(rest.substr(0, path), true) && UriChars(rest.substr(path), false);
}

// RequestLineShape() is whether `line` is method SP target SP HTTP/d.d with
// a token method and a target of visible bytes.
bool RequestLineShape(absl::string_view line) {
  const size_t sp1 = line.find(' ');
  if (sp1 == 0 || sp1 == absl::string_view::npos) return false;
  for (const char c : line.substr(0, sp1)) {
    if (!IsTchar(c)) return false;
  }
  const size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == absl::string_view::npos || sp2 == sp1 + 1) return false;
  for (const char c : line.substr(sp1 + 1, sp2 - sp1 - 1)) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return false;
  }
  const absl::string_view version = line.substr(sp2 + 1);
  return version.size() == 8 && absl::StartsWith(version, "HTTP/") &&
         absl::ascii_isdigit(static_cast<unsigned char>(version[5])) && version[6] == '.' &&
         absl::ascii_isdigit(static_cast<unsigned char>(version[7]));
}

bool BadTarget(absl::string_view line) {
  const size_t sp1 = line.find(' ');
  const size_t sp2 = line.find(' ', sp1 + 1);
  return !ValidTarget(line.substr(0, sp1), line.substr(sp1 + 1, sp2 - sp1 - 1));
}

// BadFieldLine() is whether a line of `head` after its request line is not
// field-name ":" field-value: a token name, then only VCHAR, obs-text, SP and
// HTAB (RFC 9110 §5.1, §5.5; RFC 9112 §5). Lines end at LF (a CR before it is
// dropped); the head ends at its first empty line.
bool BadFieldLine(absl::string_view head) {
  size_t at = head.find('\n');
  while (at != absl::string_view::npos && at + 1 < head.size()) {
    const size_t end = head.find('\n', at + 1);
    absl::string_view line =
        head.substr(at + 1, end == absl::string_view::npos ? end : end - at - 1);
    if (absl::EndsWith(line, "\r")) line.remove_suffix(1);
    if (line.empty()) return false;  // The end of the head.
    const size_t colon = line.find(':');
    if (colon == 0 || colon == absl::string_view::npos) return true;
    for (const char c : line.substr(0, colon)) {
      if (!IsTchar(c)) return true;
    }
    for (const char c : line.substr(colon + 1)) {
      const unsigned char u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u == 0x7f) return true;
    }
    at = end;
  }
  return false;
}

// HugeContentLength() is whether a Content-Length value in `head` is 1*DIGIT
// but above 2^63-1.
bool HugeContentLength(absl::string_view head) {
  const std::string lower = absl::AsciiStrToLower(head);
  for (size_t at = lower.find("content-length:"); at != std::string::npos;
       at = lower.find("content-length:", at + 1)) {
    size_t i = at + 15;
    while (i < head.size() && (head[i] == ' ' || head[i] == '\t')) ++i;
    while (i < head.size() && head[i] == '0') ++i;
    size_t end = i;
    while (end < head.size() && absl::ascii_isdigit(static_cast<unsigned char>(head[end]))) ++end;
    const absl::string_view digits = head.substr(i, end - i);
    if (digits.size() > 19 || (digits.size() == 19 && digits > "9223372036854775807")) {
      return true;
    }
  }
  return false;
}

// BadContentLengthValue() is whether a Content-Length value in `head` is not
// 1*DIGIT after trimming OWS (RFC 9110 §8.6).
bool BadContentLengthValue(absl::string_view head) {
  size_t at = head.find('\n');
  while (at != absl::string_view::npos && at + 1 < head.size()) {
    const size_t end = head.find('\n', at + 1);
    const absl::string_view line =
        head.substr(at + 1, end == absl::string_view::npos ? end : end - at - 1);
    const size_t colon = line.find(':');
    if (colon != absl::string_view::npos &&
        absl::EqualsIgnoreCase(line.substr(0, colon), "content-length")) {
      absl::string_view value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
        value.remove_prefix(1);
      }
      while (!value.empty() &&
             (value.back() == ' ' || value.back() == '\t' || value.back() == '\r')) {
        value.remove_suffix(1);
      }
      if (value.empty()) return true;
      for (const char c : value) {
        if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return true;
      }
    }
    at = end;
  }
  return false;
}

// SchemeWithMarks() is whether `line` looks like a request line whose target
// starts with an RFC 3986 scheme holding a digit, '+', '-' or '.'.
bool SchemeWithMarks(absl::string_view line) {
  const size_t sp = line.find(' ');
  if (sp == absl::string_view::npos) return false;
  absl::string_view target = line.substr(sp + 1);
  target = target.substr(0, target.find_first_of(": "));
  if (target.empty() || !absl::ascii_isalpha(static_cast<unsigned char>(target[0]))) return false;
  bool marks = false;
  for (const char c : target) {
    if (absl::ascii_isalpha(static_cast<unsigned char>(c))) continue;
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
      return false;
    }
    marks = true;
  }
  return marks;
}

// Completed() is `s` with its head ended, as a client would go on to send.
std::string Completed(absl::string_view s) {
  return absl::StrCat(s, absl::EndsWith(s, "\r") ? "\n\r\n" : "\r\n\r\n");
}

// OwsField() is whether a Connection, Content-Length or Transfer-Encoding
// line of `s` ends with SP or HTAB before its CR LF (or the input's end), or
// has one before a list's comma.
bool OwsField(absl::string_view s) {
  for (const char* name : {"connection:", "content-length:", "transfer-encoding:"}) {
    const std::string lower = absl::AsciiStrToLower(s);
    for (size_t at = lower.find(name); at != std::string::npos; at = lower.find(name, at + 1)) {
      size_t end = std::min(lower.find("\r\n", at), lower.size());
      if (end == lower.size() && end > at && lower[end - 1] == '\r') --end;  // A CR at the end.
      if (end > at && (lower[end - 1] == ' ' || lower[end - 1] == '\t')) return true;
      // OWS before a list's comma ends an element as OWS at the end does.
      const absl::string_view line = absl::string_view(lower).substr(at, end - at);
      if (absl::StrContains(line, " ,") || absl::StrContains(line, "\t,")) return true;
    }
  }
  return false;
}

bool Rejected(const Verdict& v, std::initializer_list<absl::string_view> reasons) {
  if (v.outcome != Outcome::kRejected) return false;
  for (const absl::string_view reason : reasons) {
    if (absl::StartsWith(v.reason, reason)) return true;
  }
  return false;
}

bool HeaderCount(absl::string_view head, absl::string_view name, int* count, bool* list) {
  *count = 0;
  *list = false;
  size_t at = head.find('\n');
  while (at != absl::string_view::npos && at + 1 < head.size()) {
    const absl::string_view line = head.substr(at + 1, head.find('\n', at + 1) - at - 1);
    const size_t colon = line.find(':');
    if (colon != absl::string_view::npos &&
        absl::EqualsIgnoreCase(absl::StripTrailingAsciiWhitespace(line.substr(0, colon)), name)) {
      ++*count;
      if (line.find(',', colon) != absl::string_view::npos) *list = true;
    }
    at = head.find('\n', at + 1);
  }
  return *count > 0;
}

// ChunkLinesHave() is whether a chunk-size line of the body holds one of
// `bytes` (an extension's ';', BWS, a quoted-pair's '\').
bool ChunkLinesHave(absl::string_view body, const char* bytes) {
  const absl::string_view first = body.substr(0, body.find('\n'));
  if (first.find_first_of(bytes) != absl::string_view::npos) return true;
  // Later size lines follow a chunk's CRLF; a rough scan of all lines suffices.
  return body.find_first_of(bytes) != absl::string_view::npos;
}

bool LongChunkSize(absl::string_view body) {
  size_t run = 0;
  for (const char c : body) {
    run = absl::ascii_isxdigit(static_cast<unsigned char>(c)) ? run + 1 : 0;
    if (run >= 16) return true;
  }
  return false;
}

constexpr uint8_t kLlhttp = 1 << static_cast<int>(Peer::kLlhttp);
constexpr uint8_t kH11 = 1 << static_cast<int>(Peer::kH11);
constexpr uint8_t kBoth = kLlhttp | kH11;

}  // namespace

const std::vector<KnownDifference>& KnownDifferences() {
  using V = const Verdict&;
  using S = absl::string_view;
  static const auto* table = new std::vector<KnownDifference>{
      {"obs-fold", kBoth, "RFC 9112 §5.2",
       "a field line folded onto the next (obs-fold): ours 400; a recipient MUST reject it or "
       "replace it with SP, and rejecting leaves no folded value for a front end to read "
       "differently",
       [](S in, V ours, V) {
         return Rejected(ours, {"bad header field"}) && HasObsFold(HeadOf(FromError(in, ours)));
       }},
      {"bare-lf", kBoth, "RFC 9112 §2.2, §7.1",
       "a bare LF ending a line: ours 400 (a recipient MAY accept it; --allow_bare_lf does), "
       "since a front end that ends lines differently can smuggle a request through a field "
       "line; chunked framing is CRLF only",
       [](S in, V ours, V) {
         return Rejected(ours, {"bad line ending", "bad chunk size", "chunk data not followed",
                                "bad trailer field", "bad header field"}) &&
                HasBareLf(FromError(in, ours));
       }},
      {"bare-cr", kBoth, "RFC 9112 §2.2",
       "a CR not followed by LF: ours 400 at the next byte; a recipient MUST treat a bare CR "
       "as invalid or replace it with SP",
       [](S in, V ours, V) {
         return Rejected(ours, {"bad line ending", "bad chunk size", "chunk data not followed",
                                "bad trailer field", "bad header field", "bad request line",
                                "bad chunk extension"}) &&
                HasBareCr(FromError(in, ours));
       }},
      {"request-line", kBoth, "RFC 9112 §3",
       "a request line that is not method SP request-target SP HTTP-version (or bytes no "
       "request can start with): ours 400 at the first byte that decides it",
       [](S in, V ours, V) {
         return Rejected(ours, {"bad request line"}) &&
                !RequestLineShape(RequestLine(FromError(in, ours)));
       }},
      {"request-target", kBoth, "RFC 9112 §3.2; RFC 3986 §2-3; RFC 9110 §4.2",
       "a target that is none of the four forms (origin; absolute with an authority; "
       "authority for CONNECT; \"*\" for OPTIONS) or holds bytes outside the URI grammar "
       "(raw 0x80+, '\"', '#', '<', '>', '[' in a path, bad %-encoding): ours 400",
       [](S in, V ours, V) {
         const S line = RequestLine(FromError(in, ours));
         return Rejected(ours, {"bad request line"}) && RequestLineShape(line) && BadTarget(line);
       }},
      {"scheme-chars", kLlhttp, "RFC 3986 §3.1",
       "an absolute-form scheme with digits, '+', '-' or '.' after its first letter: in the "
       "URI grammar, so ours accepts it; llhttp allows letters only",
       [](S in, V ours, V theirs) {
         if (!absl::StrContains(theirs.reason, "url schema")) return false;
         if (ours.outcome == Outcome::kRejected && !Rejected(ours, {"bad request line"}))
           return false;
         for (const S line : absl::StrSplit(in, '\n')) {
           if (SchemeWithMarks(line)) return true;
         }
         return false;
       }},
      {"unknown-method", kLlhttp, "RFC 9110 §9.1, §15.6.2",
       "a method token llhttp does not know: llhttp rejects at its first byte off its fixed "
       "list; a method is any token, so ours waits for the request line and answers 501",
       [](S, V ours, V theirs) {
         return (absl::StartsWith(theirs.reason, "Invalid method") ||
                 absl::StartsWith(theirs.reason, "Expected space after method")) &&
                ours.messages == theirs.messages;
       }},
      {"transfer-encoding-early", kLlhttp, "RFC 9112 §6.3 items 3-4",
       "a Transfer-Encoding that can only end badly (a second one, a coding after chunked): "
       "llhttp rejects on its line; ours when the head ends, which it rejects too",
       [](S in, V ours, V theirs) {
         return absl::StrContains(theirs.reason, "Transfer-Encoding") &&
                ours.outcome == Outcome::kIncomplete && ours.messages == theirs.messages &&
                OursVerdict(Completed(in)).outcome == Outcome::kRejected;
       }},
      {"method-not-implemented", kBoth, "RFC 9110 §15.6.2",
       "a method ours does not serve (CONNECT, TRACE, any unknown token): ours 501 when the "
       "request line ends; the peers leave methods to the application",
       [](S, V ours, V) { return Rejected(ours, {"method not implemented"}); }},
      {"version", kBoth, "RFC 9110 §2.5, §15.6.6",
       "an HTTP/1.x version other than 1.0 and 1.1, or another major version: ours 505 once "
       "the request line has arrived (llhttp rejects at the digit)",
       [](S, V ours, V theirs) {
         return Rejected(ours, {"HTTP version not supported"}) ||
                ((absl::StrContains(theirs.reason, "HTTP version") ||
                  absl::StrContains(theirs.reason, "minor version") ||
                  absl::StrContains(theirs.reason, "major version")) &&
                 ours.outcome == Outcome::kIncomplete && ours.messages == theirs.messages);
       }},
      {"field-line", kBoth, "RFC 9112 §5; RFC 9110 §5.1, §5.5",
       "a line in the head that is not field-name \":\" field-value (no name, a non-token name, "
       "a control byte or DEL in the value): ours 400 at the byte that decides it",
       [](S in, V ours, V) {
         return Rejected(ours, {"bad header field"}) && BadFieldLine(HeadOf(FromError(in, ours)));
       }},
      {"content-length-value", kBoth, "RFC 9110 §8.6",
       "a Content-Length value that is not 1*DIGIT: ours 400 when its line ends (the field's "
       "meaning, unlike its syntax, needs the whole value)",
       [](S in, V ours, V theirs) {
         const bool ours_decides = Rejected(ours, {"bad Content-Length"}) ||
                                   (ours.outcome == Outcome::kIncomplete &&
                                    absl::StrContains(theirs.reason, "Content-Length"));
         return ours_decides && BadContentLengthValue(HeadOf(FromError(in, ours)));
       }},
      {"field-value-ows", kLlhttp, "RFC 9110 §5.5, §5.6.3; RFC 9112 §5",
       "OWS after a Connection, Content-Length or Transfer-Encoding value or list element: "
       "part of the field line or of the list's separator, trimmed by ours (so \"close\\t\" "
       "and \"close \\t ,\" close); llhttp rejects it or misses the option",
       [](S in, V ours, V theirs) {
         const bool ours_further =
             ours.outcome != Outcome::kRejected || ours.messages > theirs.messages;
         return ours_further && OwsField(in) && !BadContentLengthValue(HeadOf(in));
       }},
      {"chunk-size", kH11, "RFC 9112 §7.1",
       "a chunk-size line that starts with a byte other than HEXDIG: ours 400 at that byte; "
       "h11 waits for the line's end",
       [](S, V ours, V theirs) {
         return Rejected(ours, {"bad chunk size"}) && theirs.outcome == Outcome::kIncomplete;
       }},
      {"content-length-range", kBoth, "RFC 9110 §8.6",
       "a Content-Length above 2^63-1: ours 400 (a recipient MUST prevent overflow; no body "
       "here can be that large)",
       [](S in, V ours, V theirs) {
         const bool ours_decides =
             Rejected(ours, {"bad Content-Length"}) ||
             (ours.outcome == Outcome::kIncomplete && ours.messages == theirs.messages &&
              absl::StrContains(theirs.reason, "Content-Length overflow"));
         return ours_decides && HugeContentLength(FromError(in, ours));
       }},
      {"trailer-fields-ignored", kLlhttp, "RFC 9110 §6.5.1-6.5.2",
       "Content-Length, Transfer-Encoding or Connection in a chunked body's trailer section: "
       "not framing or control data there, so ours checks the field-line syntax and discards "
       "it; llhttp judges the value, and closes on a trailer's Connection: close",
       [](S in, V ours, V theirs) {
         const bool named =
             absl::StrContains(theirs.reason, "Content-Length") ||
             absl::StrContains(theirs.reason, "Transfer-Encoding") ||
             (theirs.outcome == Outcome::kComplete && ours.outcome == Outcome::kIncomplete);
         // A field of that name after the head of a chunked message.
         const std::string lower = absl::AsciiStrToLower(in);
         const size_t chunked = lower.find("chunked");
         const size_t head_end = lower.find("\r\n\r\n", chunked == std::string::npos ? 0 : chunked);
         if (chunked == std::string::npos || head_end == std::string::npos) return false;
         const std::string after = lower.substr(head_end);
         const bool ours_further =
             ours.outcome != Outcome::kRejected || ours.messages > theirs.messages;
         return named && ours_further &&
                (absl::StrContains(after, "content-length") ||
                 absl::StrContains(after, "transfer-encoding") ||
                 absl::StrContains(after, "connection"));
       }},
      {"content-length-list", kBoth, "RFC 9112 §6.3 item 5",
       "several Content-Length values, even identical ones: ours 400 (a recipient MUST reject "
       "them or replace them with one value if all are identical)",
       [](S in, V ours, V theirs) {
         int count;
         bool list;
         const bool ours_rejects =
             Rejected(ours, {"bad Content-Length", "duplicate Content-Length"}) ||
             (ours.outcome == Outcome::kIncomplete &&
              absl::StrContains(theirs.reason, "Content-Length") &&
              Rejected(OursVerdict(Completed(in)),
                       {"bad Content-Length", "duplicate Content-Length"}));
         return ours_rejects &&
                HeaderCount(HeadOf(FromError(in, ours)), "content-length", &count, &list) &&
                (count > 1 || list);
       }},
      {"list-empty-elements", kBoth, "RFC 9110 §5.6.1",
       "empty elements in a Transfer-Encoding list (\", chunked\"): a recipient MUST accept "
       "and ignore them, so ours reads chunked; llhttp and h11 reject the value",
       [](S in, V ours, V theirs) {
         return ours.outcome != Outcome::kRejected && theirs.outcome == Outcome::kRejected &&
                absl::StrContains(theirs.reason, "Transfer-Encoding") &&
                absl::StrContains(absl::AsciiStrToLower(in), "transfer-encoding:") &&
                absl::StrContains(in, ",");
       }},
      {"host", kBoth, "RFC 9112 §3.2",
       "an HTTP/1.1 request without Host, or any request with more than one: a server MUST "
       "answer 400",
       [](S, V ours, V) {
         return Rejected(ours, {"missing Host", "duplicate Host"});
       }},
      {"expect", kBoth, "RFC 9110 §10.1.1",
       "an Expect other than 100-continue: ours 417, which a server MAY send",
       [](S, V ours, V) { return Rejected(ours, {"unsupported expectation"}); }},
      {"transfer-encoding", kBoth, "RFC 9112 §6.1, §6.3 items 3-4, §7",
       "Transfer-Encoding in HTTP/1.0, with Content-Length, with chunked not last or twice, or "
       "chunked with a parameter: ours 400; another coding: 501",
       [](S, V ours, V) {
         return Rejected(ours, {"bad Transfer-Encoding", "Content-Length with Transfer-Encoding",
                                "transfer coding not implemented"});
       }},
      {"chunk-extension", kBoth, "RFC 9112 §7.1.1",
       "a chunk extension off its grammar (empty name or value, an unbalanced quote, bytes "
       "other than tokens and quoted-strings): ours 400",
       [](S, V ours, V) { return Rejected(ours, {"bad chunk extension"}); }},
      {"chunk-extension-grammar", kBoth, "RFC 9112 §7.1.1; RFC 9110 §5.6.4",
       "BWS around ';' and '=', a name without a value after one with a value, and "
       "quoted-pairs are all in the chunk-ext grammar: ours accepts them where a peer "
       "rejects the chunk line",
       [](S in, V ours, V theirs) {
         const bool peer_chunk =
             theirs.outcome == Outcome::kRejected && (absl::StrContains(theirs.reason, "chunk") ||
                                                      absl::StrContains(theirs.reason, "Chunk"));
         return peer_chunk && ours.outcome != Outcome::kRejected &&
                ChunkLinesHave(BodyOf(in), "; \t\\");
       }},
      {"chunk-data-crlf", kBoth, "RFC 9112 §7.1",
       "chunk data not followed by CRLF: ours 400 at the first byte that is not CR (then LF); "
       "llhttp 8.1 takes any bytes there, so a chunk longer than announced turns into the "
       "next chunk line, a known smuggling shape",
       [](S, V ours, V) { return Rejected(ours, {"chunk data not followed by CRLF"}); }},
      {"chunk-size-overflow", kBoth, "RFC 9112 §7.1",
       "a chunk size of 16 or more hex digits: ours 400 (a recipient MUST prevent overflow; "
       "no body here exceeds 2^63-1 bytes)",
       [](S in, V ours, V) {
         return Rejected(ours, {"bad chunk size", "body too large"}) &&
                LongChunkSize(BodyOf(FromError(in, ours)));
       }},
      {"limits", kBoth, "RFC 9110 §15.5.14-15; RFC 6585 §5; RFC 9112 §3",
       "a request line over 8 KiB (414), a head over 32 KiB or over 100 fields (431), a body "
       "over the limit (413): ours refuses what a server may limit; the peers have no such "
       "limits by default",
       [](S, V ours, V) {
         return Rejected(ours, {"too many header fields", "header section too large",
                                "request line too long", "body too large"});
       }},
      {"trailer", kBoth, "RFC 9112 §7.1.2", "a trailer line off the field-line grammar: ours 400",
       [](S, V ours, V) { return Rejected(ours, {"bad trailer field"}); }},
      {"http10-keep-alive", kH11, "RFC 9112 Appendix C.2.2",
       "HTTP/1.0 with Connection: keep-alive stays open in ours; h11 closes every HTTP/1.0 "
       "connection after one response",
       [](S in, V ours, V theirs) {
         const bool further =
             ours.messages > theirs.messages ||
             (ours.messages == theirs.messages && ours.outcome != Outcome::kComplete &&
              theirs.outcome == Outcome::kComplete);
         return further && absl::StrContains(in, "HTTP/1.0") &&
                absl::StrContains(absl::AsciiStrToLower(in), "keep-alive");
       }},
      {"close-wins", kBoth, "RFC 9112 §9.6",
       "Connection: close alongside keep-alive: ours closes after that response (the close "
       "option always ends the connection)",
       [](S in, V ours, V theirs) {
         const std::string lower = absl::AsciiStrToLower(in);
         const bool stopped =
             ours.messages < theirs.messages ||
             (ours.messages == theirs.messages && ours.outcome == Outcome::kComplete &&
              theirs.outcome != Outcome::kComplete);
         return stopped && absl::StrContains(lower, "close") &&
                absl::StrContains(lower, "keep-alive");
       }},
      {"empty-lines", kBoth, "RFC 9112 §2.2",
       "CR LF bytes after a complete request: ours takes them as empty lines before the next "
       "request line (a server SHOULD ignore at least one)",
       [](S in, V ours, V theirs) {
         const S rest = in.substr(std::min(ours.error_at, in.size()));
         if (ours.messages != theirs.messages || ours.outcome == Outcome::kRejected) return false;
         // Nothing but line ends after the last request, or h11 refusing the
         // empty line before the next one.
         return (!rest.empty() && rest.find_first_not_of("\r\n") == absl::string_view::npos) ||
                (absl::StrContains(theirs.reason, "no request line") &&
                 (absl::StartsWith(rest, "\r\n") || absl::StartsWith(rest, "\n")));
       }},
  };
  return *table;
}

const KnownDifference* Explain(Peer peer, absl::string_view input, const Verdict& ours,
                               const Verdict& theirs) {
  const uint8_t bit = static_cast<uint8_t>(1 << static_cast<int>(peer));
  for (const KnownDifference& rule : KnownDifferences()) {
    if ((rule.peers & bit) != 0 && rule.applies(input, ours, theirs)) return &rule;
  }
  return nullptr;
}

}  // namespace epollhttp::test
