#include "loadgen/hdr_codec.h"

#include <zlib.h>

#include <cmath>
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace epollhttp::loadgen {
namespace {

constexpr uint32_t kV2Cookie = 0x1c849303 | 0x10;
constexpr uint32_t kV2CompressedCookie = 0x1c849304 | 0x10;
constexpr size_t kHeaderBytes = 40;
// No histogram this decoder accepts has more counts than this (a 1 ns to
// 100-year range at 5 digits has ~1.2 M); it bounds what inflating may take.
constexpr size_t kMaxCounts = size_t{1} << 22;

void PutBig(std::string* out, uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>(value >> (8 * i)));
}

uint64_t GetBig(absl::string_view in, size_t at, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value = value << 8 | static_cast<unsigned char>(in[at + i]);
  return value;
}

// ZigZag LEB128-64b9B: 7 bits per byte for the first 8 bytes, then all 8
// bits of a 9th.
void PutVarint(std::string* out, int64_t value) {
  uint64_t z = (static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63);
  for (int i = 0; i < 8; ++i) {
    if (z < 0x80) {
      out->push_back(static_cast<char>(z));
      return;
    }
    out->push_back(static_cast<char>((z & 0x7f) | 0x80));
    z >>= 7;
  }
  out->push_back(static_cast<char>(z));
}

// GetVarint() reads one varint at `*at`; false if the input ends inside it.
bool GetVarint(absl::string_view in, size_t* at, int64_t* value) {
  uint64_t z = 0;
  for (int i = 0; i < 9; ++i) {
    if (*at >= in.size()) return false;
    const uint64_t b = static_cast<unsigned char>(in[(*at)++]);
    if (i == 8) {
      z |= b << 56;
      break;
    }
    z |= (b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) break;
  }
  *value = static_cast<int64_t>((z >> 1) ^ (~(z & 1) + 1));
  return true;
}

// CountsLength() is the length of HdrHistogram's counts array for these
// parameters, or 0 if they are out of range.
size_t CountsLength(int digits, int64_t lowest, int64_t highest) {
  if (digits < 0 || digits > 5 || lowest < 1 || highest < 2 * lowest) return 0;
  const int64_t largest_single_unit = 2 * static_cast<int64_t>(std::pow(10, digits));
  int sub_bucket_bits = 0;
  while ((int64_t{1} << sub_bucket_bits) < largest_single_unit) ++sub_bucket_bits;
  const int unit_magnitude = 63 - __builtin_clzll(static_cast<uint64_t>(lowest));
  if (unit_magnitude + sub_bucket_bits > 62) return 0;
  int64_t smallest_untrackable = int64_t{1} << (sub_bucket_bits + unit_magnitude);
  int buckets = 1;
  while (smallest_untrackable <= highest) {
    if (smallest_untrackable > INT64_MAX / 2) {
      ++buckets;
      break;
    }
    smallest_untrackable <<= 1;
    ++buckets;
  }
  return static_cast<size_t>(buckets + 1) << (sub_bucket_bits - 1);
}

absl::Status Invalid(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("bad HdrHistogram encoding: ", why));
}

absl::StatusOr<std::string> Inflate(absl::string_view in) {
  z_stream stream{};
  if (inflateInit(&stream) != Z_OK) return Invalid("zlib cannot start");
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  stream.avail_in = static_cast<uInt>(in.size());
  std::string out;
  int result = Z_OK;
  while (result == Z_OK) {
    if (out.size() > kHeaderBytes + 9 * kMaxCounts) break;
    const size_t before = out.size();
    out.resize(before + 64 * 1024);
    stream.next_out = reinterpret_cast<Bytef*>(&out[before]);
    stream.avail_out = 64 * 1024;
    result = inflate(&stream, Z_NO_FLUSH);
    out.resize(before + 64 * 1024 - stream.avail_out);
  }
  inflateEnd(&stream);
  if (result != Z_STREAM_END) return Invalid("the deflate stream is corrupt or too long");
  return out;
}

