// fake_transport.h: `FakeTransport`, an in-memory net::Transport for
// connection tests and the connection fuzzer. The test plays the peer: it
// queues bytes and end of stream, limits how much each read returns and how
// much the peer's window takes, resets the connection, and pumps readiness
// callbacks as a level-triggered epoll would. Everything the connection does
// is recorded, including any write after Close() (a bug the tests assert
// against).
//
// Reads take from the front of the queued bytes without moving the rest, and
// Reset() keeps every buffer's capacity, so a fuzzer that reuses one fake
// allocates nothing per input.
//
// Test-only. Thread safety: one thread, the test's (or the fuzzer's).
#ifndef EPOLLHTTP_TESTING_FAKE_TRANSPORT_H_
#define EPOLLHTTP_TESTING_FAKE_TRANSPORT_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

#include "absl/strings/string_view.h"
#include "net/transport.h"

namespace epollhttp::test {

class FakeTransport final : public net::Transport {
 public:
  static constexpr size_t kUnlimited = std::numeric_limits<size_t>::max();

  // Reset() makes the fake as new, keeping its buffers' capacity.
  void Reset();

  // --- The peer.
  // PeerSend() queues bytes for the connection to read.
  void PeerSend(absl::string_view bytes);
  // PeerClose() ends the peer's stream after the queued bytes (a FIN).
  void PeerClose() { peer_closed_ = true; }
  // PeerReset() makes every later operation fail with ECONNRESET.
  void PeerReset() { reset_ = true; }
  // set_read_limit() caps what one Read() or Discard() returns.
  void set_read_limit(size_t n) { read_limit_ = n == 0 ? 1 : n; }
  // set_write_limit() caps what one Write() takes; set_window() is how many
  // bytes the peer takes in all before writes would block (kUnlimited: no
  // limit). OpenWindow() lets it take `n` more.
  void set_write_limit(size_t n) { write_limit_ = n == 0 ? 1 : n; }
  void set_window(size_t n) { window_ = n; }
  void OpenWindow(size_t n) { window_ = window_ == kUnlimited ? kUnlimited : window_ + n; }
  // TakeWritten() returns and forgets what the connection has written;
  // MoveWrittenTo() appends it to `*out` instead (keeping this buffer).
  std::string TakeWritten();
  void MoveWrittenTo(std::string* out);
  // Pump() runs the readiness callback while a watched condition holds, at
  // most `max_calls` times; returns how many times it ran. A result equal to
  // `max_calls` means the connection spins without making progress.
  int Pump(int max_calls = 10'000);

  // --- What the connection did.
  [[nodiscard]] bool closed() const { return closed_; }
  [[nodiscard]] bool write_shut() const { return write_shut_; }
  [[nodiscard]] bool nodelay() const { return nodelay_; }
  [[nodiscard]] uint32_t events() const { return events_; }
  [[nodiscard]] bool watching() const { return watching_; }
  [[nodiscard]] size_t unread() const { return inbox_.size() - inbox_read_; }
  [[nodiscard]] int64_t bytes_read() const { return bytes_read_; }
  [[nodiscard]] int64_t bytes_discarded() const { return bytes_discarded_; }
  [[nodiscard]] int64_t reads() const { return reads_; }
  [[nodiscard]] int64_t writes() const { return writes_; }
  // splices() counts Splice() calls that moved bytes.
  [[nodiscard]] int64_t spliced() const { return spliced_; }
  // after_close() counts reads, writes and other calls made after Close().
  [[nodiscard]] int64_t after_close() const { return after_close_; }
  // writes_after_shutdown() counts writes after ShutdownWrite().
  [[nodiscard]] int64_t writes_after_shutdown() const { return writes_after_shutdown_; }
  // fin_writes() counts writes made with Push::kWithFin. held_waits()
  // counts the times the connection asked to read (EPOLLIN), or was back in
  // its loop watching for it (at a Pump()), while bytes written with
  // kWithFin still waited for a FIN that had not been sent: a real socket
  // would hold them back, and the peer would wait for them.
  [[nodiscard]] int64_t fin_writes() const { return fin_writes_; }
  [[nodiscard]] int64_t held_waits() const { return held_waits_; }

  // ReadyEvents() is what a level-triggered epoll would report now.
  [[nodiscard]] uint32_t ReadyEvents() const;

  // --- net::Transport.
  ssize_t Read(absl::Span<char> buffer, int* error) override;
  ssize_t Discard(size_t n, int* error) override;
  ssize_t Write(absl::string_view data, net::Push push, int* error) override;
  [[nodiscard]] bool splices() const override { return true; }
  ssize_t Splice(int pipe_fd, size_t count, int* error) override;
  void ShutdownWrite() override;
  void SetNoDelay() override { nodelay_ = true; }
  bool Watch(uint32_t events, ReadyCallback callback) override;
  bool SetEvents(uint32_t events) override;
  void Close() override;
  [[nodiscard]] std::string PeerName() const override { return "192.0.2.1:4321"; }

 private:
  // Take() serves a read or discard of up to `n` bytes.
  ssize_t Take(size_t n, char* out, int* error);
  // NoteEvents() counts a wait for input while written bytes are held.
  void NoteEvents(uint32_t events);

  std::string inbox_;
  size_t inbox_read_ = 0;  // Bytes of inbox_ already read.
  std::string written_;
  size_t read_limit_ = kUnlimited;
  size_t write_limit_ = kUnlimited;
  size_t window_ = kUnlimited;
  bool peer_closed_ = false;
  bool reset_ = false;
  bool closed_ = false;
  bool write_shut_ = false;
  bool held_ = false;  // Bytes written with Push::kWithFin wait for the FIN.
  bool nodelay_ = false;
  bool watching_ = false;
  uint32_t events_ = 0;
  ReadyCallback callback_;
  int64_t bytes_read_ = 0;
  int64_t bytes_discarded_ = 0;
  int64_t reads_ = 0;
  int64_t writes_ = 0;
  int64_t spliced_ = 0;
  int64_t after_close_ = 0;
  int64_t writes_after_shutdown_ = 0;
  int64_t fin_writes_ = 0;
  int64_t held_waits_ = 0;
};

}  // namespace epollhttp::test

#endif  // EPOLLHTTP_TESTING_FAKE_TRANSPORT_H_
