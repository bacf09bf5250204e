#include "server/connection.h"

#include <sys/epoll.h>

#include <cerrno>

#include "base/check.h"

namespace epollhttp {
namespace {

using Clock = net::EventLoop::Clock;

// A buffered partial head takes new bytes this many at a time.
constexpr size_t kHeadPiece = 2048;

// The longest body-rate allowance computed; beyond it the rate never binds.
constexpr std::chrono::hours kLongestAllowance(24 * 365);

}  // namespace

net::Buffer* SessionSink::Output() { return connection_->Output(); }
size_t SessionSink::QueuedOutput() const { return connection_->QueuedOutput(); }
int SessionSink::QueuePipe(int fd, int64_t length) { return connection_->QueuePipe(fd, length); }
void SessionSink::Wake() { connection_->Wake(); }
net::EventLoop* SessionSink::loop() const { return connection_->context_->loop; }

std::unique_ptr<ConnectionWork> ConnectionWorkPool::Take(const ConnectionContext& context) {
  if (free_.empty()) return std::make_unique<ConnectionWork>(context);
  std::unique_ptr<ConnectionWork> work = std::move(free_.back());
  free_.pop_back();
  return work;
}

void ConnectionWorkPool::Give(std::unique_ptr<ConnectionWork> work) {
  if (free_.size() >= keep_) return;  // `work` is freed here.
  work->codec.Reset(nullptr);
  work->sink.set_connection(nullptr);
  // A kept input buffer is at most Buffer's small size.
  if (work->input.capacity() > kHeadPiece * 2) {
    work->input.Release();
  } else if (!work->input.empty()) {
    work->input.Consume(work->input.size());
  }
  free_.push_back(std::move(work));
}

Connection::Connection(const ConnectionContext* context, net::Transport* transport)
    : context_(context), io_(transport), timer_(context->loop, [this] { OnTimer(); }) {
  static_assert(kResponsesPerEvent <= INT16_MAX, "responses_left_ is an int16_t");
  if (context_->observer != nullptr) context_->observer->OnAccepted();
}

Connection::~Connection() {
  if (work_ == nullptr) return;
  if (work_->codec.stream_active()) work_->codec.Abort(http::AbortReason::kShutdown);
  context_->pool->Give(std::move(work_));
}

void Connection::Acquire() {
  if (work_ != nullptr) return;
  work_ = context_->pool->Take(*context_);
  work_->sink.set_connection(this);
  work_->codec.set_sink(&work_->sink);
  // The codec's observers, in order: the request timer (with a loop
  // observer), the access log (with a log), the loop's observer.
  http::CodecObserver* observer = context_->observer;
  if (context_->access_log != nullptr) {
    if (work_->access_log == nullptr) {
      work_->access_log =
          std::make_unique<AccessLogObserver>(context_->access_log, context_->observer);
    }
    work_->access_log->set_peer(io_.PeerName());
    observer = work_->access_log.get();
  }
  if (context_->observer != nullptr) {
    work_->timer.Reset(observer, context_->observer);
    observer = &work_->timer;
  }
  work_->codec.set_observer(observer);
  if (draining_) work_->codec.StartDraining();
}

void Connection::MaybeRelease() {
  if (work_ == nullptr) return;
  const State state = io_.state();
  const bool done = state == State::kClosed || state == State::kLingering;
  if (!done && !(state == State::kOpen && CodecPhase() == Phase::kIdle && !OutputQueued() &&
                 !InputBuffered())) {
    return;
  }
  EPOLLHTTP_DCHECK(!work_->codec.stream_active());
  context_->pool->Give(std::move(work_));
}

size_t Connection::buffer_bytes() const {
  return io_.buffer_bytes() + (work_ == nullptr ? 0 : work_->input.capacity());
}

net::Buffer* Connection::Output() {
  if (to_shared_) return context_->shared_output;
  // A stream's late write: output becomes pending now.
  if (!io_.has_queue()) last_write_ = context_->loop->Now();
  return io_.Queue();
}

int Connection::QueuePipe(int fd, int64_t length) {
  if (length > 0 && to_shared_) {
    net::Buffer* shared = context_->shared_output;
    if (!shared->empty()) {
      io_.Queue()->Append(shared->readable());
      shared->Consume(shared->size());
    }
    to_shared_ = false;  // Everything after the file goes after it.
  }
  if (!io_.has_queue()) last_write_ = context_->loop->Now();
  return io_.QueuePipe(fd, length);
}

size_t Connection::QueuedOutput() const {
  return io_.queued() + (to_shared_ ? context_->shared_output->size() : 0);
}

void Connection::Wake() {
  EPOLLHTTP_DCHECK(!io_.closed());
  timer_.ArmNextRound();
}

bool Connection::Start() {
  phase_since_ = last_read_ = last_write_ = context_->loop->Now();
  // Read before registering: a client usually sends its request right after
  // connecting, so it is often here already. A request answered with
  // Connection: close then costs no registration and no timer at all.
  OnReadable();
  if (io_.closed()) {
    MaybeRelease();
    return true;
  }
  if (!io_.Watch([this](uint32_t events) { OnEvents(events); }, WantRead())) {
    Close(http::AbortReason::kReset);
    return false;
  }
  AfterIo();
  return true;
}

void Connection::AfterIo() {
  // A stream waiting for room in the output gets it, a bounded number of
  // times per event; then the loop's other connections go first.
  for (int i = 0; work_ != nullptr && !io_.closed() && work_->codec.wants_writable() &&
                  QueuedOutput() <= work_->codec.write_high_water() / 2;
       ++i) {
    if (i == kWritableCallsPerEvent) {
      timer_.ArmNextRound();
      break;
    }
    if (Call([this] { return work_->codec.OnOutputDrained(); }).responses > 0 && Backlog()) {
      // The stream finished its answer: requests already read wait behind
      // it, and no readiness will come for them.
      timer_.ArmNextRound();
    }
  }
  // The phase (and so the deadline) is taken after the stream had its say:
  // an answer finished from OnWritable() ends the request.
  const State state = io_.state();
  if (state != State::kClosed && state != State::kLingering) {
    const Phase phase = CodecPhase();
    if (phase != phase_ || restart_) {
      const TimePoint now = context_->loop->Now();
      if (phase == Phase::kHeld) {
        // A hold begins: remember when the body began (now, if it began in
        // this very event).
        last_read_ = phase_ == Phase::kBody && !restart_ ? phase_since_ : now;
        phase_since_ = now;
      } else if (phase_ == Phase::kHeld && phase == Phase::kBody && !restart_) {
        // The body goes on: its clock resumes where it stopped, and progress
        // is measured from now.
        phase_since_ = last_read_ + (now - phase_since_);
        last_read_ = now;
      } else {
        phase_since_ = now;
      }
      phase_ = phase;
      restart_ = false;
    }
  }
  MaybeRelease();
  if (io_.closed()) return;
  ArmTimer();
}

void Connection::ArmTimer() {
  if (timer_.next_round()) return;  // It checks the deadline when it has run.
  TimeoutKind kind;
  const TimePoint deadline = Deadline(&kind);
  if (deadline == TimePoint::max()) return;
  if (timer_.armed() && deadline >= timer_.when()) return;  // It fires in time and re-checks.
  timer_.ArmAt(deadline);
}

Connection::TimePoint Connection::Deadline(TimeoutKind* kind) const {
  *kind = TimeoutKind::kIdle;
  const State state = io_.state();
  if (state == State::kClosed) return TimePoint::max();
  if (state == State::kLingering) return phase_since_ + context_->options.linger_time;
  const ConnectionOptions& options = context_->options;
  if (OutputQueued()) {
    *kind = TimeoutKind::kWrite;
    return last_write_ + options.write_timeout;
  }
  switch (phase_) {
    case Phase::kIdle:
      if (responses_ == 0) {
        *kind = TimeoutKind::kHeader;  // A new connection must start a request.
        return phase_since_ + options.header_timeout;
      }
      *kind = TimeoutKind::kIdle;
      return phase_since_ + options.idle_timeout;
    case Phase::kHead: *kind = TimeoutKind::kHeader; return phase_since_ + options.header_timeout;
    case Phase::kBody: {
      *kind = TimeoutKind::kBody;
      TimePoint deadline = std::max(phase_since_, last_read_) + options.body_timeout;
      if (options.body_min_rate > 0) {
        // After the first body_timeout, each second must have brought
        // body_min_rate bytes on average.
        const int64_t received = work_ == nullptr ? 0 : work_->codec.body_bytes();
        const std::chrono::duration<double> allowance(static_cast<double>(received) /
                                                      static_cast<double>(options.body_min_rate));
        if (allowance < kLongestAllowance) {
          deadline = std::min(deadline, phase_since_ + options.body_timeout +
                                            std::chrono::duration_cast<Clock::duration>(allowance));
        }
      }
      return deadline;
    }
    case Phase::kHeld:           // The server holds the read: the request side has no deadline.
    case Phase::kClosed: break;  // The closing response is on its way.
  }
  return TimePoint::max();
}

void Connection::OnTimer() {
  if (io_.closed()) return;
  // A stream woke the session, or a backlog waits for its turn.
  if (StreamActive()) {
    Call([this] { return work_->codec.Poll(); });
    if (io_.closed()) {
      MaybeRelease();
      return;
    }
    UpdateEvents();  // A hold may have ended, or begun.
  }
  if (Backlog() && !OutputQueued()) {
    OnReadable();
    if (io_.closed()) {
      MaybeRelease();
      return;
    }
  }
  TimeoutKind kind;
  if (Deadline(&kind) > context_->loop->Now()) {
    AfterIo();  // Progress moved the deadline: wait for the new one.
    return;
  }
  if (io_.state() == State::kLingering) {
    Close(http::AbortReason::kReset);  // The lingering close is over (no stream is left).
    return;
  }
  if (context_->observer != nullptr) context_->observer->OnTimeout(kind);
  if (kind == TimeoutKind::kHeader && CodecPhase() == Phase::kHead) {
    Call([this] {
      work_->codec.OnHeaderTimeout();  // 408, then the lingering close.
      return http::InputResult{0, 1, false, false, true};
    });
    if (work_ != nullptr) work_->input.Release();
    AfterIo();
    return;
  }
  Close(http::AbortReason::kTimeout);
}

void Connection::Drain() {
  if (io_.closed()) return;
  draining_ = true;  // The next response is the last.
  if (work_ != nullptr) work_->codec.StartDraining();
  if (io_.state() == State::kLingering) return;
  // Bytes already in the transport are a request that has started: one read
  // finds them (and can answer at most that request).
  if (io_.state() == State::kOpen && Idle() && !InputBuffered() && !OutputQueued()) {
    OnReadable(/*max_reads=*/1);
  }
  if (!io_.closed() && Idle() && !InputBuffered() && !OutputQueued()) {
    Close(http::AbortReason::kShutdown);
  }
  AfterIo();
}

void Connection::Abort() { Close(http::AbortReason::kShutdown); }

void Connection::OnEvents(uint32_t events) {
  if (io_.closed()) return;
  if ((events & (EPOLLHUP | EPOLLERR)) && (io_.state() == State::kInputEnded || held())) {
    // Both directions are gone (or the client reset while a stream holds
    // the read): queued output can never be sent.
    Close(http::AbortReason::kReset);
    return;
  }
  if (OutputQueued() && (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))) Flush();
  if (!io_.closed() && ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) || Backlog())) {
    OnReadable();
  }
  AfterIo();
}

