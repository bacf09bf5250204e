#include "loadgen/url.h"

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace epollhttp::loadgen {
namespace {

absl::Status Bad(absl::string_view url, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("must be http[s]://host[:port][/path] (", why, "), got \"", url, "\""));
}

}  // namespace

std::string Url::HostHeader() const {
  const int default_port = tls ? 443 : 80;
  return port == default_port ? host : absl::StrCat(host, ":", port);
}

std::string Url::Origin() const { return absl::StrCat(tls ? "https://" : "http://", HostHeader()); }

absl::StatusOr<Url> ParseUrl(absl::string_view url) {
  Url parsed;
  absl::string_view rest = url;
  parsed.tls = absl::ConsumePrefix(&rest, "https://");
  if (!parsed.tls && !absl::ConsumePrefix(&rest, "http://")) return Bad(url, "scheme");
  const size_t slash = rest.find('/');
  absl::string_view authority = rest.substr(0, slash);
  parsed.path = slash == absl::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (parsed.path.find_first_of(" #") != std::string::npos) return Bad(url, "path");
  if (authority.find_first_of(" @?#") != absl::string_view::npos) return Bad(url, "host");
  absl::string_view port;
  if (absl::StartsWith(authority, "[")) {
    const size_t close = authority.find(']');
    if (close == absl::string_view::npos || close == 1) return Bad(url, "IPv6 brackets");
    parsed.host = std::string(authority.substr(0, close + 1));
    absl::string_view after = authority.substr(close + 1);
    if (!after.empty() && !absl::ConsumePrefix(&after, ":")) return Bad(url, "host");
    port = after;
    if (authority.size() > close + 1 && port.empty()) return Bad(url, "port");
  } else {
    const size_t colon = authority.find(':');
    parsed.host = std::string(authority.substr(0, colon));
    if (colon != absl::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return Bad(url, "port");
    }
  }
  if (parsed.host.empty()) return Bad(url, "host");
  parsed.port = parsed.tls ? 443 : 80;
  if (!port.empty()) {
    if (port.find_first_not_of("0123456789") != absl::string_view::npos ||
        !absl::SimpleAtoi(port, &parsed.port) || parsed.port < 1 || parsed.port > 65535) {
      return Bad(url, "port");
    }
  }
  return parsed;
}

}  // namespace epollhttp::loadgen
