// request_parser_fuzzer.cc: arbitrary bytes into the request-head parser and
// the body framing that follows it.
//
// Input layout: byte 0 picks the split plan (see split_plan.h); with bit 7,
// small parser limits so the 414/431 paths are reachable; with bit 6, bare LF
// line endings are accepted (the server's --allow_bare_lf). The rest is the
// request stream. Oracles (any failure aborts):
// - consumed() <= input size, and every view in the head lies inside the
//   consumed bytes;
// - split invariance: the input fed in fuzzer-chosen pieces, each call on a
//   view of everything so far that has moved since the last call and ends at
//   poisoned memory (see ArrivingInput), gives exactly the one-shot result;
// - an accepted head re-serialised (CRLF, "name: value") parses again to the
//   same structure;
// - an accepted head never carries both Content-Length and Transfer-Encoding,
//   and its framing agrees with its fields;
// - the body that follows decodes identically one-shot and split.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "fuzz/split_plan.h"
#include "server/http/body_reader.h"
#include "server/http/content_length.h"
#include "server/http/request_parser.h"

namespace {

using ::epollhttp::fuzz::ArrivingInput;
using ::epollhttp::fuzz::SplitPlan;
using ::epollhttp::http::BodyChunk;
using ::epollhttp::http::BodyKind;
using ::epollhttp::http::BodyReader;
using ::epollhttp::http::BodyReaderOptions;
using ::epollhttp::http::MethodName;
using ::epollhttp::http::ParseContentLength;
using ::epollhttp::http::ParseError;
using ::epollhttp::http::ParseStatus;
using ::epollhttp::http::RequestHead;
using ::epollhttp::http::RequestParser;
using ::epollhttp::http::RequestParserOptions;
using ::epollhttp::http::Version;

void Check(bool ok, const char* what) {
  ::epollhttp::fuzz::Check(ok, "request_parser_fuzzer", what);
}

// A parse result; `parser` is consulted for the head when complete.
struct Result {
  ParseStatus status = ParseStatus::kNeedMore;
  ParseError error = ParseError::kNone;
  size_t consumed = 0;
  const RequestParser* parser = nullptr;
};

// SameHead() compares every field of two parsed heads by content.
bool SameHead(const RequestHead& a, const RequestHead& b) {
  if (a.method != b.method || a.version != b.version || a.target != b.target ||
      a.body_kind != b.body_kind || a.content_length != b.content_length ||
      a.keep_alive != b.keep_alive || a.expect_continue != b.expect_continue ||
      a.headers.size() != b.headers.size()) {
    return false;
  }
  for (size_t i = 0; i < a.headers.size(); ++i) {
    if (a.headers[i].name != b.headers[i].name || a.headers[i].value != b.headers[i].value) {
      return false;
    }
  }
  return true;
}

bool SameResult(const Result& a, const Result& b) {
  if (a.status != b.status || a.error != b.error || a.consumed != b.consumed) return false;
  return a.status != ParseStatus::kComplete || SameHead(a.parser->head(), b.parser->head());
}

Result Snapshot(const RequestParser& parser, ParseStatus status) {
  Result result;
  result.status = status;
  result.error = parser.error();
  result.parser = &parser;
  if (status == ParseStatus::kComplete) result.consumed = parser.consumed();
  return result;
}

bool Inside(absl::string_view view, const char* begin, size_t size) {
  return view.empty() || (view.data() >= begin && view.data() + view.size() <= begin + size);
}

// SmallLimits() makes the 414 and 431 paths reachable with small inputs.
RequestParserOptions SmallLimits() {
  RequestParserOptions options;
  options.max_request_line = 64;
  options.max_head_bytes = 256;
  options.max_headers = 6;
  return options;
}

// Mode() is the parser options of a control byte's modes.
RequestParserOptions Mode(int small_limits, int allow_bare_lf) {
  RequestParserOptions options = small_limits ? SmallLimits() : RequestParserOptions();
  options.allow_bare_lf = allow_bare_lf != 0;
  return options;
}

// Relaxed() lifts the byte limits: CRLF may make a re-serialised head longer
// than its bare-LF original. The header count limit stays.
RequestParserOptions Relaxed(RequestParserOptions options) {
  options.max_request_line = options.max_head_bytes = 1 << 20;
  return options;
}

// Reserialise() writes `head` back as a canonical HTTP/1.x head into `*out`.
void Reserialise(const RequestHead& head, std::string* out) {
  out->clear();
  absl::StrAppend(out, MethodName(head.method), " ", head.target,
                  head.version == Version::kHttp11 ? " HTTP/1.1\r\n" : " HTTP/1.0\r\n");
  for (const auto& header : head.headers) {
    absl::StrAppend(out, header.name, ": ", header.value, "\r\n");
  }
  out->append("\r\n");
}

void CheckFraming(const RequestHead& head) {
  int content_length = 0;
  int transfer_encoding = 0;
  absl::string_view length_value;
  for (const auto& header : head.headers) {
    if (absl::EqualsIgnoreCase(header.name, "content-length")) {
      ++content_length;
      length_value = header.value;
    }
    if (absl::EqualsIgnoreCase(header.name, "transfer-encoding")) ++transfer_encoding;
  }
  Check(content_length == 0 || transfer_encoding == 0, "accepted both CL and TE");
  Check(content_length <= 1, "accepted two Content-Length fields");
  switch (head.body_kind) {
    case BodyKind::kNone:
      Check(content_length == 0 && transfer_encoding == 0, "kNone with framing fields");
      break;
    case BodyKind::kContentLength: {
      Check(content_length == 1, "kContentLength without the field");
      const auto parsed = ParseContentLength(length_value);
      Check(parsed.ok() && parsed.value == head.content_length, "wrong content_length");
      break;
    }
    case BodyKind::kChunked:
      Check(transfer_encoding >= 1 && head.version == Version::kHttp11, "bad chunked framing");
      break;
  }
}

struct BodyResult {
  ParseStatus status = ParseStatus::kNeedMore;
  ParseError error = ParseError::kNone;
  size_t consumed = 0;
  size_t data_size = 0;
  uint64_t data_hash = 14695981039346656037u;  // FNV-1a of the data bytes.

