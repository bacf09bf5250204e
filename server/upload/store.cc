#include "server/upload/store.h"

#include <sys/random.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace epollhttp::upload {
namespace {

constexpr absl::string_view kDataSuffix = ".bin";
constexpr absl::string_view kRecordSuffix = ".info";
constexpr absl::string_view kTempSuffix = ".tmp";
constexpr absl::string_view kRecordHeader = "epollhttp-upload 1\n";
// A record log longer than this is rewritten whole (temporary file and
// rename) instead of appended to.
constexpr int64_t kMaxRecordLog = 64 * 1024;

// NewId() is 128 random bits as hex.
std::string NewId() {
  unsigned char bytes[16];
  size_t got = 0;
  while (got < sizeof(bytes)) {
    const ssize_t n = ::getrandom(bytes + got, sizeof(bytes) - got, 0);
    if (n > 0) got += static_cast<size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(32, '0');
  for (size_t i = 0; i < sizeof(bytes); ++i) {
    id[2 * i] = kHex[bytes[i] >> 4];
    id[2 * i + 1] = kHex[bytes[i] & 15];
  }
  return id;
}

// WriteAll() writes all of `data` at `offset`, through short writes; the
// bytes written before an error are reported in `*done`.
int WriteAll(FileSystem* fs, int fd, absl::string_view data, int64_t offset, int64_t* done) {
  *done = 0;
  while (!data.empty()) {
    const ssize_t n = fs->Pwrite(fd, data, offset + *done);
    if (n < 0) return static_cast<int>(n);
    if (n == 0) return -EIO;  // No progress: do not spin.
    *done += n;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return 0;
}

constexpr int64_t kBlock = FileSystem::kDirectBlock;
int64_t AlignDown(int64_t n) { return n - n % kBlock; }

// ReadAll() reads a small file whole (record logs), up to 256 KiB.
int ReadAll(FileSystem* fs, int fd, std::string* out) {
  out->clear();
  char buffer[4096];
  while (out->size() < 256 * 1024) {
    const ssize_t n = fs->Pread(fd, buffer, sizeof(buffer), static_cast<int64_t>(out->size()));
    if (n < 0) return static_cast<int>(n);
    if (n == 0) return 0;
    out->append(buffer, static_cast<size_t>(n));
  }
  return -EFBIG;
}

}  // namespace

struct UploadStore::Upload {
  std::mutex mutex;  // Serialises the calls on this upload.
  UploadState state;
  int fd = -1;               // The data file, open while the upload lives.
  int64_t written = 0;       // Where its bytes end (>= state.offset).
  bool removed = false;      // Removed while a caller still held it.
  int64_t record_bytes = 0;  // The record log's size.
  // Direct writes (O_DIRECT), where the file system has them: the data file
  // is written in whole blocks from `scratch`, bypassing the page cache (no
  // copy into it, no writeback by the syncing thread). The bytes past the
  // last whole block, `tail` (less than a block, from AlignDown(written)),
  // wait in memory until a write completes their block or a commit writes
  // it zero-padded (then cuts the file back to the committed offset).
  static constexpr int kDirectUntried = -2;
  int direct_fd = kDirectUntried;  // -1: buffered writes.
  std::string tail;
  WriteBuffer scratch;  // Where a string's bytes are put for a direct write.
};

bool ValidId(absl::string_view id) {
  if (id.size() != 32) return false;
  for (const char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string EncodeRecord(const UploadState& s) {
  return absl::StrCat(kRecordHeader, "offset ", s.offset, "\nlength ", s.length, "\nexpires ",
                      s.expires_unix, "\ncomplete ", s.complete ? 1 : 0, "\nmetadata ", s.metadata,
                      "\nend\n");
}

std::optional<UploadState> ParseRecord(absl::string_view id, absl::string_view text) {
  const absl::string_view original = text;
  if (!absl::ConsumePrefix(&text, kRecordHeader)) return std::nullopt;
  UploadState s;
  s.id = std::string(id);
  const std::pair<absl::string_view, int64_t*> numbers[] = {
      {"offset ", &s.offset}, {"length ", &s.length}, {"expires ", &s.expires_unix}};
  for (const auto& [key, out] : numbers) {
    const size_t eol = text.find('\n');
    if (eol == absl::string_view::npos) return std::nullopt;
    absl::string_view line = text.substr(0, eol);
    if (!absl::ConsumePrefix(&line, key) || !absl::SimpleAtoi(line, out)) return std::nullopt;
    text.remove_prefix(eol + 1);
  }
  if (absl::ConsumePrefix(&text, "complete 1\n")) {
    s.complete = true;
  } else if (!absl::ConsumePrefix(&text, "complete 0\n")) {
    return std::nullopt;
  }
  if (!absl::ConsumePrefix(&text, "metadata ")) return std::nullopt;
  const size_t eol = text.find('\n');
  if (eol == absl::string_view::npos) return std::nullopt;
  s.metadata = std::string(text.substr(0, eol));
  if (s.offset < 0 || s.length < -1 || (s.length >= 0 && s.offset > s.length) ||
      s.complete != (s.length >= 0 && s.offset == s.length)) {
    return std::nullopt;
  }
  // Exactly the canonical text (no "+5", "007" or trailing bytes), so that a
  // record has one form and a torn one never parses.
  if (EncodeRecord(s) != original) return std::nullopt;
  return s;
}

std::optional<UploadState> ParseRecordLog(absl::string_view id, absl::string_view text,
                                          size_t* valid_bytes) {
  std::optional<UploadState> last;
  size_t at = 0;
  *valid_bytes = 0;
  while (at < text.size()) {
    const size_t end = text.find("\nend\n", at);
    if (end == absl::string_view::npos) break;
    std::optional<UploadState> state = ParseRecord(id, text.substr(at, end + 5 - at));
    if (!state.has_value()) break;  // A torn or foreign tail: what follows is not in force.
    last = std::move(state);
    at = end + 5;
    *valid_bytes = at;
  }
  return last;
}

void StoreCounters::ObserveSync(int64_t ns) {
  int bucket = 0;
  while (bucket < kSyncBuckets && ns > kSyncBoundsNs[bucket]) ++bucket;
  sync_buckets[static_cast<size_t>(bucket)].fetch_add(1, std::memory_order_relaxed);
  sync_count.fetch_add(1, std::memory_order_relaxed);
  sync_ns.fetch_add(ns, std::memory_order_relaxed);
}

int UploadStore::TimedSync(int fd, bool data_only) {
  const auto start = std::chrono::steady_clock::now();
  const int r = data_only ? fs_->DataSync(fd) : fs_->Sync(fd);
  counters_.ObserveSync(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start)
          .count());
  return r;
}

UploadStore::UploadStore(FileSystem* fs, std::string dir, int dir_fd)
    : fs_(fs), dir_(std::move(dir)), dir_fd_(dir_fd) {}

UploadStore::~UploadStore() {
  for (auto& [id, upload] : uploads_) {
    if (upload->fd >= 0) fs_->Close(upload->fd);
    if (upload->direct_fd >= 0) fs_->Close(upload->direct_fd);
  }
  fs_->Close(dir_fd_);
}

std::string UploadStore::DataPath(absl::string_view id) const {
  return absl::StrCat(dir_, "/", id, kDataSuffix);
}

std::string UploadStore::RecordPath(absl::string_view id) const {
  return absl::StrCat(dir_, "/", id, kRecordSuffix);
}

absl::StatusOr<std::unique_ptr<UploadStore>> UploadStore::Open(FileSystem* fs, std::string dir,
                                                               RecoveryStats* stats) {
  const int dir_fd = fs->OpenDir(dir);
  if (dir_fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("upload directory ", dir, ": ", std::strerror(-dir_fd)));
  }
  std::unique_ptr<UploadStore> store(new UploadStore(fs, std::move(dir), dir_fd));
  RecoveryStats ignored;
  if (absl::Status s = store->Recover(stats != nullptr ? stats : &ignored); !s.ok()) return s;
  return store;
}

absl::Status UploadStore::Recover(RecoveryStats* stats) {
  std::vector<std::string> names;
  if (const int r = fs_->List(dir_, &names); r < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot list upload directory ", dir_, ": ", std::strerror(-r)));
  }
  bool changed = false;
  std::map<std::string, bool> data_files;  // id -> has a record.
  std::vector<std::string> record_ids;
  for (const std::string& name : names) {
    absl::string_view n = name;
    if (absl::EndsWith(n, kTempSuffix)) {
      // A record being written when the process stopped: never in force.
      if (fs_->Unlink(absl::StrCat(dir_, "/", name)) == 0) changed = true;
      ++stats->half_made_records;
    } else if (absl::ConsumeSuffix(&n, kRecordSuffix) && ValidId(n)) {
      record_ids.emplace_back(n);
    } else if (absl::ConsumeSuffix(&n, kDataSuffix) && ValidId(n)) {
      data_files.emplace(std::string(n), false);
    }
  }
  for (const std::string& id : record_ids) {
    std::string text;
    int fd = fs_->OpenFile(RecordPath(id), false);
    int r = fd < 0 ? fd : ReadAll(fs_, fd, &text);
    if (fd >= 0) fs_->Close(fd);
    std::optional<UploadState> state;
    size_t valid = 0;
    if (r == 0) state = ParseRecordLog(id, text, &valid);
    if (state.has_value() && valid < text.size()) {
      // An append cut short: never in force, and the next goes where it began.
      const int rfd = fs_->OpenFile(RecordPath(id), false);
      if (rfd < 0 || fs_->Truncate(rfd, static_cast<int64_t>(valid)) < 0 ||
          fs_->DataSync(rfd) < 0) {
        state.reset();
      }
      if (rfd >= 0) fs_->Close(rfd);
      ++stats->half_made_records;
    }
    if (!state.has_value()) {
      ++stats->unreadable_records;
      fs_->Unlink(RecordPath(id));
      fs_->Unlink(DataPath(id));
      data_files.erase(id);
      changed = true;
      continue;
    }
    auto upload = std::make_shared<Upload>();
    upload->state = std::move(*state);
    upload->record_bytes = static_cast<int64_t>(valid);
    fd = fs_->OpenFile(DataPath(id), false);
    if (fd == -ENOENT && upload->state.offset == 0) {
      // Created, the record made durable, the data file's entry not: recreate it.
      fd = fs_->OpenFile(DataPath(id), true);
      changed = true;
    }
    if (fd < 0) {
      ++stats->short_data_files;
      upload->state.failed = true;
    } else {
      upload->fd = fd;
      const int64_t size = fs_->Size(fd);
      if (size > upload->state.offset) {
        // Bytes written after the last commit: never acknowledged, dropped.
        if (fs_->Truncate(fd, upload->state.offset) < 0 || fs_->DataSync(fd) < 0) {
          upload->state.failed = true;
        }
        ++stats->truncated;
      } else if (size < upload->state.offset) {
        // The disk lost acknowledged bytes: never serve this upload.
        ++stats->short_data_files;
        upload->state.failed = true;
      }
    }
    upload->written = upload->state.offset;
    reserved_ += Reservation(*upload);
    if (!upload->state.complete) ++incomplete_;
    data_files[id] = true;
    ++stats->uploads;
    uploads_.emplace(id, std::move(upload));
  }
  for (const auto& [id, has_record] : data_files) {
    if (has_record) continue;
    // Its creation was cut short before the record: nobody heard of it.
    fs_->Unlink(DataPath(id));
    ++stats->orphan_data_files;
    changed = true;
  }
  if (changed) {
    if (const int r = fs_->Sync(dir_fd_); r < 0) {
      return absl::InternalError(
          absl::StrCat("cannot sync upload directory ", dir_, ": ", std::strerror(-r)));
    }
  }
  return absl::OkStatus();
}

bool UploadStore::TryReserve(int64_t n) {
  int64_t current = reserved_.load();
  while (true) {
    if (limits_.max_bytes > 0 && n > 0 && current + n > limits_.max_bytes) return false;
    if (reserved_.compare_exchange_weak(current, current + n)) return true;
  }
}

int64_t UploadStore::Reservation(const Upload& upload) {
  return upload.state.length >= 0 ? upload.state.length : upload.written;
}

std::shared_ptr<UploadStore::Upload> UploadStore::Find(absl::string_view id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = uploads_.find(id);
  return it == uploads_.end() ? nullptr : it->second;
}

int UploadStore::WriteRecord(const UploadState& state, bool first, Upload* upload,
                             bool* sync_failed) {
  *sync_failed = false;
  const std::string record = RecordPath(state.id);
  const std::string text = EncodeRecord(state);
  const int64_t size = static_cast<int64_t>(text.size());
  if (!first && upload->record_bytes > 0 && upload->record_bytes + size <= kMaxRecordLog) {
    // Appended to the log and fdatasync'd: no inode made or deleted, no
    // directory sync (ext4 makes deleted inodes expensive to step over). A
    // torn append does not parse, so the record before it stays in force.
    const int fd = fs_->OpenFile(record, false);
    if (fd < 0) return fd;
    int64_t done = 0;
    int r = WriteAll(fs_, fd, text, upload->record_bytes, &done);
    if (r == 0) {
      r = DataSync(fd);
      *sync_failed = r < 0;
    } else if (done > 0) {
      (void)fs_->Truncate(fd, upload->record_bytes);  // Best effort: recovery would anyway.
    }
    fs_->Close(fd);
    if (r == 0) upload->record_bytes += size;
    return r;
  }
  // A new upload's first record is written in place: there is no record to
  // replace, and a torn one does not parse, so recovery drops the upload,
  // whose creation was never acknowledged. Saves a rename per upload (the
  // directory lock is the store's hottest kernel path).
  const std::string temp = first ? record : absl::StrCat(record, kTempSuffix);
  int fd = fs_->OpenFile(temp, true);
  if (fd == -EEXIST && !first) {  // Left by an earlier failed attempt.
    fs_->Unlink(temp);
    fd = fs_->OpenFile(temp, true);
  }
  if (fd < 0) return fd;
  int64_t done = 0;
  int r = WriteAll(fs_, fd, text, 0, &done);
  if (r == 0) {
    r = Sync(fd);
    *sync_failed = r < 0;
  }
  fs_->Close(fd);
  if (r == 0 && !first) r = fs_->Rename(temp, record);
  if (r < 0) {
    fs_->Unlink(temp);
    return r;
  }
  r = Sync(dir_fd_);
  *sync_failed = r < 0;
  if (r == 0 && upload != nullptr) upload->record_bytes = size;
  return r;
}

absl::StatusOr<UploadState> UploadStore::Create(int64_t length, absl::string_view metadata,
                                                int64_t expires_unix) {
  if (length < -1 || absl::StrContains(metadata, '\n') || absl::StrContains(metadata, '\r')) {
    return absl::InvalidArgumentError("bad length or metadata");
  }
  if (length != 0 && limits_.max_incomplete > 0 &&
      incomplete_.fetch_add(1) >= limits_.max_incomplete) {
    --incomplete_;
    return absl::UnavailableError("too many incomplete uploads");
  } else if (length != 0 && limits_.max_incomplete <= 0) {
    ++incomplete_;
  }
  if (length > 0 && !TryReserve(length)) {
    --incomplete_;
    return absl::ResourceExhaustedError("creating an upload: the upload directory's quota is full");
  }
  auto upload = std::make_shared<Upload>();
  UploadState& state = upload->state;
  state.length = length;
  state.expires_unix = expires_unix;
  state.metadata = std::string(metadata);
  state.complete = length == 0;
  int fd = -EEXIST;
  for (int tries = 0; fd == -EEXIST && tries < 4; ++tries) {
    state.id = NewId();
    fd = fs_->OpenFile(DataPath(state.id), true);
  }
  auto fail = [&](int error, bool close) {
    if (close) fs_->Close(fd);
    fs_->Unlink(DataPath(state.id));
    if (length > 0) reserved_ -= length;
    if (length != 0) --incomplete_;
    return absl::Status(absl::ErrnoToStatusCode(-error),
                        absl::StrCat("creating an upload: ", std::strerror(-error)));
  };
  if (fd < 0) return fail(fd, false);
  if (length > 0) {
    if (const int r = fs_->Allocate(fd, length); r < 0 && r != -EOPNOTSUPP) return fail(r, true);
  }
  if (const int r = DataSync(fd); r < 0) return fail(r, true);
  bool sync_failed = false;
  if (const int r = WriteRecord(state, /*first=*/true, upload.get(), &sync_failed); r < 0) {
    fs_->Unlink(RecordPath(state.id));
    return fail(r, true);
  }
  upload->fd = fd;
  counters_.created.fetch_add(1, std::memory_order_relaxed);
  UploadState out = state;
  std::lock_guard<std::mutex> lock(mutex_);
  uploads_.emplace(state.id, std::move(upload));
  return out;
}

std::optional<UploadState> UploadStore::Get(absl::string_view id) const {
  std::shared_ptr<Upload> upload = Find(id);
  if (upload == nullptr) return std::nullopt;
  std::lock_guard<std::mutex> lock(upload->mutex);
  if (upload->removed) return std::nullopt;
  return upload->state;
}

int64_t UploadStore::written(absl::string_view id) const {
  std::shared_ptr<Upload> upload = Find(id);
  if (upload == nullptr) return -1;
  std::lock_guard<std::mutex> lock(upload->mutex);
  return upload->removed ? -1 : upload->written;
}

int UploadStore::Write(absl::string_view id, int64_t offset, absl::string_view data) {
  return Write(id, offset, data, nullptr);
}

int UploadStore::Write(absl::string_view id, int64_t offset, WriteBuffer* piece) {
  if (piece->room() != static_cast<size_t>(offset % static_cast<int64_t>(WriteBuffer::kAlign))) {
    return -EINVAL;
  }
  return Write(id, offset, piece->view(), piece);
}

int UploadStore::Write(absl::string_view id, int64_t offset, absl::string_view data,
                       WriteBuffer* piece) {
  std::shared_ptr<Upload> upload = Find(id);
  if (upload == nullptr) return -ENOENT;
  std::lock_guard<std::mutex> lock(upload->mutex);
  if (upload->removed) return -ENOENT;
  if (upload->state.failed) return -EIO;
  if (upload->state.complete) return -EEXIST;
  if (offset != upload->written) return -ERANGE;
  const int64_t size = static_cast<int64_t>(data.size());
  if (upload->state.length >= 0 && offset + size > upload->state.length) return -EFBIG;
  const bool deferred = upload->state.length < 0;
  if (deferred && !TryReserve(size)) return -EDQUOT;
  int64_t done = 0;
  const int r = StartDirect(upload.get()) ? WriteDirect(upload.get(), data, piece, &done)
                                          : WriteAll(fs_, upload->fd, data, offset, &done);
  if (deferred) reserved_ -= size - done;
  upload->written += done;
  counters_.bytes_uncommitted.fetch_add(done, std::memory_order_relaxed);
  return r;
}

bool UploadStore::StartDirect(Upload* upload) {
  if (upload->direct_fd != Upload::kDirectUntried) return upload->direct_fd >= 0;
  upload->direct_fd = -1;
  if (!direct_.load(std::memory_order_relaxed)) return false;
  const int fd = fs_->OpenDirect(DataPath(upload->state.id));
  if (fd < 0) {
    if (fd == -EINVAL) direct_.store(false, std::memory_order_relaxed);  // Not on this file system.
    return false;
  }
  // The bytes of the last part block are in the file (a commit put them
  // there); later writes rewrite that block whole.
  const int64_t base = AlignDown(upload->written);
  upload->tail.resize(static_cast<size_t>(upload->written - base));
  if (!upload->tail.empty() && fs_->Pread(upload->fd, upload->tail.data(), upload->tail.size(),
                                          base) != static_cast<ssize_t>(upload->tail.size())) {
    fs_->Close(fd);
    upload->tail.clear();
    return false;
  }
  upload->direct_fd = fd;
  return true;
}

void UploadStore::StopDirect(Upload* upload) {
  if (upload->direct_fd >= 0) fs_->Close(upload->direct_fd);
  upload->direct_fd = -1;
  upload->tail.clear();
  upload->scratch = WriteBuffer();
}

int UploadStore::WriteDirect(Upload* upload, absl::string_view data, WriteBuffer* piece,
                             int64_t* done) {
  *done = 0;
  const int64_t base = AlignDown(upload->written);
  const size_t lead = upload->tail.size();
  const size_t total = lead + data.size();
  const size_t whole = total - total % kBlock;
  if (whole == 0) {  // Still within the part block: it waits in memory.
    upload->tail.append(data.data(), data.size());
    *done = static_cast<int64_t>(data.size());
    return 0;
  }
  // The part block's bytes go in front of the new ones: in the caller's
  // buffer, whose room is for them, or else in a copy.
  char* out;
  if (piece != nullptr) {
    out = piece->block();
  } else {
    upload->scratch.Reset(0);
    if (!upload->scratch.Reserve(whole)) return -ENOMEM;
    out = upload->scratch.block();
    std::memcpy(out + lead, data.data(), whole - lead);
  }
  std::memcpy(out, upload->tail.data(), lead);
  int64_t landed = 0;
  const int r = WriteAll(fs_, upload->direct_fd, absl::string_view(out, whole), base, &landed);
  if (r == -EINVAL && landed == 0) {
    // The file system takes no direct writes after all (alignment): write
    // the part block's bytes and these through the page cache from now on.
    std::string tail = std::move(upload->tail);
    StopDirect(upload);
    int64_t ignored = 0;
    if (const int w = WriteAll(fs_, upload->fd, tail, base, &ignored); w < 0) return w;
    return WriteAll(fs_, upload->fd, data, upload->written, done);
  }
  if (r < 0) {
    // Whole blocks that landed count; a write that failed within the part
    // block leaves it as it was.
    const int64_t reached = base + AlignDown(landed);
    if (reached > upload->written) {
      *done = reached - upload->written;
      upload->tail.clear();
    }
    return r;
  }
  upload->tail.assign(data.data() + (whole - lead), total - whole);
  *done = static_cast<int64_t>(data.size());
  return 0;
}

int UploadStore::FlushTail(Upload* upload, bool* padded) {
  *padded = false;
  if (upload->direct_fd < 0 || upload->tail.empty()) return 0;
  upload->scratch.Reset(0);
  if (!upload->scratch.Reserve(kBlock)) return -ENOMEM;
  char* out = upload->scratch.block();
  std::memcpy(out, upload->tail.data(), upload->tail.size());
  std::memset(out + upload->tail.size(), 0, kBlock - upload->tail.size());
  int64_t landed = 0;
  const int r = WriteAll(fs_, upload->direct_fd, absl::string_view(out, kBlock),
                         AlignDown(upload->written), &landed);
  *padded = r == 0;
  return r;
}

int64_t UploadStore::Commit(absl::string_view id) {
  std::shared_ptr<Upload> upload = Find(id);
  if (upload == nullptr) return -ENOENT;
  std::lock_guard<std::mutex> lock(upload->mutex);
  if (upload->removed) return -ENOENT;
  if (upload->state.failed) return -EIO;
  if (upload->written == upload->state.offset) return upload->state.offset;
  // Direct writes: the part block goes out zero-padded, and the file is cut
  // back to where the bytes end (so its size is the committed offset).
  bool padded = false;
  if (const int r = FlushTail(upload.get(), &padded); r < 0) return r;
  if (padded) {
    if (const int r = fs_->Truncate(upload->fd, upload->written); r < 0) return r;
  }
  if (const int r = DataSync(upload->fd); r < 0) {
    upload->state.failed = true;  // Never retried: the pages may be gone.
    counters_.sync_failures.fetch_add(1, std::memory_order_relaxed);
    counters_.bytes_uncommitted.fetch_sub(upload->written - upload->state.offset,
                                          std::memory_order_relaxed);
    return r;
  }
  UploadState next = upload->state;
  next.offset = upload->written;
  next.complete = next.length >= 0 && next.offset == next.length;
  bool sync_failed = false;
  if (const int r = WriteRecord(next, /*first=*/false, upload.get(), &sync_failed); r < 0) {
    if (sync_failed) {
      upload->state.failed = true;
      counters_.sync_failures.fetch_add(1, std::memory_order_relaxed);
      counters_.bytes_uncommitted.fetch_sub(upload->written - upload->state.offset,
                                            std::memory_order_relaxed);
    }
    return r;
  }
  const int64_t gained = next.offset - upload->state.offset;
  counters_.bytes_committed.fetch_add(gained, std::memory_order_relaxed);
  counters_.bytes_uncommitted.fetch_sub(gained, std::memory_order_relaxed);
  if (next.complete) {
    counters_.completed.fetch_add(1, std::memory_order_relaxed);
    --incomplete_;
    StopDirect(upload.get());  // Nothing more is written to it.
  }
  upload->state = std::move(next);
  return upload->state.offset;
}

int UploadStore::Rollback(absl::string_view id) {
  std::shared_ptr<Upload> upload = Find(id);
  if (upload == nullptr) return -ENOENT;
  std::lock_guard<std::mutex> lock(upload->mutex);
  if (upload->removed) return -ENOENT;
  if (upload->written == upload->state.offset) return 0;
  if (!upload->state.failed) {  // A failed upload's were let go when it failed.
    counters_.bytes_uncommitted.fetch_sub(upload->written - upload->state.offset,
                                          std::memory_order_relaxed);
  }
  if (upload->state.length < 0) reserved_ -= upload->written - upload->state.offset;
  upload->written = upload->state.offset;
  // The part block is read back from the file when next written to.
  StopDirect(upload.get());
  upload->direct_fd = Upload::kDirectUntried;
  return fs_->Truncate(upload->fd, upload->state.offset);
}

int UploadStore::DeclareLength(absl::string_view id, int64_t length) {
  std::shared_ptr<Upload> upload = Find(id);
  if (upload == nullptr) return -ENOENT;
  std::lock_guard<std::mutex> lock(upload->mutex);
  if (upload->removed) return -ENOENT;
  if (upload->state.failed) return -EIO;
  if (upload->state.length >= 0 || length < upload->written) return -EINVAL;
  // The deferred reservation (the bytes written) becomes the whole length.
  if (!TryReserve(length - upload->written)) return -EDQUOT;
  UploadState next = upload->state;
  next.length = length;
  next.complete = next.offset == length;
  bool sync_failed = false;
  if (const int r = WriteRecord(next, /*first=*/false, upload.get(), &sync_failed); r < 0) {
    reserved_ -= length - upload->written;
    if (sync_failed) upload->state.failed = true;
    return r;
  }
  if (next.complete) {
    counters_.completed.fetch_add(1, std::memory_order_relaxed);
    --incomplete_;
  }
  upload->state = std::move(next);
  return 0;
}

int UploadStore::Remove(absl::string_view id) {
  std::shared_ptr<Upload> upload;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = uploads_.find(id);
    if (it == uploads_.end()) return -ENOENT;
    upload = it->second;
    uploads_.erase(it);
  }
  std::lock_guard<std::mutex> lock(upload->mutex);
  upload->removed = true;
  reserved_ -= Reservation(*upload);
  if (!upload->state.complete) --incomplete_;
  if (!upload->state.failed) {
    counters_.bytes_uncommitted.fetch_sub(upload->written - upload->state.offset,
                                          std::memory_order_relaxed);
  }
  const int r = fs_->Unlink(RecordPath(upload->state.id));
  fs_->Unlink(DataPath(upload->state.id));
  if (upload->fd >= 0) fs_->Close(upload->fd);
  upload->fd = -1;
  StopDirect(upload.get());
  const int synced = Sync(dir_fd_);
  return r < 0 && r != -ENOENT ? r : synced;
}

std::vector<std::string> UploadStore::Expired(int64_t now_unix) const {
  std::vector<std::shared_ptr<Upload>> all;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [id, upload] : uploads_) all.push_back(upload);
  }
  std::vector<std::string> out;
  for (const auto& upload : all) {
    std::lock_guard<std::mutex> lock(upload->mutex);
    if (!upload->removed && !upload->state.complete && upload->state.expires_unix <= now_unix) {
      out.push_back(upload->state.id);
    }
  }
  return out;
}

int UploadStore::OpenData(absl::string_view id) {
  std::shared_ptr<Upload> upload = Find(id);
  if (upload == nullptr) return -ENOENT;
  std::lock_guard<std::mutex> lock(upload->mutex);
  if (upload->removed || !upload->state.complete || upload->state.failed) return -ENOENT;
  return fs_->OpenFile(DataPath(upload->state.id), false);
}

}  // namespace epollhttp::upload
