// chunked_fuzzer.cc: arbitrary bytes into the chunked body decoder, checked
// against a reference decoder written independently in this file.
//
// Input layout: byte 0 picks the split plan (see split_plan.h); byte 1 picks
// limits (bit 0: 64-byte body limit, bit 1: 8-byte extension limit, bit 2:
// 32-byte trailer limit), so every limit path is reachable; the rest is the
// chunked body. Oracles (any failure aborts):
// - decoded bytes <= input bytes, consumed <= input;
// - split invariance: the input fed in fuzzer-chosen pieces (unconsumed bytes
//   offered again, as a connection does) gives the one-shot result;
// - the reference decoder, a whole-buffer recursive-descent reading of RFC 9112
//   §7.1 with the same documented policy (BWS only before ';', strict CRLF,
//   limits), agrees on the outcome, the error, the bytes consumed on success,
//   and the decoded data.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>

#include "absl/strings/string_view.h"
#include "fuzz/split_plan.h"
#include "server/http/body_reader.h"

namespace {

using ::epollhttp::fuzz::SplitPlan;
using ::epollhttp::http::BodyChunk;
using ::epollhttp::http::BodyKind;
using ::epollhttp::http::BodyReader;
using ::epollhttp::http::BodyReaderOptions;
using ::epollhttp::http::ParseError;
using ::epollhttp::http::ParseStatus;

void Check(bool ok, const char* what) { ::epollhttp::fuzz::Check(ok, "chunked_fuzzer", what); }

struct Outcome {
  ParseStatus status = ParseStatus::kNeedMore;
  ParseError error = ParseError::kNone;
  size_t consumed = 0;  // Compared only on success.
  std::string data;
};

// ---- Reference decoder -------------------------------------------------

bool Hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}
bool TokenChar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return absl::string_view("!#$%&'*+-.^_`|~").find(c) != absl::string_view::npos;
}
bool ValueChar(char c) {
  const unsigned char u = static_cast<unsigned char>(c);
  return u == '\t' || (u >= 0x20 && u != 0x7f);
}

class Reference {
 public:
  Reference(absl::string_view in, const BodyReaderOptions& options) : in_(in), options_(options) {}

  Outcome Decode() {
    Outcome out;
    out.status = Run(&out);
    if (out.status == ParseStatus::kError) out.error = error_;
    out.consumed = pos_;
    return out;
  }

 private:
  // Extensions() reads chunk-ext after its first ';' (RFC 9112 §7.1.1):
  //   *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] )
  // up to the CR; every byte after that ';' counts against the limit.
  // Returns kComplete at the CR, kNeedMore if the input ends first.
  ParseStatus Extensions() {
    const ParseError bad = ParseError::kBadChunkExtension;
    size_t extension = 0;
    const auto consume = [&] {
      ++pos_;
      return ++extension <= options_.max_chunk_extension_bytes;
    };
    const auto bws = [&] {
      while (!End() && (in_[pos_] == ' ' || in_[pos_] == '\t')) {
        if (!consume()) return false;
      }
      return true;
    };
    const auto text = [](char c) {  // qdtext, '"', '\\', or a quoted-pair's second byte.
      const unsigned char u = static_cast<unsigned char>(c);
      return c == '\t' || (u >= 0x20 && u != 0x7f);
    };
    while (true) {
      if (!bws()) return Error(bad);
      if (End()) return ParseStatus::kNeedMore;
      if (!TokenChar(in_[pos_])) return Error(bad);  // An empty name.
      while (!End() && TokenChar(in_[pos_])) {
        if (!consume()) return Error(bad);
      }
      if (!bws()) return Error(bad);
      if (End()) return ParseStatus::kNeedMore;
      if (in_[pos_] == '=') {
        if (!consume() || !bws()) return Error(bad);
        if (End()) return ParseStatus::kNeedMore;
        if (in_[pos_] == '"') {
          if (!consume()) return Error(bad);
          while (true) {
            if (End()) return ParseStatus::kNeedMore;
            const char c = in_[pos_];
            if (!text(c)) return Error(bad);  // Incl. a CR: an unbalanced quote.
            if (!consume()) return Error(bad);
            if (c == '"') break;
            if (c == '\\') {
              if (End()) return ParseStatus::kNeedMore;
              if (!text(in_[pos_]) || !consume()) return Error(bad);
            }
          }
        } else if (TokenChar(in_[pos_])) {
          while (!End() && TokenChar(in_[pos_])) {
            if (!consume()) return Error(bad);
          }
        } else {
          return Error(bad);  // An empty value.
        }
        if (!bws()) return Error(bad);
        if (End()) return ParseStatus::kNeedMore;
      }
      if (in_[pos_] == '\r') return ParseStatus::kComplete;
      if (in_[pos_] != ';' || !consume()) return Error(bad);
    }
  }

