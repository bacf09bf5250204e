#include "server/upload/upload_handler.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "base/fd.h"
#include "server/upload/checksum.h"
#include "server/upload/download_headers.h"
#include "server/upload/tus_headers.h"
#include "server/upload/write_buffer.h"

namespace epollhttp::upload {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

constexpr absl::string_view kExtensions =
    "creation,creation-with-upload,creation-defer-length,termination,expiration,checksum";

// What a browser page may read of an answer, and send in a request.
constexpr absl::string_view kExposedHeaders =
    "Location, Upload-Offset, Upload-Length, Upload-Defer-Length, Upload-Metadata, "
    "Upload-Expires, Tus-Resumable, Tus-Version, Tus-Extension, Tus-Max-Size, "
    "Tus-Checksum-Algorithm, Upload-Complete, Upload-Limit, Upload-Draft-Interop-Version, "
    "Content-Range, Content-Disposition, ETag";
constexpr absl::string_view kAllowedHeaders =
    "Authorization, Content-Type, Tus-Resumable, Upload-Length, Upload-Defer-Length, "
    "Upload-Metadata, Upload-Offset, Upload-Checksum, Upload-Complete, "
    "Upload-Draft-Interop-Version, Range, If-None-Match";

// The IETF draft's problem types (RFC 9457), for the refusals it names.
constexpr absl::string_view kMismatchingOffset =
    "https://iana.org/assignments/http-problem-types#mismatching-upload-offset";
constexpr absl::string_view kInconsistentLength =
    "https://iana.org/assignments/http-problem-types#inconsistent-upload-length";

// Problem() is an application/problem+json body of `type`, `title` and
// extra members (`members`: already JSON, each `"name": value`).
std::string Problem(absl::string_view type, absl::string_view title,
                    absl::string_view members = "") {
  return absl::StrCat("{\"type\":\"", type, "\",\"title\":\"", title, "\"",
                      members.empty() ? "" : ",", members, "}\n");
}

// UploadLimit() is the IETF Upload-Limit value: max-size (the largest
// upload) and the lifetime left, `age_seconds` (< 0: none), under the key
// the interop version names it (6: "expires", later: "max-age"); "" when
// neither applies.
std::string UploadLimit(int64_t max_bytes, int interop, int64_t age_seconds) {
  std::string out;
  if (max_bytes > 0) absl::StrAppend(&out, "max-size=", max_bytes);
  if (age_seconds >= 0) {
    absl::StrAppend(&out, out.empty() ? "" : ", ",
                    interop == kIetfInteropOld ? "expires" : "max-age", "=", age_seconds);
  }
  return out;
}

// Authorized() is whether `header` is "Bearer TOKEN" for `token`, compared
// in time that does not depend on where they differ.
bool Authorized(std::optional<absl::string_view> header, const std::string& token) {
  absl::string_view value = header.value_or("");
  if (!absl::ConsumePrefix(&value, "Bearer ")) return false;
  unsigned char differ = value.size() == token.size() ? 0 : 1;
  for (size_t i = 0; i < token.size(); ++i) {
    differ |= static_cast<unsigned char>(token[i] ^ (i < value.size() ? value[i] : 0));
  }
  return differ == 0;
}

// HttpDate() is an IMF-fixdate (RFC 9110 §5.6.7), for Upload-Expires.
std::string HttpDate(int64_t unix_seconds) {
  return absl::FormatTime("%a, %d %b %Y %H:%M:%S GMT", absl::FromUnixSeconds(unix_seconds),
                          absl::UTCTimeZone());
}

// Header() is the value of the first field named `name`, or nullopt.
std::optional<absl::string_view> Header(const http::RequestHead& head, absl::string_view name) {
  for (const http::Header& h : head.headers) {
    if (absl::EqualsIgnoreCase(h.name, name)) return h.value;
  }
  return std::nullopt;
}

// Answer() writes a whole response: a tus one (`interop` 0) carries
// Tus-Resumable; an IETF one does not. Then `fields`, and a body (a
// problem+json one when it starts with '{').
void Answer(http::ResponseWriter& writer, int interop, int status, const Fields& fields,
            absl::string_view body = "") {
  std::vector<http::ResponseField> out;
  if (interop == 0) out.push_back({"Tus-Resumable", kTusVersion});
  for (const auto& [name, value] : fields) out.push_back({name, value});
  http::Response response;
  response.status = status;
  response.fields = out;
  response.body = body;
  if (absl::StartsWith(body, "{")) response.content_type = "application/problem+json";
  writer.Respond(response);
}

// A ResponseWriter that adds fields (CORS) to every head it writes, and
// forwards everything else. Thread safety: the request's loop thread.
class ExtraFieldsWriter final : public http::ResponseWriter {
 public:
  ExtraFieldsWriter(http::ResponseWriter* inner, Fields extra)
      : inner_(inner), extra_(std::move(extra)) {}

  int Respond(const http::Response& response) override {
    if (extra_.empty()) return inner_->Respond(response);
    std::vector<http::ResponseField> fields = With(response.fields);
    http::Response copy = response;
    copy.fields = fields;
    return inner_->Respond(copy);
  }
  int WriteInterim(int status, absl::Span<const http::ResponseField> fields) override {
    return inner_->WriteInterim(status, fields);
  }
  int WriteHead(const http::ResponseHead& head) override {
    if (extra_.empty()) return inner_->WriteHead(head);
    std::vector<http::ResponseField> fields = With(head.fields);
    http::ResponseHead copy = head;
    copy.fields = fields;
    return inner_->WriteHead(copy);
  }
  int WriteBody(absl::string_view data) override { return inner_->WriteBody(data); }
  int WritePipe(int pipe_fd, int64_t length) override { return inner_->WritePipe(pipe_fd, length); }
  int Finish() override { return inner_->Finish(); }
  void Cancel() override { inner_->Cancel(); }
  void ResumeBody() override { inner_->ResumeBody(); }
  [[nodiscard]] bool writable() const override { return inner_->writable(); }
  [[nodiscard]] bool aborted() const override { return inner_->aborted(); }
  [[nodiscard]] const http::Request& request() const override { return inner_->request(); }
  [[nodiscard]] net::EventLoop* loop() const override { return inner_->loop(); }

 private:
  std::vector<http::ResponseField> With(absl::Span<const http::ResponseField> fields) const {
    std::vector<http::ResponseField> out(fields.begin(), fields.end());
    for (const auto& [name, value] : extra_) out.push_back({name, value});
    return out;
  }

