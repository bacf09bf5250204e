// fake_file_system.h: an in-memory FileSystem that knows what a power cut
// would keep, and fails any call on request. For the store's unit tests and
// the crash-recovery fuzzer.
//
// The durability model is the strict one POSIX promises (and ext4 keeps):
// - a file's bytes and size change at once, and DataSync() or Sync() on it
//   makes them durable;
// - creating, renaming and unlinking change the directory at once, and
//   Sync() on the directory makes all its entries durable;
// - Crash() is a power cut: each file keeps its durable bytes (or, where the
//   caller says so, what it held), and the directory its durable entries
//   (or all of them); descriptors are gone.
//
// Faults: before each call, the fault function (set_fault()) sees the
// operation and path and may fail it with an errno, or cut a write short.
// A capacity (set_capacity()) makes writes that would pass it fail with
// ENOSPC after writing what fits, as a full disk does.
//
// Thread safety: every call takes one mutex; any thread.
#ifndef EPOLLHTTP_SERVER_UPLOAD_FAKE_FILE_SYSTEM_H_
#define EPOLLHTTP_SERVER_UPLOAD_FAKE_FILE_SYSTEM_H_

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "server/upload/file_system.h"

namespace epollhttp::upload {

class FakeFileSystem final : public FileSystem {
 public:
  enum class Op {
    kOpen,
    kCreate,
    kOpenDir,
    kWrite,
    kRead,
    kDataSync,
    kSync,
    kTruncate,
    kAllocate,
    kSize,
    kClose,
    kRename,
    kUnlink,
    kList,
  };
  // A fault decision: 0 lets the call run; a negative errno fails it with
  // nothing done; for kWrite, a positive N writes at most N bytes.
  using Fault = std::function<int64_t(Op op, const std::string& path)>;

  explicit FakeFileSystem(std::string dir) : dir_(std::move(dir)) {}

  void set_fault(Fault fault) {
    std::lock_guard<std::mutex> lock(mutex_);
    fault_ = std::move(fault);
  }
  // set_capacity() bounds the bytes all files may hold; -1: unbounded.
  void set_capacity(int64_t bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    capacity_ = bytes;
  }
  // calls() counts the calls made so far (failed ones included); a fault
  // function may read it (the call it judges is counted).
  int64_t calls() const { return calls_.load(std::memory_order_relaxed); }

  // Crash() cuts the power: see the top of this file. `keep_unsynced_data`
  // (may be empty: keep none) says for a path whether its file keeps what it
  // held rather than only its durable bytes; `keep_unsynced_entries` keeps
  // the directory as it was instead of as last synced.
  void Crash(const std::function<bool(const std::string& path)>& keep_unsynced_data,
             bool keep_unsynced_entries);

  // Contents() is the file's bytes now ("" if none); Exists() whether the
  // path names a file.
  std::string Contents(const std::string& path) const;
  bool Exists(const std::string& path) const;
  // WriteFile() creates or replaces a file with `data`, durably (test
  // set-up: a stray file from an earlier run).
  void WriteFile(const std::string& path, const std::string& data);

  int OpenFile(const std::string& path, bool create) override;
  // OpenDirect() gives a descriptor whose writes must be aligned as the
  // real one's (-EINVAL otherwise); a short write on it (a fault, or the
  // capacity) ends on a block. set_direct(false) makes it -EINVAL, as
  // tmpfs does.
  int OpenDirect(const std::string& path) override;
  void set_direct(bool supported) {
    std::lock_guard<std::mutex> lock(mutex_);
    direct_ = supported;
  }
  int OpenDir(const std::string& path) override;
  ssize_t Pwrite(int fd, absl::string_view data, int64_t offset) override;
  ssize_t Pread(int fd, char* out, size_t size, int64_t offset) override;
  // SpliceToPipe(): -ENOSYS (its descriptors are not the system's).
  ssize_t SpliceToPipe(int fd, int64_t offset, int pipe_fd, size_t count) override {
    (void)fd;
    (void)offset;
    (void)pipe_fd;
    (void)count;
    return -ENOSYS;
  }
  int DataSync(int fd) override;
  int Sync(int fd) override;
  int Truncate(int fd, int64_t size) override;
  int Allocate(int fd, int64_t size) override;
  int64_t Size(int fd) override;
  int Close(int fd) override;
  int Rename(const std::string& from, const std::string& to) override;
  int Unlink(const std::string& path) override;
  int List(const std::string& path, std::vector<std::string>* names) override;

 private:
  struct Inode {
    std::string data;
    std::string durable;
  };
  struct Open {
    std::shared_ptr<Inode> inode;  // Null for the directory.
    std::string path;
    bool direct = false;  // OpenDirect(): writes must be aligned.
  };

  // Check() counts the call and asks the fault function (mutex_ held).
  int64_t Check(Op op, const std::string& path);
  Open* Find(int fd);
  int64_t Used() const;

  const std::string dir_;
  mutable std::mutex mutex_;
  Fault fault_;
  int64_t capacity_ = -1;
  bool direct_ = true;
  std::atomic<int64_t> calls_{0};
  std::map<std::string, std::shared_ptr<Inode>> entries_;          // As they are,
  std::map<std::string, std::shared_ptr<Inode>> durable_entries_;  // as last synced.
  std::map<int, Open> open_;
  int next_fd_ = 3;
};

}  // namespace epollhttp::upload

#endif  // EPOLLHTTP_SERVER_UPLOAD_FAKE_FILE_SYSTEM_H_
