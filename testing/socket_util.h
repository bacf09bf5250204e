// socket_util.h: blocking loopback client helpers for server tests.
//
// Test-only. Functions return empty/invalid results on failure and never
// abort, so the calling test reports the failure with its own context.
#ifndef EPOLLHTTP_TESTING_SOCKET_UTIL_H_
#define EPOLLHTTP_TESTING_SOCKET_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "base/fd.h"

namespace epollhttp::test {

// ConnectLoopback() returns a blocking socket connected to 127.0.0.1:`port`
// with a 10 s receive timeout (so a broken server fails a test instead of
// hanging it), or an invalid Fd. A positive `receive_buffer` sets SO_RCVBUF
// and a positive `send_buffer` SO_SNDBUF (the kernel doubles each and applies
// its minimum), before connecting so the advertised window is small from the
// start.
Fd ConnectLoopback(uint16_t port, int receive_buffer = 0, int send_buffer = 0);

// SendAll() writes all of `bytes`; false on error.
bool SendAll(int fd, absl::string_view bytes);

struct Response {
  int status = 0;    // 0: no complete response could be read.
  std::string head;  // Status line and fields, CRLFCRLF included.
  std::string body;
};

// ReadResponse() reads one response framed by Content-Length (absent: no
// body) from `fd`, keeping bytes after it in `*leftover` for the next call.
// Each recv() asks for at most `read_size` bytes (capped at 4096), so a test
// can be a slow reader.
Response ReadResponse(int fd, std::string* leftover, size_t read_size = 4096);

// HeaderValue() returns the value of field `name` in `head` (exact case), or "".
std::string HeaderValue(const std::string& head, absl::string_view name);

// ScrapeMetrics() makes GET /metrics on a fresh connection to `port` and
// returns the body ("" on failure).
std::string ScrapeMetrics(uint16_t port);

// MetricValue() is the value of the sample line `name` (e.g.
// `epollhttp_timeouts_total{kind="header"}`) in a /metrics body, or -1.
int64_t MetricValue(const std::string& body, absl::string_view name);

// ScrapeUntil() scrapes /metrics on `port` until sample `name` equals
// `value` or 20 s pass; returns the last value seen.
int64_t ScrapeUntil(uint16_t port, absl::string_view name, int64_t value);

// ReadToEof() reads until the peer closes; returns the bytes, or sets
// `*reset` when the connection was reset instead.
std::string ReadToEof(int fd, bool* reset);

}  // namespace epollhttp::test

#endif  // EPOLLHTTP_TESTING_SOCKET_UTIL_H_
