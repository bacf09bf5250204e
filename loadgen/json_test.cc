#include "loadgen/json.h"

#include <string>

#include "gtest/gtest.h"

namespace epollhttp::loadgen {
namespace {

TEST(JsonTest, ReadsEveryKindOfValue) {
  absl::StatusOr<JsonValue> v = ParseJson(
      R"( {"n": -12, "x": 1.5e3, "s": "a\"b\\c\u00e9\ud83d\ude00", "t": true, "f": false,
          "z": null, "a": [1, [2], {}], "o": {"k": "v"}} )");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->Find("n")->Int(), -12);
  EXPECT_EQ(v->Find("x")->Double(), 1500.0);
  EXPECT_FALSE(v->Find("x")->Int().has_value());  // Not an integer.
  EXPECT_EQ(v->Find("s")->String(), "a\"b\\c\xC3\xA9\xF0\x9F\x98\x80");
  EXPECT_TRUE(v->Find("t")->Bool());
  EXPECT_FALSE(v->Find("f")->Bool());
  EXPECT_EQ(v->Find("z")->type(), JsonValue::Type::kNull);
  EXPECT_EQ(v->Find("a")->array().size(), 3u);
  EXPECT_EQ(v->Find("o")->Find("k")->String(), "v");
  EXPECT_EQ(v->Find("missing"), nullptr);
}

TEST(JsonTest, RejectsWhatIsNotJsonWithItsOffset) {
  for (const char* bad : {"", "{", "[1,]", "{\"a\" 1}", "01", "1.", "-", "\"\\x\"", "\"\\ud800\"",
                          "tru", "{} {}", "\"a\nb\"", "[1 2]", "{1: 2}"}) {
    const absl::StatusOr<JsonValue> v = ParseJson(bad);
    EXPECT_FALSE(v.ok()) << bad;
    if (!v.ok()) {
      EXPECT_NE(v.status().message().find("bad JSON at byte "), std::string::npos);
    }
  }
  // Nesting is bounded, not recursive without limit.
  EXPECT_FALSE(ParseJson(std::string(100000, '[')).ok());
  EXPECT_TRUE(ParseJson(std::string(60, '[') + std::string(60, ']')).ok());
}

}  // namespace
}  // namespace epollhttp::loadgen