void Connection::OnReadable(int max_reads) {
  responses_left_ = kResponsesPerEvent;
  // The backlog first: nothing new is read until it is answered.
  bool more = !Backlog() || Serve({});
  for (int round = 0; more && round < max_reads; ++round) {
    const State state = io_.state();
    if (state == State::kClosed || state == State::kInputEnded) break;
    // Nothing is read while output is queued, the budget is spent or a
    // stream holds the read: the requests wait in the kernel.
    if (state == State::kOpen && (!MayAnswer() || held())) break;
    more = ReadOnce();
  }
  if (io_.closed()) return;
  if (Backlog() && !OutputQueued()) ScheduleResume();
  UpdateEvents();
}

bool Connection::ReadOnce() {
  // The rest of a Content-Length body nobody reads is dropped unread, never
  // past the body's end, so a pipelined request after it is read normally.
  const bool lingering = io_.state() == State::kLingering;
  const bool drained = !lingering && work_ != nullptr && work_->input.empty();
  const int64_t skippable = drained ? work_->codec.SkippableBodyBytes() : 0;
  // Or read straight into the memory the body's stream offers (never past
  // the body either): no copy through the scratch buffer.
  const absl::Span<char> direct =
      drained && skippable == 0 ? work_->codec.DirectBodyBuffer() : absl::Span<char>();
  ssize_t n;
  int error = 0;
  if (skippable > 0) {
    n = io_.Discard(static_cast<size_t>(std::min<int64_t>(skippable, int64_t{1} << 30)), &error);
  } else if (!direct.empty()) {
    n = io_.Read(direct, &error);
  } else {
    // Outside a body, a read is small enough that the requests it holds are
    // a bounded amount of work and backlog.
    const size_t want = CodecPhase() == Phase::kBody
                            ? context_->scratch.size()
                            : std::min(context_->scratch.size(), kHeadReadBytes);
    n = io_.Read(context_->scratch.subspan(0, want), &error);
  }
  if (n < 0) {
    if (error != EAGAIN && error != EINTR) Close(http::AbortReason::kReset);  // Only this one.
    return false;
  }
  if (n == 0) {
    OnEndOfStream();
    return false;
  }
  if (lingering) return true;  // Input is dropped while lingering.
  last_read_ = context_->loop->Now();
  if (!OutputQueued()) last_write_ = last_read_;  // Output may start now.
  Acquire();                                      // A request is in progress.
  if (skippable > 0) {
    Call([this, n] { return work_->codec.OnBodySkipped(n); });
    if (io_.closed()) return false;
  } else if (!direct.empty()) {
    Call([this, n] { return work_->codec.OnDirectBodyRead(n); });
    if (io_.closed()) return false;
  } else if (!Serve(absl::string_view(context_->scratch.data(), static_cast<size_t>(n)))) {
    return false;
  }
  return !io_.transport_empty();  // A short read emptied the transport.
}