  http::ResponseWriter* inner_;
  const Fields extra_;
};

// StatusForError() maps a store error to the answer: a full disk, quota or
// file size is 507; a failed upload 410; anything else 500.
int StatusForError(int error) {
  switch (-error) {
    case ENOSPC:
    case EDQUOT:
    case EFBIG: return 507;
    case ENOENT: return 404;
    case ERANGE: return 409;
    default: return 500;
  }
}

// SettleAbandoned() settles an upload whose request ended early (on a
// worker): the bytes that arrived count, `piece` written after the rest at
// `offset` and all committed; under a checksum (`verify`), which can no
// longer be checked, everything since the last commit is dropped instead.
void SettleAbandoned(UploadStore* store, const std::string& id, bool verify, int64_t offset,
                     const std::string& piece) {
  if (verify) {
    (void)store->Rollback(id);
    return;
  }
  if (!piece.empty()) (void)store->Write(id, offset, piece);
  (void)store->Commit(id);
}

// A stream whose answer was given in Start(): its body is dropped.
class AnsweredStream final : public http::RequestStream {};
AnsweredStream* Answered() {
  static AnsweredStream* stream = new AnsweredStream;
  return stream;
}

http::StreamStart Refuse(http::ResponseWriter& writer, const Fields& extra, int interop, int status,
                         const Fields& fields = {}, absl::string_view body = "") {
  ExtraFieldsWriter out(&writer, extra);
  Answer(out, interop, status, fields, body);
  return {http::Shared(Answered()), http::BodyMode::kDiscard};
}

// One request that touches an upload on disk. Its disk steps run on the
// worker pool one at a time (a step's completion starts the next), and the
// body stays paused while one is in flight, so at most one piece waits.
class UploadStream final : public http::RequestStream, private UploadLocks::Client {
 public:
  enum class Kind { kCreate, kPatch, kHead, kDelete };

  UploadStream(const UploadHandler::Context& context, http::ResponseWriter& writer, Kind kind,
               Fields extra)
      : context_(context), out_(&writer, std::move(extra)), kind_(kind) {}

  // Request parameters, set before Begin().
  int interop = 0;  // The IETF draft's interop version; 0: tus.
  // IETF: Upload-Complete: ?1 (the request ends the upload); with the length
  // unknown until the body ends, `declare_at_end` declares it then.
  bool complete_request = false;
  bool declare_at_end = false;
  bool has_body = false;  // The request carries body bytes (or may: chunked).
  std::string id;
  int64_t client_offset = 0;  // PATCH: Upload-Offset.
  int64_t length = -1;        // Create: Upload-Length; PATCH: one declared now (or -1).
  std::string metadata;       // Create: Upload-Metadata as sent.
  // Upload-Checksum: the request's bytes are committed only if they match
  // (460 and dropped otherwise), so nothing is committed before the end.
  std::optional<UploadChecksum> checksum;
  std::unique_ptr<Digest> digest;

  ~UploadStream() override { Unlock(); }

  // Begin() submits the request's first step; for an existing upload, once
  // it holds the upload's lock.
  void Begin() {
    gathered_end_ = kind_ == Kind::kPatch ? client_offset : 0;
    if (kind_ == Kind::kCreate) return SubmitCreate();
    bool granted = false;
    ticket_ = context_.locks.Acquire(id, writer_->loop(), this, kind_ == Kind::kPatch, &granted);
    hold_ = std::make_shared<LockHold>(&context_.locks, id);
    if (granted) FirstStep();
  }

  absl::Span<char> BodyBuffer(size_t max) override {
    if (answered_) return {};  // Dropped after a refusal: OnBody() counts it.
    StartPiece();
    // Up to the batch (the body pauses there), growing a new buffer by
    // doubling from 64 KiB, so a slow client's request holds little.
    const size_t want = std::min(max, kBatch > piece_.size() ? kBatch - piece_.size() : 0);
    if (want == 0) return {};
    const size_t grow = std::max<size_t>(piece_.size(), 64 * 1024);
    size_t got = 0;
    char* space = piece_.Space(std::min(want, std::max(piece_.free(), grow)), &got);
    return space == nullptr ? absl::Span<char>() : absl::Span<char>(space, got);
  }

  http::BodyAction OnBodyRead(size_t n, http::ResponseWriter& writer) override {
    (void)writer;
    if (answered_) return http::BodyAction::kContinue;
    piece_.Appended(n);
    return Gathered(n);
  }

  http::BodyAction OnBody(absl::string_view data, http::ResponseWriter& writer) override {
    (void)writer;
    if (answered_) return http::BodyAction::kContinue;  // Dropped after a refusal.
    // A piece goes to the disk at once when no write is in flight; while
    // one is, the pieces that arrive gather into the next write (a worker
    // hand-off per socket read would cost more than the write), up to
    // kBatch bytes, where the body pauses.
    StartPiece();
    if (!piece_.Append(data)) {  // Out of memory: end as a request ended early.
      has_piece_ = false;
      preempted_ = true;
      Next();
      return http::BodyAction::kContinue;
    }
    return Gathered(data.size());
  }

  // StartPiece() readies piece_ for body bytes when none wait in it:
  // a kept buffer, placed as the bytes fall in the file.
  void StartPiece() {
    if (has_piece_) return;
    if (piece_.block() == nullptr) std::swap(piece_, spare_);
    piece_.Reset(gathered_end_);
  }

  // Gathered() follows `n` more body bytes in piece_: a write starts if
  // none is in flight; a full batch pauses the body.
  http::BodyAction Gathered(size_t n) {
    gathered_end_ += static_cast<int64_t>(n);
    has_piece_ = true;
    Next();
    if (has_piece_ && piece_.size() >= kBatch) {
      paused_ = true;
      return http::BodyAction::kPause;
    }
    return http::BodyAction::kContinue;
  }

  void OnEnd(http::ResponseWriter& writer) override {
    (void)writer;
    ended_ = true;
    Next();
  }

  void OnAbort(http::AbortReason reason) override {
    (void)reason;
    // The lock is let go once the last step below is done, so the next
    // request sees its result; until then it hears nothing (it is gone).
    // The lock goes once this stream and every disk step it started are
    // gone (LockHold), so the next request sees their result; until then
    // the stream, gone, hears nothing.
    if (ticket_ != 0) {
      context_.locks.Orphan(id, ticket_);
      hold_->ticket = ticket_;
      ticket_ = 0;
    }
    // The bytes that arrived count (tus): commit them though nobody waits;
    // with a checksum they cannot be verified, and are dropped instead. A
    // write in flight is not cancelled: if it has not finished, it takes
    // the rest of the job (the bytes gathered behind it, the commit or
    // rollback, and the lock's release) so that nothing races it; if it has,
    // a last job follows it.
    if (ready_ && !id.empty() && (kind_ == Kind::kCreate || kind_ == Kind::kPatch)) {
      UploadStore* store = context_.store;
      const bool verify = checksum.has_value();
      std::string piece = !verify && has_piece_ ? std::string(piece_.view()) : "";
      int64_t offset = written_;
      if (work_.pending() && pending_write_ != nullptr) {
        {
          std::lock_guard<std::mutex> lock(pending_write_->mutex);
          if (!pending_write_->finished) {
            pending_write_->after = verify ? WriteJob::After::kRollback : WriteJob::After::kCommit;
            pending_write_->tail = std::move(piece);
            work_.Orphan();
            pending_write_ = nullptr;
            return;
          }
        }
        offset += in_flight_size_;  // It wrote (or failed); its done is not needed.
        work_.Orphan();
        pending_write_ = nullptr;
      }
      SubmitWork([store, id = id, verify, offset,
                  piece = std::move(piece)] { SettleAbandoned(store, id, verify, offset, piece); },
                 [] {})
          .Detach();
    } else {
      if (work_.pending()) work_.Orphan();  // It runs to its end; the lock waits for it.
      // A PATCH whose bytes arrived before its checks were done: they count
      // too, if they go where the upload ends (without a checksum).
      if (kind_ == Kind::kPatch && !id.empty() && has_piece_ && !checksum.has_value()) {
        UploadStore* store = context_.store;
        SubmitWork(
            [store, id = id, offset = client_offset, piece = std::string(piece_.view())] {
              // Not past bytes of another request nobody was told of.
              const std::optional<UploadState> state = store->Get(id);
              if (!state.has_value() || state->failed || state->offset != offset ||
                  store->written(id) != offset) {
                return;
              }
              (void)store->Write(id, offset, piece);
              if (store->written(id) > offset) (void)store->Commit(id);
            },
            [] {})
            .Detach();
      }
    }
  }

