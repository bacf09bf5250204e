#include "server/connection.h"

#include <sys/epoll.h>

#include <cerrno>

namespace epollhttp {
namespace {

using Clock = net::EventLoop::Clock;

// A buffered partial head takes new bytes this many at a time.
constexpr size_t kHeadPiece = 2048;

// The longest body-rate allowance computed; beyond it the rate never binds.
constexpr std::chrono::hours kLongestAllowance(24 * 365);

// ReleaseOutput() empties `output` and frees its heap block, if it has one
// (most connections never queue output, and swapping costs on every request).
void ReleaseOutput(std::string* output) {
  if (output->capacity() > std::string().capacity()) {
    std::string().swap(*output);
  } else {
    output->clear();
  }
}

}  // namespace

std::unique_ptr<ConnectionWork> ConnectionWorkPool::Take(const ConnectionContext& context) {
  if (free_.empty()) return std::make_unique<ConnectionWork>(context);
  std::unique_ptr<ConnectionWork> work = std::move(free_.back());
  free_.pop_back();
  return work;
}

void ConnectionWorkPool::Give(std::unique_ptr<ConnectionWork> work) {
  if (free_.size() >= keep_) return;  // `work` is freed here.
  work->codec.Reset(nullptr);
  // A kept input buffer is at most Buffer's small size; queued output only
  // ever held what a write did not take, so it is freed.
  if (work->input.capacity() > kHeadPiece * 2) {
    work->input.Release();
  } else if (!work->input.empty()) {
    work->input.Consume(work->input.readable().size());
  }
  ReleaseOutput(&work->output);
  work->output_offset = 0;
  free_.push_back(std::move(work));
}

Connection::Connection(const ConnectionContext* context, net::Transport* transport)
    : context_(context), transport_(transport), timer_(context->loop, [this] { OnTimer(); }) {
  if (context_->observer != nullptr) context_->observer->OnAccepted();
  if (context_->access_log != nullptr) {
    access_log_ = std::make_unique<AccessLogObserver>(context_->access_log, transport_->PeerName(),
                                                      context_->observer);
  }
}

Connection::~Connection() {
  if (work_ != nullptr) context_->pool->Give(std::move(work_));
}

void Connection::Acquire() {
  if (work_ != nullptr) return;
  work_ = context_->pool->Take(*context_);
  work_->codec.set_observer(access_log_ != nullptr
                                ? static_cast<http::CodecObserver*>(access_log_.get())
                                : context_->observer);
  if (draining_) work_->codec.StartDraining();
}

void Connection::MaybeRelease() {
  if (work_ == nullptr) return;
  const bool done = state_ == State::kClosed || state_ == State::kLingering;
  if (!done && !(state_ == State::kOpen && Phase() == http::ServerCodec::Phase::kIdle &&
                 !OutputQueued() && !InputBuffered())) {
    return;
  }
  context_->pool->Give(std::move(work_));
}

void Connection::CountResponses(int64_t before) {
  const int64_t answered = work_->codec.responses() - before;
  responses_ += answered;
  responses_left_ -= static_cast<int32_t>(answered);
}

size_t Connection::buffer_bytes() const {
  return work_ == nullptr ? 0 : work_->input.capacity() + work_->output.capacity();
}

bool Connection::Start() {
  phase_since_ = last_read_ = last_write_ = context_->loop->Now();
  // Read before registering: a client usually sends its request right after
  // connecting, so it is often here already. A request answered with
  // Connection: close then costs no registration and no timer at all.
  OnReadable();
  if (state_ == State::kClosed) {
    MaybeRelease();
    return true;
  }
  if (!transport_->Watch(WantedEvents(), [this](uint32_t events) { OnEvents(events); })) {
    Close();
    return false;
  }
  watching_ = true;
  AfterIo();
  return true;
}

void Connection::AfterIo() {
  if (state_ != State::kClosed && state_ != State::kLingering) {
    const http::ServerCodec::Phase phase = Phase();
    if (phase != phase_ || responses_ != phase_responses_) {
      phase_ = phase;
      phase_responses_ = responses_;
      phase_since_ = context_->loop->Now();
    }
  }
  MaybeRelease();
  if (state_ == State::kClosed) return;
  ArmTimer();
}

void Connection::ArmTimer() {
  TimeoutKind kind;
  const TimePoint deadline = Deadline(&kind);
  if (deadline >= timer_at_) return;  // The timer fires in time and re-checks.
  timer_at_ = deadline;
  timer_.ArmAt(deadline);
}

Connection::TimePoint Connection::Deadline(TimeoutKind* kind) const {
  *kind = TimeoutKind::kIdle;
  if (state_ == State::kClosed) return TimePoint::max();
  if (state_ == State::kLingering) return phase_since_ + context_->options.linger_time;
  const ConnectionOptions& options = context_->options;
  if (OutputQueued()) {
    *kind = TimeoutKind::kWrite;
    return last_write_ + options.write_timeout;
  }
  switch (phase_) {
    case http::ServerCodec::Phase::kIdle:
      if (phase_responses_ == 0) {
        *kind = TimeoutKind::kHeader;  // A new connection must start a request.
        return phase_since_ + options.header_timeout;
      }
      *kind = TimeoutKind::kIdle;
      return phase_since_ + options.idle_timeout;
    case http::ServerCodec::Phase::kHead:
      *kind = TimeoutKind::kHeader;
      return phase_since_ + options.header_timeout;
    case http::ServerCodec::Phase::kBody: {
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
    case http::ServerCodec::Phase::kClosed: break;
  }
  return TimePoint::max();  // The closing response is on its way.
}

void Connection::OnTimer() {
  timer_at_ = TimePoint::max();
  if (state_ == State::kClosed) return;
  if (resume_) {
    OnReadable();  // Answer the backlog (and clear resume_).
    if (state_ == State::kClosed) {
      MaybeRelease();
      return;
    }
  }
  TimeoutKind kind;
  if (Deadline(&kind) > context_->loop->Now()) {
    AfterIo();  // Progress moved the deadline: wait for the new one.
    return;
  }
  if (state_ == State::kLingering) {
    Close();  // The lingering close is over.
    return;
  }
  if (context_->observer != nullptr) context_->observer->OnTimeout(kind);
  if (kind == TimeoutKind::kHeader && Phase() == http::ServerCodec::Phase::kHead) {
    std::string* out = OutputTarget();
    const int64_t before = work_->codec.responses();
    work_->codec.OnHeaderTimeout(out);  // 408, then the lingering close.
    CountResponses(before);
    work_->input.Release();
    Deliver(out);
    AfterIo();
    return;
  }
  Close();
}

void Connection::Drain() {
  if (state_ == State::kClosed) return;
  draining_ = true;  // The next response is the last.
  if (work_ != nullptr) work_->codec.StartDraining();
  if (state_ == State::kLingering) return;
  // Bytes already in the transport are a request that has started: one read
  // finds them (and can answer at most that request).
  if (state_ == State::kOpen && Idle() && !InputBuffered() && !OutputQueued()) {
    OnReadable(/*max_reads=*/1);
  }
  if (state_ != State::kClosed && Idle() && !InputBuffered() && !OutputQueued()) Close();
  AfterIo();
}

void Connection::OnEvents(uint32_t events) {
  if (state_ == State::kClosed) return;
  if ((events & (EPOLLHUP | EPOLLERR)) && state_ == State::kInputEnded) {
    Close();  // Both directions are gone; queued output can never be sent.
    return;
  }
  if (OutputQueued() && (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))) Flush();
  if (state_ != State::kClosed &&
      ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) || Backlog())) {
    OnReadable();
  }
  AfterIo();
}

