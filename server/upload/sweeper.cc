#include "server/upload/sweeper.h"

#include <string>
#include <utility>
#include <vector>

namespace epollhttp::upload {

UploadSweeper::UploadSweeper(UploadStore* store, std::chrono::milliseconds interval,
                             std::function<int64_t()> now_unix, std::function<void()> on_removed)
    : store_(store),
      interval_(interval),
      now_unix_(std::move(now_unix)),
      on_removed_(std::move(on_removed)),
      thread_([this] { Main(); }) {}

UploadSweeper::~UploadSweeper() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  thread_.join();
}

int UploadSweeper::SweepOnce(UploadStore* store, int64_t now_unix,
                             const std::function<void()>& on_removed) {
  int removed = 0;
  for (const std::string& id : store->Expired(now_unix)) {
    // An upload completed since the list was made stays: Remove() is only
    // for what is still incomplete and expired.
    const std::optional<UploadState> state = store->Get(id);
    if (!state.has_value() || state->complete || state->expires_unix > now_unix) continue;
    if (store->Remove(id) == 0) {
      ++removed;
      if (on_removed) on_removed();
    }
  }
  return removed;
}

void UploadSweeper::Main() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stop_cv_.wait_for(lock, interval_, [this] { return stopping_; })) {
    lock.unlock();
    SweepOnce(store_, now_unix_(), on_removed_);
    lock.lock();
  }
}

}  // namespace epollhttp::upload
