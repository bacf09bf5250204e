// file_system.h: the file operations the upload store makes, behind an
// interface, so that tests can fail any step (ENOSPC, EIO, EFBIG, a short
// write) and a fuzzer can cut the power between any two of them
// (fake_file_system.h). PosixFileSystem is the real one.
//
// Every call returns its result errno-style: a non-negative value (a
// descriptor, a byte count, 0), or a negative errno value. Paths are
// absolute or relative to the process's directory; the store passes names
// inside its one directory.
//
// Thread safety: PosixFileSystem may be called from any thread at once, as
// the system calls it wraps. Other implementations say what they allow.
#ifndef EPOLLHTTP_SERVER_UPLOAD_FILE_SYSTEM_H_
#define EPOLLHTTP_SERVER_UPLOAD_FILE_SYSTEM_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace epollhttp::upload {

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // OpenFile() opens (with `create`, creates, failing with -EEXIST if it
  // exists) `path` for reading and writing; returns a descriptor.
  virtual int OpenFile(const std::string& path, bool create) = 0;
  // OpenDirect() opens existing file `path` for direct writes (O_DIRECT):
  // each Pwrite() on it must start at a multiple of kDirectBlock, be a
  // multiple of it long, and come from memory aligned to it (-EINVAL
  // otherwise); the bytes bypass the page cache, and are durable after a
  // DataSync() of the file. -EINVAL where the file system has no direct
  // I/O (tmpfs).
  static constexpr int64_t kDirectBlock = 4096;
  virtual int OpenDirect(const std::string& path) = 0;
  // OpenDir() opens directory `path` for Sync(); returns a descriptor.
  virtual int OpenDir(const std::string& path) = 0;
  // Pwrite() writes up to `data.size()` bytes at `offset`; returns how many
  // (fewer is a short write, not an error).
  virtual ssize_t Pwrite(int fd, absl::string_view data, int64_t offset) = 0;
  // Pread() reads up to `size` bytes at `offset` into `out`; 0 at the end.
  virtual ssize_t Pread(int fd, char* out, size_t size, int64_t offset) = 0;
  // SpliceToPipe() moves up to `count` bytes of file `fd` from `offset`
  // into pipe `pipe_fd` (splice(2): references to the page cache's pages,
  // no copy), reading the file as needed but never waiting for room in the
  // pipe: how many (0 at the file's end), -EAGAIN when the pipe is full,
  // -ENOSYS where files are not system descriptors.
  virtual ssize_t SpliceToPipe(int fd, int64_t offset, int pipe_fd, size_t count) = 0;
  // DataSync() is fdatasync(2): the file's data (and its size) are durable.
  virtual int DataSync(int fd) = 0;
  // Sync() is fsync(2); on a directory, its entries (creates, renames,
  // unlinks) are durable.
  virtual int Sync(int fd) = 0;
  // Truncate() sets the file's size.
  virtual int Truncate(int fd, int64_t size) = 0;
  // Allocate() reserves space for bytes [0, size) without changing the size
  // (fallocate FALLOC_FL_KEEP_SIZE); -EOPNOTSUPP where the file system
  // cannot, which callers may ignore.
  virtual int Allocate(int fd, int64_t size) = 0;
  // Size() is the file's size in bytes.
  virtual int64_t Size(int fd) = 0;
  virtual int Close(int fd) = 0;
  // Rename() replaces `to` with `from` atomically.
  virtual int Rename(const std::string& from, const std::string& to) = 0;
  virtual int Unlink(const std::string& path) = 0;
  // List() puts the names in directory `path` (not . or ..) into `names`.
  virtual int List(const std::string& path, std::vector<std::string>* names) = 0;
};

// The system's file system: the calls above, retried on EINTR.
class PosixFileSystem final : public FileSystem {
 public:
  int OpenFile(const std::string& path, bool create) override;
  int OpenDirect(const std::string& path) override;
  int OpenDir(const std::string& path) override;
  ssize_t Pwrite(int fd, absl::string_view data, int64_t offset) override;
  ssize_t Pread(int fd, char* out, size_t size, int64_t offset) override;
  ssize_t SpliceToPipe(int fd, int64_t offset, int pipe_fd, size_t count) override;
  int DataSync(int fd) override;
  int Sync(int fd) override;
  int Truncate(int fd, int64_t size) override;
  int Allocate(int fd, int64_t size) override;
  int64_t Size(int fd) override;
  int Close(int fd) override;
  int Rename(const std::string& from, const std::string& to) override;
  int Unlink(const std::string& path) override;
  int List(const std::string& path, std::vector<std::string>* names) override;
};

}  // namespace epollhttp::upload

#endif  // EPOLLHTTP_SERVER_UPLOAD_FILE_SYSTEM_H_
