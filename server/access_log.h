// access_log.h: the optional per-request access log (--access_log), one line
// per response, buffered and written to stderr in whole lines.
//
// Line format (space separated, like nginx's):
//   2026-11-27T07:11:56.123Z 127.0.0.1:54321 "POST /upload HTTP/1.1" 200 3748935 1.234ms
// i.e. time, remote address, request line (target escaped: bytes outside
// printable ASCII, '"' and '\' as \xHH; only its first kMaxLoggedTarget
// bytes, followed by "..." when it is longer), status, request body bytes,
// time from the first byte of the request head to the response. A request
// whose line did not parse is logged as "-".
//
// Thread safety: one AccessLog per loop thread, used only on that thread.
// Flushes from different threads are serialised by a process-wide mutex, so
// lines never interleave.
#ifndef EPOLLHTTP_SERVER_ACCESS_LOG_H_
#define EPOLLHTTP_SERVER_ACCESS_LOG_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace epollhttp {

// The longest request target logged; longer ones are cut and marked "...".
inline constexpr size_t kMaxLoggedTarget = 1024;

class AccessLog {
 public:
  // `fd` is where lines go (stderr by default; tests pass a pipe).
  explicit AccessLog(int fd = 2) : fd_(fd) {}
  ~AccessLog() { Flush(); }
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // Append() buffers one line (an empty `method` logs the request as "-");
  // writes the buffer once it passes 16 KiB.
  void Append(absl::string_view peer, absl::string_view method, absl::string_view target,
              absl::string_view version, int status, int64_t body_bytes,
              std::chrono::steady_clock::duration duration);

  // Flush() writes every buffered line (the server calls it every second and
  // at shutdown). Write errors drop the buffer: logging never stops serving.
  void Flush();

 private:
  int fd_;
  std::string buffer_;
};

}  // namespace epollhttp

#endif  // EPOLLHTTP_SERVER_ACCESS_LOG_H_
