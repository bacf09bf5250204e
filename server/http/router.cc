#include "server/http/router.h"

namespace epollhttp::http {

void NotFoundHandler::Answer(ResponseWriter& writer) const {
  Response response;
  response.status = 404;
  response.body = "not found\n";
  writer.Respond(response);
}

void Router::Handle(Method method, absl::string_view path, const Handler* handler) {
  for (Entry& entry : routes_) {
    if (entry.method == method && entry.path == path) {
      entry.handler = handler;
      return;
    }
  }
  routes_.push_back({method, std::string(path), handler});
}

const Handler* Router::Find(Method method, absl::string_view path) const {
  for (const Entry& entry : routes_) {
    // Size first: most paths differ in length from every route.
    if (entry.path.size() == path.size() && entry.method == method &&
        absl::string_view(entry.path) == path) {
      return entry.handler;
    }
  }
  return nullptr;
}

const Handler& Router::Route(Method method, absl::string_view target) const {
  if (routes_.empty()) return *default_;
  const absl::string_view path = target.substr(0, target.find('?'));
  const Handler* handler = Find(method, path);
  if (handler == nullptr && method == Method::kHead) handler = Find(Method::kGet, path);
  return handler != nullptr ? *handler : *default_;
}

}  // namespace epollhttp::http