void Connection::OnReadable(int max_reads) {
  resume_ = false;
  responses_left_ = kResponsesPerEvent;
  // The backlog first: nothing new is read until it is answered.
  bool more = !Backlog() || Serve({});
  for (int round = 0; more && round < max_reads; ++round) {
    if (state_ == State::kClosed || state_ == State::kInputEnded) break;
    // Nothing is read while output is queued or the budget is spent: the
    // requests wait in the kernel.
    if (state_ == State::kOpen && !MayAnswer()) break;
    more = ReadOnce();
  }
  if (state_ == State::kClosed) return;
  if (Backlog() && !OutputQueued()) ScheduleResume();
  UpdateEvents();
}

void Connection::ScheduleResume() {
  // Budget spent with requests left: answer them in a later round, after the
  // loop has served other connections. (With output queued, EPOLLOUT
  // resumes instead.)
  // The one timer serves: OnTimer() answers the backlog first, then checks
  // the deadline as usual.
  resume_ = true;
  timer_at_ = context_->loop->Now();
  timer_.ArmAt(timer_at_);
}

bool Connection::ReadOnce() {
  // The rest of a Content-Length body nobody reads is dropped unread, never
  // past the body's end, so a pipelined request after it is read normally.
  const bool lingering = state_ == State::kLingering;
  const int64_t skippable = !lingering && work_ != nullptr && work_->input.empty()
                                ? work_->codec.SkippableBodyBytes()
                                : 0;
  size_t want;
  ssize_t n;
  int error = 0;
  if (skippable > 0) {
    want = static_cast<size_t>(std::min<int64_t>(skippable, int64_t{1} << 30));
    n = transport_->Discard(want, &error);
  } else {
    // Outside a body, a read is small enough that the requests it holds are
    // a bounded amount of work and backlog.
    want = Phase() == http::ServerCodec::Phase::kBody
               ? context_->scratch.size()
               : std::min(context_->scratch.size(), kHeadReadBytes);
    n = transport_->Read(context_->scratch.subspan(0, want), &error);
  }
  if (n < 0) {
    transport_empty_ = error == EAGAIN;
    if (error != EAGAIN && error != EINTR) Close();  // Reset: only this connection.
    return false;
  }
  transport_empty_ = static_cast<size_t>(n) < want;
  if (n == 0) {
    // A half-closed client may still read: answer and flush what it sent,
    // then close.
    if (lingering || (!OutputQueued() && !Backlog())) {
      Close();
    } else {
      state_ = State::kInputEnded;
    }
    return false;
  }
  if (lingering) return true;  // Input is dropped while lingering.
  last_read_ = context_->loop->Now();
  if (!OutputQueued()) last_write_ = last_read_;  // Output may start now.
  Acquire();                                      // A request is in progress.
  if (skippable > 0) {
    std::string* out = OutputTarget();
    const int64_t before = work_->codec.responses();
    work_->codec.OnBodySkipped(n, out);
    CountResponses(before);
    Deliver(out);
    if (state_ == State::kClosed) return false;
  } else if (!Serve(absl::string_view(context_->scratch.data(), static_cast<size_t>(n)))) {
    return false;
  }
  return !transport_empty_;  // A short read emptied the transport.
}

