// phases.h: the phases of one HTTP request as loadgen times them, and the
// marks a client sets as a request passes through them.
//
// A request's phases, in order:
//   connect  DNS lookup (loadgen resolves once, before the clock starts, so
//            in practice the TCP connect) on a new connection;
//   tls      the TLS handshake on a new https connection;
//   send     first byte of the request head written to last body byte
//            written (with Expect: 100-continue this includes waiting for
//            the 100);
//   wait     last byte written to the first response byte read (the
//            server's time, plus the network);
//   receive  first response byte to the end of the response.
// A keep-alive request that reuses its connection has no connect or tls
// phase. Each phase is measured in microseconds on the steady clock.
//
// Thread safety: a PhaseMarks belongs to the one client (fiber) timing its
// requests.
#ifndef EPOLLHTTP_LOADGEN_PHASES_H_
#define EPOLLHTTP_LOADGEN_PHASES_H_

#include <array>
#include <chrono>
#include <cstdint>

namespace epollhttp::loadgen {

enum class Phase : uint8_t { kConnect, kTls, kSend, kWait, kReceive };
inline constexpr int kPhases = 5;
// Each phase's key in the JSON report and in --slo terms (p50_wait), and its
// label in the text and HTML reports, indexed by Phase.
inline constexpr const char* kPhaseKeys[kPhases] = {"connect", "tls", "send", "wait", "receive"};
inline constexpr const char* kPhaseLabels[kPhases] = {"DNS/connect", "TLS handshake", "send",
                                                      "wait", "receive"};

// PhaseMarks records the instants one request passed. The client calls
// Start() before the request, the marks as its connection and stream get
// there, and Durations() once the response is complete. Marks never fail;
// marks out of order (a read before any write) leave the phases they bound
// unmeasured rather than negative.
class PhaseMarks {
 public:
  using Clock = std::chrono::steady_clock;
  using Time = Clock::time_point;

  // Start() forgets the previous request's marks.
  void Start() { *this = PhaseMarks(); }

  void ConnectStarted(Time t) { connect_start_ = t; }
  void ConnectDone(Time t) { connect_end_ = t; }
  void TlsStarted(Time t) { tls_start_ = t; }
  void TlsDone(Time t) { tls_end_ = t; }

  // sending() is whether a request byte has been written yet; the stream
  // calls SendStarted() before its first write and Wrote() after each.
  [[nodiscard]] bool sending() const { return send_start_ != Time(); }
  void SendStarted(Time t) { send_start_ = t; }
  // Wrote() marks the end of a write: the last one ends the send phase. A
  // response byte read before a later write (a 100 Continue) does not start
  // the response, so a write forgets it.
  void Wrote(Time t) {
    send_end_ = t;
    first_byte_ = Time();
  }
  // needs_first_byte() is whether Read() would record anything: the stream
  // skips reading the clock otherwise.
  [[nodiscard]] bool needs_first_byte() const { return first_byte_ == Time(); }
  // Read() marks a read that returned response bytes; the first after the
  // last write starts the receive phase.
  void Read(Time t) {
    if (first_byte_ == Time()) first_byte_ = t;
  }
  // sent_at() is when the last write ended (Time() if nothing was written).
  [[nodiscard]] Time sent_at() const { return send_end_; }

  // Durations() is each phase's length in microseconds, for a response that
  // was complete at `end`; -1 for a phase this request did not go through
  // (or whose marks are missing or out of order).
  [[nodiscard]] std::array<int64_t, kPhases> Durations(Time end) const;

 private:
  Time connect_start_, connect_end_;
  Time tls_start_, tls_end_;
  Time send_start_, send_end_;
  Time first_byte_;
};

}  // namespace epollhttp::loadgen

#endif  // EPOLLHTTP_LOADGEN_PHASES_H_
