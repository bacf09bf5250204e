#include "server/access_log.h"

#include <unistd.h>

#include <array>
#include <cerrno>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace epollhttp {
namespace {

constexpr size_t kFlushBytes = 16 * 1024;

std::mutex& WriteMutex() {
  static std::mutex* mutex = new std::mutex;
  return *mutex;
}

// kEscape[c] is whether byte c is logged as \xHH: control bytes, DEL and
// above, '"' and '\'.
constexpr std::array<bool, 256> kEscape = [] {
  std::array<bool, 256> table{};
  for (int c = 0; c < 256; ++c) table[c] = c < 0x20 || c >= 0x7f || c == '"' || c == '\\';
  return table;
}();

// AppendEscaped() appends `text` (at most kMaxLoggedTarget bytes of it, then
// "...") with escapes, in runs: plain bytes are copied a run at a time.
void AppendEscaped(std::string* out, absl::string_view text) {
  constexpr char kHex[] = "0123456789ABCDEF";
  const bool cut = text.size() > kMaxLoggedTarget;
  if (cut) text = text.substr(0, kMaxLoggedTarget);
  size_t run = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const unsigned char u = static_cast<unsigned char>(text[i]);
    if (!kEscape[u]) continue;
    out->append(text.data() + run, i - run);
    const char escaped[4] = {'\\', 'x', kHex[u >> 4], kHex[u & 15]};
    out->append(escaped, 4);
    run = i + 1;
  }
  out->append(text.data() + run, text.size() - run);
  if (cut) out->append("...");
}

}  // namespace

void AccessLog::Append(absl::string_view peer, absl::string_view method, absl::string_view target,
                       absl::string_view version, int status, int64_t body_bytes,
                       std::chrono::steady_clock::duration duration) {
  const double ms = std::chrono::duration<double, std::milli>(duration).count();
  absl::StrAppend(&buffer_,
                  absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()), " ",
                  peer, " \"");
  if (method.empty()) {
    buffer_ += "-";  // No parsed request line (e.g. a 400 for a malformed one).
  } else {
    absl::StrAppend(&buffer_, method, " ");
    AppendEscaped(&buffer_, target);
    absl::StrAppend(&buffer_, " ", version);
  }
  absl::StrAppend(&buffer_, "\" ", status, " ", body_bytes, " ", absl::StrFormat("%.3fms", ms),
                  "\n");
  if (buffer_.size() >= kFlushBytes) Flush();
}

void AccessLog::Flush() {
  if (buffer_.empty()) return;
  {
    std::lock_guard<std::mutex> lock(WriteMutex());
    absl::string_view rest = buffer_;
    while (!rest.empty()) {
      const ssize_t n = ::write(fd_, rest.data(), rest.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      rest.remove_prefix(static_cast<size_t>(n));
    }
  }
  buffer_.clear();
}

}  // namespace epollhttp