bool Connection::Serve(absl::string_view fresh) {
  // Serve() runs with work_ held (a byte was read, or a backlog waits).
  net::Buffer& input = work_->input;
  http::ServerCodec& codec = work_->codec;
  if (Backlog()) {
    // Nothing is read while a backlog waits, so `fresh` is empty here.
    if (!MayAnswer()) return false;
    input.Consume(RunCodec(input.readable()));
    if (state_ == State::kClosed || Backlog()) return false;
  }
  // A buffered partial head takes `fresh` a piece at a time until every byte
  // buffered before it is consumed; the rest of `fresh` is served in place.
  size_t offset = 0;
  while (!input.empty() && offset < fresh.size() && state_ != State::kLingering) {
    const size_t piece = std::min(kHeadPiece, fresh.size() - offset);
    input.Append(fresh.substr(offset, piece));
    offset += piece;
    NotePeak();
    input.Consume(RunCodec(input.readable()));
    if (state_ == State::kClosed) return false;
    const size_t left = input.readable().size();
    if (left <= piece) {  // All that is left came from `fresh`: serve it there.
      offset -= left;
      input.Consume(left);
    }
    if (codec.yielded()) break;
  }
  if (state_ == State::kLingering) return true;  // The codec is done; input is dropped.
  absl::string_view rest = fresh.substr(offset);
  if (input.empty()) {
    // The common case: everything is in scratch and is served in place.
    while (!rest.empty()) {
      rest.remove_prefix(RunCodec(rest));
      if (state_ == State::kClosed || state_ == State::kLingering) return state_ != State::kClosed;
      // A batch sent in full may be followed by the next one.
      if (!codec.yielded() || !MayAnswer()) break;
    }
  }
  // Keep what is left: a partial head, or a backlog of requests.
  input.Append(rest);
  NotePeak();
  return !Backlog() && !OutputQueued();
}

size_t Connection::RunCodec(absl::string_view input) {
  std::string* out = OutputTarget();
  http::CodecBudget budget;
  // With output queued, only the request in progress may still be answered.
  budget.max_output = out == context_->shared_output ? kOutputBatch : 0;
  budget.max_responses = std::max(responses_left_, 0);
  const int64_t before = work_->codec.responses();
  const size_t consumed = work_->codec.OnInput(input, out, budget);
  CountResponses(before);
  Deliver(out);
  return consumed;
}

