// sweeper.h: the tus `expiration` extension's other half: removing
// incomplete uploads whose Upload-Expires has passed. A thread of its own
// (not an event loop: removing files blocks) sweeps the store now and then.
//
// Thread safety: SweepOnce() may be called from any thread; the sweeper's
// own thread runs from the constructor to the destructor.
#ifndef EPOLLHTTP_SERVER_UPLOAD_SWEEPER_H_
#define EPOLLHTTP_SERVER_UPLOAD_SWEEPER_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

#include "server/upload/store.h"

namespace epollhttp::upload {

class UploadSweeper {
 public:
  // Starts a thread that calls SweepOnce(now_unix()) every `interval`.
  // `store` (not owned) must outlive the sweeper; `on_removed` (may be
  // empty) hears of each upload removed, on the sweeper's thread.
  UploadSweeper(UploadStore* store, std::chrono::milliseconds interval,
                std::function<int64_t()> now_unix, std::function<void()> on_removed = {});
  // Stops and joins the thread (a sweep in progress finishes first).
  ~UploadSweeper();
  UploadSweeper(const UploadSweeper&) = delete;
  UploadSweeper& operator=(const UploadSweeper&) = delete;

  // SweepOnce() removes every incomplete upload expired at `now_unix`;
  // returns how many it removed.
  static int SweepOnce(UploadStore* store, int64_t now_unix,
                       const std::function<void()>& on_removed = {});

 private:
  void Main();

  UploadStore* const store_;
  const std::chrono::milliseconds interval_;
  const std::function<int64_t()> now_unix_;
  const std::function<void()> on_removed_;
  std::mutex mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // Guarded by mutex_.
  std::thread thread_;
};

}  // namespace epollhttp::upload

#endif  // EPOLLHTTP_SERVER_UPLOAD_SWEEPER_H_
