#include "server/upload/fake_file_system.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace epollhttp::upload {

int64_t FakeFileSystem::Check(Op op, const std::string& path) {
  calls_.fetch_add(1, std::memory_order_relaxed);
  return fault_ ? fault_(op, path) : 0;
}

FakeFileSystem::Open* FakeFileSystem::Find(int fd) {
  auto it = open_.find(fd);
  return it == open_.end() ? nullptr : &it->second;
}

int64_t FakeFileSystem::Used() const {
  int64_t used = 0;
  for (const auto& [path, inode] : entries_) used += static_cast<int64_t>(inode->data.size());
  return used;
}

void FakeFileSystem::Crash(const std::function<bool(const std::string& path)>& keep_unsynced_data,
                           bool keep_unsynced_entries) {
  std::lock_guard<std::mutex> lock(mutex_);
  open_.clear();
  if (!keep_unsynced_entries) entries_ = durable_entries_;
  durable_entries_ = entries_;
  for (auto& [path, inode] : entries_) {
    if (!keep_unsynced_data || !keep_unsynced_data(path)) inode->data = inode->durable;
    inode->durable = inode->data;
  }
}

std::string FakeFileSystem::Contents(const std::string& path) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(path);
  return it == entries_.end() ? "" : it->second->data;
}

bool FakeFileSystem::Exists(const std::string& path) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.count(path) != 0;
}

void FakeFileSystem::WriteFile(const std::string& path, const std::string& data) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto inode = std::make_shared<Inode>();
  inode->data = inode->durable = data;
  entries_[path] = inode;
  durable_entries_[path] = inode;
}

int FakeFileSystem::OpenFile(const std::string& path, bool create) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (const int64_t fault = Check(create ? Op::kCreate : Op::kOpen, path); fault < 0) {
    return static_cast<int>(fault);
  }
  auto it = entries_.find(path);
  if (create) {
    if (it != entries_.end()) return -EEXIST;
    it = entries_.emplace(path, std::make_shared<Inode>()).first;
  } else if (it == entries_.end()) {
    return -ENOENT;
  }
  const int fd = next_fd_++;
  open_[fd] = Open{it->second, path};
  return fd;
}

int FakeFileSystem::OpenDirect(const std::string& path) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (const int64_t fault = Check(Op::kOpen, path); fault < 0) return static_cast<int>(fault);
  if (!direct_) return -EINVAL;
  auto it = entries_.find(path);
  if (it == entries_.end()) return -ENOENT;
  const int fd = next_fd_++;
  open_[fd] = Open{it->second, path, /*direct=*/true};
  return fd;
}

int FakeFileSystem::OpenDir(const std::string& path) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (const int64_t fault = Check(Op::kOpenDir, path); fault < 0) return static_cast<int>(fault);
  if (path != dir_) return -ENOENT;
  const int fd = next_fd_++;
  open_[fd] = Open{nullptr, path};
  return fd;
}

ssize_t FakeFileSystem::Pwrite(int fd, absl::string_view data, int64_t offset) {
  std::lock_guard<std::mutex> lock(mutex_);
  Open* f = Find(fd);
  if (f == nullptr) return -EBADF;
  if (f->inode == nullptr) return -EISDIR;
  int64_t n = static_cast<int64_t>(data.size());
  constexpr int64_t kBlock = kDirectBlock;
  if (f->direct && (offset % kBlock != 0 || n % kBlock != 0 ||
                    reinterpret_cast<uintptr_t>(data.data()) % kBlock != 0)) {
    return -EINVAL;
  }
  if (const int64_t fault = Check(Op::kWrite, f->path); fault < 0) {
    return fault;
  } else if (fault > 0) {
    n = std::min(n, fault);
  }
  std::string& bytes = f->inode->data;
  const int64_t end = offset + n;
  const int64_t growth = std::max<int64_t>(0, end - static_cast<int64_t>(bytes.size()));
  if (capacity_ >= 0 && Used() + growth > capacity_) {
    const int64_t room = capacity_ - Used();
    if (room <= 0 && growth > 0) return -ENOSPC;
    n = std::min(n, static_cast<int64_t>(bytes.size()) - offset + room);
    if (n <= 0) return -ENOSPC;
  }
  if (f->direct) {
    n -= n % kBlock;  // A direct write stops on a block.
    if (n == 0) return -ENOSPC;
  }
  if (static_cast<int64_t>(bytes.size()) < offset + n)
    bytes.resize(static_cast<size_t>(offset + n));
  std::memcpy(bytes.data() + offset, data.data(), static_cast<size_t>(n));
  return n;
}

