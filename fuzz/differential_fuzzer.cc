// differential_fuzzer.cc: epollhttp's request parser against llhttp 8.1 on
// every input. The whole input is what a client sends; both parsers read it
// as a server would (requests one after another, nothing after one that
// closes). Oracle: they agree on the outcome (complete, unfinished,
// rejected), the requests completed and the first request's framing, or the
// difference is one that testing/differential/known_differences.h lists, with
// the RFC clause behind epollhttp's choice. An unlisted difference aborts.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/string_view.h"
#include "testing/differential/known_differences.h"
#include "testing/differential/verdict.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using ::epollhttp::test::Explain;
  using ::epollhttp::test::Peer;
  using ::epollhttp::test::Verdict;
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  const Verdict ours = ::epollhttp::test::OursVerdict(input);
  const Verdict theirs = ::epollhttp::test::LlhttpVerdict(input);
  if (ours.Same(theirs) || Explain(Peer::kLlhttp, input, ours, theirs) != nullptr) return 0;
  std::fprintf(stderr,
               "differential_fuzzer: oracle failed: unlisted difference\n  input:  \"%s\"\n"
               "  ours:   %s\n  llhttp: %s\n",
               ::epollhttp::test::Escape(input).c_str(), ours.ToString().c_str(),
               theirs.ToString().c_str());
  std::abort();
}