 private:
  // LockHold releases a ticket once the last of its holders (the stream and
  // the disk steps it started, each of which keeps a reference while it may
  // run) is gone: a request that died keeps the upload locked until its
  // steps are over. Shared between the loop and worker threads: the one
  // shared_ptr here, because ownership really is shared by whichever ends
  // last.
  struct LockHold {
    LockHold(UploadLocks* l, std::string i) : locks(l), id(std::move(i)) {}
    ~LockHold() {
      if (const uint64_t t = ticket.load(); t != 0) locks->Release(id, t);
    }
    UploadLocks* locks;
    std::string id;
    std::atomic<uint64_t> ticket{0};  // Set when the stream hands its ticket over.
  };

  // SubmitWork() submits a disk step that keeps the lock hold alive while
  // it may run.
  template <typename Work, typename Done>
  net::Work SubmitWork(Work work, Done done) {
    return context_.workers->Submit(
        writer_->loop(),
        [hold = hold_, work = std::move(work)]() mutable {
          work();
          (void)hold;
        },
        std::move(done));
  }

  void FirstStep() {
    switch (kind_) {
      case Kind::kCreate: return SubmitCreate();
      case Kind::kPatch: return SubmitPrepare();
      case Kind::kHead: return SubmitHead();
      case Kind::kDelete: return SubmitDelete();
    }
  }

  void Granted() override { FirstStep(); }

  void Preempt() override {
    preempted_ = true;
    Next();
  }

  // Unlock() lets the next request for the upload go.
  void Unlock() {
    if (ticket_ == 0) return;
    context_.locks.Release(id, ticket_);
    ticket_ = 0;
  }

  // EndPreempted() ends this PATCH for the request waiting behind it: the
  // bytes written count (committed; with a checksum, which cannot be
  // verified now, dropped), then the connection closes and the lock goes.
  void EndPreempted() {
    answered_ = true;
    std::string piece = has_piece_ && !checksum.has_value() ? std::string(piece_.view()) : "";
    has_piece_ = false;
    UploadStore* store = context_.store;
    work_ = SubmitWork(
        [store, id = id, verify = checksum.has_value(), offset = written_,
         piece = std::move(piece)] { SettleAbandoned(store, id, verify, offset, piece); },
        [this] {
          Unlock();
          writer_->Cancel();
        });
  }

  // Next() starts whatever can run now: a waiting piece, the last commit,
  // or more body.
  void Next() {
    if (answered_ || work_.pending() || !ready_) return;
    if (preempted_) return EndPreempted();
    if (has_piece_) {
      SubmitWrite();  // Takes the gathered bytes: more may gather meanwhile.
    } else if (ended_) {
      return SubmitFinalCommit();
    }
    if (paused_ && !has_piece_ && !answered_) {
      paused_ = false;
      writer_->ResumeBody();
    }
  }

  // Refuse() answers `status` (after committing what was written, so the
  // bytes that arrived count), and drops the rest of the body.
  void Refuse(int status) {
    // Bytes written past the last commit (none before the upload exists).
    const bool unsettled = !id.empty() && committed_ >= 0 && written_ > committed_;
    if (unsettled && checksum.has_value()) {
      // Unverified bytes never count: drop them, then answer.
      UploadStore* store = context_.store;
      work_ = SubmitWork([store, id = id] { (void)store->Rollback(id); },
                         [this, status] {
                           written_ = committed_;
                           Refuse(status);
                         });
      return;
    }
    if (unsettled && status != 500 && status != 410) {
      struct Result {
        int64_t committed = 0;
      };
      auto result = std::make_unique<Result>();
      Result* raw = result.get();
      UploadStore* store = context_.store;
      work_ = SubmitWork([store, raw, id = id] { raw->committed = store->Commit(id); },
                         [this, status, result = std::move(result)] {
                           if (result->committed >= 0) committed_ = result->committed;
                           written_ = committed_;  // Nothing more is written either way.
                           Refuse(result->committed < 0
                                      ? StatusForError(static_cast<int>(result->committed))
                                      : status);
                         });
      return;
    }
    answered_ = true;
    Unlock();
    Count(status);
    Fields fields;
    std::string body;
    if (committed_ >= 0 && (kind_ == Kind::kPatch || !id.empty())) {
      fields.emplace_back("Upload-Offset", absl::StrCat(committed_));
    }
    if (interop != 0) {
      if (status == 413) {
        fields.emplace_back("Upload-Limit", UploadLimit(context_.options.max_bytes, interop, -1));
      } else if (status == 409 && kind_ == Kind::kPatch) {
        body = Problem(kMismatchingOffset, "offset from request does not match offset of resource",
                       absl::StrCat("\"expected-offset\":", committed_,
                                    ",\"provided-offset\":", client_offset));
      } else if (status == 400 && inconsistent_) {
        body = Problem(kInconsistentLength, "inconsistent length values for upload");
      }
    }
    Answer(*writer_, interop, status, fields, body);
  }

  // Reply() answers `status` with `fields` in the request's protocol.
  void Reply(int status, const Fields& fields) { Answer(*writer_, interop, status, fields); }

  // Age() is the lifetime an incomplete upload has left, for Upload-Limit.
  int64_t Age(int64_t expires_unix) const { return std::max<int64_t>(0, expires_unix - Now()); }

  // ProgressInterim() tells an IETF client the offset now durable (a 104;
  // a creation's carries its Location, as every interim answer to it must).
  void ProgressInterim(bool announce) {
    if (interop == 0) return;
    const std::string location = absl::StrCat(context_.options.prefix, id);
    const std::string version = absl::StrCat(interop);
    const std::string offset = absl::StrCat(committed_);
    const std::string limit = UploadLimit(context_.options.max_bytes, interop, Age(expires_));
    std::vector<http::ResponseField> fields = {{"Upload-Draft-Interop-Version", version}};
    if (kind_ == Kind::kCreate) fields.push_back({"Location", location});
    if (announce) {
      if (!limit.empty()) fields.push_back({"Upload-Limit", limit});
    } else {
      fields.push_back({"Upload-Offset", offset});
    }
    writer_->WriteInterim(104, fields);
  }

  void SubmitCreate() {
    struct Result {
      absl::StatusOr<UploadState> state = absl::UnknownError("not run");
    };
    auto result = std::make_unique<Result>();
    Result* raw = result.get();
    UploadStore* store = context_.store;
    const int64_t expires = Now() + context_.options.expiry_seconds;
    work_ = SubmitWork([store, raw, length = length, metadata = metadata,
                        expires] { raw->state = store->Create(length, metadata, expires); },
                       [this, result = std::move(result)] {
                         if (!result->state.ok()) {
                           const absl::StatusCode code = result->state.status().code();
                           if (code == absl::StatusCode::kUnavailable)
                             return Refuse(503);  // The cap.
                           return Refuse(code == absl::StatusCode::kResourceExhausted ||
                                                 code == absl::StatusCode::kOutOfRange
                                             ? 507
                                             : 500);
                         }
                         id = result->state->id;
                         committed_ = written_ = 0;
                         expires_ = result->state->expires_unix;
                         ready_ = true;
                         // The upload exists durably: an IETF client may resume it.
                         ProgressInterim(/*announce=*/true);
                         Next();
                       });
  }

