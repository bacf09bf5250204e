// hdr_codec.h: HdrHistogram's standard compressed encoding (V2), the
// "HISTFAA..." base64 strings that the Java, C, Go, Python and JavaScript
// HdrHistogram libraries read and write, for loadgen's Histogram.
//
// The encoding, big-endian throughout:
//   int32 cookie 0x1c849314 | int32 length N | N bytes of zlib (deflate) of:
//     int32 cookie 0x1c849313 | int32 payload length | int32 normalizing
//     index offset (0) | int32 significant digits | int64 lowest
//     discernible value | int64 highest trackable value | float64
//     integer-to-double ratio (1.0) | payload
//   payload: the counts from index 0 through the highest non-zero one, each
//   a ZigZag LEB128-64b9B varint; a run of k > 1 zero counts is written as
//   the single value -k.
// loadgen's histogram is an HdrHistogram with lowest discernible value 1,
// highest trackable value Histogram::kMaxValue and 3 significant digits, so
// its counts array is the standard one and encodes as is.
//
// Thread safety: functions only; no shared state.
#ifndef EPOLLHTTP_LOADGEN_HDR_CODEC_H_
#define EPOLLHTTP_LOADGEN_HDR_CODEC_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace epollhttp::loadgen {

// The parameters and counts an encoding carries.
struct HdrCounts {
  int32_t significant_digits = 3;
  int64_t lowest_discernible = 1;
  int64_t highest_trackable = 0;
  std::vector<int64_t> counts;  // Index i as in HdrHistogram's counts array.
};

// EncodeHdr() is `histogram`'s compressed V2 encoding in base64.
std::string EncodeHdr(const HdrCounts& histogram);

// DecodeHdr() reads a base64 compressed V2 encoding (uncompressed V2 is
// accepted too). Fails (InvalidArgument, saying what is wrong) on bad
// base64, an unknown cookie, a corrupt deflate stream, a truncated payload,
// negative counts, or a payload longer than the histogram's range.
absl::StatusOr<HdrCounts> DecodeHdr(absl::string_view base64);

}  // namespace epollhttp::loadgen

#endif  // EPOLLHTTP_LOADGEN_HDR_CODEC_H_