  // Run() returns kNeedMore as soon as the input ends.
  ParseStatus Run(Outcome* out) {
    int64_t announced = 0;
    while (true) {
      // chunk-size [ BWS ] [ ";" ext ] CRLF
      if (End()) return ParseStatus::kNeedMore;
      if (!Hex(in_[pos_])) return Error(ParseError::kBadChunkSize);
      int64_t size = 0;
      while (!End() && Hex(in_[pos_])) {
        if (size > (std::numeric_limits<int64_t>::max() >> 4)) {
          return Error(ParseError::kBadChunkSize);
        }
        size = size * 16 + HexDigit(in_[pos_++]);
      }
      if (End()) return ParseStatus::kNeedMore;
      if (in_[pos_] == ' ' || in_[pos_] == '\t') {
        while (!End() && (in_[pos_] == ' ' || in_[pos_] == '\t')) ++pos_;
        if (End()) return ParseStatus::kNeedMore;
        if (in_[pos_] != ';') return Error(ParseError::kBadChunkExtension);
      }
      if (in_[pos_] == ';') {
        ++pos_;
        if (const ParseStatus status = Extensions(); status != ParseStatus::kComplete) {
          return status;
        }
      } else if (in_[pos_] != '\r') {
        return Error(ParseError::kBadChunkSize);
      }
      ++pos_;  // CR
      if (End()) return ParseStatus::kNeedMore;
      if (in_[pos_++] != '\n') return Error(ParseError::kBadChunkSize);
      if (size > options_.max_body_bytes - announced) return Error(ParseError::kBodyTooLarge);
      announced += size;
      if (size == 0) break;
      const size_t available = in_.size() - pos_;
      const size_t take =
          static_cast<uint64_t>(size) < available ? static_cast<size_t>(size) : available;
      out->data.append(in_.substr(pos_, take).data(), take);
      pos_ += take;
      if (take < static_cast<uint64_t>(size)) return ParseStatus::kNeedMore;
      for (const char expected : {'\r', '\n'}) {
        if (End()) return ParseStatus::kNeedMore;
        if (in_[pos_++] != expected) return Error(ParseError::kBadChunkData);
      }
    }
    // trailer-section CRLF; every byte counts against the trailer limit.
    while (true) {
      if (!TrailerByte()) return trailer_status_;
      if (in_[pos_] == '\r') {
        ++pos_;
        if (!TrailerByte()) return trailer_status_;
        if (in_[pos_++] != '\n') return Error(ParseError::kBadTrailer);
        return ParseStatus::kComplete;
      }
      if (!TokenChar(in_[pos_++])) return Error(ParseError::kBadTrailer);
      while (true) {  // Rest of the name, then ':'.
        if (!TrailerByte()) return trailer_status_;
        const char c = in_[pos_++];
        if (c == ':') break;
        if (!TokenChar(c)) return Error(ParseError::kBadTrailer);
      }
      while (true) {  // Value, then CR.
        if (!TrailerByte()) return trailer_status_;
        const char c = in_[pos_++];
        if (c == '\r') break;
        if (!ValueChar(c)) return Error(ParseError::kBadTrailer);
      }
      if (!TrailerByte()) return trailer_status_;
      if (in_[pos_++] != '\n') return Error(ParseError::kBadTrailer);
    }
  }