void Connection::OnEndOfStream() {
  if (io_.state() == State::kLingering) {
    Close(http::AbortReason::kReset);  // The client is done: so is the lingering close.
    return;
  }
  if (StreamActive()) {
    // A body cut short can never complete.
    Close(http::AbortReason::kEndOfStream);
    return;
  }
  // A half-closed client may still read: answer and flush what it sent,
  // then close.
  if (!OutputQueued() && !Backlog()) {
    Close(http::AbortReason::kEndOfStream);
    return;
  }
  io_.InputEnded();
}

bool Connection::Serve(absl::string_view fresh) {
  // Serve() runs with work_ held (a byte was read, or a backlog waits).
  net::Buffer& input = work_->input;
  if (Backlog()) {
    // Nothing is read while a backlog waits, so `fresh` is empty here.
    if (!MayAnswer()) return false;
    input.Consume(RunCodec(input.readable()));
    if (io_.closed() || Backlog() || held()) return false;
  }
  // A buffered partial head takes `fresh` a piece at a time until every byte
  // buffered before it is consumed; the rest of `fresh` is served in place.
  size_t offset = 0;
  while (!input.empty() && offset < fresh.size() && io_.state() != State::kLingering) {
    const size_t piece = std::min(kHeadPiece, fresh.size() - offset);
    input.Append(fresh.substr(offset, piece));
    offset += piece;
    NotePeak();
    input.Consume(RunCodec(input.readable()));
    if (io_.closed()) return false;
    const size_t left = input.size();
    if (left <= piece) {  // All that is left came from `fresh`: serve it there.
      offset -= left;
      input.Consume(left);
    }
    if (stop_ == Stop::kYielded || stop_ == Stop::kHeld) break;
  }
  if (io_.state() == State::kLingering) return true;  // The codec is done; input is dropped.
  absl::string_view rest = fresh.substr(offset);
  if (input.empty()) {
    // The common case: everything is in scratch and is served in place.
    while (!rest.empty()) {
      rest.remove_prefix(RunCodec(rest));
      const State state = io_.state();
      if (state == State::kClosed || state == State::kLingering) return state != State::kClosed;
      // A batch sent in full may be followed by the next one.
      if (stop_ != Stop::kYielded || !MayAnswer()) break;
    }
  }
  // Keep what is left: a partial head, a backlog, or bytes behind a hold.
  input.Append(rest);
  NotePeak();
  return !Backlog() && !OutputQueued() && !held();
}

