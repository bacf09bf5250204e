#include "server/upload/upload_locks.h"

#include <algorithm>

namespace epollhttp::upload {

UploadLocks::Client* UploadLocks::ClientOf(const std::string& id, uint64_t ticket) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = queues_.find(id);
  if (it == queues_.end()) return nullptr;
  for (const Entry& e : it->second) {
    if (e.ticket == ticket) return e.client;
  }
  return nullptr;
}

void UploadLocks::Orphan(absl::string_view id, uint64_t ticket) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = queues_.find(id);
  if (it == queues_.end()) return;
  for (Entry& e : it->second) {
    if (e.ticket == ticket) e.client = nullptr;
  }
}

void UploadLocks::PostPreempt(const std::string& id, std::deque<Entry>& queue) {
  Entry& holder = queue.front();
  if (!holder.preemptible || holder.preempt_sent || queue.size() < 2) return;
  // Only a HEAD or DELETE ends a PATCH early: a PATCH waiting behind another
  // may be the older of the two (the server reads connections in its own
  // order: a client's cut PATCH can be read after the PATCH that resumed
  // it), so it waits its turn, and gets 409 if the offset moved.
  if (std::all_of(queue.begin() + 1, queue.end(), [](const Entry& e) { return e.preemptible; })) {
    return;
  }
  holder.preempt_sent = true;
  holder.loop->Post([this, id, ticket = holder.ticket] {
    // Still registered and not orphaned: still alive (it releases or
    // orphans its ticket, on this thread, before it is destroyed).
    if (Client* client = ClientOf(id, ticket)) client->Preempt();
  });
}

uint64_t UploadLocks::Acquire(absl::string_view id, net::EventLoop* loop, Client* client,
                              bool preemptible, bool* granted) {
  std::lock_guard<std::mutex> lock(mutex_);
  const uint64_t ticket = next_ticket_++;
  auto it = queues_.find(id);
  if (it == queues_.end()) it = queues_.emplace(std::string(id), std::deque<Entry>()).first;
  it->second.push_back(Entry{ticket, loop, client, preemptible});
  *granted = it->second.size() == 1;
  if (!*granted) PostPreempt(it->first, it->second);
  return ticket;
}

void UploadLocks::Release(absl::string_view id, uint64_t ticket) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = queues_.find(id);
  if (it == queues_.end()) return;
  std::deque<Entry>& queue = it->second;
  const bool was_holder = !queue.empty() && queue.front().ticket == ticket;
  queue.erase(std::remove_if(queue.begin(), queue.end(),
                             [ticket](const Entry& e) { return e.ticket == ticket; }),
              queue.end());
  if (queue.empty()) {
    queues_.erase(it);
    return;
  }
  if (!was_holder) return;
  const Entry& next = queue.front();
  next.loop->Post([this, id = it->first, ticket = next.ticket] {
    if (Client* client = ClientOf(id, ticket)) client->Granted();
  });
  // More are waiting behind the new holder: if it is a PATCH, it ends first.
  PostPreempt(it->first, queue);
}

size_t UploadLocks::locked() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queues_.size();
}

}  // namespace epollhttp::upload
