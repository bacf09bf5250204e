#include "loadgen/tus_upload.h"

#include <openssl/evp.h>

#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace epollhttp::loadgen {
namespace {

// Hasher wraps an EVP sha256 context.
class Hasher {
 public:
  Hasher() : context_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(context_, EVP_sha256(), nullptr); }
  ~Hasher() { EVP_MD_CTX_free(context_); }
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;
  void Update(const char* data, size_t size) { EVP_DigestUpdate(context_, data, size); }
  std::string Final() {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_DigestFinal_ex(context_, out, &size);
    return std::string(reinterpret_cast<const char*>(out), size);
  }

 private:
  EVP_MD_CTX* context_;
};

// PathOf() is the path of a Location value (an absolute URL or a path).
std::string PathOf(const std::string& location) {
  const size_t scheme = location.find("://");
  if (scheme == std::string::npos) return location;
  const size_t path = location.find('/', scheme + 3);
  return path == std::string::npos ? "/" : location.substr(path);
}

int64_t Offset(const httplib::Response& response) {
  int64_t n = -1;
  return absl::SimpleAtoi(response.get_header_value("Upload-Offset"), &n) ? n : -1;
}

}  // namespace

std::string Sha256(const Payload& payload) {
  Hasher hasher;
  for (size_t at = 0; at < payload.size();) {
    const absl::string_view piece = payload.Piece(at);
    hasher.Update(piece.data(), piece.size());
    at += piece.size();
  }
  return hasher.Final();
}

ErrorKind ErrorKindOf(httplib::Error error) {
  switch (error) {
    case httplib::Error::Connection:
    case httplib::Error::ConnectionTimeout:
    case httplib::Error::BindIPAddress: return ErrorKind::kConnect;
    case httplib::Error::Write:
    // A content provider returns false only when the socket write failed
    // (or to cut an upload on purpose), which cpp-httplib reports as
    // Canceled.
    case httplib::Error::Canceled: return ErrorKind::kWrite;
    case httplib::Error::SSLConnection:
    case httplib::Error::SSLServerVerification: return ErrorKind::kTls;
    default: return ErrorKind::kRead;
  }
}

TusUploader::TusUploader(FiberClient* client, UploadProtocol protocol, httplib::Headers headers,
                         std::string collection, int64_t chunk_bytes, double interrupt, bool verify,
                         uint64_t seed)
    : client_(client),
      protocol_(protocol),
      headers_(std::move(headers)),
      collection_(std::move(collection)),
      chunk_bytes_(chunk_bytes),
      interrupt_(interrupt),
      verify_(verify),
      state_(seed * 0x9E3779B97F4A7C15ull + 1) {}

bool TusUploader::Interrupt() {
  if (interrupt_ <= 0) return false;
  state_ ^= state_ << 13;
  state_ ^= state_ >> 7;
  state_ ^= state_ << 17;
  return static_cast<double>(state_ % 1000000) / 1e6 < interrupt_;
}

bool TusUploader::Step(httplib::Request& request, int expect, httplib::Response* response,
                       TusOutcome* out) {
  httplib::Error error = httplib::Error::Success;
  if (!client_->send(request, *response, error) || error != httplib::Error::Success) {
    out->kind = ErrorKindOf(error == httplib::Error::Success ? httplib::Error::Unknown : error);
    return false;
  }
  out->status = response->status;
  if (response->status != expect) {
    out->kind = ErrorKind::kStatus;
    return false;
  }
  return true;
}

httplib::Request TusUploader::NewRequest(const char* method, const std::string& path) const {
  httplib::Request request;
  request.method = method;
  request.path = path;
  request.headers = headers_;
  if (protocol_ == UploadProtocol::kTus) {
    request.headers.emplace("Tus-Resumable", "1.0.0");
  } else {
    request.headers.emplace("Upload-Draft-Interop-Version", "8");
  }
  return request;
}

std::optional<int64_t> TusUploader::HeadOffset(const std::string& location, TusOutcome* out) {
  httplib::Request head = NewRequest("HEAD", location);
  httplib::Response headed;
  if (!Step(head, protocol_ == UploadProtocol::kTus ? 200 : 204, &headed, out)) return std::nullopt;
  return Offset(headed);
}

