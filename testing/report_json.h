// report_json.h: what the loadgen end-to-end tests need to read loadgen's
// output: where the binary is, and a number out of its JSON report, which the
// tests often capture mixed with stderr (so it is found by text, not parsed).
//
// Thread safety: free functions without shared state.
#ifndef EPOLLHTTP_TESTING_REPORT_JSON_H_
#define EPOLLHTTP_TESTING_REPORT_JSON_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace epollhttp::test {

// LoadgenPath() is the `//loadgen` binary in this test's runfiles. The test
// must list `//loadgen` in its `data`.
std::string LoadgenPath();

// JsonNumber() is the integer in the first `"key": <integer>` at or after
// the first occurrence of `after` (from the start if `after` is empty) in
// `text`. Returns -1 if `after` or the key is absent or the value is not an
// integer.
int64_t JsonNumber(absl::string_view text, absl::string_view key, absl::string_view after = "");

}  // namespace epollhttp::test

#endif  // EPOLLHTTP_TESTING_REPORT_JSON_H_