  void SubmitPrepare() {
    struct Result {
      int status = 0;  // 0: go on.
      UploadState state;
    };
    auto result = std::make_unique<Result>();
    Result* raw = result.get();
    UploadStore* store = context_.store;
    work_ = SubmitWork(
        [store, raw, id = id, offset = client_offset, length = length,
         append_to_complete_refused = interop != 0 && has_body] {
          std::optional<UploadState> state = store->Get(id);
          if (!state.has_value()) {
            raw->status = 404;
            return;
          }
          if (state->failed) {
            raw->status = 410;
            return;
          }
          if (offset != state->offset) {
            raw->status = 409;
            raw->state = *state;
            return;
          }
          // IETF: bytes for a complete upload are an inconsistent length.
          if (state->complete && append_to_complete_refused) {
            raw->status = 400;
            raw->state = *state;
            return;
          }
          if (length >= 0) {
            if (state->length < 0) {
              if (const int r = store->DeclareLength(id, length); r < 0) {
                raw->status = r == -EINVAL ? 400 : StatusForError(r);
                return;
              }
              state->length = length;
            } else if (state->length != length) {
              raw->status = 400;  // An inconsistent length.
              return;
            }
          }
          // Bytes an earlier request wrote but never had committed are not
          // this upload's: nobody was told of them.
          if (store->written(id) > state->offset && store->Rollback(id) < 0) {
            raw->status = 500;
            return;
          }
          raw->state = *state;
        },
        [this, result = std::move(result)] {
          if (result->status == 409) committed_ = result->state.offset;
          if (result->status == 400) inconsistent_ = true;
          if (result->status != 0) return Refuse(result->status);
          committed_ = written_ = result->state.offset;
          length = result->state.length;
          expires_ = result->state.expires_unix;
          ready_ = true;
          Next();
        });
  }

  void SubmitWrite() {
    const int64_t size = static_cast<int64_t>(piece_.size());
    const int64_t limit = length >= 0 ? length : context_.options.max_bytes;
    if (limit > 0 && written_ + size > limit) {
      has_piece_ = false;
      // Past a declared length the IETF draft calls it an inconsistent
      // length; past the maximum it is too large.
      inconsistent_ = interop != 0 && length >= 0;
      return Refuse(inconsistent_ ? 400 : 413);
    }
    struct Result : WriteJob {
      int error = 0;
      int64_t written = 0;               // Where the bytes end after the write.
      std::optional<int64_t> committed;  // When a commit was due.
      std::unique_ptr<Digest> digest;    // Travels with the bytes it hashes.
      WriteBuffer piece;                 // The bytes; the buffer comes back.
    };
    auto result = std::make_unique<Result>();
    Result* raw = result.get();
    pending_write_ = raw;
    in_flight_size_ = size;
    raw->digest = std::move(digest);
    raw->piece = std::move(piece_);
    const bool commit = !checksum.has_value() && written_ + size - committed_ >= CommitTrigger();
    UploadStore* store = context_.store;
    work_ = SubmitWork(
        [store, raw, id = id, offset = written_, commit] {
          const absl::string_view piece = raw->piece.view();
          if (raw->digest != nullptr) raw->digest->Update(piece);
          raw->error = store->Write(id, offset, &raw->piece);
          raw->written = store->written(id);
          WriteJob::After after;
          std::string tail;
          {
            std::lock_guard<std::mutex> lock(raw->mutex);
            raw->finished = true;
            after = raw->after;
            tail = std::move(raw->tail);
          }
          // The request died meanwhile (see OnAbort()): the bytes that
          // arrived count, in order after this write.
          if (after == WriteJob::After::kRollback) {
            (void)store->Rollback(id);
          } else {
            if (raw->error == 0 && after == WriteJob::After::kCommit && !tail.empty()) {
              (void)store->Write(id, offset + static_cast<int64_t>(piece.size()), tail);
            }
            if (raw->error == 0 && (commit || after == WriteJob::After::kCommit)) {
              raw->committed = store->Commit(id);
            } else if (raw->error != 0 && after == WriteJob::After::kCommit) {
              (void)store->Commit(id);  // What did get written.
            }
          }
        },
        [this, size, result = std::move(result)] {
          pending_write_ = nullptr;
          digest = std::move(result->digest);
          // The buffer is kept for the bytes to come (its size fits them).
          (piece_.block() == nullptr ? piece_ : spare_) = std::move(result->piece);
          if (result->error < 0) {
            // The bytes that did get written count (the worker read how
            // many: asking the store here could wait on its lock).
            written_ = result->written;
            return Refuse(StatusForError(result->error));
          }
          written_ += size;
          if (result->committed.has_value()) {
            if (*result->committed < 0) {
              written_ = committed_;
              return Refuse(StatusForError(static_cast<int>(*result->committed)));
            }
            committed_ = *result->committed;
            ProgressInterim(/*announce=*/false);
          }
          Next();
        });
    has_piece_ = false;
  }

  void SubmitFinalCommit() {
    struct Result {
      int64_t committed = 0;
      int64_t length = -1;  // The upload's length after the commit.
      bool mismatch = false;
      std::unique_ptr<Digest> digest;
    };
    auto result = std::make_unique<Result>();
    Result* raw = result.get();
    raw->digest = std::move(digest);
    raw->length = length;
    UploadStore* store = context_.store;
    std::string expected = checksum.has_value() ? checksum->digest : "";
    work_ = SubmitWork(
        [store, raw, id = id, expected = std::move(expected), declare = declare_at_end] {
          if (raw->digest != nullptr) {
            // An empty body hashes to the empty digest, which must match too.
            if (raw->digest->Final() != expected) {
              raw->mismatch = true;
              (void)store->Rollback(id);
              return;
            }
          }
          // IETF Upload-Complete: ?1 with the length unknown until now: the
          // bytes that arrived are the whole upload.
          if (declare && raw->length < 0) {
            const int64_t total = store->written(id);
            if (const int r = store->DeclareLength(id, total); r < 0) {
              raw->committed = r;
              return;
            }
            raw->length = total;
          }
          raw->committed = store->Commit(id);
        },
        [this, result = std::move(result)] {
          if (result->mismatch) {
            written_ = committed_;
            return Refuse(460);
          }
          if (result->committed < 0) {
            written_ = committed_;
            return Refuse(StatusForError(static_cast<int>(result->committed)));
          }
          committed_ = result->committed;
          length = result->length;
          const bool complete = length >= 0 && committed_ == length;
          if (interop != 0) return AnswerIetf(complete);
          answered_ = true;
          Unlock();
          Fields fields = {{"Upload-Offset", absl::StrCat(committed_)}};
          // Until it is complete, an upload may be removed after this.
          if (expires_ > 0 && !(length >= 0 && committed_ == length)) {
            fields.emplace_back("Upload-Expires", HttpDate(expires_));
          }
          if (kind_ == Kind::kCreate) {
            fields.emplace_back("Location", absl::StrCat(context_.options.prefix, id));
          }
          Reply(kind_ == Kind::kCreate ? 201 : 204, fields);
        });
  }

