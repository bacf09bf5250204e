// differential_test.cc: epollhttp's request parser against two independent
// parsers, llhttp 8.1 (in process) and h11 0.14 (h11_verdict.py), on a few
// thousand generated requests (cases.h). Every disagreement must be one the
// table in known_differences.h explains; the counts are printed.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "testing/differential/cases.h"
#include "testing/differential/known_differences.h"
#include "testing/differential/verdict.h"
#include "testing/server_process.h"

namespace epollhttp::test {
namespace {

constexpr int kMutants = 3000;
// The generator's seed; DIFFERENTIAL_SEED=N explores others by hand.
const uint32_t kSeed =
    std::getenv("DIFFERENTIAL_SEED") != nullptr
        ? static_cast<uint32_t>(std::strtoul(std::getenv("DIFFERENTIAL_SEED"), nullptr, 10))
        : 20261130;
// Unexplained differences shown in the log (all of them are counted).
const size_t kShown = std::getenv("DIFFERENTIAL_SHOW_ALL") != nullptr ? SIZE_MAX : 40;

// H11Verdicts() runs h11_verdict.py over `cases`; empty on failure.
std::vector<Verdict> H11Verdicts(const std::vector<std::string>& cases) {
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::string path = absl::StrCat(dir == nullptr ? "/tmp" : dir, "/cases.bin");
  {
    std::ofstream out(path, std::ios::binary);
    for (const std::string& c : cases) {
      const uint32_t size = static_cast<uint32_t>(c.size());
      const char header[4] = {static_cast<char>(size >> 24), static_cast<char>(size >> 16),
                              static_cast<char>(size >> 8), static_cast<char>(size)};
      out.write(header, 4);
      out.write(c.data(), static_cast<std::streamsize>(c.size()));
    }
  }
  int exit_code = -1;
  const std::string output =
      RunCommand(absl::StrCat("/usr/bin/python3 ",
                              RunfilePath("testing/differential/h11_verdict.py"), " ", path),
                 &exit_code);
  std::vector<Verdict> verdicts;
  if (exit_code != 0) return verdicts;
  for (const absl::string_view line : absl::StrSplit(output, '\n', absl::SkipEmpty())) {
    Verdict v;
    if (!ParseVerdict(line, &v)) return {};
    verdicts.push_back(v);
  }
  return verdicts;
}

TEST(DifferentialTest, AgreesWithLlhttpAndH11OrTheDifferenceIsListed) {
  const std::vector<std::string> cases = GenerateCases(kMutants, kSeed);
  const std::vector<Verdict> h11 = H11Verdicts(cases);
  ASSERT_EQ(h11.size(), cases.size()) << "h11_verdict.py failed (is python3-h11 installed?)";
  std::map<std::string, int> listed;
  int agree_llhttp = 0, agree_h11 = 0;
  std::vector<std::string> unexplained;
  for (size_t i = 0; i < cases.size(); ++i) {
    const Verdict ours = OursVerdict(cases[i]);
    const Verdict peers[] = {LlhttpVerdict(cases[i]), h11[i]};
    for (const Peer peer : {Peer::kLlhttp, Peer::kH11}) {
      const Verdict& theirs = peers[peer == Peer::kLlhttp ? 0 : 1];
      const char* name = peer == Peer::kLlhttp ? "llhttp" : "h11";
      if (ours.Same(theirs)) {
        ++(peer == Peer::kLlhttp ? agree_llhttp : agree_h11);
        continue;
      }
      if (const KnownDifference* rule = Explain(peer, cases[i], ours, theirs); rule != nullptr) {
        ++listed[absl::StrCat(name, " ", rule->id)];
        continue;
      }
      unexplained.push_back(absl::StrCat("case ", i, " \"", Escape(cases[i]), "\"\n  ours:   ",
                                         ours.ToString(), "\n  ", name, ": ", theirs.ToString()));
    }
  }
  std::printf("differential: %zu cases (seed %u); llhttp agrees on %d, h11 on %d\n", cases.size(),
              kSeed, agree_llhttp, agree_h11);
  for (const auto& [rule, count] : listed)
    std::printf("  listed difference %-44s %d\n", rule.c_str(), count);
  std::printf("  unexplained: %zu\n", unexplained.size());
  for (size_t i = 0; i < unexplained.size() && i < kShown; ++i) {
    std::printf("%s\n", unexplained[i].c_str());
  }
  EXPECT_TRUE(unexplained.empty()) << unexplained.size() << " unexplained differences";
}

}  // namespace
}  // namespace epollhttp::test
