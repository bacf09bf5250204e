// tus_upload.h: one whole resumable upload, by the tus 1.0 protocol or the
// IETF draft "Resumable Uploads for HTTP" (interop version 8), as loadgen's
// `--upload tus|ietf` makes each request: a creation (POST to the
// collection, without bytes), PATCHes of --chunk_bytes (IETF: the last with
// Upload-Complete: ?1), some cut mid-body on purpose (--interrupt) and
// resumed from the offset HEAD reports (also after a 409, which a server
// that read the cut PATCH late answers), then (unless told not to) a GET
// whose sha256 must equal the body's. Interim answers (the IETF draft's
// 104s) are read past by the client (fiber_client.h).
//
// Thread safety: an uploader belongs to its client's fiber.
#ifndef EPOLLHTTP_LOADGEN_TUS_UPLOAD_H_
#define EPOLLHTTP_LOADGEN_TUS_UPLOAD_H_

#include <cstdint>
#include <optional>
#include <string>

#include "httplib.h"
#include "loadgen/fiber_client.h"
#include "loadgen/payload.h"
#include "loadgen/report.h"

namespace epollhttp::loadgen {

// Sha256() is the payload's digest (raw bytes).
std::string Sha256(const Payload& payload);

// ErrorKindOf() is the report's kind for a cpp-httplib failure (the runner's
// and the uploader's alike).
ErrorKind ErrorKindOf(httplib::Error error);

// What one upload came to.
struct TusOutcome {
  bool ok = false;
  int status = 0;  // The last status seen (0: none); 204 when the bytes are all in.
  ErrorKind kind = ErrorKind::kStatus;  // Why, when not ok.
  int64_t bytes_sent = 0;               // Body bytes written, re-sent ones included.
  int interruptions = 0;                // PATCHes cut on purpose.
  bool verified = false;                // The GET's sha256 matched.
};

// The protocol an uploader speaks.
enum class UploadProtocol { kTus, kIetf };

class TusUploader {
 public:
  // `client` (not owned) makes the requests; `headers` go on each;
  // `collection` is the creation path (e.g. "/files/"). A PATCH is cut
  // halfway with probability `interrupt` (0..1), decided by a generator
  // seeded with `seed`.
  TusUploader(FiberClient* client, UploadProtocol protocol, httplib::Headers headers,
              std::string collection, int64_t chunk_bytes, double interrupt, bool verify,
              uint64_t seed);

  // Upload() sends `payload` whole; `sha256` is its digest (for the check).
  TusOutcome Upload(const Payload& payload, const std::string& sha256);

 private:
  // Step() sends `request`; false (with `out` filled) when the transport
  // failed or the status is not `expect`.
  bool Step(httplib::Request& request, int expect, httplib::Response* response, TusOutcome* out);
  bool Interrupt();
  // NewRequest() is a request with the run's headers and the protocol's
  // (Tus-Resumable, or Upload-Draft-Interop-Version).
  httplib::Request NewRequest(const char* method, const std::string& path) const;
  // HeadOffset() asks HEAD for the upload's offset (-1 if the answer has
  // none); nullopt, with `out` filled, if the HEAD failed.
  std::optional<int64_t> HeadOffset(const std::string& location, TusOutcome* out);

  FiberClient* client_;
  UploadProtocol protocol_;
  httplib::Headers headers_;
  std::string collection_;
  int64_t chunk_bytes_;
  double interrupt_;
  bool verify_;
  uint64_t state_;
};

}  // namespace epollhttp::loadgen

#endif  // EPOLLHTTP_LOADGEN_TUS_UPLOAD_H_