std::string* Connection::OutputTarget() {
  // Nothing queued: responses go to the loop's shared buffer and are sent
  // from there, so a response costs no allocation; only bytes the transport
  // does not take at once are copied into this connection's own buffer.
  return OutputQueued() ? &work_->output : context_->shared_output;
}

void Connection::Deliver(std::string* target) {
  std::string* shared = context_->shared_output;
  if (target == shared && !shared->empty()) {
    size_t sent = 0;
    while (sent < shared->size()) {
      const ssize_t n = Send(absl::string_view(*shared).substr(sent));
      if (n < 0) break;
      sent += static_cast<size_t>(n);
    }
    if (state_ != State::kClosed && sent < shared->size()) {
      work_->output.assign(shared->data() + sent, shared->size() - sent);
      work_->output_offset = 0;
      NotePeak();
    }
    shared->clear();
    if (shared->capacity() > (1u << 20)) std::string().swap(*shared);
  }
  if (state_ != State::kClosed) Flush();
}

ssize_t Connection::Send(absl::string_view data) {
  if (writes_ == 1) {
    // TCP_NODELAY from the second write on: Nagle could hold a small write
    // while earlier data is unacknowledged, but the first write has none
    // before it, so a connection-per-request client never pays for it.
    transport_->SetNoDelay();
    writes_ = 2;
  }
  int error = 0;
  // The last bytes the connection will write may wait for its FIN (Flush()
  // ends the stream as soon as they are all written).
  const ssize_t n =
      transport_->Write(data, OutputEnds() ? net::Push::kWithFin : net::Push::kNow, &error);
  if (n < 0) {
    if (error != EAGAIN && error != EINTR) Close();  // The client is gone: stop at once.
    return -1;
  }
  if (writes_ == 0) writes_ = 1;
  last_write_ = context_->loop->Now();
  if (context_->observer != nullptr) context_->observer->OnBytesWritten(n);
  return n;
}

void Connection::Flush() {
  ConnectionWork& work = *work_;
  while (work.output_offset < work.output.size()) {
    const ssize_t n = Send(absl::string_view(work.output).substr(work.output_offset));
    if (state_ == State::kClosed) return;
    if (n < 0) break;
    work.output_offset += static_cast<size_t>(n);
  }
  if (work.output_offset == work.output.size()) {
    // Release the buffer: it only ever holds what a write did not take.
    ReleaseOutput(&work.output);
    work.output_offset = 0;
    if (state_ == State::kLingering) return;
    if (OutputEnds()) {
      if (state_ == State::kInputEnded || (!work.codec.error_response() && NothingUnread())) {
        Close();  // A complete request and nothing more sent: no need to linger.
      } else {
        StartLingering();
      }
      return;
    }
  }
  UpdateEvents();
}

void Connection::StartLingering() {
  state_ = State::kLingering;
  transport_->ShutdownWrite();
  resume_ = false;
  if (work_ != nullptr) work_->input.Release();  // Input is dropped from now on.
  phase_since_ = context_->loop->Now();
  ArmTimer();
  UpdateEvents();
}

uint32_t Connection::WantedEvents() const {
  switch (state_) {
    case State::kOpen:
      // Nothing is read while output is queued.
      return OutputQueued() ? uint32_t{EPOLLOUT} : uint32_t{EPOLLIN | EPOLLRDHUP};
    case State::kInputEnded: return OutputQueued() ? uint32_t{EPOLLOUT} : uint32_t{0};
    case State::kLingering: return EPOLLIN | EPOLLRDHUP;
    case State::kClosed: break;
  }
  return 0;
}

void Connection::UpdateEvents() {
  // Before Start() has registered there is nothing to update: Start()
  // registers with WantedEvents().
  if (state_ == State::kClosed || !watching_) return;
  if (!transport_->SetEvents(WantedEvents())) Close();
}

void Connection::Close() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  timer_.Cancel();
  resume_ = false;
  if (context_->observer != nullptr) context_->observer->OnClosed();
  transport_->Close();
  if (context_->on_close != nullptr) context_->on_close(context_->owner, this);
}

}  // namespace epollhttp
