#include "testing/differential/verdict.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "llhttp.h"
#include "server/http/body_reader.h"
#include "server/http/status.h"

namespace epollhttp::test {
namespace {

struct LlhttpContext {
  int messages = 0;
  bool closed = false;
  Framing framing = Framing::kUnknown;
  int64_t length = -1;
};

int OnHeadersComplete(llhttp_t* parser) {
  auto* context = static_cast<LlhttpContext*>(parser->data);
  if (context->framing == Framing::kUnknown) {
    if (parser->flags & F_CHUNKED) {
      context->framing = Framing::kChunked;
    } else if (parser->flags & F_CONTENT_LENGTH) {
      context->framing = Framing::kContentLength;
      context->length = static_cast<int64_t>(parser->content_length);
    } else {
      context->framing = Framing::kNone;
    }
  }
  return 0;
}

int OnMessageComplete(llhttp_t* parser) {
  auto* context = static_cast<LlhttpContext*>(parser->data);
  ++context->messages;
  if (!llhttp_should_keep_alive(parser)) {
    context->closed = true;
    return HPE_PAUSED;  // What follows a closing request is never parsed.
  }
  return 0;
}

const char* OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kComplete: return "complete";
    case Outcome::kIncomplete: return "incomplete";
    case Outcome::kRejected: return "rejected";
  }
  return "?";
}

}  // namespace

std::string Verdict::ToString() const {
  std::string framing_text = "-";
  switch (framing) {
    case Framing::kUnknown: break;
    case Framing::kNone: framing_text = "none"; break;
    case Framing::kContentLength: framing_text = absl::StrCat("cl:", length); break;
    case Framing::kChunked: framing_text = "chunked"; break;
  }
  std::string out = absl::StrCat(OutcomeName(outcome), " ", messages, " ", framing_text);
  if (!reason.empty()) absl::StrAppend(&out, " (", reason, ")");
  return out;
}

bool ParseVerdict(absl::string_view line, Verdict* verdict) {
  const std::vector<absl::string_view> words = absl::StrSplit(line, absl::MaxSplits(' ', 3));
  if (words.size() < 3) return false;
  if (words[0] == "complete") {
    verdict->outcome = Outcome::kComplete;
  } else if (words[0] == "incomplete") {
    verdict->outcome = Outcome::kIncomplete;
  } else if (words[0] == "rejected") {
    verdict->outcome = Outcome::kRejected;
  } else {
    return false;
  }
  if (!absl::SimpleAtoi(words[1], &verdict->messages)) return false;
  verdict->length = -1;
  if (words[2] == "-") {
    verdict->framing = Framing::kUnknown;
  } else if (words[2] == "none") {
    verdict->framing = Framing::kNone;
  } else if (words[2] == "chunked") {
    verdict->framing = Framing::kChunked;
  } else if (absl::StartsWith(words[2], "cl:") &&
             absl::SimpleAtoi(words[2].substr(3), &verdict->length)) {
    verdict->framing = Framing::kContentLength;
  } else {
    return false;
  }
  verdict->reason = words.size() > 3 ? std::string(words[3]) : "";
  return true;
}

Verdict OursVerdict(absl::string_view bytes, const http::RequestParserOptions& options) {
  Verdict verdict;
  http::RequestParser parser(options);
  http::BodyReader body;
  size_t at = 0;
  while (true) {
    if (at == bytes.size()) {
      verdict.outcome = Outcome::kComplete;
      return verdict;
    }
    parser.Reset();
    verdict.error_at = at;
    const http::ParseStatus status = parser.Parse(bytes.substr(at));
    if (status == http::ParseStatus::kNeedMore) {
      verdict.outcome = Outcome::kIncomplete;
      return verdict;
    }
    if (status == http::ParseStatus::kError) {
      verdict.outcome = Outcome::kRejected;
      verdict.reason = std::string(http::ParseErrorName(parser.error()));
      return verdict;
    }
    const http::RequestHead& head = parser.head();
    if (verdict.framing == Framing::kUnknown) {
      switch (head.body_kind) {
        case http::BodyKind::kNone: verdict.framing = Framing::kNone; break;
        case http::BodyKind::kChunked: verdict.framing = Framing::kChunked; break;
        case http::BodyKind::kContentLength:
          verdict.framing = Framing::kContentLength;
          verdict.length = head.content_length;
          break;
      }
    }
    const bool keep_alive = head.keep_alive;
    at += parser.consumed();
    if (const http::ParseError error = body.Start(head.body_kind, head.content_length);
        error != http::ParseError::kNone) {
      verdict.outcome = Outcome::kRejected;
      verdict.reason = std::string(http::ParseErrorName(error));
      return verdict;
    }
    while (true) {
      const http::BodyChunk chunk = body.Read(bytes.substr(at));
      at += chunk.consumed;
      if (chunk.status == http::ParseStatus::kError) {
        verdict.outcome = Outcome::kRejected;
        verdict.reason = std::string(http::ParseErrorName(chunk.error));
        return verdict;
      }
      if (chunk.status == http::ParseStatus::kComplete) break;
      if (at == bytes.size()) {
        verdict.outcome = Outcome::kIncomplete;
        return verdict;
      }
    }
    ++verdict.messages;
    if (!keep_alive) {  // The codec closes: what follows is never parsed.
      verdict.outcome = Outcome::kComplete;
      return verdict;
    }
  }
}

Verdict LlhttpVerdict(absl::string_view bytes) {
  llhttp_settings_t settings;
  llhttp_settings_init(&settings);
  settings.on_headers_complete = OnHeadersComplete;
  settings.on_message_complete = OnMessageComplete;
  llhttp_t parser;
  llhttp_init(&parser, HTTP_REQUEST, &settings);
  LlhttpContext context;
  parser.data = &context;
  const llhttp_errno_t error = llhttp_execute(&parser, bytes.data(), bytes.size());
  Verdict verdict;
  verdict.messages = context.messages;
  verdict.framing = context.framing;
  verdict.length = context.length;
  if (error == HPE_PAUSED && context.closed) {
    verdict.outcome = Outcome::kComplete;
  } else if (error != HPE_OK) {
    verdict.outcome = Outcome::kRejected;
    verdict.reason = llhttp_get_error_reason(&parser);
  } else {
    // Between messages, finishing is clean; inside one, it is not.
    verdict.outcome = llhttp_finish(&parser) == HPE_OK ? Outcome::kComplete : Outcome::kIncomplete;
  }
  return verdict;
}

std::string Escape(absl::string_view bytes) {
  std::string out;
  for (const char c : bytes) {
    const unsigned char u = static_cast<unsigned char>(c);
    switch (c) {
      case '\r': out += "\\r"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      default:
        if (u < 0x20 || u >= 0x7f) {
          absl::StrAppend(&out, "\\x", absl::Hex(u, absl::kZeroPad2));
        } else {
          out.push_back(c);
        }
    }
  }
  return out;
}

}  // namespace epollhttp::test