  bool End() const { return pos_ == in_.size(); }

  // TrailerByte() is true when a trailer byte is available and within the
  // limit; otherwise sets trailer_status_.
  bool TrailerByte() {
    if (End()) {
      trailer_status_ = ParseStatus::kNeedMore;
      return false;
    }
    if (++trailer_bytes_ > options_.max_trailer_bytes) {
      trailer_status_ = Error(ParseError::kHeadTooLarge);
      return false;
    }
    return true;
  }

  ParseStatus Error(ParseError error) {
    error_ = error;
    return ParseStatus::kError;
  }

  absl::string_view in_;
  BodyReaderOptions options_;
  size_t pos_ = 0;
  size_t trailer_bytes_ = 0;
  ParseError error_ = ParseError::kNone;
  ParseStatus trailer_status_ = ParseStatus::kNeedMore;
};

// ---- The decoder under test --------------------------------------------

// Decode() feeds `input` in pieces from `plan` (all at once when null).
Outcome Decode(absl::string_view input, const BodyReaderOptions& options, SplitPlan* plan) {
  BodyReader reader(options);
  Check(reader.Start(BodyKind::kChunked, 0) == ParseError::kNone, "Start failed");
  Outcome out;
  size_t available = plan == nullptr ? input.size() : 0;
  while (true) {
    if (plan != nullptr && available < input.size()) {
      available += plan->Next(input.size() - available);
    }
    while (true) {
      const absl::string_view rest = input.substr(out.consumed, available - out.consumed);
      const BodyChunk chunk = reader.Read(rest);
      Check(chunk.consumed <= rest.size(), "consumed more than offered");
      Check(chunk.data.empty() ||
                (chunk.data.data() >= rest.data() &&
                 chunk.data.data() + chunk.data.size() <= rest.data() + chunk.consumed),
            "data outside the consumed input");
      out.data.append(chunk.data.data(), chunk.data.size());
      out.consumed += chunk.consumed;
      out.status = chunk.status;
      out.error = chunk.error;
      if (chunk.status != ParseStatus::kNeedMore) {
        Check(reader.done() == (chunk.status == ParseStatus::kComplete), "done() disagrees");
        Check(reader.received() == static_cast<int64_t>(out.data.size()), "received() wrong");
        return out;
      }
      if (out.consumed == available) break;
      Check(chunk.consumed != 0, "no progress on non-empty input");
    }
    if (available == input.size()) return out;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t split_control = data[0];
  const uint8_t limits = data[1];
  const absl::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);
  BodyReaderOptions options;
  if (limits & 1) options.max_body_bytes = 64;
  if (limits & 2) options.max_chunk_extension_bytes = 8;
  if (limits & 4) options.max_trailer_bytes = 32;

  const Outcome whole = Decode(input, options, nullptr);
  Check(whole.data.size() <= input.size(), "more data than input");
  SplitPlan plan(split_control);
  const Outcome split = Decode(input, options, &plan);
  Check(split.status == whole.status && split.error == whole.error &&
            split.consumed == whole.consumed && split.data == whole.data,
        "split result differs from one-shot result");

  const Outcome expected = Reference(input, options).Decode();
  Check(whole.status == expected.status, "status differs from the reference");
  Check(whole.error == expected.error, "error differs from the reference");
  Check(whole.data == expected.data, "data differs from the reference");
  if (whole.status == ParseStatus::kComplete) {
    Check(whole.consumed == expected.consumed, "consumed differs from the reference");
  }
  return 0;
}
