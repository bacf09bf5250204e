// upload_locks.h: one writer per upload across every event loop. A request
// that touches an upload's state (PATCH, HEAD, DELETE) holds the upload's
// lock while it does; one that arrives while another holds it waits its
// turn. If the holder is a PATCH and a HEAD or DELETE waits, the PATCH is
// asked to end first: it commits what it wrote and closes its connection
// (the IETF draft's advice for a client that reconnects while its old
// request lingers; a client asks HEAD before it resumes). A PATCH waiting
// behind a PATCH does not end it: it may be the older one, read late.
// Never 423.
//
// Thread safety: every method may be called from any loop thread. A
// client's callbacks are posted to its own loop, and run only while it is
// still registered, so a client destroyed (and released) before a post
// arrives never hears it.
#ifndef EPOLLHTTP_SERVER_UPLOAD_UPLOAD_LOCKS_H_
#define EPOLLHTTP_SERVER_UPLOAD_UPLOAD_LOCKS_H_

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>

#include "absl/strings/string_view.h"
#include "net/event_loop.h"

namespace epollhttp::upload {

class UploadLocks {
 public:
  // What a request implements to take part; called on its loop's thread.
  class Client {
   public:
    // Granted(): the lock is this client's now (after waiting).
    virtual void Granted() = 0;
    // Preempt(): another request waits for the upload: commit, end, and
    // Release() soon.
    virtual void Preempt() = 0;

   protected:
    ~Client() = default;
  };

  // Acquire() asks for upload `id`'s lock for `client`, living on `loop`'s
  // thread; returns a ticket for Release(), and sets `*granted` when the
  // lock is held at once. Otherwise Granted() is posted to `loop` when it
  // is the client's turn. `preemptible` marks a PATCH: a holder that is
  // one hears Preempt() (posted to its loop, once) when a client that is
  // not one waits behind it.
  uint64_t Acquire(absl::string_view id, net::EventLoop* loop, Client* client, bool preemptible,
                   bool* granted);

  // Release() gives up the lock or the place in the queue of ticket
  // `ticket` (a no-op once released); the next in line is granted.
  void Release(absl::string_view id, uint64_t ticket);

  // Orphan() keeps ticket `ticket`'s place (the lock stays held) but
  // forgets its client, which is going away: it hears nothing more. Its
  // last work releases the ticket later.
  void Orphan(absl::string_view id, uint64_t ticket);

  // locked() is how many uploads are locked now (for tests).
  [[nodiscard]] size_t locked() const;

 private:
  struct Entry {
    uint64_t ticket;
    net::EventLoop* loop;
    Client* client;
    bool preemptible;
    bool preempt_sent = false;
  };
  // ClientOf() is the client of `ticket` in `id`'s queue, or null if it
  // left or was orphaned (takes mutex_).
  Client* ClientOf(const std::string& id, uint64_t ticket) const;
  // PostPreempt() asks the holder of `queue` to end, once (mutex_ held).
  void PostPreempt(const std::string& id, std::deque<Entry>& queue);

  mutable std::mutex mutex_;
  std::map<std::string, std::deque<Entry>, std::less<>> queues_;  // Front: the holder.
  uint64_t next_ticket_ = 1;
};

}  // namespace epollhttp::upload

#endif  // EPOLLHTTP_SERVER_UPLOAD_UPLOAD_LOCKS_H_