absl::StatusOr<HdrCounts> DecodeUncompressed(absl::string_view in) {
  if (in.size() < kHeaderBytes) return Invalid("shorter than its header");
  if (GetBig(in, 0, 4) != kV2Cookie) return Invalid("not a V2 encoding (unknown cookie)");
  const uint64_t payload = GetBig(in, 4, 4);
  if (GetBig(in, 8, 4) != 0) return Invalid("a normalizing index offset is not supported");
  HdrCounts h;
  h.significant_digits = static_cast<int32_t>(GetBig(in, 12, 4));
  h.lowest_discernible = static_cast<int64_t>(GetBig(in, 16, 8));
  h.highest_trackable = static_cast<int64_t>(GetBig(in, 24, 8));
  const size_t length =
      CountsLength(h.significant_digits, h.lowest_discernible, h.highest_trackable);
  if (length == 0) return Invalid("its range or precision is out of bounds");
  if (payload > in.size() - kHeaderBytes) return Invalid("the payload is truncated");
  const absl::string_view body = in.substr(kHeaderBytes, payload);
  size_t at = 0;
  while (at < body.size()) {
    int64_t value;
    if (!GetVarint(body, &at, &value)) return Invalid("the payload ends inside a count");
    const int64_t zeros = value < 0 ? -value : 0;
    const size_t added = value < 0 ? static_cast<size_t>(zeros) : 1;
    if (value < 0 && zeros > static_cast<int64_t>(length)) return Invalid("too many counts");
    if (h.counts.size() + added > length) return Invalid("more counts than its range holds");
    if (value < 0) {
      h.counts.resize(h.counts.size() + added, 0);
    } else {
      h.counts.push_back(value);
    }
  }
  return h;
}

}  // namespace

std::string EncodeHdr(const HdrCounts& histogram) {
  size_t end = histogram.counts.size();
  while (end > 0 && histogram.counts[end - 1] == 0) --end;
  std::string payload;
  for (size_t i = 0; i < end;) {
    if (histogram.counts[i] != 0) {
      PutVarint(&payload, histogram.counts[i++]);
      continue;
    }
    size_t zeros = 0;
    while (i < end && histogram.counts[i] == 0) {
      ++zeros;
      ++i;
    }
    PutVarint(&payload, zeros == 1 ? 0 : -static_cast<int64_t>(zeros));
  }
  std::string plain;
  PutBig(&plain, kV2Cookie, 4);
  PutBig(&plain, payload.size(), 4);
  PutBig(&plain, 0, 4);  // Normalizing index offset.
  PutBig(&plain, static_cast<uint32_t>(histogram.significant_digits), 4);
  PutBig(&plain, static_cast<uint64_t>(histogram.lowest_discernible), 8);
  PutBig(&plain, static_cast<uint64_t>(histogram.highest_trackable), 8);
  uint64_t ratio;
  const double one = 1.0;
  std::memcpy(&ratio, &one, sizeof(ratio));
  PutBig(&plain, ratio, 8);
  plain += payload;
  uLongf size = compressBound(static_cast<uLong>(plain.size()));
  std::string deflated(size, '\0');
  compress2(reinterpret_cast<Bytef*>(&deflated[0]), &size,
            reinterpret_cast<const Bytef*>(plain.data()), static_cast<uLong>(plain.size()),
            Z_BEST_COMPRESSION);
  deflated.resize(size);
  std::string out;
  PutBig(&out, kV2CompressedCookie, 4);
  PutBig(&out, deflated.size(), 4);
  out += deflated;
  return absl::Base64Escape(out);
}

absl::StatusOr<HdrCounts> DecodeHdr(absl::string_view base64) {
  std::string bytes;
  if (!absl::Base64Unescape(base64, &bytes)) return Invalid("not base64");
  if (bytes.size() < 8) return Invalid("shorter than its header");
  const uint64_t cookie = GetBig(bytes, 0, 4);
  if (cookie == kV2Cookie) return DecodeUncompressed(bytes);
  if (cookie != kV2CompressedCookie) return Invalid("not a V2 encoding (unknown cookie)");
  const uint64_t length = GetBig(bytes, 4, 4);
  if (length > bytes.size() - 8) return Invalid("the compressed payload is truncated");
  absl::StatusOr<std::string> plain = Inflate(absl::string_view(bytes).substr(8, length));
  if (!plain.ok()) return plain.status();
  return DecodeUncompressed(*plain);
}

}  // namespace epollhttp::loadgen
