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
using internal::kTargetChar;
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
  error_ = ParseError::kNone;
  line_begin_ = scanned_ = consumed_ = 0;
  target_begin_ = target_size_ = 0;
  head_ = RequestHead();
  fields_.clear();  // headers_ keeps its size: Finish() overwrites it.
  host_count_ = 0;
  has_content_length_ = has_transfer_encoding_ = false;
  chunked_final_ = chunked_seen_ = chunked_twice_ = other_coding_ = false;
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
    const ParseError too_long =
        request_line ? ParseError::kRequestLineTooLong : ParseError::kHeadTooLarge;
    if (state_ == State::kHeaders && scanned_ == line_begin_) {
      // Fast path: one pass over a field line that has fully arrived.
      const int handled = TryFieldLine(input);
      if (handled > 0) continue;
      if (handled < 0) return ParseStatus::kError;
    }
    const void* lf = scanned_ < input.size()
                         ? std::memchr(input.data() + scanned_, '\n', input.size() - scanned_)
                         : nullptr;
    if (lf == nullptr) {
      // The verdict for an over-long line is the same whether or not its LF
      // has arrived, so the result does not depend on how input was split.
      if (input.size() > limit) return Fail(too_long);
      scanned_ = input.size();
      return ParseStatus::kNeedMore;
    }
    const size_t lf_index = static_cast<size_t>(static_cast<const char*>(lf) - input.data());
    const size_t next = lf_index + 1;
    if (next > limit) return Fail(too_long);
    size_t end = lf_index;
    if (end > line_begin_ && input[end - 1] == '\r') --end;
    const size_t begin = line_begin_;
    line_begin_ = scanned_ = next;
    if (request_line) {
      if (end == begin) continue;  // RFC 9112 §2.2: skip empty lines before the request.
      const ParseError error = ParseRequestLine(input, begin, end);
      if (error != ParseError::kNone) return Fail(error);
      state_ = State::kHeaders;
      continue;
    }
    if (end == begin) {
      consumed_ = next;
      const ParseError error = Finish(input);
      if (error != ParseError::kNone) return Fail(error);
      state_ = State::kComplete;
      return ParseStatus::kComplete;
    }
    if (fields_.size() >= options_.max_headers) return Fail(ParseError::kTooManyHeaders);
    const ParseError error = ParseHeaderLine(input, begin, end);
    if (error != ParseError::kNone) return Fail(error);
  }
}

int RequestParser::TryFieldLine(absl::string_view input) {
  const char* p = input.data();
  const size_t n = input.size();
  const size_t begin = line_begin_;
  size_t i = internal::SkipTchars(p, begin, n);
  if (i == begin || i == n || p[i] != ':') return 0;
  const size_t name_size = i - begin;
  ++i;
  while (i < n && IsOws(p[i])) ++i;
  const size_t value_begin = i;
  i = internal::SkipClass<kFieldVchar>(p, i, n);
  // Every byte before `i` is a field-value byte, so no LF precedes it.
  size_t lf_index;
  if (i < n && p[i] == '\n') {
    lf_index = i;
  } else if (i + 1 < n && p[i] == '\r' && p[i + 1] == '\n') {
    lf_index = i + 1;
  } else {
    return 0;  // Incomplete or malformed: the general path decides.
  }
  size_t value_end = i;
  while (value_end > value_begin && IsOws(p[value_end - 1])) --value_end;
  // The same checks, in the same order, as the general path.
  const size_t next = lf_index + 1;
  if (next > options_.max_head_bytes) return Fail(ParseError::kHeadTooLarge), -1;
  line_begin_ = scanned_ = next;
  if (fields_.size() >= options_.max_headers) return Fail(ParseError::kTooManyHeaders), -1;
  fields_.push_back({static_cast<uint32_t>(begin), static_cast<uint32_t>(name_size),
                     static_cast<uint32_t>(value_begin),
                     static_cast<uint32_t>(value_end - value_begin)});
  const ParseError error = OnField(absl::string_view(p + begin, name_size),
                                   absl::string_view(p + value_begin, value_end - value_begin));
  if (error != ParseError::kNone) return Fail(error), -1;
  return 1;
}

ParseError RequestParser::ParseRequestLine(absl::string_view input, size_t begin, size_t end) {
  const absl::string_view line = input.substr(begin, end - begin);
  // method SP request-target SP HTTP-version
  size_t i = 0;
  while (i < line.size() && Is(line[i], kTchar)) ++i;
  if (i == 0 || i == line.size() || line[i] != ' ') return ParseError::kBadRequestLine;
  const absl::string_view method = line.substr(0, i);
  const size_t target_begin = ++i;
  i = internal::SkipClass<kTargetChar>(line.data(), i, line.size());
  if (i == target_begin || i == line.size() || line[i] != ' ') return ParseError::kBadRequestLine;
  const size_t target_end = i++;
  const absl::string_view version = line.substr(i);
  if (version.size() != 8 || !absl::StartsWith(version, "HTTP/") || !IsDigit(version[5]) ||
      version[6] != '.' || !IsDigit(version[7])) {
    return ParseError::kBadRequestLine;
  }
  if (!LookupMethod(method, &head_.method)) return ParseError::kMethodNotImplemented;
  if (version[5] != '1' || (version[7] != '0' && version[7] != '1')) {
    return ParseError::kVersionNotSupported;
  }
  head_.version = version[7] == '1' ? Version::kHttp11 : Version::kHttp10;
  target_begin_ = static_cast<uint32_t>(begin + target_begin);
  target_size_ = static_cast<uint32_t>(target_end - target_begin);
  return ParseError::kNone;
}

ParseError RequestParser::ParseHeaderLine(absl::string_view input, size_t begin, size_t end) {
  const absl::string_view line = input.substr(begin, end - begin);
  // field-name ":" OWS field-value OWS. A leading SP/HTAB is obs-fold (400).
  size_t i = 0;
  i = internal::SkipTchars(line.data(), i, line.size());
  if (i == 0 || i == line.size() || line[i] != ':') return ParseError::kBadHeader;
  const size_t name_size = i++;
  while (i < line.size() && IsOws(line[i])) ++i;
  const size_t value_begin = i;
  i = internal::SkipClass<kFieldVchar>(line.data(), i, line.size());
  if (i != line.size()) {
    return line[i] == '\r' ? ParseError::kBadLineEnding : ParseError::kBadHeader;
  }
  size_t value_end = line.size();
  while (value_end > value_begin && IsOws(line[value_end - 1])) --value_end;
  const absl::string_view name = line.substr(0, name_size);
  const absl::string_view value = line.substr(value_begin, value_end - value_begin);
  fields_.push_back({static_cast<uint32_t>(begin), static_cast<uint32_t>(name_size),
                     static_cast<uint32_t>(begin + value_begin),
                     static_cast<uint32_t>(value.size())});
  return OnField(name, value);
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
          coding = TrimOws(coding.substr(0, coding.find(';')));
          if (coding.empty()) {
            if (TrimOws(element).empty()) continue;  // Empty list elements are allowed.
            return ParseError::kBadTransferEncoding;
          }
          for (const char c : coding) {
            if (!Is(c, kTchar)) return ParseError::kBadTransferEncoding;
          }
          if (absl::EqualsIgnoreCase(coding, "chunked")) {
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
    if (!http11 || chunked_twice_ || !chunked_final_) return ParseError::kBadTransferEncoding;
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
