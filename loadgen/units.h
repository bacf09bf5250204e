// units.h: the sizes and rates loadgen's flags take, e.g. --body_sizes 3.7M
// and --client_upload_rate 2Mbit.
//
// Sizes are bytes with an optional SI or binary suffix: k/K (1000),
// M (1e6), G (1e9), Ki (1024), Mi, Gi, and an optional trailing B ("3.7MB").
// Rates are bits per second (bit, kbit, Mbit, Gbit) or bytes per second
// (B, kB, MB, GB), optionally followed by "/s": "2Mbit" is 250,000 bytes
// per second. Prefixes are decimal, as network rates are. Unit names are
// case-insensitive except that "b" alone means bits only after a prefix
// spelled out as "bit".
//
// Thread safety: pure functions; safe from any thread.
#ifndef EPOLLHTTP_LOADGEN_UNITS_H_
#define EPOLLHTTP_LOADGEN_UNITS_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace epollhttp::loadgen {

// ParseSize() is a size in bytes (0 .. 1e15, rounded to a whole byte);
// InvalidArgument otherwise.
absl::StatusOr<int64_t> ParseSize(absl::string_view text);

// ParseByteRate() is a rate in bytes per second (> 0, at most 1e12);
// InvalidArgument otherwise.
absl::StatusOr<double> ParseByteRate(absl::string_view text);

}  // namespace epollhttp::loadgen

#endif  // EPOLLHTTP_LOADGEN_UNITS_H_
