// url.h: the one parser of loadgen's target URLs, http[s]://host[:port][/path]
// with IPv6 literals in brackets, used by the command line and the runner.
//
// Thread safety: pure functions; safe from any thread.
#ifndef EPOLLHTTP_LOADGEN_URL_H_
#define EPOLLHTTP_LOADGEN_URL_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace epollhttp::loadgen {

struct Url {
  bool tls = false;  // https.
  std::string host;  // As written: a name, an IPv4 address or "[IPv6]".
  int port = 0;      // The given port, or the scheme's (80, 443).
  std::string path;  // "/" when none was given; the query stays in it.

  // Origin() is "http[s]://host[:port]", the port left out when it is the
  // scheme's.
  [[nodiscard]] std::string Origin() const;
  // HostHeader() is the Host field's value (RFC 9110 7.2): host, and ":port"
  // unless it is the scheme's.
  [[nodiscard]] std::string HostHeader() const;
};

// ParseUrl() parses `url`; InvalidArgument, naming the problem, for anything
// else: another scheme, no host, userinfo, a fragment, spaces, a port that is
// not 1-65535, an unclosed or empty IPv6 bracket.
absl::StatusOr<Url> ParseUrl(absl::string_view url);

}  // namespace epollhttp::loadgen

#endif  // EPOLLHTTP_LOADGEN_URL_H_