  // AnswerIetf() answers an IETF creation or append whose bytes are all
  // durable. A creation is 201 with the upload's Location (and limits); an
  // append that completes the upload is 201 with the Location that serves
  // it, as the creation would have been had it carried everything; any
  // other append is 204. A request that said Upload-Complete: ?1 but
  // stopped short of the declared length is 400 (an inconsistent length),
  // its bytes kept. An upload whose offset reaches its declared length is
  // complete whatever the request said (the store knows no full but
  // incomplete upload).
  void AnswerIetf(bool complete) {
    if (complete_request && !complete) {
      inconsistent_ = true;
      return Refuse(400);
    }
    answered_ = true;
    Unlock();
    Fields fields = {{"Upload-Complete", complete ? "?1" : "?0"},
                     {"Upload-Offset", absl::StrCat(committed_)}};
    if (kind_ == Kind::kCreate || complete) {
      fields.emplace_back("Location", absl::StrCat(context_.options.prefix, id));
    }
    if (kind_ == Kind::kCreate && !complete) {
      if (std::string limit = UploadLimit(context_.options.max_bytes, interop, Age(expires_));
          !limit.empty()) {
        fields.emplace_back("Upload-Limit", std::move(limit));
      }
    }
    Reply(kind_ == Kind::kCreate || complete ? 201 : 204, fields);
  }

  void SubmitHead() {
    struct Result {
      std::optional<UploadState> state;
    };
    auto result = std::make_unique<Result>();
    Result* raw = result.get();
    UploadStore* store = context_.store;
    work_ = SubmitWork([store, raw, id = id] { raw->state = store->Get(id); },
                       [this, result = std::move(result)] {
                         answered_ = true;
                         Unlock();
                         const std::optional<UploadState>& state = result->state;
                         if (!state.has_value()) return Reply(404, {{"Cache-Control", "no-store"}});
                         if (state->failed) return Reply(410, {{"Cache-Control", "no-store"}});
                         if (interop != 0) return HeadIetf(*state);
                         Fields fields = {{"Upload-Offset", absl::StrCat(state->offset)},
                                          {"Cache-Control", "no-store"}};
                         if (state->length >= 0) {
                           fields.emplace_back("Upload-Length", absl::StrCat(state->length));
                         } else {
                           fields.emplace_back("Upload-Defer-Length", "1");
                         }
                         if (!state->metadata.empty())
                           fields.emplace_back("Upload-Metadata", state->metadata);
                         if (!state->complete)
                           fields.emplace_back("Upload-Expires", HttpDate(state->expires_unix));
                         Reply(200, fields);
                       });
  }

  // HeadIetf() is the IETF offset retrieval's answer: 204 with the offset,
  // the completeness, the length when known and the limits, never cached.
  void HeadIetf(const UploadState& state) {
    Fields fields = {{"Upload-Offset", absl::StrCat(state.offset)},
                     {"Upload-Complete", state.complete ? "?1" : "?0"},
                     {"Cache-Control", "no-store"}};
    if (state.length >= 0) fields.emplace_back("Upload-Length", absl::StrCat(state.length));
    if (std::string limit = UploadLimit(context_.options.max_bytes, interop,
                                        state.complete ? -1 : Age(state.expires_unix));
        !limit.empty()) {
      fields.emplace_back("Upload-Limit", std::move(limit));
    }
    Reply(204, fields);
  }

  void SubmitDelete() {
    auto result = std::make_unique<int>(0);
    int* raw = result.get();
    UploadStore* store = context_.store;
    work_ = SubmitWork([store, raw, id = id] { *raw = store->Remove(id); },
                       [this, result = std::move(result)] {
                         answered_ = true;
                         Unlock();
                         const int status = *result == 0 ? 204 : StatusForError(*result);
                         Count(status);
                         Reply(status, {});
                       });
  }

  // CommitTrigger() is how many bytes past the last commit a write makes
  // before it commits too: early enough that the bytes read but not yet
  // durable (this write's, and a batch gathering behind it) stay within
  // commit_bytes, which is what a client re-sends at most after a crash.
  int64_t CommitTrigger() const {
    const int64_t margin = 2 * static_cast<int64_t>(kBatch);
    const int64_t every = context_.options.commit_bytes;
    return every > 2 * margin ? every - margin : every / 2;
  }

  // Count() counts an answer the metrics follow.
  void Count(int status) const {
    UploadCounters* counters = context_.options.counters;
    if (counters == nullptr) return;
    if (status == 507) counters->insufficient_storage.fetch_add(1, std::memory_order_relaxed);
    if (status == 460) counters->checksum_mismatches.fetch_add(1, std::memory_order_relaxed);
    if (status == 204 && kind_ == Kind::kDelete) {
      counters->terminated.fetch_add(1, std::memory_order_relaxed);
    }
  }

  int64_t Now() const {
    if (context_.options.now_unix) return context_.options.now_unix();
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  const UploadHandler::Context& context_;
  ExtraFieldsWriter out_;  // The codec's writer, with CORS fields.
  http::ResponseWriter* const writer_ = &out_;
  const Kind kind_;
  // What a write in flight shares with OnAbort(), under its mutex: once the
  // request died, the worker, after its own write, writes the bytes
  // gathered behind it (`tail`), commits (or rolls back, under a checksum)
  // (the lock waits for it); `finished` says it is past that point.
  struct WriteJob {
    enum class After { kNothing, kCommit, kRollback };
    std::mutex mutex;
    bool finished = false;
    After after = After::kNothing;
    std::string tail;
  };
  net::Work work_;                     // The step in flight.
  WriteJob* pending_write_ = nullptr;  // The write in flight, if work_ is one,
  int64_t in_flight_size_ = 0;         // and its size.
  uint64_t ticket_ = 0;                // The upload's lock, held or waited for.
  std::shared_ptr<LockHold> hold_;     // Releases the lock after the last step.
  bool preempted_ = false;             // A request behind this one asked it to end.
  bool inconsistent_ = false;          // IETF: a 400 is an inconsistent length.
  bool ready_ = false;                 // Created or checked: bytes may be written.
  bool answered_ = false;              // The response is given.
  bool ended_ = false;                 // The whole body has arrived.
  bool paused_ = false;                // The body is paused.
  // Body bytes gather into writes of at most about this size while one is
  // in flight (so a stream holds at most two in memory): large enough that
  // the worker hand-offs and device submissions per MB are few.
  static constexpr size_t kBatch = 1024 * 1024;
  bool has_piece_ = false;
  // Body bytes waiting for their write, aligned for a direct one, and a
  // buffer back from a finished write, kept for the next.
  WriteBuffer piece_;
  WriteBuffer spare_;
  int64_t gathered_end_ = 0;  // Where the bytes gathered so far end in the file.
  int64_t expires_ = 0;       // When the upload may be removed if incomplete.
  int64_t written_ = 0;       // Where this upload's bytes end.
  int64_t committed_ = -1;    // Durable, as last heard; -1: not known yet.
};

// Serves a complete upload back (GET, or HEAD without Tus-Resumable): one
// byte range at most, an ETag (an upload's bytes never change once
// complete), always as application/octet-stream with nosniff and an
// attachment disposition. A chunk at a time (1 MiB), while the client keeps
// up (writable()): a worker splices the chunk from the file into a pipe
// (references to the page cache's pages; the disk is read there, never on
// the loop), and the connection splices it from the pipe to the client
// (WritePipe()), so no byte is copied through user space. Where either end
// cannot splice (the connection's transport, or a file system without
// system descriptors), the worker reads the chunk and the loop writes it.
class DownloadStream final : public http::RequestStream {
 public:
  DownloadStream(const UploadHandler::Context& context, http::ResponseWriter& writer, Fields extra,
                 std::string id, bool head_only, std::string range, std::string if_none_match)
      : context_(context),
        out_(&writer, std::move(extra)),
        id_(std::move(id)),
        head_only_(head_only),
        range_(std::move(range)),
        if_none_match_(std::move(if_none_match)) {}

