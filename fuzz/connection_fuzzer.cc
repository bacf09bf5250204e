// connection_fuzzer.cc: the server's per-connection state machine
// (HttpSession) over an in-memory transport.
//
// Input layout: byte 0 picks the read sizes (see split_plan.h) and, with bit 7,
// small limits; the rest is what a client sends. The harness plays the
// connection: it appends each read to the unconsumed bytes, calls OnInput(),
// keeps what was not consumed, and parses the responses written so far.
// Oracles (any failure aborts):
// - the output is a well-formed sequence of HTTP/1.1 responses, each with a
//   Content-Length that frames its body (none for HEAD answers);
// - never more responses than requests could have been sent (a response needs
//   a request line, so at most one per LF, plus one error for an over-long
//   first line), and a 200 needs a complete head (two LFs);
// - nothing is written after a response that carries `Connection: close`, and
//   no 2xx follows an error status;
// - X-Received-Body-Bytes never exceeds the bytes sent;
// - memory stays bounded: the unconsumed bytes never exceed the head limit;
// - the whole output does not depend on the read sizes (compared with one
//   read of everything; `100 Continue` interim responses, which depend on
//   timing by design, are left out of the comparison).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"
#include "fuzz/split_plan.h"
#include "server/http_session.h"

namespace {

using ::epollhttp::HttpSession;
using ::epollhttp::SessionOptions;
using ::epollhttp::fuzz::SplitPlan;

constexpr absl::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

void Check(bool ok, const char* what) { ::epollhttp::fuzz::Check(ok, "connection_fuzzer", what); }

// Checks a stream of responses, fed incrementally as the session writes them.
class ResponseChecker {
 public:
  explicit ResponseChecker(size_t input_size) : input_size_(input_size) {}

  // Consume() parses every complete response at the front of `*output` and
  // removes it; a partial response is an error (the session writes whole
  // responses).
  void Consume(std::string* output) {
    absl::string_view rest = *output;
    while (!rest.empty()) {
      Check(!closed_, "bytes written after Connection: close");
      const size_t head_end = rest.find("\r\n\r\n");
      Check(head_end != absl::string_view::npos, "partial response head");
      const absl::string_view head = rest.substr(0, head_end + 2);
      rest.remove_prefix(head_end + 4);
      Check(absl::StartsWith(head, "HTTP/1.1 "), "bad status line");
      int status = 0;
      Check(head.size() >= 12 && absl::SimpleAtoi(head.substr(9, 3), &status),
            "bad status code");
      if (status == 100) {
        Check(head == "HTTP/1.1 100 Continue\r\n", "bad interim response");
        continue;
      }
      ++responses_;
      int64_t length = -1;
      bool close = false;
      int64_t received = -1;
      size_t pos = head.find("\r\n") + 2;
      while (pos < head.size()) {
        const size_t eol = head.find("\r\n", pos);
        const absl::string_view field = head.substr(pos, eol - pos);
        pos = eol + 2;
        const size_t colon = field.find(": ");
        Check(colon != absl::string_view::npos, "bad response field");
        const absl::string_view name = field.substr(0, colon);
        const absl::string_view value = field.substr(colon + 2);
        if (name == "Content-Length") Check(absl::SimpleAtoi(value, &length), "bad CL");
        if (name == "Connection" && value == "close") close = true;
        if (name == "X-Received-Body-Bytes") {
          Check(absl::SimpleAtoi(value, &received), "bad X-Received-Body-Bytes");
        }
      }
      Check(length >= 0, "response without Content-Length");
      if (status >= 200 && status < 300) {
        Check(!error_seen_, "2xx after an error");
        Check(received >= 0 && static_cast<size_t>(received) <= input_size_,
              "X-Received-Body-Bytes out of range");
        ++successes_;
      } else {
        Check(status >= 400 && status < 600, "unexpected status class");
        Check(close, "error response without Connection: close");
        error_seen_ = true;
      }
      // A HEAD answer has Content-Length 28 and no body; anything else
      // carries its body. Which one it is shows in the next bytes.
      if (status >= 200 && status < 300 && length == 28 &&
          !absl::StartsWith(rest, epollhttp::kHelloBody)) {
        // HEAD: no body.
      } else {
        Check(rest.size() >= static_cast<size_t>(length), "truncated response body");
        rest.remove_prefix(static_cast<size_t>(length));
      }
      if (close) closed_ = true;
    }
    output->clear();
  }

  [[nodiscard]] int64_t responses() const { return responses_; }
  [[nodiscard]] int64_t successes() const { return successes_; }
  [[nodiscard]] bool closed() const { return closed_; }

 private:
  size_t input_size_;
  int64_t responses_ = 0;
  int64_t successes_ = 0;
  bool closed_ = false;
  bool error_seen_ = false;
};

// Run() plays one connection and returns everything the session wrote.
// Run() plays one connection and leaves in `*transcript` everything the
// session wrote except `100 Continue` interim responses (which depend on the
// read sizes by design). `lines` is the number of LFs in `input`. Buffers are
// the caller's, reused across inputs.
void Run(absl::string_view input, int64_t lines, const SessionOptions& options, SplitPlan* plan,
         std::string* pending, std::string* output, std::string* transcript) {
  HttpSession session(options);
  ResponseChecker checker(input.size());
  pending->clear();
  output->clear();
  transcript->clear();
  size_t fed = 0;
  while (fed < input.size()) {
    const size_t piece = plan == nullptr ? input.size() : plan->Next(input.size() - fed);
    pending->append(input.data() + fed, piece);
    fed += piece;
    const size_t consumed = session.OnInput(*pending, output);
    Check(consumed <= pending->size(), "consumed more than offered");
    pending->erase(0, consumed);
    Check(pending->size() <= options.parser.max_head_bytes, "unconsumed bytes beyond head limit");
    // Session output starts with an interim response only right after a head.
    absl::string_view written = *output;
    size_t at;
    while ((at = written.find(kContinue)) != absl::string_view::npos) {
      transcript->append(written.data(), at);
      written.remove_prefix(at + kContinue.size());
    }
    transcript->append(written.data(), written.size());
    checker.Consume(output);
    Check(session.responses() == checker.responses(), "responses() disagrees with output");
    Check(session.closing() == checker.closed(), "closing() disagrees with output");
  }
  Check(checker.responses() <= lines + 1, "more responses than requests");
  Check(checker.successes() <= lines / 2, "a 200 without a complete head");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t control = data[0];
  const absl::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  SessionOptions options;
  if (control & 0x80) {
    options.parser.max_request_line = 64;
    options.parser.max_head_bytes = 256;
    options.parser.max_headers = 6;
    options.body.max_body_bytes = 64;
    options.body.max_chunk_extension_bytes = 8;
    options.body.max_trailer_bytes = 32;
  }
  static std::string* const buffers = new std::string[4];  // pending, output, two transcripts
  const int64_t lines = std::count(input.begin(), input.end(), '\n');
  SplitPlan plan(control);
  Run(input, lines, options, &plan, &buffers[0], &buffers[1], &buffers[2]);
  Run(input, lines, options, nullptr, &buffers[0], &buffers[1], &buffers[3]);
  Check(buffers[2] == buffers[3], "output depends on read sizes");
  return 0;
}