  void Append(absl::string_view data) {
    data_size += data.size();
    for (const char c : data) {
      data_hash = (data_hash ^ static_cast<unsigned char>(c)) * 1099511628211u;
    }
  }
  bool operator==(const BodyResult& other) const {
    return status == other.status && error == other.error && consumed == other.consumed &&
           data_size == other.data_size && data_hash == other.data_hash;
  }
};

// ReadBody() feeds `input` to a fresh reader in pieces from `plan` (one piece
// when `plan` is null), as a connection does: unconsumed bytes are offered
// again with the next piece.
BodyResult ReadBody(const RequestHead& head, absl::string_view input,
                    const BodyReaderOptions& options, SplitPlan* plan) {
  BodyReader reader(options);
  BodyResult result;
  if (const ParseError error = reader.Start(head.body_kind, head.content_length);
      error != ParseError::kNone) {
    result.status = ParseStatus::kError;
    result.error = error;
    return result;
  }
  size_t available = plan == nullptr ? input.size() : 0;
  while (true) {
    if (plan != nullptr && available < input.size()) {
      available += plan->Next(input.size() - available);
    }
    while (true) {
      const absl::string_view rest = input.substr(result.consumed, available - result.consumed);
      const BodyChunk chunk = reader.Read(rest);
      Check(chunk.consumed <= rest.size(), "body consumed more than its input");
      Check(Inside(chunk.data, rest.data(), chunk.consumed), "body data outside consumed input");
      result.Append(chunk.data);
      result.consumed += chunk.consumed;
      result.status = chunk.status;
      result.error = chunk.error;
      if (chunk.status != ParseStatus::kNeedMore) return result;
      if (chunk.consumed == 0 || result.consumed == available) break;
    }
    if (available == input.size()) return result;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t control = data[0];
  const absl::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  RequestParserOptions options;
  BodyReaderOptions body_options;
  if (control & 0x80) {
    options = SmallLimits();
    body_options.max_body_bytes = 64;
    body_options.max_chunk_extension_bytes = 8;
    body_options.max_trailer_bytes = 32;
  }

  // Parsers and buffers live across inputs (Reset() between them), as a
  // connection's do, so the harness itself does not allocate per input.
  const int limits = (control & 0x80) ? 1 : 0;
  const int lenient = (control & 0x40) ? 1 : 0;
  static RequestParser* const parsers[2][2][2] = {
      {{new RequestParser(Mode(0, 0)), new RequestParser(Mode(0, 0))},
       {new RequestParser(Mode(0, 1)), new RequestParser(Mode(0, 1))}},
      {{new RequestParser(Mode(1, 0)), new RequestParser(Mode(1, 0))},
       {new RequestParser(Mode(1, 1)), new RequestParser(Mode(1, 1))}}};
  static ArrivingInput* const arriving = new ArrivingInput;

  // One shot.
  RequestParser& parser = *parsers[limits][lenient][0];
  parser.Reset();
  const ParseStatus status = parser.Parse(input);
  const Result whole = Snapshot(parser, status);
  Check(parser.consumed() <= input.size(), "consumed more than the input");
  Check((status == ParseStatus::kError) == (parser.error() != ParseError::kNone),
        "error() disagrees with the status");
  if (status == ParseStatus::kComplete) {
    const RequestHead& head = parser.head();
    Check(Inside(head.target, input.data(), parser.consumed()), "target outside the head");
    for (const auto& header : head.headers) {
      Check(Inside(header.name, input.data(), parser.consumed()), "name outside the head");
      Check(Inside(header.value, input.data(), parser.consumed()), "value outside the head");
    }
    CheckFraming(head);
  }

  // Split: every call sees the bytes so far in a buffer that moved.
  SplitPlan plan(control);
  RequestParser& split_parser = *parsers[limits][lenient][1];
  split_parser.Reset();
  arriving->Reset(input.data(), input.size());
  size_t fed = 0;
  ParseStatus split_status;
  const char* buffer;
  do {
    fed += input.empty() ? 0 : plan.Next(input.size() - fed);
    buffer = arriving->Arrive(fed);
    split_status = split_parser.Parse(absl::string_view(buffer, fed));
  } while (split_status == ParseStatus::kNeedMore && fed < input.size());
  const Result split = Snapshot(split_parser, split_status);
  Check(SameResult(split, whole), "split result differs from one-shot result");

  if (status != ParseStatus::kComplete) return 0;
  const RequestHead& head = parser.head();

  // Round trip through a canonical serialisation (limits lifted: CRLF may make
  // the head longer than the bare-LF original).
  static std::string* const again_buffer = new std::string;
  Reserialise(head, again_buffer);
  const std::string& again = *again_buffer;
  static RequestParser* const reparsers[2] = {new RequestParser(Relaxed(RequestParserOptions())),
                                              new RequestParser(Relaxed(SmallLimits()))};
  RequestParser& reparser = *reparsers[limits];
  reparser.Reset();
  Check(reparser.Parse(again) == ParseStatus::kComplete, "re-serialised head rejected");
  Check(reparser.consumed() == again.size(), "re-serialised head consumed differently");
  Check(SameHead(reparser.head(), head), "re-serialised head parsed differently");

  // The body after the head: one-shot and split agree.
  const absl::string_view body = input.substr(parser.consumed());
  const BodyResult body_whole = ReadBody(head, body, body_options, nullptr);
  SplitPlan body_plan(static_cast<uint8_t>(control ^ 0x5a));
  const BodyResult body_split = ReadBody(head, body, body_options, &body_plan);
  Check(body_whole == body_split, "split body differs from one-shot body");
  Check(body_whole.data_size <= body.size(), "more body data than input");
  return 0;
}
