// tls.h: the client side of TLS for loadgen's fibers, over OpenSSL.
//
// TlsContext holds the OpenSSL context a run's connections share: TLS 1.2
// or later, the peer's certificate verified against the system's CA store
// (plus --cacert) unless verification is off, partial writes allowed.
// TlsConnection is one connection's TLS state over a connected non-blocking
// socket: the handshake (SNI and the expected host name from the URL) and
// reads and writes that report "would block" instead of blocking, so the
// caller (loadgen/fiber_client.cc) waits in its fiber. Each client keeps
// the last session its server issued and offers it on its next connection,
// so a connection per request resumes instead of paying a full handshake.
//
// Failures are reported with their reason in words, e.g. "certificate
// verify failed: unable to get local issuer certificate".
//
// Thread safety: a TlsContext is created before the run's threads start and
// then only read (OpenSSL's contexts may be shared by threads). A
// TlsConnection and a TlsSessionCache belong to one client.
#ifndef EPOLLHTTP_LOADGEN_TLS_H_
#define EPOLLHTTP_LOADGEN_TLS_H_

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace epollhttp::loadgen {

struct TlsOptions {
  bool verify = true;   // Verify the server's certificate chain and name.
  std::string ca_file;  // A PEM file of extra trusted CAs (empty: none).
};

class TlsContext {
 public:
  // Create() fails (InvalidArgument, naming the file and OpenSSL's reason)
  // if `options.ca_file` cannot be read as PEM certificates, or Internal if
  // OpenSSL cannot make a context.
  static absl::StatusOr<std::unique_ptr<TlsContext>> Create(const TlsOptions& options);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  [[nodiscard]] SSL_CTX* get() const { return ctx_; }
  [[nodiscard]] bool verify() const { return verify_; }

 private:
  TlsContext(SSL_CTX* ctx, bool verify) : ctx_(ctx), verify_(verify) {}
  SSL_CTX* ctx_;
  bool verify_;
};

// TlsSessionCache keeps the newest session a server issued to one client.
class TlsSessionCache {
 public:
  TlsSessionCache() = default;
  ~TlsSessionCache();
  TlsSessionCache(const TlsSessionCache&) = delete;
  TlsSessionCache& operator=(const TlsSessionCache&) = delete;

  // Store() takes ownership of `session` (may be null: forget).
  void Store(SSL_SESSION* session);
  [[nodiscard]] SSL_SESSION* get() const { return session_; }

 private:
  SSL_SESSION* session_ = nullptr;
};

// The outcome of a non-blocking TLS step.
enum class TlsIo { kDone, kWantRead, kWantWrite, kClosed, kError };

class TlsConnection {
 public:
  // `fd` is connected and non-blocking and outlives this object (which does
  // not close it). `host` is the URL's host: it is sent as SNI (unless it is
  // an IP address) and, when verifying, must match the certificate (as a
  // DNS name, or as an IP address for an IP literal). `sessions` (may be
  // null) offers its session and receives new ones.
  TlsConnection(const TlsContext& context, int fd, const std::string& host,
                TlsSessionCache* sessions);
  ~TlsConnection();
  TlsConnection(const TlsConnection&) = delete;
  TlsConnection& operator=(const TlsConnection&) = delete;

  // Handshake() advances the handshake: kDone once it is complete, kWant*
  // when the socket would block (call again after waiting), kError (see
  // error() and verify_failed()) otherwise.
  TlsIo Handshake();
  // Read() reads up to `size` decrypted bytes into `*n` (kDone), or reports
  // kWant* (wait and call again), kClosed (the peer ended the stream) or
  // kError.
  TlsIo Read(char* data, size_t size, size_t* n);
  // Write() writes up to `size` bytes (a partial write counts) into `*n`, or
  // reports kWant* (wait and call again with the same bytes) or kError.
  TlsIo Write(const char* data, size_t size, size_t* n);
  // Shutdown() sends close_notify without waiting for the peer's.
  void Shutdown();

  // resumed() is whether the handshake resumed an earlier session.
  [[nodiscard]] bool resumed() const;
  // verify_failed() is whether the last kError was the certificate check.
  [[nodiscard]] bool verify_failed() const { return verify_failed_; }
  // error() is the reason for the last kError, in words.
  [[nodiscard]] const std::string& error() const { return error_; }

 private:
  TlsIo Outcome(int result);
  SSL* ssl_;
  TlsSessionCache* sessions_;
  bool verify_failed_ = false;
  std::string error_;
};

}  // namespace epollhttp::loadgen

#endif  // EPOLLHTTP_LOADGEN_TLS_H_