size_t Connection::RunCodec(absl::string_view input) {
  http::CodecBudget budget;
  // With output queued, only the request in progress may still be answered.
  budget.max_output = OutputQueued() ? 0 : kOutputBatch;
  budget.max_responses = std::max<int>(responses_left_, 0);
  const http::InputResult result =
      Call([this, input, budget] { return work_->codec.OnInput(input, budget); });
  stop_ = result.closing   ? Stop::kClosing
          : result.held    ? Stop::kHeld
          : result.yielded ? Stop::kYielded
                           : Stop::kNeedInput;
  return result.consumed;
}

template <typename F>
http::InputResult Connection::Call(F f) {
  // Nothing queued: responses go to the loop's shared buffer and are sent
  // from there, so a response costs no allocation; only bytes the transport
  // does not take at once are copied into this connection's queue.
  to_shared_ = !OutputQueued();
  const http::InputResult result = f();
  to_shared_ = false;
  if (result.responses > 0) {
    responses_ += result.responses;
    responses_left_ = static_cast<int16_t>(responses_left_ - result.responses);
    restart_ = true;
  }
  if (result.closing) stop_ = Stop::kClosing;
  Deliver();
  return result;
}

void Connection::Deliver() {
  net::Buffer* shared = context_->shared_output;
  if (!shared->empty()) {
    const bool last = OutputEnds();
    size_t sent = 0;
    while (sent < shared->size()) {
      int error = 0;
      const ssize_t n = io_.Write(shared->readable().substr(sent), last, &error);
      if (n < 0) {
        if (error != EAGAIN && error != EINTR) {
          shared->Consume(shared->size());
          Close(http::AbortReason::kReset);  // The client is gone: stop at once.
          return;
        }
        break;
      }
      sent += static_cast<size_t>(n);
      Written(n);
    }
    if (sent < shared->size()) {
      io_.Queue()->Append(shared->readable().substr(sent));
      NotePeak();
    }
    shared->Consume(shared->size());
  }
  if (!io_.closed()) Flush();
}

