#include "server/http/request_parser.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "testing/guarded_buffer.h"

namespace epollhttp::http {
namespace {

using ::epollhttp::test::GuardedBuffer;

// Everything a parse produced, as one comparable string.
std::string Describe(const RequestParser& parser, ParseStatus status) {
  switch (status) {
    case ParseStatus::kNeedMore: return "need-more";
    case ParseStatus::kError:
      return absl::StrCat("error ", StatusFor(parser.error()).code, " ",
                          ParseErrorName(parser.error()));
    case ParseStatus::kComplete: break;
  }
  const RequestHead& h = parser.head();
  std::string out = absl::StrCat("complete consumed=", parser.consumed(), " ", MethodName(h.method),
                                 " ", h.target, " v", h.version == Version::kHttp11 ? "1.1" : "1.0",
                                 " body=", static_cast<int>(h.body_kind), "/", h.content_length,
                                 " keep_alive=", h.keep_alive, " continue=", h.expect_continue);
  for (const Header& header : h.headers)
    absl::StrAppend(&out, " [", header.name, ":", header.value, "]");
  return out;
}

// Parses `input` fed as the given cut points (each prefix flush against a guard
// page, so an over-read of a partial input crashes).
std::string ParseInPieces(absl::string_view input, const std::vector<size_t>& cuts,
                          RequestParserOptions options = {}) {
  RequestParser parser(options);
  for (const size_t cut : cuts) {
    const GuardedBuffer prefix(input.substr(0, cut));
    const ParseStatus status = parser.Parse(prefix.view());
    if (status != ParseStatus::kNeedMore) return Describe(parser, status);
  }
  const GuardedBuffer whole(input);
  const ParseStatus status = parser.Parse(whole.view());
  return Describe(parser, status);
}

std::string ParseOneShot(absl::string_view input, RequestParserOptions options = {}) {
  return ParseInPieces(input, {}, options);
}

struct Case {
  std::string input;
  int status;  // 0: complete; -1: need more; else the error's HTTP status.
  BodyKind body = BodyKind::kNone;
  int64_t content_length = 0;
  bool keep_alive = true;
};

int StatusOf(const RequestParser& parser, ParseStatus status) {
  if (status == ParseStatus::kNeedMore) return -1;
  if (status == ParseStatus::kComplete) return 0;
  return StatusFor(parser.error()).code;
}

const std::string kGet = "GET / HTTP/1.1\r\nHost: a\r\n";

const std::vector<Case>& Cases() {
  static const auto* cases = new std::vector<Case>{
      // --- Request line.
      {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 0},
      {"GET / HTTP/1.0\r\n\r\n", 0, BodyKind::kNone, 0, false},
      {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 0},
      {"GET / HTTP/1.0\r\nHost: a\r\n\r\n", 0, BodyKind::kNone, 0, false},
      {"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n", 0},
      {"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n", 0, BodyKind::kContentLength,
       5},
      {"PUT /x HTTP/1.1\r\nHost: a\r\n\r\n", 0},
      {"DELETE /x HTTP/1.1\r\nHost: a\r\n\r\n", 0},
      {"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 0},
      {"PATCH /x HTTP/1.1\r\nHost: a\r\n\r\n", 0},
      {"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 0},
      // --- Request targets (RFC 9112 §3.2, RFC 3986).
      {"GET http://a/b?c=d HTTP/1.1\r\nHost: a\r\n\r\n", 0},
      {"GET http://[::1]:80/b HTTP/1.1\r\nHost: a\r\n\r\n", 0},
      {"GET /a%20b?x=%7e&y=:@/? HTTP/1.1\r\nHost: a\r\n\r\n", 0},
      {"GET /!$&'()*+,;=-._~ HTTP/1.1\r\nHost: a\r\n\r\n", 0},
      {"GET http://a/b?c=d#e HTTP/1.1\r\nHost: a\r\n\r\n", 400},  // No fragment.
      {"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400},      // Raw UTF-8.
      {"GET ,/ HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"GET : HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400},  // Asterisk-form: OPTIONS only.
      {"OPTIONS *a HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"OPTIONS /x HTTP/1.1\r\nHost: a\r\n\r\n", 0},
      {"GET a.b:80 HTTP/1.1\r\nHost: a\r\n\r\n", 400},  // No authority ("//").
      {"GET http:/a HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"GET x-y.z+1://h:8/p HTTP/1.1\r\nHost: a\r\n\r\n", 0},
      {"GET http://a?q HTTP/1.1\r\nHost: a\r\n\r\n", 0},
      {"GET http://u@a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400},  // Userinfo.
      {"GET http://a/@x HTTP/1.1\r\nHost: a\r\n\r\n", 0},    // '@' in a path is fine.
      {"GET http://a/[x] HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"GET 1a:80 HTTP/1.1\r\nHost: a\r\n\r\n", 400},  // A scheme starts with ALPHA.
      {"GET /a%2 HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"GET /a[b] HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"GET /a\"b HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"GET /a<b HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"GET /a{b} HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"GET /a\\b HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"GET /a^b HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"GET /a`b HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"GET /a|b HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"CONNECT /x HTTP/1.1\r\nHost: a\r\n\r\n", 400},  // Authority-form: CONNECT only, and
      {"CONNECT a HTTP/1.1\r\nHost: a\r\n\r\n", 400},   // host:port.
      {"CONNECT [::1]:443 HTTP/1.1\r\nHost: a\r\n\r\n", 501},
      {"CONNECT [::1] HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"CONNECT a:4x HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      // --- Line endings: CRLF only (bare LF: see BareLfIsAcceptedOnlyWhenAllowed).
      {"\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"GET / HTTP/1.1\nHost: a\n\n", 400},
      {"GET / HTTP/1.1\r\nHost: a\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: a\r\n\n", 400},
      {"GET / HTTP/1.1\r\nHost: a\r\n\rX", 400},
      {"\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      // --- Bytes no request can start or continue with.
      {"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400},  // A TLS ClientHello.
      {std::string("\0", 1), 400},
      {"GET / HTTP/1.1\r\nHost: a\r\n\x01", 400},
      {"FOO / HTTP/1.1\r\nHost: a\r\n\r\n", 501},
      {"CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n", 501},
      {"TRACE / HTTP/1.1\r\nHost: a\r\n\r\n", 501},
      {"get / HTTP/1.1\r\nHost: a\r\n\r\n", 501},
      {"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505},
      {"GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505},
      {"GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505},
      {"GET / HTTP/3.0\r\n\r\n", 505},
      {"GET / http/1.1\r\nHost: a\r\n\r\n", 400},
      {"GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400},
      {"GET / HTTP/11\r\nHost: a\r\n\r\n", 400},
      {"GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400},
      {"GET / HTTP/a.b\r\nHost: a\r\n\r\n", 400},
      {"GET /\r\nHost: a\r\n\r\n", 400},
      {"GET\r\n\r\n", 400},
      {"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"GET /  HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {" GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {std::string("GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n", 29), 400},
      {"GET /a\rb HTTP/1.1\r\nHost: a\r\n\r\n", 400},
      {"GET / HTTP/1.1\rHost: a\r\n\r\n", 400},
      {"GET /" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n", 414},
      {"GET /" + std::string(9000, 'a'), 414},
      // --- Incomplete heads.
      {"", -1},
      {"GET / HTTP/1.1\r\nHost: a\r\n", -1},
      {"GET / HTTP/1.1\r\nHost: a\r\n\r", -1},
      {"\r\n", -1},
      // --- Header fields.
      {"GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nX-B:2\r\n\r\n", 0},
      {"GET / HTTP/1.1\r\nHost:   a  \t\r\n\r\n", 0},
      {"GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\n\r\n", 0},
      {"GET / HTTP/1.1\r\nHost: a\r\nX-Obs: caf\xe9\r\n\r\n", 0},
      {"GET / HTTP/1.1\r\nHost: a\r\nX-Tab: a\tb\r\n\r\n", 0},
      {"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n  folded\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: a\r\n\tX-A: 1\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\n: a\r\nHost: a\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: a\r\nX(A): 1\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\rX-B: 2\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\r\n\r\n", 400},
      {std::string("GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\0\r\n\r\n", 37), 400},
      {"GET / HTTP/1.1\r\nHost: a\r\nX-A: \x01\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: a\r\nX-A: \x7f\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: a\r\nX-\xc3\xa9: 1\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: a\r\n\r\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: a\r\n\rX-A: 1\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: " + std::string(33000, 'a') + "\r\n\r\n", 431},
      {"GET / HTTP/1.1\r\nHost: " + std::string(33000, 'a'), 431},
      // --- Host.
      {"GET / HTTP/1.1\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: a\r\nhOST: b\r\n\r\n", 400},
      {"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nhost: a\r\n\r\n", 0},
      {"GET / HTTP/1.1\r\nHost:\r\n\r\n", 0},
      // --- Connection.
      {kGet + "Connection: close\r\n\r\n", 0, BodyKind::kNone, 0, false},
      {kGet + "Connection: CLOSE\r\n\r\n", 0, BodyKind::kNone, 0, false},
      {kGet + "Connection: upgrade, close\r\n\r\n", 0, BodyKind::kNone, 0, false},
      {kGet + "Connection: keep-alive\r\n\r\n", 0},
      {kGet + "Connection: keep-alive\r\nConnection: close\r\n\r\n", 0, BodyKind::kNone, 0, false},
      {kGet + "Connection: closed\r\n\r\n", 0},
      {"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 0},
      {"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", 0, BodyKind::kNone, 0, false},
      // --- Expect.
      {kGet + "Expect: 100-continue\r\n\r\n", 0},
      {kGet + "Expect: 100-Continue\r\n\r\n", 0},
      {kGet + "Expect: 200-ok\r\n\r\n", 417},
      {kGet + "Expect: \r\n\r\n", 417},
      {"GET / HTTP/1.0\r\nExpect: 200-ok\r\n\r\n", 0, BodyKind::kNone, 0, false},
      // --- Content-Length (RFC 9112 §6.3 rule 5/6).
      {kGet + "Content-Length: 0\r\n\r\n", 0, BodyKind::kContentLength, 0},
      {kGet + "Content-Length: 3748935\r\n\r\n", 0, BodyKind::kContentLength, 3748935},
      {kGet + "Content-Length:   42  \r\n\r\n", 0, BodyKind::kContentLength, 42},
      {kGet + "content-length: 007\r\n\r\n", 0, BodyKind::kContentLength, 7},
      {kGet + "Content-Length: 9223372036854775807\r\n\r\n", 0, BodyKind::kContentLength,
       9223372036854775807},
      {kGet + "Content-Length: 9223372036854775808\r\n\r\n", 400},
      {kGet + "Content-Length: 99999999999999999999999\r\n\r\n", 400},
      {kGet + "Content-Length: -1\r\n\r\n", 400},
      {kGet + "Content-Length: +1\r\n\r\n", 400},
      {kGet + "Content-Length: 0x10\r\n\r\n", 400},
      {kGet + "Content-Length: 1 2\r\n\r\n", 400},
      {kGet + "Content-Length: 5, 5\r\n\r\n", 400},
      {kGet + "Content-Length: 5,6\r\n\r\n", 400},
      {kGet + "Content-Length:\r\n\r\n", 400},
      {kGet + "Content-Length: 5\r\nContent-Length: 5\r\n\r\n", 400},
      {kGet + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", 400},
      {kGet + "Content-Length: 5\r\ncontent-length: 5\r\n\r\n", 400},
      {kGet + "Content-Length : 5\r\n\r\n", 400},
      {kGet + "Content-Length: 5\r\n Content-Length: 6\r\n\r\n", 400},
      // --- Transfer-Encoding (rules 3/4) and the smuggling shapes.
      {kGet + "Transfer-Encoding: chunked\r\n\r\n", 0, BodyKind::kChunked},
      {kGet + "Transfer-Encoding: Chunked\r\n\r\n", 0, BodyKind::kChunked},
      {kGet + "Transfer-Encoding:  chunked \r\n\r\n", 0, BodyKind::kChunked},
      {kGet + "Transfer-Encoding: ,chunked,\r\n\r\n", 0, BodyKind::kChunked},
      {kGet + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400},  // CL.TE
      {kGet + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400},  // TE.CL
      {kGet + "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n", 400},
      {kGet + "Transfer-Encoding: chunked, chunked\r\n\r\n", 400},  // TE.TE
      {kGet + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {kGet + "Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n", 400},
      {kGet + "Transfer-Encoding: xchunked\r\n\r\n", 400},
      {kGet + "Transfer-Encoding: chunked-false\r\n\r\n", 400},
      {kGet + "Transfer-Encoding: chunk\r\n\r\n", 400},
      {kGet + "Transfer-Encoding: \"chunked\"\r\n\r\n", 400},
      {kGet + "Transfer-Encoding: chunked, identity\r\n\r\n", 400},
      {kGet + "Transfer-Encoding: gzip\r\n\r\n", 400},
      {kGet + "Transfer-Encoding:\r\n\r\n", 400},
      {kGet + "Transfer-Encoding: \x0b"
              "chunked\r\n\r\n",
       400},
      {kGet + "Transfer-Encoding : chunked\r\n\r\n", 400},
      {kGet + "Transfer-Encoding: x\r\n chunked\r\n\r\n", 400},
      {kGet + "Transfer-Encoding: chunked;q=1\r\n\r\n", 400},  // chunked has no parameters.
      {kGet + "Transfer-Encoding: chunked ; a=b\r\n\r\n", 400},
      {kGet + "Transfer-Encoding: gzip;q=1, chunked\r\n\r\n", 501},
      {kGet + "Transfer-Encoding: gzip, chunked\r\n\r\n", 501},
      {kGet + "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", 501},
      {"GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400},
  };
  return *cases;
}

class RequestParserTableTest : public ::testing::TestWithParam<size_t> {};

TEST_P(RequestParserTableTest, OneShotMatchesExpectation) {
  const Case& c = Cases()[GetParam()];
  const GuardedBuffer input(c.input);
  RequestParser parser;
  const ParseStatus status = parser.Parse(input.view());
  ASSERT_EQ(StatusOf(parser, status), c.status) << Describe(parser, status) << "\n" << c.input;
  if (status == ParseStatus::kComplete) {
    EXPECT_EQ(parser.consumed(), c.input.size());
    EXPECT_EQ(parser.head().body_kind, c.body);
    EXPECT_EQ(parser.head().content_length, c.content_length);
    EXPECT_EQ(parser.head().keep_alive, c.keep_alive);
  }
}

TEST_P(RequestParserTableTest, EverySplitGivesTheOneShotResult) {
  const std::string& input = Cases()[GetParam()].input;
  const std::string expected = ParseOneShot(input);
  if (input.size() > 1000) {  // Long inputs: a sample of split points.
    for (size_t cut = 0; cut <= input.size(); cut += 97) {
      ASSERT_EQ(ParseInPieces(input, {cut}), expected) << "cut at " << cut;
    }
    return;
  }
  for (size_t cut = 0; cut <= input.size(); ++cut) {
    ASSERT_EQ(ParseInPieces(input, {cut}), expected) << "cut at " << cut;
  }
  std::vector<size_t> every_byte;
  for (size_t cut = 0; cut <= input.size(); ++cut) every_byte.push_back(cut);
  EXPECT_EQ(ParseInPieces(input, every_byte), expected) << "byte by byte";
}

INSTANTIATE_TEST_SUITE_P(Cases, RequestParserTableTest,
                         ::testing::Range<size_t>(0, Cases().size()));

TEST(RequestParserTest, ExposesFieldsAsViewsIntoTheInput) {
  const std::string input =
      "POST /up?x=1 HTTP/1.1\r\nHost: example.com\r\nX-Trim: \t v \t\r\n"
      "Expect: 100-continue\r\nContent-Length: 3\r\n\r\nabcGET";
  RequestParser parser;
  ASSERT_EQ(parser.Parse(input), ParseStatus::kComplete);
  const RequestHead& head = parser.head();
  EXPECT_EQ(head.method, Method::kPost);
  EXPECT_EQ(head.target, "/up?x=1");
  EXPECT_EQ(head.version, Version::kHttp11);
  ASSERT_EQ(head.headers.size(), 4u);
  EXPECT_EQ(head.headers[0].name, "Host");
  EXPECT_EQ(head.headers[0].value, "example.com");
  EXPECT_EQ(head.headers[1].value, "v");
  EXPECT_TRUE(head.expect_continue);
  EXPECT_EQ(input.substr(parser.consumed()), "abcGET");
  for (const Header& h : head.headers) {
    EXPECT_GE(h.name.data(), input.data());
    EXPECT_LE(h.value.data() + h.value.size(), input.data() + input.size());
  }
}

TEST(RequestParserTest, ResetParsesTheNextPipelinedRequest) {
  const std::string input = kGet + "\r\n" + "HEAD /b HTTP/1.1\r\nHost: b\r\n\r\n";
  RequestParser parser;
  ASSERT_EQ(parser.Parse(input), ParseStatus::kComplete);
  const size_t first = parser.consumed();
  parser.Reset();
  ASSERT_EQ(parser.Parse(absl::string_view(input).substr(first)), ParseStatus::kComplete);
  EXPECT_EQ(parser.head().method, Method::kHead);
  EXPECT_EQ(parser.head().target, "/b");
  EXPECT_EQ(first + parser.consumed(), input.size());
}

TEST(RequestParserTest, HeaderCountLimitIs431) {
  std::string input = kGet;
  for (int i = 0; i < 99; ++i) input += "X: y\r\n";  // Host + 99 = 100 fields.
  RequestParser parser;
  ASSERT_EQ(parser.Parse(input + "\r\n"), ParseStatus::kComplete);
  RequestParser over;
  ASSERT_EQ(over.Parse(input + "X: y\r\n\r\n"), ParseStatus::kError);
  EXPECT_EQ(over.error(), ParseError::kTooManyHeaders);
  EXPECT_EQ(StatusFor(over.error()).code, 431);
}

TEST(RequestParserTest, LimitsAreConstructorOptions) {
  RequestParserOptions options;
  options.max_head_bytes = 64;
  options.max_headers = 2;
  EXPECT_EQ(ParseOneShot(kGet + "X-A: " + std::string(40, 'a') + "\r\n\r\n", options),
            "error 431 header section too large");
  EXPECT_EQ(ParseOneShot(kGet + "A: 1\r\nB: 2\r\n\r\n", options),
            "error 431 too many header fields");
  options.max_request_line = 10;
  EXPECT_EQ(ParseOneShot(kGet + "\r\n", options), "error 414 request line too long");
}

// Prompt rejection: each input ends with the byte that decides it is bad; the
// parser must say so then, whether the bytes came at once or one by one,
// without waiting for a line end.
TEST(RequestParserTest, RejectsAtTheDecidingByte) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"\x16", "error 400 bad request line"},                // TLS ClientHello.
      {std::string("\0", 1), "error 400 bad request line"},  // NUL.
      {"GET /\x80", "error 400 bad request line"},           // Raw byte in a target.
      {"GET ,", "error 400 bad request line"},
      {"GET :", "error 400 bad request line"},
      {"GET /a#", "error 400 bad request line"},
      {"GET /a%g", "error 400 bad request line"},
      {"GET * ", "error 400 bad request line"},
      {"GET / HTTP/1.1\n", "error 400 bad line ending (bare CR or LF)"},  // Bare LF (strict).
      {"GET / HTTP/1.1\rX", "error 400 bad line ending (bare CR or LF)"},
      {"GET / HTTP/1.1\r\nHost: a\r\n\rX", "error 400 bad line ending (bare CR or LF)"},
      {"GET / HTTP/1.1\r\nHost: a\rX", "error 400 bad line ending (bare CR or LF)"},
      {"GET / HTTP/1.1\r\nHo st", "error 400 bad header field"},
      {"GET / HTTP/1.1\r\n Host", "error 400 bad header field"},
      {std::string("GET / HTTP/1.1\r\nHost: a\0", 24), "error 400 bad header field"},
      {"GET / HTTP/2", "need-more"},  // 505 needs the whole line: not yet decided.
  };
  for (const auto& [input, expected] : cases) {
    EXPECT_EQ(ParseOneShot(input), expected) << input;
    std::vector<size_t> every_byte;
    for (size_t cut = 1; cut < input.size(); ++cut) every_byte.push_back(cut);
    EXPECT_EQ(ParseInPieces(input, every_byte), expected) << "byte by byte: " << input;
  }
}

TEST(RequestParserTest, BareLfIsAcceptedOnlyWhenAllowed) {
  RequestParserOptions lenient;
  lenient.allow_bare_lf = true;
  for (const std::string input :
       {"\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", "GET / HTTP/1.1\nHost: a\n\n",
        "GET / HTTP/1.1\r\nHost: a\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\n\n"}) {
    EXPECT_EQ(ParseOneShot(input), "error 400 bad line ending (bare CR or LF)") << input;
    EXPECT_EQ(ParseOneShot(input, lenient).rfind("complete ", 0), 0u) << input;
    for (size_t cut = 0; cut <= input.size(); ++cut) {
      EXPECT_EQ(ParseInPieces(input, {cut}, lenient), ParseOneShot(input, lenient));
    }
  }
  // Leniency is about LF only: everything else stays strict.
  EXPECT_EQ(ParseOneShot("GET / HTTP/1.1\r\nHost: a\rX", lenient),
            "error 400 bad line ending (bare CR or LF)");
  EXPECT_EQ(ParseOneShot("GET /\x80 HTTP/1.1\n", lenient), "error 400 bad request line");
  EXPECT_EQ(ParseOneShot("GET / HTTP/1.1\nTransfer-Encoding: chunked;q=1\nHost: a\n\n", lenient),
            "error 400 bad Transfer-Encoding");
}

TEST(RequestParserTest, ErrorsAreSticky) {
  RequestParser parser;
  ASSERT_EQ(parser.Parse("BAD\r\n"), ParseStatus::kError);
  EXPECT_EQ(parser.Parse(kGet + "\r\n"), ParseStatus::kError);
  EXPECT_EQ(parser.error(), ParseError::kBadRequestLine);
}

}  // namespace
}  // namespace epollhttp::http
