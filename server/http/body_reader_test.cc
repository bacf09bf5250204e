#include "server/http/body_reader.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "testing/guarded_buffer.h"

namespace epollhttp::http {
namespace {

using ::epollhttp::test::GuardedBuffer;

// Feeds `input` to a reader in pieces ending at `cuts` (then the rest), as a
// connection would: unconsumed bytes are kept and re-offered with the next
// piece. Returns the decoded body, the outcome and the unconsumed tail.
std::string Decode(BodyKind kind, int64_t length, absl::string_view input,
                   const std::vector<size_t>& cuts, BodyReaderOptions options = {}) {
  BodyReader reader(options);
  const ParseError start = reader.Start(kind, length);
  if (start != ParseError::kNone) return absl::StrCat("start error ", ParseErrorName(start));
  std::string body;
  size_t offset = 0;  // First byte not yet consumed.
  std::vector<size_t> ends = cuts;
  ends.push_back(input.size());
  for (const size_t end : ends) {
    if (end < offset) continue;
    const GuardedBuffer piece(input.substr(offset, end - offset));
    absl::string_view rest = piece.view();
    while (true) {
      const BodyChunk chunk = reader.Read(rest);
      EXPECT_LE(chunk.consumed, rest.size());
      body.append(chunk.data.data(), chunk.data.size());
      rest.remove_prefix(chunk.consumed);
      offset += chunk.consumed;
      if (chunk.status == ParseStatus::kError) {
        return absl::StrCat("error ", StatusFor(chunk.error).code, " ",
                            ParseErrorName(chunk.error));
      }
      if (chunk.status == ParseStatus::kComplete) {
        EXPECT_EQ(reader.received(), static_cast<int64_t>(body.size()));
        return absl::StrCat("body=", body, " rest=", input.substr(offset));
      }
      if (rest.empty()) break;
    }
  }
  return absl::StrCat("need-more body=", body);
}

struct Case {
  std::string input;
  std::string expected;
};

const std::vector<Case>& ChunkedCases() {
  static const auto* cases = new std::vector<Case>{
      {"0\r\n\r\n", "body= rest="},
      {"5\r\nhello\r\n0\r\n\r\n", "body=hello rest="},
      {"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nGET", "body=hello world rest=GET"},
      {"A\r\n0123456789\r\n0\r\n\r\n", "body=0123456789 rest="},
      {"a\r\n0123456789\r\n0\r\n\r\n", "body=0123456789 rest="},
      {"0005\r\nhello\r\n000\r\n\r\n", "body=hello rest="},
      {"5;name=value\r\nhello\r\n0;last\r\n\r\n", "body=hello rest="},
      {"5 ;name\r\nhello\r\n0\r\n\r\n", "body=hello rest="},
      {"5;a=\"q s\"\r\nhello\r\n0\r\n\r\n", "body=hello rest="},
      // chunk-ext (RFC 9112 §7.1.1): BWS around ';' and '=', token names,
      // token or quoted-string values.
      {"5 ; a = b ; c\r\nhello\r\n0\r\n\r\n", "body=hello rest="},
      {"5;a=\"q\\\"s\";b=\"\"\r\nhello\r\n0\r\n\r\n", "body=hello rest="},
      {"5;a=b;c=d\r\nhello\r\n0\r\n\r\n", "body=hello rest="},
      {"5;\r\nhello\r\n0\r\n\r\n", "error 400 bad chunk extension"},  // Empty name.
      {"5;=v\r\nhello\r\n0\r\n\r\n", "error 400 bad chunk extension"},
      {"5;a;;b\r\nhello\r\n0\r\n\r\n", "error 400 bad chunk extension"},
      {"5;a=\r\nhello\r\n0\r\n\r\n", "error 400 bad chunk extension"},     // Empty value.
      {"5;a=\"q\r\nhello\r\n0\r\n\r\n", "error 400 bad chunk extension"},  // Unbalanced.
      {"5;a=\"q\\\r\nhello\r\n0\r\n\r\n", "error 400 bad chunk extension"},
      {"5;a b\r\nhello\r\n0\r\n\r\n", "error 400 bad chunk extension"},
      {"5;a=b c\r\nhello\r\n0\r\n\r\n", "error 400 bad chunk extension"},
      {"5;a=\"q\"x\r\nhello\r\n0\r\n\r\n", "error 400 bad chunk extension"},
      {"5;a(b)\r\nhello\r\n0\r\n\r\n", "error 400 bad chunk extension"},
      {"5\r\nhello\r\n0\r\nX-Trailer: 1\r\nY: 2\r\n\r\nnext", "body=hello rest=next"},
      {"5\r\nhel", "need-more body=hel"},
      {"5\r\nhello\r\n0\r\n", "need-more body=hello"},
      {"", "need-more body="},
      // Errors.
      {"\r\n", "error 400 bad chunk size"},
      {"x\r\n", "error 400 bad chunk size"},
      {"-5\r\nhello\r\n0\r\n\r\n", "error 400 bad chunk size"},
      {"+5\r\nhello\r\n0\r\n\r\n", "error 400 bad chunk size"},
      {"0x5\r\nhello\r\n0\r\n\r\n", "error 400 bad chunk size"},
      {" 5\r\nhello\r\n0\r\n\r\n", "error 400 bad chunk size"},
      {"5 \r\nhello\r\n0\r\n\r\n", "error 400 bad chunk extension"},
      {"5 x\r\nhello\r\n0\r\n\r\n", "error 400 bad chunk extension"},
      {"5\nhello\r\n0\r\n\r\n", "error 400 bad chunk size"},  // Bare LF.
      {"5\rhello\r\n0\r\n\r\n", "error 400 bad chunk size"},  // Bare CR.
      {"5\r\nhelloX\r\n0\r\n\r\n", "error 400 chunk data not followed by CRLF"},
      {"5\r\nhello\n0\r\n\r\n", "error 400 chunk data not followed by CRLF"},
      {"5\r\nhello\rX0\r\n\r\n", "error 400 chunk data not followed by CRLF"},
      {"3\r\nhello\r\n0\r\n\r\n", "error 400 chunk data not followed by CRLF"},
      {"5;a\x01\r\nhello\r\n0\r\n\r\n", "error 400 bad chunk extension"},
      {"5;a\nhello\r\n0\r\n\r\n", "error 400 bad chunk extension"},
      {"10000000000000000\r\n", "error 400 bad chunk size"},  // 2^64.
      {"8000000000000000\r\n", "error 400 bad chunk size"},   // 2^63.
      {"FFFFFFFFFFFFFFFFFFFF\r\n", "error 400 bad chunk size"},
      {"7fffffffffffffff\r\n", "need-more body="},
      {"0\r\n\n", "error 400 bad trailer field"},
      {"0\r\nX\r\n\r\n", "error 400 bad trailer field"},
      {"0\r\n X: 1\r\n\r\n", "error 400 bad trailer field"},
      {"0\r\nX: 1\n\r\n", "error 400 bad trailer field"},
      {"0\r\nX: \x01\r\n\r\n", "error 400 bad trailer field"},
      {"0\r\n\rX", "error 400 bad trailer field"},
  };
  return *cases;
}

class ChunkedTableTest : public ::testing::TestWithParam<size_t> {};

TEST_P(ChunkedTableTest, OneShotAndEverySplitAgree) {
  const Case& c = ChunkedCases()[GetParam()];
  ASSERT_EQ(Decode(BodyKind::kChunked, 0, c.input, {}), c.expected) << c.input;
  std::vector<size_t> every_byte;
  for (size_t cut = 0; cut <= c.input.size(); ++cut) {
    ASSERT_EQ(Decode(BodyKind::kChunked, 0, c.input, {cut}), c.expected) << "cut at " << cut;
    every_byte.push_back(cut);
  }
  EXPECT_EQ(Decode(BodyKind::kChunked, 0, c.input, every_byte), c.expected) << "byte by byte";
}

INSTANTIATE_TEST_SUITE_P(Cases, ChunkedTableTest,
                         ::testing::Range<size_t>(0, ChunkedCases().size()));

TEST(BodyReaderTest, SkipAccountsForDiscardedContentLengthBytes) {
  BodyReader reader;
  ASSERT_EQ(reader.Start(BodyKind::kContentLength, 10), ParseError::kNone);
  EXPECT_EQ(reader.skippable(), 10);
  const BodyChunk first = reader.Read("abc");
  EXPECT_EQ(first.data, "abc");
  EXPECT_EQ(reader.skippable(), 7);
  EXPECT_EQ(reader.Skip(5), ParseStatus::kNeedMore);
  EXPECT_EQ(reader.skippable(), 2);
  EXPECT_EQ(reader.Skip(2), ParseStatus::kComplete);
  EXPECT_TRUE(reader.done());
  EXPECT_EQ(reader.received(), 10);
  EXPECT_EQ(reader.skippable(), 0);
  // Nothing to skip in chunked bodies (their framing must be read).
  ASSERT_EQ(reader.Start(BodyKind::kChunked, 0), ParseError::kNone);
  EXPECT_EQ(reader.skippable(), 0);
  EXPECT_EQ(reader.Skip(3), ParseStatus::kNeedMore);
  EXPECT_EQ(reader.received(), 0);
}

TEST(BodyReaderTest, ContentLengthStopsAtTheBodyEnd) {
  EXPECT_EQ(Decode(BodyKind::kContentLength, 5, "helloGET /", {}), "body=hello rest=GET /");
  EXPECT_EQ(Decode(BodyKind::kContentLength, 5, "helloGET /", {1, 2, 3, 4, 5, 6}),
            "body=hello rest=GET /");
  EXPECT_EQ(Decode(BodyKind::kContentLength, 5, "hel", {}), "need-more body=hel");
  EXPECT_EQ(Decode(BodyKind::kContentLength, 0, "GET", {}), "body= rest=GET");
  EXPECT_EQ(Decode(BodyKind::kNone, 0, "GET", {}), "body= rest=GET");
}

TEST(BodyReaderTest, BodyLimitIs413BeforeReadingOrWhenChunksCrossIt) {
  BodyReaderOptions options;
  options.max_body_bytes = 8;
  EXPECT_EQ(Decode(BodyKind::kContentLength, 9, "", {}, options), "start error body too large");
  EXPECT_EQ(Decode(BodyKind::kContentLength, 8, "12345678", {}, options), "body=12345678 rest=");
  EXPECT_EQ(Decode(BodyKind::kChunked, 0, "5\r\nhello\r\n4\r\n", {}, options),
            "error 413 body too large");
  EXPECT_EQ(Decode(BodyKind::kChunked, 0, "5\r\nhello\r\n3\r\nabc\r\n0\r\n\r\n", {}, options),
            "body=helloabc rest=");
}

TEST(BodyReaderTest, ExtensionAndTrailerLimits) {
  BodyReaderOptions options;
  options.max_chunk_extension_bytes = 4;
  options.max_trailer_bytes = 8;
  EXPECT_EQ(Decode(BodyKind::kChunked, 0, "1;abcd\r\nx\r\n0\r\n\r\n", {}, options), "body=x rest=");
  EXPECT_EQ(Decode(BodyKind::kChunked, 0, "1;abcde\r\nx\r\n0\r\n\r\n", {}, options),
            "error 400 bad chunk extension");
  EXPECT_EQ(Decode(BodyKind::kChunked, 0, "0\r\nA: 1\r\n\r\n", {}, options), "body= rest=");
  EXPECT_EQ(Decode(BodyKind::kChunked, 0, "0\r\nA: 12\r\n\r\n", {}, options),
            "error 431 header section too large");
}

TEST(BodyReaderTest, LargeBodyNeedsNoMemory) {
  // 1 GiB announced and streamed through a 64 KiB window.
  BodyReader reader;
  ASSERT_EQ(reader.Start(BodyKind::kContentLength, int64_t{1} << 30), ParseError::kNone);
  const std::string window(64 * 1024, 'x');
  int64_t total = 0;
  while (!reader.done()) {
    const BodyChunk chunk = reader.Read(window);
    ASSERT_EQ(chunk.consumed, chunk.data.size());
    total += static_cast<int64_t>(chunk.consumed);
  }
  EXPECT_EQ(total, int64_t{1} << 30);
}

}  // namespace
}  // namespace epollhttp::http