void Connection::Written(ssize_t n) {
  last_write_ = context_->loop->Now();
  if (context_->observer != nullptr) context_->observer->OnBytesWritten(n);
}

void Connection::Flush() {
  if (OutputQueued()) {
    int error = 0;
    const ssize_t n = io_.Flush(OutputEnds(), &error);
    if (n < 0) {
      Close(http::AbortReason::kReset);
      return;
    }
    if (n > 0) Written(n);
  }
  if (!OutputQueued() && io_.state() != State::kLingering && OutputEnds()) {
    if (io_.state() == State::kInputEnded || (!work_->codec.error_response() && NothingUnread())) {
      Close(
          http::AbortReason::kReset);  // A complete request, nothing more sent: no need to linger.
    } else {
      StartLingering();
    }
    return;
  }
  UpdateEvents();
}

void Connection::StartLingering() {
  io_.StartLingering();
  if (work_ != nullptr) work_->input.Release();  // Input is dropped from now on.
  phase_since_ = context_->loop->Now();
  ArmTimer();
  UpdateEvents();
}

void Connection::UpdateEvents() {
  if (!io_.Update(WantRead())) Close(http::AbortReason::kReset);
}

void Connection::Close(http::AbortReason reason) {
  if (io_.closed()) return;
  // The stream hears first, while its writer still exists (it refuses).
  if (StreamActive()) work_->codec.Abort(reason);
  io_.Close();
  timer_.Cancel();
  if (context_->observer != nullptr) context_->observer->OnClosed();
  if (context_->on_close != nullptr) context_->on_close(context_->owner, this);
}

}  // namespace epollhttp
