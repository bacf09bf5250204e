#include "server/upload/file_system.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace epollhttp::upload {
namespace {

// Retry() runs `call` until it is not interrupted; -errno on failure.
template <typename Call>
auto Retry(Call call) -> decltype(call()) {
  while (true) {
    const auto r = call();
    if (r >= 0) return r;
    if (errno != EINTR) return -errno;
  }
}

}  // namespace

int PosixFileSystem::OpenFile(const std::string& path, bool create) {
  const int flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0);
  return Retry([&] { return ::open(path.c_str(), flags, 0600); });
}

int PosixFileSystem::OpenDirect(const std::string& path) {
  return Retry([&] { return ::open(path.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC); });
}

int PosixFileSystem::OpenDir(const std::string& path) {
  return Retry([&] { return ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); });
}

ssize_t PosixFileSystem::Pwrite(int fd, absl::string_view data, int64_t offset) {
  return Retry([&] { return ::pwrite(fd, data.data(), data.size(), offset); });
}

ssize_t PosixFileSystem::Pread(int fd, char* out, size_t size, int64_t offset) {
  return Retry([&] { return ::pread(fd, out, size, offset); });
}

ssize_t PosixFileSystem::SpliceToPipe(int fd, int64_t offset, int pipe_fd, size_t count) {
  loff_t at = offset;
  return Retry([&] {
    return ::splice(fd, &at, pipe_fd, nullptr, count, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
  });
}

int PosixFileSystem::DataSync(int fd) {
  return Retry([&] { return ::fdatasync(fd); });
}

int PosixFileSystem::Sync(int fd) {
  return Retry([&] { return ::fsync(fd); });
}

int PosixFileSystem::Truncate(int fd, int64_t size) {
  return Retry([&] { return ::ftruncate(fd, size); });
}

int PosixFileSystem::Allocate(int fd, int64_t size) {
  if (size <= 0) return 0;
  return Retry([&] { return ::fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, size); });
}

int64_t PosixFileSystem::Size(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return -errno;
  return st.st_size;
}

int PosixFileSystem::Close(int fd) {
  // close() is not retried: the descriptor is gone whatever it returns.
  return ::close(fd) == 0 ? 0 : -errno;
}

int PosixFileSystem::Rename(const std::string& from, const std::string& to) {
  return Retry([&] { return ::rename(from.c_str(), to.c_str()); });
}

int PosixFileSystem::Unlink(const std::string& path) {
  return Retry([&] { return ::unlink(path.c_str()); });
}

int PosixFileSystem::List(const std::string& path, std::vector<std::string>* names) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return -errno;
  names->clear();
  errno = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (std::strcmp(entry->d_name, ".") != 0 && std::strcmp(entry->d_name, "..") != 0) {
      names->emplace_back(entry->d_name);
    }
  }
  const int error = errno;
  ::closedir(dir);
  return error == 0 ? 0 : -error;
}

}  // namespace epollhttp::upload
