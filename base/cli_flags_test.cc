#include "base/cli_flags.h"

#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/version.h"
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
  return ParseFlags({"prog", "base/"}, static_cast<int>(argv.size()), argv.data(), {"test_item"},
                    repeated, error);
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

TEST(CliFlagsTest, HelpListsTheProgramsFlagsWithTheirHelpAndDefaults) {
  absl::SetProgramUsageMessage("prog: does things.");
  const std::string help = HelpText("base/");
  EXPECT_TRUE(absl::StartsWith(help, "prog: does things.\n")) << help;
  EXPECT_NE(help.find("--test_count  test flag (default: \"1\")"), std::string::npos) << help;
  EXPECT_NE(help.find("--version"), std::string::npos);
  // Flags defined under another prefix are left out; the full list has all.
  EXPECT_EQ(HelpText("server/").find("--test_count"), std::string::npos);
  EXPECT_NE(HelpText("").find("--test_count"), std::string::npos);
}

TEST(CliFlagsTest, VersionLineNamesTheProgramVersionAndCommit) {
  const std::string line = VersionLine("prog");
  EXPECT_TRUE(absl::StartsWith(line, absl::StrCat("prog ", kProjectVersion, " (commit ")));
  EXPECT_TRUE(absl::EndsWith(line, ")"));
  EXPECT_FALSE(BuildCommit().empty());
}

TEST(CliFlagsTest, UserPathsResolveAgainstTheDirectoryBazelRunRanIn) {
  ::unsetenv("BUILD_WORKING_DIRECTORY");
  EXPECT_EQ(ResolveUserPath("out.json"), "out.json");
  ::setenv("BUILD_WORKING_DIRECTORY", "/home/me/work", 1);
  EXPECT_EQ(ResolveUserPath("out.json"), "/home/me/work/out.json");
  EXPECT_EQ(ResolveUserPath("sub/out.json"), "/home/me/work/sub/out.json");
  EXPECT_EQ(ResolveUserPath("/tmp/out.json"), "/tmp/out.json");
  EXPECT_EQ(ResolveUserPath("-"), "-");
  EXPECT_EQ(ResolveUserPath(""), "");
  ::unsetenv("BUILD_WORKING_DIRECTORY");
}

}  // namespace
}  // namespace epollhttp
