#include "server/http/request_parser.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "server/http/char_class.h"
#include "server/http/content_length.h"

namespace epollhttp::http {
namespace {

using internal::Is;
using internal::kFieldVchar;
using internal::kTchar;

bool IsOws(char c) { return c == ' ' || c == '\t'; }

absl::string_view TrimOws(absl::string_view s) {
  while (!s.empty() && IsOws(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsOws(s.back())) s.remove_suffix(1);
  return s;
}

bool LookupMethod(absl::string_view name, Method* method) {
  switch (name.size()) {
    case 3:
      if (name == "GET") return *method = Method::kGet, true;
      if (name == "PUT") return *method = Method::kPut, true;
      return false;
    case 4:
      if (name == "POST") return *method = Method::kPost, true;
      if (name == "HEAD") return *method = Method::kHead, true;
      return false;
    case 5:
      if (name == "PATCH") return *method = Method::kPatch, true;
      return false;
    case 6:
      if (name == "DELETE") return *method = Method::kDelete, true;
      return false;
    case 7:
      if (name == "OPTIONS") return *method = Method::kOptions, true;
      return false;
    default: return false;
  }
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsAlpha(char c) { return ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'); }

// IsName() compares a field name (already validated as a token) with a
// lower-case literal of letters and '-', ignoring case, inline. For token
// bytes, (c | 0x20) equals a lower-case letter only for that letter in either
// case, and equals '-' only for '-'.
template <size_t N>
bool IsName(absl::string_view name, const char (&lower)[N]) {
  if (name.size() != N - 1) return false;
  for (size_t i = 0; i + 1 < N; ++i) {
    if ((name[i] | 0x20) != lower[i]) return false;
  }
  return true;
}

}  // namespace

absl::string_view MethodName(Method method) {
  switch (method) {
    case Method::kGet: return "GET";
    case Method::kHead: return "HEAD";
    case Method::kPost: return "POST";
    case Method::kPut: return "PUT";
    case Method::kDelete: return "DELETE";
    case Method::kOptions: return "OPTIONS";
    case Method::kPatch: return "PATCH";
  }
  return "?";
}

RequestParser::RequestParser(RequestParserOptions options) : options_(options) {
  options_.max_request_line = std::min(options_.max_request_line, options_.max_head_bytes);
}

void RequestParser::Reset() {
  state_ = State::kRequestLine;
  step_ = Step::kLineStart;
  error_ = ParseError::kNone;
  line_begin_ = scanned_ = consumed_ = 0;
  method_end_ = target_begin_ = target_size_ = version_begin_ = authority_colon_ = 0;
  authority_port_ = false;
  name_end_ = value_begin_ = value_end_ = 0;
  pct_left_ = 0;
  connect_ = options_method_ = false;
  head_ = RequestHead();
  fields_.clear();  // headers_ keeps its size: Finish() overwrites it.
  host_count_ = 0;
  has_content_length_ = has_transfer_encoding_ = false;
  chunked_final_ = chunked_seen_ = chunked_twice_ = chunked_parameter_ = other_coding_ = false;
  connection_close_ = connection_keep_alive_ = bad_expectation_ = false;
}

ParseStatus RequestParser::Fail(ParseError error) {
  state_ = State::kError;
  error_ = error;
  return ParseStatus::kError;
}

ParseStatus RequestParser::Parse(absl::string_view input) {
  if (state_ == State::kComplete) return ParseStatus::kComplete;
  if (state_ == State::kError) return ParseStatus::kError;
  while (true) {
    const bool request_line = state_ == State::kRequestLine;
    const size_t limit = request_line ? options_.max_request_line : options_.max_head_bytes;
    ParseError error = ParseError::kNone;
    const Scan scan = ScanLine(input.data(), std::min(input.size(), limit), &error);
    switch (scan) {
      case Scan::kError: return Fail(error);
      case Scan::kMore:
        // Every byte below the limit is checked; the byte at the limit
        // decides that the line (or head) is too long.
        if (input.size() > limit) {
          return Fail(request_line ? ParseError::kRequestLineTooLong : ParseError::kHeadTooLarge);
        }
        return ParseStatus::kNeedMore;
      case Scan::kHeadDone:
        consumed_ = scanned_;
        if (const ParseError finish = Finish(input); finish != ParseError::kNone) {
          return Fail(finish);
        }
        state_ = State::kComplete;
        return ParseStatus::kComplete;
      case Scan::kLineDone: break;
    }
    // The request line ended (field lines are finished inside ScanLine()).
    if (const ParseError line = FinishRequestLine(input); line != ParseError::kNone) {
      return Fail(line);
    }
    state_ = State::kHeaders;
    line_begin_ = scanned_;
    step_ = Step::kFieldStart;
  }
}

ParseError RequestParser::FieldDone(const char* p) {
  while (value_end_ > value_begin_ && IsOws(p[value_end_ - 1])) --value_end_;
  fields_.push_back({static_cast<uint32_t>(line_begin_),
                     name_end_ - static_cast<uint32_t>(line_begin_), value_begin_,
                     value_end_ - value_begin_});
  return OnField(absl::string_view(p + line_begin_, name_end_ - line_begin_),
                 absl::string_view(p + value_begin_, value_end_ - value_begin_));
}

RequestParser::Scan RequestParser::ScanLine(const char* p, size_t end, ParseError* error) {
  size_t i = scanned_;
  // `fail` records the error at the byte that decided it.
  const auto fail = [&](ParseError e) {
    scanned_ = i;
    *error = e;
    return Scan::kError;
  };
  // A bare LF ends a line only when allowed.
  const auto bare_lf = [&]() { return options_.allow_bare_lf; };
  while (true) {
    if (i >= end) {
      scanned_ = i;
      return Scan::kMore;
    }
    const char c = p[i];
    switch (step_) {
      case Step::kLineStart:
        if (c == '\r') {
          step_ = Step::kEmptyLf;
          ++i;
        } else if (c == '\n') {
          if (!bare_lf()) return fail(ParseError::kBadLineEnding);
          ++i;  // RFC 9112 §2.2: an empty line before the request line is skipped.
        } else if (Is(c, kTchar)) {
          line_begin_ = i;
          step_ = Step::kMethod;
        } else {
          return fail(ParseError::kBadRequestLine);
        }
        break;
      case Step::kEmptyLf:
        if (c != '\n') return fail(ParseError::kBadLineEnding);
        step_ = Step::kLineStart;
        ++i;
        break;
      case Step::kMethod:
        i = internal::SkipTchars(p, i, end);
        if (i == end) break;
        if (p[i] != ' ') return fail(ParseError::kBadRequestLine);
        {
          const absl::string_view method(p + line_begin_, i - line_begin_);
          connect_ = method == "CONNECT";
          options_method_ = method == "OPTIONS";
        }
        method_end_ = static_cast<uint32_t>(i);
        target_begin_ = static_cast<uint32_t>(++i);
        step_ = Step::kTargetStart;
        break;
      case Step::kTargetStart:
        if (connect_) {
          authority_colon_ = 0;
          authority_port_ = false;
          step_ = Step::kAuthority;  // RFC 9112 §3.2.3: CONNECT takes host:port only.
        } else if (c == '/') {
          step_ = Step::kOrigin;
          ++i;
        } else if (c == '*' && options_method_) {
          step_ = Step::kAsterisk;
          ++i;
        } else if (IsAlpha(c)) {
          step_ = Step::kScheme;
          ++i;
        } else {
          return fail(ParseError::kBadRequestLine);
        }
        break;
      case Step::kHost:
        // Short: decided byte by byte. '/' or '?' starts the path or query.
        if (pct_left_ == 0 && (c == '/' || c == '?')) {
          step_ = Step::kOrigin;
        } else if (pct_left_ == 0 && c == '@') {
          return fail(ParseError::kBadRequestLine);  // Userinfo (RFC 9110 §4.2.4).
        } else if (pct_left_ > 0 || !Is(c, internal::kUriChar)) {
          if (const ParseError e = TargetByte(c, i); e != ParseError::kNone) return fail(e);
        }
        ++i;
        break;
      case Step::kOrigin:
        if (pct_left_ == 0) i = internal::SkipUriChars(p, i, end);
        if (i == end) break;
        if (const ParseError e = TargetByte(p[i], i); e != ParseError::kNone) return fail(e);
        ++i;
        break;
      case Step::kAuthority:
        if (const ParseError e = TargetByte(p[i], i); e != ParseError::kNone) return fail(e);
        ++i;
        break;
      case Step::kAsterisk:
        if (c != ' ') return fail(ParseError::kBadRequestLine);
        target_size_ = static_cast<uint32_t>(i) - target_begin_;
        version_begin_ = static_cast<uint32_t>(++i);
        step_ = Step::kVersion;
        break;
      case Step::kScheme:
        if (c == ':') {
          step_ = Step::kSchemeSlash;
          pct_left_ = 2;
        } else if (!Is(c, internal::kSchemeChar)) {
          return fail(ParseError::kBadRequestLine);
        }
        ++i;
        break;
      case Step::kSchemeSlash:
        if (c != '/') return fail(ParseError::kBadRequestLine);
        if (--pct_left_ == 0) step_ = Step::kHost;
        ++i;
        break;
      case Step::kVersion: {
        // "HTTP/" DIGIT "." DIGIT, then the line's end.
        const size_t k = i - version_begin_;
        if (k < 8) {
          const bool ok = k < 5 ? c == "HTTP/"[k] : (k == 6 ? c == '.' : IsDigit(c));
          if (!ok) return fail(ParseError::kBadRequestLine);
          ++i;
        } else if (c == '\r') {
          step_ = Step::kLineLf;
          ++i;
        } else if (c == '\n') {
          if (!bare_lf()) return fail(ParseError::kBadLineEnding);
          scanned_ = i + 1;
          return Scan::kLineDone;
        } else {
          return fail(ParseError::kBadRequestLine);
        }
        break;
      }
      case Step::kLineLf:
        if (c != '\n') return fail(ParseError::kBadLineEnding);
        ++i;
        if (state_ == State::kRequestLine) {
          scanned_ = i;
          return Scan::kLineDone;
        }
        if (const ParseError e = FieldDone(p); e != ParseError::kNone) return fail(e);
        step_ = Step::kFieldStart;
        break;
      case Step::kFieldStart:
        line_begin_ = i;
        if (c == '\r') {
          step_ = Step::kBlankLf;
          ++i;
          break;
        }
        if (c == '\n') {
          if (!bare_lf()) return fail(ParseError::kBadLineEnding);
          scanned_ = i + 1;
          return Scan::kHeadDone;
        }
        if (fields_.size() >= options_.max_headers) return fail(ParseError::kTooManyHeaders);
        if (!Is(c, kTchar)) return fail(ParseError::kBadHeader);  // Incl. obs-fold (SP, HTAB).
        line_begin_ = i;
        {
          // Fast path: a well-formed line that has fully arrived, in one
          // pass. Anything else takes the steps below, which decide the same.
          size_t j = internal::SkipTchars(p, i, end);
          if (j < end && p[j] == ':') {
            const size_t colon = j++;
            while (j < end && IsOws(p[j])) ++j;
            const size_t value = j;
            j = internal::SkipClass<kFieldVchar>(p, j, end);
            if (j + 1 < end && p[j] == '\r' && p[j + 1] == '\n') {
              name_end_ = static_cast<uint32_t>(colon);
              value_begin_ = static_cast<uint32_t>(value);
              value_end_ = static_cast<uint32_t>(j);
              i = j + 2;
              if (const ParseError e = FieldDone(p); e != ParseError::kNone) return fail(e);
              break;  // Still kFieldStart.
            }
          }
        }
        step_ = Step::kName;
        break;
      case Step::kName:
        i = internal::SkipTchars(p, i, end);
        if (i == end) break;
        if (p[i] != ':') return fail(ParseError::kBadHeader);
        name_end_ = static_cast<uint32_t>(i++);
        step_ = Step::kValueStart;
        break;
      case Step::kValueStart:
        while (i < end && IsOws(p[i])) ++i;
        if (i == end) break;
        value_begin_ = static_cast<uint32_t>(i);
        step_ = Step::kValue;
        break;
      case Step::kValue:
        i = internal::SkipClass<kFieldVchar>(p, i, end);
        if (i == end) break;
        value_end_ = static_cast<uint32_t>(i);
        if (p[i] == '\r') {
          step_ = Step::kLineLf;
          ++i;
        } else if (p[i] == '\n') {
          if (!bare_lf()) return fail(ParseError::kBadLineEnding);
          ++i;
          if (const ParseError e = FieldDone(p); e != ParseError::kNone) return fail(e);
          step_ = Step::kFieldStart;
        } else {
          return fail(ParseError::kBadHeader);  // A control byte in the value.
        }
        break;
      case Step::kBlankLf:
        if (c != '\n') return fail(ParseError::kBadLineEnding);
        scanned_ = i + 1;
        return Scan::kHeadDone;
    }
  }
}

ParseError RequestParser::TargetByte(char c, size_t i) {
  if (pct_left_ > 0) {  // pct-encoded = "%" HEXDIG HEXDIG
    if (!Is(c, internal::kHexDigit)) return ParseError::kBadRequestLine;
    --pct_left_;
    return ParseError::kNone;
  }
  if (step_ == Step::kAuthority) {
    // authority-form = uri-host ":" port (RFC 9112 §3.2.3): reg-name or IP
    // literal, then a ':' and digits.
    if (c == ' ') {
      if (authority_colon_ == 0 || !authority_port_) return ParseError::kBadRequestLine;
    } else if (c == ':') {
      authority_colon_ = static_cast<uint32_t>(i);
      authority_port_ = true;
      return ParseError::kNone;
    } else if (c == '%' || c == '[' || c == ']' ||
               (Is(c, internal::kUriChar) && c != '/' && c != '?' && c != '@')) {
      if (c == '%') pct_left_ = 2;
      if (c == ']') authority_colon_ = 0;  // A ':' inside the literal is not the port's.
      if (!IsDigit(c)) authority_port_ = false;
      return ParseError::kNone;
    } else {
      return ParseError::kBadRequestLine;
    }
  } else if (c == '%') {
    pct_left_ = 2;
    return ParseError::kNone;
  } else if (c == '[' || c == ']') {
    // IP literals: in an absolute-form authority, never in a path.
    return step_ == Step::kHost ? ParseError::kNone : ParseError::kBadRequestLine;
  } else if (c != ' ') {
    return ParseError::kBadRequestLine;
  }
  // SP ends the target.
  target_size_ = static_cast<uint32_t>(i) - target_begin_;
  version_begin_ = static_cast<uint32_t>(i + 1);
  step_ = Step::kVersion;
  return ParseError::kNone;
}

ParseError RequestParser::FinishRequestLine(absl::string_view input) {
  if (!LookupMethod(input.substr(line_begin_, method_end_ - line_begin_), &head_.method)) {
    return ParseError::kMethodNotImplemented;
  }
  const absl::string_view version = input.substr(version_begin_, 8);
  if (version[5] != '1' || (version[7] != '0' && version[7] != '1')) {
    return ParseError::kVersionNotSupported;
  }
  head_.version = version[7] == '1' ? Version::kHttp11 : Version::kHttp10;
  return ParseError::kNone;
}

ParseError RequestParser::OnField(absl::string_view name, absl::string_view value) {
  switch (name.size()) {
    case 4:
      if (IsName(name, "host")) {
        if (host_count_ < 2) ++host_count_;
      }
      return ParseError::kNone;
    case 6:
      if (IsName(name, "expect")) {
        if (absl::EqualsIgnoreCase(value, "100-continue")) {
          head_.expect_continue = true;
        } else {
          bad_expectation_ = true;
        }
      }
      return ParseError::kNone;
    case 10:
      if (IsName(name, "connection")) {
        for (const absl::string_view token : absl::StrSplit(value, ',')) {
          const absl::string_view option = TrimOws(token);
          if (absl::EqualsIgnoreCase(option, "close")) connection_close_ = true;
          if (absl::EqualsIgnoreCase(option, "keep-alive")) connection_keep_alive_ = true;
        }
      }
      return ParseError::kNone;
    case 14:
      if (IsName(name, "content-length")) {
        if (has_content_length_) return ParseError::kDuplicateContentLength;
        has_content_length_ = true;
        const ContentLength length = ParseContentLength(value);
        if (!length.ok()) return ParseError::kBadContentLength;
        head_.content_length = length.value;
      }
      return ParseError::kNone;
    case 17:
      if (IsName(name, "transfer-encoding")) {
        has_transfer_encoding_ = true;
        for (const absl::string_view element : absl::StrSplit(value, ',')) {
          // transfer-coding = token *( OWS ";" OWS transfer-parameter )
          absl::string_view coding = TrimOws(element);
          const bool has_parameter = coding.find(';') != absl::string_view::npos;
          coding = TrimOws(coding.substr(0, coding.find(';')));
          if (coding.empty()) {
            if (TrimOws(element).empty()) continue;  // Empty list elements are allowed.
            return ParseError::kBadTransferEncoding;
          }
          for (const char c : coding) {
            if (!Is(c, kTchar)) return ParseError::kBadTransferEncoding;
          }
          if (absl::EqualsIgnoreCase(coding, "chunked")) {
            // RFC 9112 §7: chunked has no parameters; a front end that skips
            // a coding it does not know would forward this body as a request.
            if (has_parameter) chunked_parameter_ = true;
            if (chunked_seen_) chunked_twice_ = true;
            chunked_seen_ = chunked_final_ = true;
          } else {
            other_coding_ = true;
            chunked_final_ = false;
          }
        }
      }
      return ParseError::kNone;
    default: return ParseError::kNone;
  }
}

ParseError RequestParser::Finish(absl::string_view input) {
  const bool http11 = head_.version == Version::kHttp11;
  if (host_count_ > 1) return ParseError::kDuplicateHost;
  if (http11 && host_count_ == 0) return ParseError::kMissingHost;
  if (has_transfer_encoding_) {
    // RFC 9112 §6.1, §6.3: CL with TE is a smuggling shape; chunked must be the
    // final coding, exactly once; HTTP/1.0 has no Transfer-Encoding.
    if (has_content_length_) return ParseError::kContentLengthAndTransferEncoding;
    if (!http11 || chunked_twice_ || chunked_parameter_ || !chunked_final_) {
      return ParseError::kBadTransferEncoding;
    }
    if (other_coding_) return ParseError::kTransferCodingNotImplemented;
    head_.body_kind = BodyKind::kChunked;
  } else if (has_content_length_) {
    head_.body_kind = BodyKind::kContentLength;
  }
  if (!http11) {
    head_.expect_continue = false;  // RFC 9110 §10.1.1: ignored in HTTP/1.0.
  } else if (bad_expectation_) {
    return ParseError::kExpectationFailed;
  }
  head_.keep_alive = !connection_close_ && (http11 || connection_keep_alive_);
  head_.target = input.substr(target_begin_, target_size_);
  headers_.resize(fields_.size());
  const char* base = input.data();
  for (size_t i = 0; i < fields_.size(); ++i) {
    const FieldOffsets& field = fields_[i];
    headers_[i] = {absl::string_view(base + field.name_begin, field.name_size),
                   absl::string_view(base + field.value_begin, field.value_size)};
  }
  head_.headers = absl::MakeConstSpan(headers_);
  return ParseError::kNone;
}

}  // namespace epollhttp::http
