#include "server/http/router.h"

#include <algorithm>

#include "absl/strings/match.h"

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

void Router::HandlePrefix(absl::string_view prefix, const Handler* handler) {
  for (Prefix& entry : prefixes_) {
    if (entry.prefix == prefix) {
      entry.handler = handler;
      return;
    }
  }
  prefixes_.push_back({std::string(prefix), handler});
  std::stable_sort(prefixes_.begin(), prefixes_.end(), [](const Prefix& a, const Prefix& b) {
    return a.prefix.size() > b.prefix.size();
  });
}

const Router::Entry* Router::Exact(Method method, absl::string_view path) const {
  for (const Entry& entry : routes_) {
    // Size first: most paths differ in length from every route.
    if (entry.path.size() == path.size() && entry.method == method &&
        absl::string_view(entry.path) == path) {
      return &entry;
    }
  }
  return nullptr;
}

Router::Match Router::Find(Method method, absl::string_view target) const {
  if (routes_.empty() && prefixes_.empty()) return {default_, "other"};
  const absl::string_view path = target.substr(0, target.find('?'));
  const Entry* entry = Exact(method, path);
  if (entry == nullptr && method == Method::kHead) entry = Exact(Method::kGet, path);
  if (entry != nullptr) return {entry->handler, entry->path};
  for (const Prefix& prefix : prefixes_) {
    if (absl::StartsWith(path, prefix.prefix)) return {prefix.handler, prefix.prefix};
  }
  return {default_, "other"};
}

}  // namespace epollhttp::http
