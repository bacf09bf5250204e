#include "server/http/handler.h"

namespace epollhttp::http {

absl::string_view AbortReasonName(AbortReason reason) {
  switch (reason) {
    case AbortReason::kReset: return "reset";
    case AbortReason::kEndOfStream: return "end of stream";
    case AbortReason::kTimeout: return "timeout";
    case AbortReason::kShutdown: return "shutdown";
    case AbortReason::kBadRequest: return "bad request";
  }
  return "unknown";
}

StreamStart SimpleHandler::Start(const RequestHead& head, ResponseWriter& writer) const {
  (void)head;
  (void)writer;
  // The stream is this handler, shared: it keeps no per-request state.
  return {Shared(const_cast<SimpleHandler*>(this)), BodyMode::kDiscard};
}

}  // namespace epollhttp::http