  void Begin() {
    struct Result {
      std::optional<UploadState> state;
      std::unique_ptr<Source> source;
    };
    auto result = std::make_unique<Result>();
    Result* raw = result.get();
    UploadStore* store = context_.store;
    work_ = context_.workers->Submit(
        writer_->loop(),
        [store, raw, id = id_] {
          raw->state = store->Get(id);
          if (raw->state.has_value() && raw->state->complete && !raw->state->failed) {
            raw->source = std::make_unique<Source>(store->file_system(), store->OpenData(id));
          }
        },
        [this, result = std::move(result)] {
          source_ = std::move(result->source);
          Answer(result->state);
        });
  }

  void OnWritable(http::ResponseWriter& writer) override {
    (void)writer;
    if (waiting_for_client_) {
      waiting_for_client_ = false;
      Next();
    }
  }

 private:
  // What the disk steps use, owned by whichever holds it: the stream, or a
  // step in flight (which hands it back when done, or closes it if the
  // stream is gone by then), so nothing is closed while a worker uses it.
  struct Source {
    Source(FileSystem* f, int descriptor) : fs(f), file(descriptor) {}
    ~Source() {
      if (file >= 0) fs->Close(file);
    }
    Source(const Source&) = delete;
    Source& operator=(const Source&) = delete;
    FileSystem* fs;
    int file;     // The upload's bytes (-errno if it could not be opened).
    Fd pipe_in;   // The pipe's write end, once splicing.
    Fd pipe_out;  // Its read end: the connection takes its own copy.
  };

  void Answer(const std::optional<UploadState>& state) {
    if (!state.has_value()) return Plain(404, "no such upload\n");
    if (state->failed) return Plain(410, "the upload's storage failed\n");
    // Never served as if it were whole.
    if (!state->complete) return Plain(409, "the upload is not complete\n");
    if (source_ == nullptr || source_->file < 0) return Plain(500, "cannot open the upload\n");
    const int64_t size = state->length;
    const std::string etag = absl::StrCat("\"", id_, "\"");
    fields_ = {{"ETag", etag},
               {"Accept-Ranges", "bytes"},
               {"X-Content-Type-Options", "nosniff"},
               {"Content-Disposition", ContentDisposition(FileName(state->metadata), id_)}};
    if (!if_none_match_.empty() && (if_none_match_ == etag || if_none_match_ == "*")) {
      return Finish(304, 0);
    }
    const ByteRange range = ParseRange(range_, size);
    if (range.kind == ByteRange::Kind::kUnsatisfiable) {
      fields_.emplace_back("Content-Range", absl::StrCat("bytes */", size));
      return Finish(416, 0);
    }
    int status = 200;
    offset_ = 0;
    left_ = size;
    if (range.kind == ByteRange::Kind::kPart) {
      status = 206;
      offset_ = range.first;
      left_ = range.last - range.first + 1;
      fields_.emplace_back("Content-Range",
                           absl::StrCat("bytes ", range.first, "-", range.last, "/", size));
    }
    WriteHead(status, left_);
    if (head_only_ || left_ == 0) {
      source_.reset();
      writer_->Finish();
      return;
    }
    // Splice when the connection can take a pipe's bytes; a pipe of 1 MiB
    // (the system's default maximum) holds a whole chunk.
    int ends[2];
    if (writer_->WritePipe(-1, 0) == 0 && ::pipe2(ends, O_CLOEXEC | O_NONBLOCK) == 0) {
      Fd out(ends[0]), in(ends[1]);
      if (::fcntl(ends[1], F_SETPIPE_SZ, static_cast<int>(kChunk)) >= kChunk) {
        source_->pipe_out = std::move(out);
        source_->pipe_in = std::move(in);
      }
    }
    Next();
  }

  // Plain() answers a refusal as text.
  void Plain(int status, absl::string_view text) {
    source_.reset();
    http::Response response;
    response.status = status;
    response.body = text;
    const http::ResponseField fields[] = {{"Cache-Control", "no-store"}};
    response.fields = fields;
    writer_->Respond(response);
  }

  // WriteHead() writes the head: `status`, the fields so far, `length`.
  void WriteHead(int status, int64_t length) {
    std::vector<http::ResponseField> out;
    for (const auto& [name, value] : fields_) out.push_back({name, value});
    http::ResponseHead head;
    head.status = status;
    head.content_type = "application/octet-stream";
    head.fields = out;
    head.content_length = length;
    writer_->WriteHead(head);
  }

  // Finish() answers a bodiless status with the fields so far.
  void Finish(int status, int64_t length) {
    source_.reset();
    WriteHead(status, length);
    writer_->Finish();
  }

  // Next() has a worker put the next chunk in the pipe (or read it), then
  // sends it, and goes on while the client keeps up.
  void Next() {
    struct Result {
      std::unique_ptr<Source> source;
      std::string bytes;  // Read, when not splicing.
      ssize_t got = 0;
    };
    auto result = std::make_unique<Result>();
    result->source = std::move(source_);
    const bool splice = result->source->pipe_in.valid();
    Result* raw = result.get();
    const int64_t want = std::min(kChunk, left_);
    work_ = context_.workers->Submit(
        writer_->loop(),
        [raw, offset = offset_, want, splice] {
          Source& source = *raw->source;
          if (splice) {
            raw->got = source.fs->SpliceToPipe(source.file, offset, source.pipe_in.get(),
                                               static_cast<size_t>(want));
            return;
          }
          raw->bytes.resize(static_cast<size_t>(want));
          raw->got = source.fs->Pread(source.file, raw->bytes.data(), raw->bytes.size(), offset);
        },
        [this, splice, result = std::move(result)] {
          source_ = std::move(result->source);
          if (result->got == -ENOSYS && splice) {  // The file system cannot splice: read.
            source_->pipe_in = Fd();
            source_->pipe_out = Fd();
            return Next();
          }
          if (result->got == -EAGAIN && splice) {
            // The pipe is still full: wait for the client, or (should it
            // be keeping up) go on by reading.
            if (!writer_->writable()) {
              waiting_for_client_ = true;
              return;
            }
            source_->pipe_in = Fd();
            return Next();
          }
          // A read error, or the file shrank: cut off.
          if (result->got <= 0 ||
              (splice ? writer_->WritePipe(source_->pipe_out.get(), result->got)
                      : writer_->WriteBody(absl::string_view(
                            result->bytes.data(), static_cast<size_t>(result->got)))) != 0) {
            source_.reset();
            writer_->Cancel();
            return;
          }
          offset_ += result->got;
          left_ -= result->got;
          if (left_ == 0) {
            // The connection holds its own end of the pipe until it is sent.
            source_.reset();
            writer_->Finish();
          } else if (writer_->writable()) {
            Next();
          } else {
            waiting_for_client_ = true;
          }
        });
  }

