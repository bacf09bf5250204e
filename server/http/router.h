// router.h: `Router`, which picks the Handler for a request by method and
// path (the target up to its query), with a default for everything else.
//
// Routes are exact paths, or prefixes that take every method (a resource
// tree such as /files/). An exact route wins over a prefix, and a longer
// prefix over a shorter one. A HEAD request without a HEAD route takes the GET
// route of its path (RFC 9110 §9.3.2: HEAD is GET without the body, which the
// codec leaves out). The default handler answers 404 unless SetDefault()
// replaces it.
//
// Thread safety: configure before serving; Find() is then safe from any
// number of threads.
#ifndef EPOLLHTTP_SERVER_HTTP_ROUTER_H_
#define EPOLLHTTP_SERVER_HTTP_ROUTER_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "server/http/handler.h"
#include "server/http/request_parser.h"

namespace epollhttp::http {

// NotFoundHandler answers 404 with a short text body.
class NotFoundHandler final : public SimpleHandler {
 public:
  void Answer(ResponseWriter& writer) const override;
};

class Router {
 public:
  Router() = default;
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Handle() sends `method` requests for exactly `path` to `handler` (not
  // owned; it must outlive the router). A later route for the same method and
  // path replaces the earlier one.
  void Handle(Method method, absl::string_view path, const Handler* handler);
  // HandlePrefix() sends requests of every method whose path starts with
  // `prefix` (and that no exact route takes) to `handler` (not owned).
  void HandlePrefix(absl::string_view prefix, const Handler* handler);
  // SetDefault() sends unrouted requests to `handler` (not owned).
  void SetDefault(const Handler* handler) { default_ = handler; }

  // A request's handler, and the route's label for metrics: the routed path,
  // or "other" for the default handler (valid as long as the router).
  struct Match {
    const Handler* handler;
    absl::string_view route;
  };
  // Find() routes a request with this method and target.
  [[nodiscard]] Match Find(Method method, absl::string_view target) const;

 private:
  struct Entry {
    Method method;
    std::string path;
    const Handler* handler;
  };
  // Exact() is the route for exactly `method` and `path`, or null.
  [[nodiscard]] const Entry* Exact(Method method, absl::string_view path) const;

  std::vector<Entry> routes_;  // Few: a linear scan beats hashing the path.
  struct Prefix {
    std::string prefix;
    const Handler* handler;
  };
  std::vector<Prefix> prefixes_;  // Longest first.
  NotFoundHandler not_found_;
  const Handler* default_ = &not_found_;
};

}  // namespace epollhttp::http

#endif  // EPOLLHTTP_SERVER_HTTP_ROUTER_H_
