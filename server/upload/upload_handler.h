// upload_handler.h: the resumable-upload endpoint (`/files/` with
// --upload_dir), speaking tus 1.0 and the IETF draft "Resumable Uploads for
// HTTP" (interop versions 6 and 8), over the durable store (store.h). Every
// disk step runs on the worker pool, one step at a time per request, so no
// loop ever waits for a disk; while a write is in flight the next body bytes
// gather, and the body pauses once a whole batch waits.
//
// Served (docs/uploads.md has the protocol table):
// - OPTIONS on the collection or an upload: the versions and extensions
//   (creation, creation-with-upload, creation-defer-length, termination,
//   expiration, checksum), Tus-Checksum-Algorithm and Tus-Max-Size;
// - POST on the collection: creation, with Upload-Length or
//   Upload-Defer-Length: 1, Upload-Metadata parsed strictly, and (with
//   Content-Type: application/offset+octet-stream) the first bytes in the
//   same request; 201 with Location once the record, and the bytes, are
//   durable;
// - HEAD on an upload: its committed offset and length, never cached;
// - PATCH on an upload: bytes at Upload-Offset (409 unless it is the
//   committed offset), committed every commit_bytes and at the end; the 204
//   carries the offset that is durable; a client that disconnects has the
//   bytes that arrived committed;
// - checksum: with Upload-Checksum (sha1 or sha256) on a PATCH or a
//   creation with bytes, the bytes are hashed on the worker pool as they are
//   written and committed only if the digest matches: otherwise they are
//   dropped and the answer is 460; an unknown algorithm is 400;
// - one writer per upload (upload_locks.h): a HEAD or DELETE that arrives
//   while a PATCH of the same upload is in flight first has it commit and
//   end (its connection closes), then proceeds; a PATCH waits its turn;
// - DELETE on an upload: termination;
// - expiration: the answers about an incomplete upload carry
//   Upload-Expires (its creation plus expiry_seconds), after which the
//   sweeper (sweeper.h) removes it;
// - GET on a complete upload (and HEAD without Tus-Resumable): its bytes,
//   spliced from the file into a pipe on the worker pool and from the pipe
//   to the client by the connection, a chunk at a time while the client
//   keeps up,
//   with one byte range (206, 416), an ETag (If-None-Match: 304), always
//   application/octet-stream with X-Content-Type-Options: nosniff and an
//   attachment Content-Disposition from the filename metadata (RFC 8187); an
//   incomplete upload is 409, never served as if whole.
// IETF draft requests name Upload-Draft-Interop-Version (6 or 8; another is
// 400) instead of Tus-Resumable, over the same uploads:
// - POST on the collection with Upload-Complete creates an upload from its
//   body (any media type); once the upload exists durably a 104 (Upload
//   Resumption Supported) names its Location and limits, and every later
//   commit mid-body sends a 104 with the offset now durable;
// - HEAD gives Upload-Offset, Upload-Complete, Upload-Length and
//   Upload-Limit (204); PATCH of application/partial-upload appends; DELETE
//   cancels;
// - the length comes from Upload-Length or, with Upload-Complete: ?1, from
//   the body's end; lengths that disagree are 400 with the draft's
//   inconsistent-upload-length problem, a wrong offset 409 with its
//   mismatching-upload-offset problem;
// - an upload is complete when its offset reaches its length (the store
//   knows no full but incomplete upload), whatever Upload-Complete said.
// Access: with a token, every request but OPTIONS needs it as a bearer
// token (401 otherwise, compared in constant time); with a CORS origin,
// browsers on that origin get preflights answered and may read the tus
// fields.
// Refusals: 412 (Tus-Resumable other than 1.0.0, with Tus-Version), 415 (a
// body of another media type), 400 (a malformed header), 404 (no such
// upload: any name that is not a store ID), 409, 410 (an upload whose
// storage failed), 413 (over the declared length or the maximum), 507 (the
// disk is full, quota or file size), 500 (any other disk error).
//
// Body bytes are read from the socket straight into an aligned buffer
// (RequestStream::BodyBuffer()) and written from it with direct I/O by the
// store, in batches of up to 1 MiB while the previous one is written.
//
// Thread safety: Start() may run on any loop thread at once (the handler is
// immutable); each request's stream lives on its loop's thread.
#ifndef EPOLLHTTP_SERVER_UPLOAD_UPLOAD_HANDLER_H_
#define EPOLLHTTP_SERVER_UPLOAD_UPLOAD_HANDLER_H_

#include <cstdint>
#include <functional>
#include <string>

#include "net/worker_pool.h"
#include "server/http/handler.h"
#include "server/upload/store.h"
#include "server/upload/upload_locks.h"
#include "server/upload/upload_metrics.h"

namespace epollhttp::upload {

struct UploadHandlerOptions {
  std::string prefix = "/files/";           // The collection; uploads are prefix + ID.
  int64_t max_bytes = 0;                    // Largest upload; 0: no limit.
  int64_t commit_bytes = int64_t{8} << 20;  // Commit at least this often in a body.
  int64_t expiry_seconds = 24 * 3600;       // An incomplete upload's lifetime.
  std::function<int64_t()> now_unix;        // The wall clock (null: the system's).
  // Non-empty: every request but OPTIONS needs Authorization: Bearer TOKEN
  // (401 otherwise).
  std::string token;
  // Non-empty: answers to requests from this Origin ("*": any) carry CORS
  // fields, and its preflights are answered.
  std::string cors_origin;
  // Where 507, 460 and terminations are counted (not owned; may be null).
  UploadCounters* counters = nullptr;
};

class UploadHandler final : public http::Handler {
 public:
  // `store` and `workers` (not owned) must outlive every request.
  UploadHandler(UploadStore* store, net::WorkerPool* workers, UploadHandlerOptions options);

  http::StreamStart Start(const http::RequestHead& head,
                          http::ResponseWriter& writer) const override;

  // What every stream shares.
  struct Context {
    UploadStore* store;
    net::WorkerPool* workers;
    UploadHandlerOptions options;
    mutable UploadLocks locks;  // Thread-safe: shared by every loop.
  };

 private:
  Context context_;
};

}  // namespace epollhttp::upload

#endif  // EPOLLHTTP_SERVER_UPLOAD_UPLOAD_HANDLER_H_
