// cases.h: the differential test's inputs: well-formed seed requests and
// mutants made from them at structural positions (line ends, spaces, colons,
// semicolons, quotes, digits, header-name case, duplicate and conflicting
// framing headers, obs-fold, chunk sizes and extensions). Deterministic: the
// same seed gives the same cases.
//
// Test-only. Thread safety: stateless functions.
#ifndef EPOLLHTTP_TESTING_DIFFERENTIAL_CASES_H_
#define EPOLLHTTP_TESTING_DIFFERENTIAL_CASES_H_

#include <cstdint>
#include <string>
#include <vector>

namespace epollhttp::test {

// Seeds() is the unmutated requests (each valid for all three parsers).
const std::vector<std::string>& Seeds();

// GenerateCases() returns the seeds followed by `count` mutants, made with a
// pseudo-random generator seeded with `seed`.
std::vector<std::string> GenerateCases(int count, uint32_t seed);

}  // namespace epollhttp::test

#endif  // EPOLLHTTP_TESTING_DIFFERENTIAL_CASES_H_