TusOutcome TusUploader::Upload(const Payload& payload, const std::string& sha256) {
  TusOutcome out;
  const int64_t size = static_cast<int64_t>(payload.size());
  httplib::Request create = NewRequest("POST", collection_);
  create.headers.emplace("Upload-Length", absl::StrCat(size));
  const bool ietf = protocol_ == UploadProtocol::kIetf;
  if (ietf) create.headers.emplace("Upload-Complete", size == 0 ? "?1" : "?0");
  httplib::Response created;
  if (!Step(create, 201, &created, &out)) return out;
  const std::string location = PathOf(created.get_header_value("Location"));
  if (location.empty()) {
    out.kind = ErrorKind::kProtocol;
    return out;
  }
  int64_t offset = 0;
  int conflicts = 0;
  while (offset < size) {
    const int64_t n = std::min(chunk_bytes_, size - offset);
    const bool cut = Interrupt();
    httplib::Request patch = NewRequest("PATCH", location);
    patch.headers.emplace("Upload-Offset", absl::StrCat(offset));
    if (ietf) {
      patch.headers.emplace("Content-Type", "application/partial-upload");
      patch.headers.emplace("Upload-Complete", offset + n == size ? "?1" : "?0");
    } else {
      patch.headers.emplace("Content-Type", "application/offset+octet-stream");
    }
    patch.content_length_ = static_cast<size_t>(n);
    const int64_t stop = cut ? n / 2 : n;  // A cut PATCH stops halfway.
    patch.content_provider_ = [&payload, &out, offset, stop](size_t at, size_t length,
                                                             httplib::DataSink& sink) {
      if (static_cast<int64_t>(at) >= stop) return false;
      const absl::string_view piece = payload.Piece(static_cast<size_t>(offset) + at);
      const size_t k = std::min<size_t>({piece.size(), length, static_cast<size_t>(stop) - at});
      if (!sink.write(piece.data(), k)) return false;
      out.bytes_sent += static_cast<int64_t>(k);
      return true;
    };
    httplib::Response patched;
    if (cut) {
      ++out.interruptions;
      httplib::Error ignored;
      (void)client_->send(patch, patched, ignored);  // Fails by design; the connection closes.
      client_->stop();
      const std::optional<int64_t> head = HeadOffset(location, &out);
      if (!head.has_value()) return out;
      const int64_t resumed = *head;
      if (resumed < offset || resumed > offset + stop) {
        out.kind = ErrorKind::kLostBytes;  // Acknowledged bytes lost, or more than sent.
        return out;
      }
      offset = resumed;
      continue;
    }
    // IETF: the append that completes the upload is answered as the
    // creation would have been (201), the others 204.
    const int expect = ietf && offset + n == size ? 201 : 204;
    if (!Step(patch, expect, &patched, &out)) {
      // 409: the server settled an earlier, cut PATCH after this one's
      // offset was read (it reads connections in its own order). Ask HEAD
      // again and resume from there, as tus clients do, a few times.
      if (out.status != 409 || ++conflicts > 5) return out;
      const std::optional<int64_t> head = HeadOffset(location, &out);
      if (!head.has_value()) return out;
      const int64_t resumed = *head;
      if (resumed < offset) {
        out.kind = ErrorKind::kLostBytes;
        return out;
      }
      offset = resumed;
      continue;
    }
    const int64_t next = Offset(patched);
    if (next != offset + n) {
      out.kind = ErrorKind::kLostBytes;
      return out;
    }
    offset = next;
  }
  if (verify_) {
    Hasher hasher;
    httplib::Request get = NewRequest("GET", location);
    get.content_receiver = [&hasher](const char* data, size_t n, uint64_t, uint64_t) {
      hasher.Update(data, n);
      return true;
    };
    httplib::Response got;
    const int last = out.status;
    if (!Step(get, 200, &got, &out)) return out;
    out.status = last;
    if (hasher.Final() != sha256) {
      out.kind = ErrorKind::kBody;
      return out;
    }
    out.verified = true;
  }
  out.ok = true;
  return out;
}

}  // namespace epollhttp::loadgen
