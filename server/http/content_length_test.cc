#include "server/http/content_length.h"

#include <cstdint>
#include <limits>
#include <string>

#include "gtest/gtest.h"
#include "testing/guarded_buffer.h"

namespace epollhttp::http {
namespace {

using ::epollhttp::test::GuardedBuffer;

struct Case {
  std::string input;
  ContentLengthError error;
  int64_t value;  // Expected when error == kNone.
};

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

const Case kCases[] = {
    {"0", ContentLengthError::kNone, 0},
    {"5", ContentLengthError::kNone, 5},
    {"3748935", ContentLengthError::kNone, 3748935},
    {"0000000042", ContentLengthError::kNone, 42},
    {"9223372036854775807", ContentLengthError::kNone, kMax},
    // 18 digits is the longest inline fast path; 19 takes the checked loop.
    {"999999999999999999", ContentLengthError::kNone, 999999999999999999},
    {"1000000000000000000", ContentLengthError::kNone, 1000000000000000000},
    {"12345678", ContentLengthError::kNone, 12345678},
    {"99999999999999999/", ContentLengthError::kInvalidCharacter, 0},
    {"/", ContentLengthError::kInvalidCharacter, 0},
    {":", ContentLengthError::kInvalidCharacter, 0},
    {"5:", ContentLengthError::kInvalidCharacter, 0},
    {"09223372036854775807", ContentLengthError::kNone, kMax},
    {"", ContentLengthError::kEmpty, 0},
    {"+5", ContentLengthError::kSign, 0},
    {"-5", ContentLengthError::kSign, 0},
    {"-0", ContentLengthError::kSign, 0},
    {"5, 5", ContentLengthError::kList, 0},
    {"5,5", ContentLengthError::kList, 0},
    {",", ContentLengthError::kList, 0},
    {"5,", ContentLengthError::kList, 0},
    {" 5", ContentLengthError::kInvalidCharacter, 0},
    {"5 ", ContentLengthError::kInvalidCharacter, 0},
    {"5\t", ContentLengthError::kInvalidCharacter, 0},
    {"1 2", ContentLengthError::kInvalidCharacter, 0},
    {"0x10", ContentLengthError::kInvalidCharacter, 0},
    {"ff", ContentLengthError::kInvalidCharacter, 0},
    {"12a", ContentLengthError::kInvalidCharacter, 0},
    {"1.0", ContentLengthError::kInvalidCharacter, 0},
    {"1e3", ContentLengthError::kInvalidCharacter, 0},
    {std::string("1\0", 2), ContentLengthError::kInvalidCharacter, 0},
    {"\xd9\xa3", ContentLengthError::kInvalidCharacter, 0},  // Arabic-Indic digit three.
    {"5+", ContentLengthError::kInvalidCharacter, 0},
    {"9223372036854775808", ContentLengthError::kOverflow, 0},
    {"9223372036854775810", ContentLengthError::kOverflow, 0},
    {"18446744073709551616", ContentLengthError::kOverflow, 0},
    {"99999999999999999999999999999", ContentLengthError::kOverflow, 0},
    // Junk outranks overflow: a value that is not a number is not "too big".
    {"99999999999999999999999999999x", ContentLengthError::kInvalidCharacter, 0},
};

class ParseContentLengthTableTest : public ::testing::TestWithParam<Case> {};

TEST_P(ParseContentLengthTableTest, MatchesExpectation) {
  const Case& c = GetParam();
  const GuardedBuffer input(c.input);
  const ContentLength result = ParseContentLength(input.view());
  EXPECT_EQ(result.error, c.error)
      << "input: \"" << c.input << "\" got " << ContentLengthErrorName(result.error);
  EXPECT_EQ(result.value, c.value);
  EXPECT_EQ(result.ok(), c.error == ContentLengthError::kNone);
}

INSTANTIATE_TEST_SUITE_P(Cases, ParseContentLengthTableTest, ::testing::ValuesIn(kCases));

TEST(ParseContentLengthTest, AcceptsEveryValueAroundPowersOfTen) {
  int64_t power = 1;
  for (int exponent = 0; exponent <= 18; ++exponent) {
    if (exponent > 0) power *= 10;
    for (const int64_t value : {power - 1, power, power + 1}) {
      const std::string text = std::to_string(value);
      const ContentLength result = ParseContentLength(text);
      ASSERT_TRUE(result.ok()) << text;
      EXPECT_EQ(result.value, value) << text;
    }
  }
}

TEST(ContentLengthErrorNameTest, NamesEveryError) {
  EXPECT_EQ(ContentLengthErrorName(ContentLengthError::kNone), "ok");
  EXPECT_EQ(ContentLengthErrorName(ContentLengthError::kEmpty), "empty");
  EXPECT_EQ(ContentLengthErrorName(ContentLengthError::kSign), "sign");
  EXPECT_EQ(ContentLengthErrorName(ContentLengthError::kList), "list");
  EXPECT_EQ(ContentLengthErrorName(ContentLengthError::kInvalidCharacter), "invalid character");
  EXPECT_EQ(ContentLengthErrorName(ContentLengthError::kOverflow), "overflow");
}

}  // namespace
}  // namespace epollhttp::http
