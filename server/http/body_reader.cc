#include "server/http/body_reader.h"

#include <algorithm>

#include "server/http/char_class.h"

namespace epollhttp::http {

using internal::HexValue;
using internal::Is;
using internal::kFieldVchar;
using internal::kHexDigit;
using internal::kTchar;

ParseError BodyReader::Start(BodyKind kind, int64_t content_length) {
  error_ = ParseError::kNone;
  received_ = announced_ = chunk_size_ = remaining_ = 0;
  extension_bytes_ = trailer_bytes_ = 0;
  switch (kind) {
    case BodyKind::kNone: state_ = State::kDone; return ParseError::kNone;
    case BodyKind::kContentLength:
      if (content_length > options_.max_body_bytes) {
        state_ = State::kError;
        return error_ = ParseError::kBodyTooLarge;
      }
      remaining_ = content_length;
      state_ = content_length == 0 ? State::kDone : State::kLength;
      return ParseError::kNone;
    case BodyKind::kChunked: state_ = State::kSizeStart; return ParseError::kNone;
  }
  return ParseError::kNone;
}

ParseStatus BodyReader::Skip(int64_t n) {
  if (state_ != State::kLength || n <= 0)
    return done() ? ParseStatus::kComplete : ParseStatus::kNeedMore;
  n = std::min(n, remaining_);
  remaining_ -= n;
  received_ += n;
  if (remaining_ == 0) state_ = State::kDone;
  return done() ? ParseStatus::kComplete : ParseStatus::kNeedMore;
}

bool BodyReader::Extension(char c) {
  const bool bws = c == ' ' || c == '\t';
  switch (state_) {
    case State::kExtNameStart:  // An empty name (';' '=' CR here) is an error.
      if (bws) return true;
      if (!Is(c, kTchar)) return false;
      state_ = State::kExtName;
      return true;
    case State::kExtName:
    case State::kExtToken:
      if (Is(c, kTchar)) return true;
      [[fallthrough]];
    case State::kExtAfterName:
    case State::kExtAfterValue: {
      // After a name, '=' may start its value; after a value, only ';' or
      // the line end may follow.
      const bool after_name = state_ == State::kExtName || state_ == State::kExtAfterName;
      if (bws) {
        state_ = after_name ? State::kExtAfterName : State::kExtAfterValue;
      } else if (c == '=' && after_name) {
        state_ = State::kExtValueStart;
      } else if (c == ';') {
        state_ = State::kExtNameStart;
      } else if (c == '\r') {
        state_ = State::kSizeLf;
      } else {
        return false;
      }
      return true;
    }
    case State::kExtValueStart:  // An empty value is an error.
      if (bws) return true;
      if (c == '"') {
        state_ = State::kExtQuoted;
      } else if (Is(c, kTchar)) {
        state_ = State::kExtToken;
      } else {
        return false;
      }
      return true;
    case State::kExtQuoted: {
      // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
      if (c == '"') {
        state_ = State::kExtAfterValue;
        return true;
      }
      if (c == '\\') {
        state_ = State::kExtQuotedPair;
        return true;
      }
      const unsigned char u = static_cast<unsigned char>(c);
      return c == '\t' || (u >= 0x20 && u != 0x7f);  // A CR here: an unbalanced quote.
    }
    case State::kExtQuotedPair: {
      // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
      const unsigned char u = static_cast<unsigned char>(c);
      if (c != '\t' && (u < 0x20 || u == 0x7f)) return false;
      state_ = State::kExtQuoted;
      return true;
    }
    default: return false;
  }
}

BodyChunk BodyReader::Fail(size_t consumed, ParseError error) {
  state_ = State::kError;
  error_ = error;
  return {consumed, {}, ParseStatus::kError, error};
}

BodyChunk BodyReader::Read(absl::string_view input) {
  constexpr int64_t kMaxBeforeShift = std::numeric_limits<int64_t>::max() >> 4;
  size_t i = 0;
  while (true) {
    if (state_ == State::kDone) return {i, {}, ParseStatus::kComplete, ParseError::kNone};
    if (state_ == State::kError) return {i, {}, ParseStatus::kError, error_};
    if (state_ == State::kLength || state_ == State::kData) {
      if (i == input.size()) return {i, {}, ParseStatus::kNeedMore, ParseError::kNone};
      const size_t n = static_cast<size_t>(
          std::min<int64_t>(remaining_, static_cast<int64_t>(input.size() - i)));
      const absl::string_view data = input.substr(i, n);
      remaining_ -= static_cast<int64_t>(n);
      received_ += static_cast<int64_t>(n);
      if (remaining_ == 0) state_ = state_ == State::kLength ? State::kDone : State::kDataCr;
      return {i + n, data, state_ == State::kDone ? ParseStatus::kComplete : ParseStatus::kNeedMore,
              ParseError::kNone};
    }
    if (i == input.size()) return {i, {}, ParseStatus::kNeedMore, ParseError::kNone};
    const char c = input[i++];
    switch (state_) {
      case State::kSizeStart:
        if (!Is(c, kHexDigit)) return Fail(i, ParseError::kBadChunkSize);
        chunk_size_ = HexValue(c);
        extension_bytes_ = 0;
        state_ = State::kSize;
        break;
      case State::kSize:
        if (Is(c, kHexDigit)) {
          if (chunk_size_ > kMaxBeforeShift) return Fail(i, ParseError::kBadChunkSize);
          chunk_size_ = (chunk_size_ << 4) | HexValue(c);
        } else if (c == ';') {
          state_ = State::kExtNameStart;
        } else if (c == ' ' || c == '\t') {
          state_ = State::kSizeBws;
        } else if (c == '\r') {
          state_ = State::kSizeLf;
        } else {
          return Fail(i, ParseError::kBadChunkSize);
        }
        break;
      case State::kSizeBws:
        if (c == ';') {
          state_ = State::kExtNameStart;
        } else if (c != ' ' && c != '\t') {
          return Fail(i, ParseError::kBadChunkExtension);
        }
        break;
      case State::kExtNameStart:
      case State::kExtName:
      case State::kExtAfterName:
      case State::kExtValueStart:
      case State::kExtToken:
      case State::kExtQuoted:
      case State::kExtQuotedPair:
      case State::kExtAfterValue:
        // The CR ending the size line is not an extension byte.
        if ((c != '\r' && ++extension_bytes_ > options_.max_chunk_extension_bytes) ||
            !Extension(c)) {
          return Fail(i, ParseError::kBadChunkExtension);
        }
        break;
      case State::kSizeLf:
        if (c != '\n') return Fail(i, ParseError::kBadChunkSize);
        if (chunk_size_ > options_.max_body_bytes - announced_) {
          return Fail(i, ParseError::kBodyTooLarge);
        }
        announced_ += chunk_size_;
        remaining_ = chunk_size_;
        state_ = chunk_size_ == 0 ? State::kTrailerStart : State::kData;
        break;
      case State::kDataCr:
        if (c != '\r') return Fail(i, ParseError::kBadChunkData);
        state_ = State::kDataLf;
        break;
      case State::kDataLf:
        if (c != '\n') return Fail(i, ParseError::kBadChunkData);
        state_ = State::kSizeStart;
        break;
      case State::kTrailerStart:
        if (++trailer_bytes_ > options_.max_trailer_bytes) {
          return Fail(i, ParseError::kHeadTooLarge);
        }
        if (c == '\r') {
          state_ = State::kFinalLf;
        } else if (Is(c, kTchar)) {
          state_ = State::kTrailerName;
        } else {
          return Fail(i, ParseError::kBadTrailer);
        }
        break;
      case State::kTrailerName:
      case State::kTrailerValue:
      case State::kTrailerLf:
        if (++trailer_bytes_ > options_.max_trailer_bytes) {
          return Fail(i, ParseError::kHeadTooLarge);
        }
        if (state_ == State::kTrailerName) {
          if (c == ':') {
            state_ = State::kTrailerValue;
          } else if (!Is(c, kTchar)) {
            return Fail(i, ParseError::kBadTrailer);
          }
        } else if (state_ == State::kTrailerValue) {
          if (c == '\r') {
            state_ = State::kTrailerLf;
          } else if (!Is(c, kFieldVchar)) {
            return Fail(i, ParseError::kBadTrailer);
          }
        } else {
          if (c != '\n') return Fail(i, ParseError::kBadTrailer);
          state_ = State::kTrailerStart;
        }
        break;
      case State::kFinalLf:
        if (++trailer_bytes_ > options_.max_trailer_bytes) {
          return Fail(i, ParseError::kHeadTooLarge);
        }
        if (c != '\n') return Fail(i, ParseError::kBadTrailer);
        state_ = State::kDone;
        break;
      case State::kLength:
      case State::kData:
      case State::kDone:
      case State::kError: break;  // Handled above.
    }
  }
}

}  // namespace epollhttp::http