ssize_t FakeFileSystem::Pread(int fd, char* out, size_t size, int64_t offset) {
  std::lock_guard<std::mutex> lock(mutex_);
  Open* f = Find(fd);
  if (f == nullptr) return -EBADF;
  if (f->inode == nullptr) return -EISDIR;
  if (const int64_t fault = Check(Op::kRead, f->path); fault < 0) return fault;
  const std::string& bytes = f->inode->data;
  if (offset >= static_cast<int64_t>(bytes.size())) return 0;
  const size_t n = std::min(size, bytes.size() - static_cast<size_t>(offset));
  std::memcpy(out, bytes.data() + offset, n);
  return static_cast<ssize_t>(n);
}

int FakeFileSystem::DataSync(int fd) {
  std::lock_guard<std::mutex> lock(mutex_);
  Open* f = Find(fd);
  if (f == nullptr) return -EBADF;
  if (const int64_t fault = Check(Op::kDataSync, f->path); fault < 0) {
    return static_cast<int>(fault);
  }
  if (f->inode != nullptr) f->inode->durable = f->inode->data;
  return 0;
}

int FakeFileSystem::Sync(int fd) {
  std::lock_guard<std::mutex> lock(mutex_);
  Open* f = Find(fd);
  if (f == nullptr) return -EBADF;
  if (const int64_t fault = Check(Op::kSync, f->path); fault < 0) return static_cast<int>(fault);
  if (f->inode != nullptr) {
    f->inode->durable = f->inode->data;
  } else {
    durable_entries_ = entries_;
  }
  return 0;
}

int FakeFileSystem::Truncate(int fd, int64_t size) {
  std::lock_guard<std::mutex> lock(mutex_);
  Open* f = Find(fd);
  if (f == nullptr) return -EBADF;
  if (f->inode == nullptr) return -EISDIR;
  if (const int64_t fault = Check(Op::kTruncate, f->path); fault < 0) {
    return static_cast<int>(fault);
  }
  if (size < 0) return -EINVAL;
  f->inode->data.resize(static_cast<size_t>(size));
  return 0;
}

int FakeFileSystem::Allocate(int fd, int64_t size) {
  std::lock_guard<std::mutex> lock(mutex_);
  Open* f = Find(fd);
  if (f == nullptr) return -EBADF;
  if (const int64_t fault = Check(Op::kAllocate, f->path); fault < 0) {
    return static_cast<int>(fault);
  }
  const int64_t have = static_cast<int64_t>(f->inode->data.size());
  if (capacity_ >= 0 && size > have && Used() + (size - have) > capacity_) return -ENOSPC;
  return 0;  // Space is not modelled beyond the capacity check.
}

int64_t FakeFileSystem::Size(int fd) {
  std::lock_guard<std::mutex> lock(mutex_);
  Open* f = Find(fd);
  if (f == nullptr) return -EBADF;
  if (const int64_t fault = Check(Op::kSize, f->path); fault < 0) return fault;
  return f->inode == nullptr ? 0 : static_cast<int64_t>(f->inode->data.size());
}

int FakeFileSystem::Close(int fd) {
  std::lock_guard<std::mutex> lock(mutex_);
  Open* f = Find(fd);
  if (f == nullptr) return -EBADF;
  const int64_t fault = Check(Op::kClose, f->path);
  open_.erase(fd);  // Gone whatever close() says, as with the real one.
  return fault < 0 ? static_cast<int>(fault) : 0;
}

int FakeFileSystem::Rename(const std::string& from, const std::string& to) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (const int64_t fault = Check(Op::kRename, from); fault < 0) return static_cast<int>(fault);
  auto it = entries_.find(from);
  if (it == entries_.end()) return -ENOENT;
  std::shared_ptr<Inode> inode = it->second;
  entries_.erase(it);
  entries_[to] = inode;
  return 0;
}

int FakeFileSystem::Unlink(const std::string& path) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (const int64_t fault = Check(Op::kUnlink, path); fault < 0) return static_cast<int>(fault);
  return entries_.erase(path) == 1 ? 0 : -ENOENT;
}

int FakeFileSystem::List(const std::string& path, std::vector<std::string>* names) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (const int64_t fault = Check(Op::kList, path); fault < 0) return static_cast<int>(fault);
  if (path != dir_) return -ENOENT;
  names->clear();
  const std::string prefix = dir_ + "/";
  for (const auto& [name, inode] : entries_) {
    if (name.rfind(prefix, 0) == 0) names->push_back(name.substr(prefix.size()));
  }
  return 0;
}

}  // namespace epollhttp::upload
