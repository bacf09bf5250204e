#include "base/cli_flags.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "gtest/gtest.h"

ABSL_FLAG(int32_t, test_count, 1, "test flag");
ABSL_FLAG(bool, test_switch, false, "test flag");
ABSL_FLAG(std::string, test_name, "", "test flag");
ABSL_FLAG(std::vector<std::string>, test_item, {}, "test flag (repeatable)");

namespace epollhttp {
namespace {

// Parse() runs ParseFlags over `args` (argv[0] added).
bool Parse(std::vector<std::string> args, std::map<std::string, std::vector<std::string>>* repeated,
           std::string* error) {
  args.insert(args.begin(), "prog");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return ParseFlags(static_cast<int>(argv.size()), argv.data(), {"test_item"}, repeated, error);
}

TEST(CliFlagsTest, AcceptsEveryFlagSpelling) {
  std::map<std::string, std::vector<std::string>> repeated;
  std::string error;
  ASSERT_TRUE(Parse({"--test_count=3", "--test_switch", "-test_name", "x y", "--test_item=a, b",
                     "--test_item", "c"},
                    &repeated, &error))
      << error;
  EXPECT_EQ(absl::GetFlag(FLAGS_test_count), 3);
  EXPECT_TRUE(absl::GetFlag(FLAGS_test_switch));
  EXPECT_EQ(absl::GetFlag(FLAGS_test_name), "x y");
  EXPECT_EQ(repeated["test_item"], (std::vector<std::string>{"a, b", "c"}));
  ASSERT_TRUE(Parse({"--notest_switch", "--"}, &repeated, &error)) << error;
  EXPECT_FALSE(absl::GetFlag(FLAGS_test_switch));
}

TEST(CliFlagsTest, MistakesAreOneLineErrors) {
  std::map<std::string, std::vector<std::string>> repeated;
  for (const auto& [args, message] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"--no_such_flag"}, "unknown flag --no_such_flag (see --help)"},
           {{"--test_count=abc"},
            "--test_count: Illegal value 'abc' specified for flag 'test_count'"},
           {{"--test_count"}, "--test_count needs a value"},
           {{"stray"}, "unexpected argument \"stray\" (flags look like --name=value)"},
           {{"--", "stray"}, "unexpected argument \"stray\""},
       }) {
    std::string error;
    EXPECT_FALSE(Parse(args, &repeated, &error)) << args[0];
    EXPECT_EQ(error, message);
  }
}

}  // namespace
}  // namespace epollhttp
