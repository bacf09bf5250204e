// connection_io.h: `ConnectionIo`, the byte side of one client connection:
// reads (or drops in the kernel) what the client sends, queues and writes
// what the server answers, and closes, possibly lingering first. It knows no
// HTTP and no clock: the HTTP session above (connection.h) decides what to
// read, what to write, when, and when to end; this class carries it out and
// keeps the policies that are about bytes alone:
// - TCP_NODELAY from the second write on: Nagle could hold a small write
//   while earlier data is unacknowledged, but the first write has none before
//   it, so a connection-per-request client never pays for the system call;
// - the connection's last bytes are written with Push::kWithFin, so they may
//   leave in one packet with the FIN that follows them;
// - the output queue holds only what the transport did not take; it exists
//   only while it holds bytes (an idle connection holds no buffer); bytes
//   waiting in a pipe may follow the queued ones (QueuePipe()), moved to the
//   client with splice(2);
// - nothing is read while output is queued (readiness asks for EPOLLOUT
//   instead), so TCP flow control pushes back on a client that does not read;
// - a lingering close shuts the write side and reads and drops input, so a
//   client still sending reads the response rather than a reset.
//
// States: kOpen; kInputEnded (the client ended its stream; what is queued is
// still written); kLingering; kClosed (final: no I/O, no callback).
//
// Thread safety: the connection's loop thread only.
#ifndef EPOLLHTTP_SERVER_CONNECTION_IO_H_
#define EPOLLHTTP_SERVER_CONNECTION_IO_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "base/fd.h"
#include "net/buffer.h"
#include "net/transport.h"

namespace epollhttp {

class ConnectionIo {
 public:
  enum class State : uint8_t { kOpen, kInputEnded, kLingering, kClosed };

  // `transport` (not owned) must outlive this object.
  explicit ConnectionIo(net::Transport* transport) : transport_(transport) {}
  ConnectionIo(const ConnectionIo&) = delete;
  ConnectionIo& operator=(const ConnectionIo&) = delete;

  [[nodiscard]] State state() const { return state_; }
  [[nodiscard]] bool closed() const { return state_ == State::kClosed; }
  // InputEnded() records that the client ended its stream (kOpen only).
  void InputEnded() {
    if (state_ == State::kOpen) state_ = State::kInputEnded;
  }

  // --- Input. Results follow Transport::Read(): bytes, 0 at end of stream,
  // or -1 with `*error` (EAGAIN: nothing now). They record whether the
  // transport is now empty (a short read, or EAGAIN).
  ssize_t Read(absl::Span<char> buffer, int* error);
  ssize_t Discard(size_t n, int* error);
  // transport_empty() is true when the last read found nothing more to read.
  [[nodiscard]] bool transport_empty() const { return transport_empty_; }

  // --- Output.
  // Queue() is the output queue, made on first use.
  net::Buffer* Queue();
  // queued() counts the queue's bytes and the pipe's still to send.
  [[nodiscard]] size_t queued() const {
    if (output_ == nullptr) return 0;
    return output_->queue.size() +
           (output_->pipe == nullptr ? 0 : static_cast<size_t>(output_->pipe->left));
  }
  [[nodiscard]] bool has_queue() const {
    return output_ != nullptr && (!output_->queue.empty() || output_->pipe != nullptr);
  }
  // QueuePipe() queues the next `length` bytes waiting in pipe `fd` (its
  // read end), to be written after the bytes queued so far and before any
  // queued later. The connection keeps its own descriptor (a dup), so the
  // caller may close `fd` at once. While a pipe's bytes remain, another call
  // must continue them (the same `fd`, nothing queued in between): -EBUSY
  // otherwise; -ENOSYS where the transport cannot splice (`length` 0 asks
  // only that); -errno if the dup fails.
  int QueuePipe(int fd, int64_t length);
  // Write() writes a prefix of `data` once: bytes written, or -1 with
  // `*error` (EAGAIN: the client takes nothing now; anything else: it is
  // gone, and the caller must close). `last`: no byte will follow these
  // (Push::kWithFin).
  ssize_t Write(absl::string_view data, bool last, int* error);
  // Flush() writes the queue until it is empty or the transport would
  // block; the emptied queue is freed. Returns the bytes written, or -1 with
  // `*error` on a write error other than EAGAIN.
  ssize_t Flush(bool last, int* error);

  // --- Ending.
  // StartLingering() shuts the write side (the client reads end of stream
  // after the response) and from now on reads only to drop: Read() still
  // works, the caller drops what it returns.
  void StartLingering();
  // Close() closes the transport; nothing is called on it afterwards.
  void Close();

  // --- Readiness.
  // Watch() starts readiness reports for WantedEvents(`want_read`); false if
  // that fails. Update() changes them (after Watch(); false if that fails).
  bool Watch(net::Transport::ReadyCallback callback, bool want_read);
  bool Update(bool want_read);
  [[nodiscard]] bool watching() const { return watching_; }
  // WantedEvents() is EPOLLOUT while output is queued (nothing is read
  // then), else EPOLLIN | EPOLLRDHUP if `want_read` (always while
  // lingering), else none: EPOLLHUP and EPOLLERR are reported anyway, so a
  // reset is still seen.
  [[nodiscard]] uint32_t WantedEvents(bool want_read) const;

  // PeerName() is the client's "address:port", or "?".
  [[nodiscard]] std::string PeerName() const { return transport_->PeerName(); }

  // buffer_bytes() is the heap bytes the output queue holds.
  [[nodiscard]] size_t buffer_bytes() const {
    return output_ == nullptr ? 0 : output_->queue.capacity();
  }

 private:
  // A pipe's bytes to send after the first `before` bytes of the queue.
  struct PipeBytes {
    Fd fd;       // The connection's own descriptor.
    int source;  // The caller's, to recognise a continuation.
    int64_t left;
    size_t before;
  };

  // What waits to be written: the queue, and a pipe's bytes while any
  // remain. One pointer, so an idle connection stays small.
  struct Output {
    net::Buffer queue;
    std::unique_ptr<PipeBytes> pipe;
  };

  net::Transport* transport_;
  std::unique_ptr<Output> output_;  // Only while it holds bytes.
  State state_ = State::kOpen;
  uint8_t writes_ = 0;  // 0, 1: writes so far; 2: TCP_NODELAY is set.
  bool transport_empty_ = false;
  bool watching_ = false;
  uint32_t events_ = 0;  // The events watched now: Update() calls the transport only on a change.
};

}  // namespace epollhttp

#endif  // EPOLLHTTP_SERVER_CONNECTION_IO_H_