  // FileName() is the "filename" metadata value, decoded, or "".
  static std::string FileName(const std::string& metadata) {
    absl::StatusOr<std::vector<MetadataPair>> pairs = ParseUploadMetadata(metadata);
    if (!pairs.ok()) return "";
    for (const MetadataPair& pair : *pairs) {
      if (pair.key == "filename") return pair.value;
    }
    return "";
  }

  static constexpr int64_t kChunk = 1 << 20;
  const UploadHandler::Context& context_;
  ExtraFieldsWriter out_;  // The codec's writer, with CORS fields.
  http::ResponseWriter* const writer_ = &out_;
  const std::string id_;
  const bool head_only_;
  const std::string range_;
  const std::string if_none_match_;
  Fields fields_;
  // Declared before work_, so a step in flight is cancelled (and its
  // closure, holding the source, destroyed) before the stream's source is.
  std::unique_ptr<Source> source_;
  net::Work work_;
  int64_t offset_ = 0;
  int64_t left_ = 0;
  bool waiting_for_client_ = false;
};

// Launch() starts a stream set up for its request: creations and appends
// read their body, the others drop it.
http::StreamStart Launch(std::unique_ptr<UploadStream> stream, UploadStream::Kind kind) {
  stream->Begin();
  const bool reads = kind == UploadStream::Kind::kCreate || kind == UploadStream::Kind::kPatch;
  return {http::Owned(std::move(stream)), reads ? http::BodyMode::kRead : http::BodyMode::kDiscard};
}

// StartIetf() starts an IETF draft request (interop version `interop`) on
// the collection (`path` empty: a creation) or an upload (`path` its ID):
// - creation: POST with Upload-Complete, and the length from Upload-Length
//   or, with Upload-Complete: ?1, from Content-Length (both: they must
//   agree); the body is the upload's first bytes, of any media type;
//   Upload-Metadata is taken as tus takes it (tus-js-client sends it);
// - offset retrieval: HEAD; cancellation: DELETE;
// - append: PATCH of application/partial-upload with Upload-Offset and
//   Upload-Complete (the length follows as for a creation).
// Refusals: 400 (a missing or malformed field, or inconsistent lengths, as
// application/problem+json where the draft names a problem type), 405,
// 413 (over the maximum, with Upload-Limit), 415.
http::StreamStart StartIetf(const UploadHandler::Context& context, const http::RequestHead& head,
                            http::ResponseWriter& writer, Fields extra, absl::string_view path,
                            int interop, bool has_body) {
  const UploadHandlerOptions& options = context.options;
  const bool collection = path.empty();
  const auto refuse = [&](int status, const Fields& fields = {}, absl::string_view body = "") {
    return Refuse(writer, extra, interop, status, fields, body);
  };
  const auto inconsistent = [&] {
    return refuse(400, {}, Problem(kInconsistentLength, "inconsistent length values for upload"));
  };
  UploadStream::Kind kind;
  if (collection) {
    if (head.method != http::Method::kPost) return refuse(405, {{"Allow", "OPTIONS, POST"}});
    kind = UploadStream::Kind::kCreate;
  } else {
    switch (head.method) {
      case http::Method::kHead: kind = UploadStream::Kind::kHead; break;
      case http::Method::kDelete: kind = UploadStream::Kind::kDelete; break;
      case http::Method::kPatch: kind = UploadStream::Kind::kPatch; break;
      default: return refuse(405, {{"Allow", "OPTIONS, HEAD, PATCH, DELETE"}});
    }
  }
  auto stream = std::make_unique<UploadStream>(context, writer, kind, extra);
  stream->interop = interop;
  stream->id = std::string(path);
  stream->has_body = has_body;
  if (kind == UploadStream::Kind::kCreate || kind == UploadStream::Kind::kPatch) {
    // A malformed field is as if absent (the draft's rule).
    const std::optional<bool> complete =
        ParseSfBoolean(Header(head, "Upload-Complete").value_or(""));
    if (!complete.has_value()) return refuse(400, {}, "Upload-Complete (?0 or ?1) is required\n");
    int64_t offset = 0;
    if (kind == UploadStream::Kind::kPatch) {
      if (!EqualsMediaType(Header(head, "Content-Type").value_or(""), kPartialUpload)) {
        return refuse(415, {}, "an append is application/partial-upload\n");
      }
      const std::optional<int64_t> client_offset =
          ParseSfNonNegativeInteger(Header(head, "Upload-Offset").value_or(""));
      if (!client_offset.has_value()) return refuse(400, {}, "Upload-Offset is required\n");
      offset = *client_offset;
    }
    int64_t length = -1;
    if (const std::optional<absl::string_view> value = Header(head, "Upload-Length")) {
      length = ParseSfNonNegativeInteger(*value).value_or(-1);
    }
    if (*complete) {
      if (head.body_kind == http::BodyKind::kChunked) {
        stream->declare_at_end = true;  // Known once the body ends.
      } else {
        const int64_t implied =
            offset + (head.body_kind == http::BodyKind::kContentLength ? head.content_length : 0);
        if (length >= 0 && length != implied) return inconsistent();
        length = implied;
      }
    }
    if (options.max_bytes > 0 && length > options.max_bytes) {
      return refuse(413, {{"Upload-Limit", UploadLimit(options.max_bytes, interop, -1)}});
    }
    const absl::string_view raw_metadata = Header(head, "Upload-Metadata").value_or("");
    if (absl::StatusOr<std::vector<MetadataPair>> parsed = ParseUploadMetadata(raw_metadata);
        !parsed.ok()) {
      return refuse(400, {}, absl::StrCat(parsed.status().message(), "\n"));
    }
    stream->metadata = std::string(raw_metadata);
    stream->complete_request = *complete;
    stream->client_offset = offset;
    stream->length = length;
  }
  return Launch(std::move(stream), kind);
}

}  // namespace

UploadHandler::UploadHandler(UploadStore* store, net::WorkerPool* workers,
                             UploadHandlerOptions options)
    : context_{store, workers, std::move(options), {}} {}

http::StreamStart UploadHandler::Start(const http::RequestHead& head,
                                       http::ResponseWriter& writer) const {
  const UploadHandlerOptions& options = context_.options;
  absl::string_view path = head.target.substr(0, head.target.find('?'));
  path.remove_prefix(std::min(path.size(), options.prefix.size()));
  const bool collection = path.empty();
  const std::optional<absl::string_view> origin = Header(head, "Origin");
  const bool cors = !options.cors_origin.empty() && origin.has_value() &&
                    (options.cors_origin == "*" || *origin == options.cors_origin);
  Fields extra;
  if (cors) {
    extra.emplace_back("Access-Control-Allow-Origin",
                       options.cors_origin == "*" ? std::string("*") : std::string(*origin));
    extra.emplace_back("Vary", "Origin");
    extra.emplace_back("Access-Control-Expose-Headers", std::string(kExposedHeaders));
  }
  // An IETF request names the draft's interop version instead of
  // Tus-Resumable.
  const std::optional<absl::string_view> tus = Header(head, "Tus-Resumable");
  int interop = 0;
  if (const std::optional<absl::string_view> version = Header(head, "Upload-Draft-Interop-Version");
      version.has_value() && !tus.has_value()) {
    const std::optional<int64_t> n = ParseSfNonNegativeInteger(*version);
    if (n != kIetfInteropOld && n != kIetfInteropNew) {
      return Refuse(writer, extra, kIetfInteropNew, 400, {},
                    absl::StrCat("Upload-Draft-Interop-Version must be ", kIetfInteropOld, " or ",
                                 kIetfInteropNew, "\n"));
    }
    interop = static_cast<int>(*n);
  }
  // No byte of a request becomes a path except through this check.
  if (!collection && !ValidId(path)) return Refuse(writer, extra, interop, 404);

  // A browser's preflight: what a page from the allowed origin may send.
  if (head.method == http::Method::kOptions && cors &&
      Header(head, "Access-Control-Request-Method").has_value()) {
    return Refuse(writer, extra, interop, 204,
                  {{"Access-Control-Allow-Methods", "POST, GET, HEAD, PATCH, DELETE, OPTIONS"},
                   {"Access-Control-Allow-Headers", std::string(kAllowedHeaders)},
                   {"Access-Control-Max-Age", "86400"}});
  }
  if (head.method == http::Method::kOptions) {
    Fields fields = {{"Tus-Version", std::string(kTusVersion)},
                     {"Tus-Extension", std::string(kExtensions)},
                     {"Tus-Checksum-Algorithm", std::string(kChecksumAlgorithms)}};
    if (options.max_bytes > 0) fields.emplace_back("Tus-Max-Size", absl::StrCat(options.max_bytes));
    // The IETF draft's discovery: appends of application/partial-upload,
    // and the limits a new upload gets.
    fields.emplace_back("Accept-Patch", std::string(kPartialUpload));
    if (std::string limit = UploadLimit(options.max_bytes, interop == 0 ? kIetfInteropNew : interop,
                                        options.expiry_seconds);
        !limit.empty()) {
      fields.emplace_back("Upload-Limit", std::move(limit));
    }
    return Refuse(writer, extra, 0, 204, fields);
  }
  if (!options.token.empty() && !Authorized(Header(head, "Authorization"), options.token)) {
    return Refuse(writer, extra, interop, 401, {{"WWW-Authenticate", "Bearer realm=\"uploads\""}});
  }
  if (!collection && (head.method == http::Method::kGet ||
                      (head.method == http::Method::kHead && !tus.has_value() && interop == 0))) {
    auto stream = std::make_unique<DownloadStream>(
        context_, writer, extra, std::string(path), head.method == http::Method::kHead,
        std::string(Header(head, "Range").value_or("")),
        std::string(Header(head, "If-None-Match").value_or("")));
    stream->Begin();
    return {http::Owned(std::move(stream)), http::BodyMode::kDiscard};
  }
  const bool has_body =
      head.body_kind == http::BodyKind::kChunked ||
      (head.body_kind == http::BodyKind::kContentLength && head.content_length > 0);
  if (interop != 0)
    return StartIetf(context_, head, writer, std::move(extra), path, interop, has_body);
  if (tus != kTusVersion) {
    return Refuse(writer, extra, 0, 412, {{"Tus-Version", std::string(kTusVersion)}});
  }
  const bool offset_body =
      EqualsMediaType(Header(head, "Content-Type").value_or(""), kOffsetOctetStream);
  UploadStream::Kind kind;
  int64_t length = -1;
  int64_t client_offset = 0;
  std::string metadata;
  if (collection) {
    if (head.method != http::Method::kPost)
      return Refuse(writer, extra, 0, 405, {{"Allow", "OPTIONS, POST"}});
    const std::optional<absl::string_view> length_header = Header(head, "Upload-Length");
    const std::optional<absl::string_view> defer = Header(head, "Upload-Defer-Length");
    if (length_header.has_value() == defer.has_value() || (defer.has_value() && *defer != "1")) {
      return Refuse(writer, extra, 0, 400, {},
                    "Upload-Length or Upload-Defer-Length: 1 is required\n");
    }
    if (length_header.has_value()) {
      const std::optional<int64_t> n = ParseUploadNumber(*length_header);
      if (!n.has_value())
        return Refuse(writer, extra, 0, 400, {}, "Upload-Length is not a number\n");
      length = *n;
      if (options.max_bytes > 0 && length > options.max_bytes) return Refuse(writer, extra, 0, 413);
    }
    const absl::string_view raw_metadata = Header(head, "Upload-Metadata").value_or("");
    if (absl::StatusOr<std::vector<MetadataPair>> parsed = ParseUploadMetadata(raw_metadata);
        !parsed.ok()) {
      return Refuse(writer, extra, 0, 400, {}, absl::StrCat(parsed.status().message(), "\n"));
    }
    metadata = std::string(raw_metadata);
    if (has_body && !offset_body) return Refuse(writer, extra, 0, 415);
    kind = UploadStream::Kind::kCreate;
  } else {
    switch (head.method) {
      case http::Method::kHead: kind = UploadStream::Kind::kHead; break;
      case http::Method::kDelete: kind = UploadStream::Kind::kDelete; break;
      case http::Method::kPatch: {
        if (!offset_body) return Refuse(writer, extra, 0, 415);
        const std::optional<int64_t> offset =
            ParseUploadNumber(Header(head, "Upload-Offset").value_or(""));
        if (!offset.has_value())
          return Refuse(writer, extra, 0, 400, {}, "Upload-Offset is required\n");
        client_offset = *offset;
        if (const std::optional<absl::string_view> l = Header(head, "Upload-Length")) {
          const std::optional<int64_t> n = ParseUploadNumber(*l);
          if (!n.has_value())
            return Refuse(writer, extra, 0, 400, {}, "Upload-Length is not a number\n");
          if (options.max_bytes > 0 && *n > options.max_bytes) return Refuse(writer, extra, 0, 413);
          length = *n;
        }
        kind = UploadStream::Kind::kPatch;
        break;
      }
      default: return Refuse(writer, extra, 0, 405, {{"Allow", "OPTIONS, HEAD, PATCH, DELETE"}});
    }
  }
  std::optional<UploadChecksum> checksum;
  if (const std::optional<absl::string_view> value = Header(head, "Upload-Checksum");
      value.has_value() &&
      (kind == UploadStream::Kind::kPatch || kind == UploadStream::Kind::kCreate)) {
    absl::StatusOr<UploadChecksum> parsed = ParseUploadChecksum(*value);
    if (!parsed.ok())
      return Refuse(writer, extra, 0, 400, {}, absl::StrCat(parsed.status().message(), "\n"));
    checksum = std::move(*parsed);
  }
  auto stream = std::make_unique<UploadStream>(context_, writer, kind, std::move(extra));
  if (checksum.has_value()) {
    stream->digest = Digest::Create(checksum->algorithm);
    stream->checksum = std::move(checksum);
  }
  stream->id = collection ? "" : std::string(path);
  stream->client_offset = client_offset;
  stream->length = length;
  stream->metadata = std::move(metadata);
  stream->has_body = has_body;
  return Launch(std::move(stream), kind);
}

}  // namespace epollhttp::upload
