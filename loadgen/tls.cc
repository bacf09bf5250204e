#include "loadgen/tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace epollhttp::loadgen {
namespace {

// OpenSslError() is the oldest queued OpenSSL error in words (and clears the
// queue), or `fallback` when there is none.
std::string OpenSslError(const char* fallback) {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return fallback;
  const char* reason = ERR_reason_error_string(code);
  return reason != nullptr ? reason : fallback;
}

// The client's sessions: OpenSSL hands each new session here (for TLS 1.3
// that is after the handshake, when the server's ticket arrives).
int kSessionsIndex = -1;

int OnNewSession(SSL* ssl, SSL_SESSION* session) {
  auto* sessions = static_cast<TlsSessionCache*>(SSL_get_ex_data(ssl, kSessionsIndex));
  if (sessions == nullptr) return 0;  // Not kept: OpenSSL frees it.
  sessions->Store(session);
  return 1;  // Kept: the cache owns the reference.
}

}  // namespace

absl::StatusOr<std::unique_ptr<TlsContext>> TlsContext::Create(const TlsOptions& options) {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  kSessionsIndex = index;
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == nullptr) return absl::InternalError("OpenSSL cannot make a TLS context");
  std::unique_ptr<TlsContext> context(new TlsContext(ctx, options.verify));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // Sessions are kept per client (TlsSessionCache), not in OpenSSL's cache.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, &OnNewSession);
  if (options.verify) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    if (SSL_CTX_set_default_verify_paths(ctx) != 1) ERR_clear_error();  // No system store.
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  if (!options.ca_file.empty() &&
      SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot load CA certificates from ", options.ca_file, ": ",
                     OpenSslError(errno != 0 ? std::strerror(errno) : "not PEM certificates")));
  }
  return context;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

TlsSessionCache::~TlsSessionCache() { Store(nullptr); }

void TlsSessionCache::Store(SSL_SESSION* session) {
  if (session_ != nullptr) SSL_SESSION_free(session_);
  session_ = session;
}

TlsConnection::TlsConnection(const TlsContext& context, int fd, const std::string& host,
                             TlsSessionCache* sessions)
    : ssl_(SSL_new(context.get())), sessions_(sessions) {
  if (ssl_ == nullptr) return;  // Handshake() reports it.
  SSL_set_fd(ssl_, fd);
  SSL_set_ex_data(ssl_, kSessionsIndex, sessions);
  in6_addr ip6;
  in_addr ip4;
  const bool ip_literal = ::inet_pton(AF_INET, host.c_str(), &ip4) == 1 ||
                          ::inet_pton(AF_INET6, host.c_str(), &ip6) == 1;
  // RFC 6066 §3: SNI carries host names, never addresses.
  if (!ip_literal) SSL_set_tlsext_host_name(ssl_, host.c_str());
  if (context.verify()) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl_);
    if (ip_literal) {
      X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
    } else {
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
    }
  }
  if (sessions != nullptr && sessions->get() != nullptr) SSL_set_session(ssl_, sessions->get());
}

TlsConnection::~TlsConnection() {
  if (ssl_ != nullptr) SSL_free(ssl_);
}

TlsIo TlsConnection::Outcome(int result) {
  const int code = SSL_get_error(ssl_, result);
  switch (code) {
    case SSL_ERROR_WANT_READ: return TlsIo::kWantRead;
    case SSL_ERROR_WANT_WRITE: return TlsIo::kWantWrite;
    case SSL_ERROR_ZERO_RETURN: return TlsIo::kClosed;
    default: break;
  }
  const long verify = SSL_get_verify_result(ssl_);
  if (verify != X509_V_OK) {
    verify_failed_ = true;
    error_ = absl::StrCat("certificate verify failed: ", X509_verify_cert_error_string(verify));
    ERR_clear_error();
    return TlsIo::kError;
  }
  if (code == SSL_ERROR_SYSCALL) {
    const unsigned long queued = ERR_peek_error();
    if (queued == 0) {
      error_ = errno != 0 && result < 0 ? std::strerror(errno) : "the server closed the connection";
      return TlsIo::kError;
    }
  }
  error_ = OpenSslError("TLS error");
  return TlsIo::kError;
}

TlsIo TlsConnection::Handshake() {
  if (ssl_ == nullptr) {
    error_ = OpenSslError("OpenSSL cannot make a connection");
    return TlsIo::kError;
  }
  ERR_clear_error();
  errno = 0;
  const int result = SSL_connect(ssl_);
  return result == 1 ? TlsIo::kDone : Outcome(result);
}

TlsIo TlsConnection::Read(char* data, size_t size, size_t* n) {
  ERR_clear_error();
  errno = 0;
  if (SSL_read_ex(ssl_, data, size, n) == 1) return TlsIo::kDone;
  return Outcome(0);
}

TlsIo TlsConnection::Write(const char* data, size_t size, size_t* n) {
  ERR_clear_error();
  errno = 0;
  if (SSL_write_ex(ssl_, data, size, n) == 1) return TlsIo::kDone;
  return Outcome(0);
}

void TlsConnection::Shutdown() {
  if (ssl_ == nullptr) return;
  // Best effort, non-blocking: the socket is closed right after.
  if (SSL_shutdown(ssl_) < 0) ERR_clear_error();
}

bool TlsConnection::resumed() const { return ssl_ != nullptr && SSL_session_reused(ssl_) == 1; }

}  // namespace epollhttp::loadgen
